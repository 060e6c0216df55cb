"""Feature codec: codes the centroid indices of the remote channels of one frame.

Three bitstreams (docs/codec.md), produced byte for byte identically by this package and
by the firmware's C encoder (firmware_microros/core/agilenn_codec.c):

* ``packed`` (id 0): fixed-width bit packing;
* ``rans``   (id 1): static-table rANS, one frequency table per channel learned in training;
* ``lzw``    (id 2): LZW over the index symbols (the paper's baseline).

Pure numpy; no torch, no ROS.
"""

from .errors import (
    CodecError,
    CorruptPayload,
    InvalidSymbols,
    OversizedPayload,
    ShapeMismatch,
    TableError,
    TruncatedPayload,
    UnknownCodec,
)
from .common import DEFAULT_MAX_SYMBOLS, FORMAT_VERSION, HEADER_BYTES, symbol_bits
from .packed import PackedCodec
from .rans import (
    RansCodec,
    RansTables,
    CONTEXTS,
    DEFAULT_CONTEXT,
    build_rans_tables,
    context_ids,
    empirical_entropy_bits,
    ideal_code_bits,
    quantize_frequencies,
    rans_tables_to_c,
)
from .lzw import LzwCodec
from .registry import (
    CODEC_IDS,
    CODEC_LZW,
    CODEC_NAMES,
    CODEC_NONE,
    CODEC_PACKED,
    CODEC_RANS,
    Codec,
    build_codec_tables,
    codec_id,
    codec_name,
    make_codec,
)

__all__ = [
    "CodecError",
    "TruncatedPayload",
    "OversizedPayload",
    "CorruptPayload",
    "ShapeMismatch",
    "InvalidSymbols",
    "TableError",
    "UnknownCodec",
    "DEFAULT_MAX_SYMBOLS",
    "FORMAT_VERSION",
    "HEADER_BYTES",
    "symbol_bits",
    "PackedCodec",
    "RansCodec",
    "RansTables",
    "LzwCodec",
    "Codec",
    "CODEC_PACKED",
    "CODEC_RANS",
    "CODEC_LZW",
    "CODEC_NONE",
    "CODEC_IDS",
    "CODEC_NAMES",
    "codec_id",
    "codec_name",
    "make_codec",
    "build_codec_tables",
    "build_rans_tables",
    "context_ids",
    "CONTEXTS",
    "DEFAULT_CONTEXT",
    "quantize_frequencies",
    "rans_tables_to_c",
    "empirical_entropy_bits",
    "ideal_code_bits",
]
