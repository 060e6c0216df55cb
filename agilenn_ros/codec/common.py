"""Pieces shared by every codec: the 6-byte payload header and input validation.

Payload header (all codecs, see docs/codec.md)::

    byte 0     tag = (FORMAT_VERSION << 4) | codec_id      (0x10 packed, 0x11 rans, 0x12 lzw)
    byte 1     n_symbols - 1                               (alphabet size, 2..256)
    bytes 2-5  count = C*H*W, uint32 little-endian         (number of coded symbols)
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .errors import (
    CorruptPayload,
    InvalidSymbols,
    OversizedPayload,
    ShapeMismatch,
    TruncatedPayload,
)

__all__ = [
    "FORMAT_VERSION",
    "HEADER_BYTES",
    "DEFAULT_MAX_SYMBOLS",
    "MIN_SYMBOLS",
    "MAX_ALPHABET",
    "symbol_bits",
    "check_n_symbols",
    "make_header",
    "parse_header",
    "as_payload_bytes",
    "check_shape",
    "validate_indices",
]

FORMAT_VERSION = 1
HEADER_BYTES = 6
#: Largest symbol count a codec accepts by default (encode and decode): 2**22 symbols,
#: e.g. 256 x 128 x 128. Bounds decoder memory and time for hostile payloads.
DEFAULT_MAX_SYMBOLS = 1 << 22
MIN_SYMBOLS = 2
MAX_ALPHABET = 256


def symbol_bits(n_symbols: int) -> int:
    """Bits of one packed symbol: ceil(log2(n_symbols)), n_symbols in 2..256."""
    return (int(n_symbols) - 1).bit_length()


def check_n_symbols(n_symbols: Any) -> int:
    """Return ``n_symbols`` as an int after checking 2 <= n_symbols <= 256."""
    if isinstance(n_symbols, (bool, np.bool_)) or not isinstance(n_symbols, (int, np.integer)):
        raise ValueError(f"n_symbols must be an integer in 2..256, got {n_symbols!r}")
    if not MIN_SYMBOLS <= int(n_symbols) <= MAX_ALPHABET:
        raise ValueError(f"n_symbols must be an integer in 2..256, got {n_symbols!r}")
    return int(n_symbols)


def make_header(codec_id: int, n_symbols: int, count: int) -> bytes:
    """Build the 6-byte header for ``count`` symbols of an ``n_symbols`` alphabet."""
    tag = (FORMAT_VERSION << 4) | codec_id
    return bytes([tag, n_symbols - 1]) + int(count).to_bytes(4, "little")


def parse_header(data: bytes, codec_id: int, n_symbols: int, count: int) -> None:
    """Check ``data``'s header against what the decoder expects.

    Raises TruncatedPayload (fewer than 6 bytes), CorruptPayload (tag or alphabet size
    differ) or ShapeMismatch (the coded symbol count differs from ``count``).
    """
    if len(data) < HEADER_BYTES:
        raise TruncatedPayload(f"payload has {len(data)} bytes, header needs {HEADER_BYTES}")
    tag = data[0]
    if tag >> 4 != FORMAT_VERSION:
        raise CorruptPayload(f"unsupported format version {tag >> 4} (tag 0x{tag:02x})")
    if tag & 0x0F != codec_id:
        raise CorruptPayload(f"payload is for codec id {tag & 0x0F}, decoder is codec id {codec_id}")
    if data[1] + 1 != n_symbols:
        raise CorruptPayload(f"payload alphabet has {data[1] + 1} symbols, decoder expects {n_symbols}")
    coded = int.from_bytes(data[2:6], "little")
    if coded != count:
        raise ShapeMismatch(f"payload codes {coded} symbols, expected shape holds {count}")


def as_payload_bytes(payload: Any) -> bytes:
    """Return ``payload`` (bytes, bytearray, memoryview, array('B'), 1-D uint8 ndarray or a
    sequence of ints 0..255, as a ROS message field may hold) as ``bytes``."""
    if isinstance(payload, bytes):
        return payload
    if isinstance(payload, np.ndarray):
        if payload.dtype != np.uint8 or payload.ndim != 1:
            raise CorruptPayload(
                f"payload array must be 1-D uint8, got {payload.dtype} with shape {payload.shape}"
            )
        return payload.tobytes()
    if isinstance(payload, (int, str, float)) or payload is None:
        raise CorruptPayload(f"payload must be a byte sequence, got {type(payload).__name__}")
    if isinstance(payload, (bytearray, memoryview)):
        try:
            return bytes(memoryview(payload).cast("B"))
        except TypeError as exc:
            raise CorruptPayload(f"payload buffer is not a byte buffer: {exc}") from exc
    try:
        return bytes(payload)
    except (TypeError, ValueError) as exc:
        raise CorruptPayload(f"payload is not a byte sequence: {exc}") from exc


def check_shape(shape: Any, max_symbols: int) -> tuple[tuple[int, int, int], int]:
    """Validate an expected (C, H, W) shape; return it as ints with its element count.

    Raises ShapeMismatch for anything but three non-negative integers and OversizedPayload
    when C*H*W exceeds ``max_symbols`` (checked before any allocation).
    """
    try:
        dims = tuple(shape)
    except TypeError as exc:
        raise ShapeMismatch(f"shape must be (C, H, W), got {shape!r}") from exc
    if len(dims) != 3:
        raise ShapeMismatch(f"shape must have 3 dimensions (C, H, W), got {shape!r}")
    out = []
    for d in dims:
        if isinstance(d, (bool, np.bool_)) or not isinstance(d, (int, np.integer)) or d < 0:
            raise ShapeMismatch(f"shape dimensions must be non-negative integers, got {shape!r}")
        out.append(int(d))
    count = math.prod(out)
    if count > max_symbols:
        raise OversizedPayload(f"shape {tuple(out)} holds {count} symbols, limit is {max_symbols}")
    return (out[0], out[1], out[2]), count


def validate_indices(indices: Any, n_symbols: int, max_symbols: int) -> np.ndarray:
    """Return ``indices`` as a C-contiguous uint8 (C, H, W) array after checking it.

    ``indices`` holds centroid indices (any integer dtype, e.g. int64 from ONNX) in
    ``0..n_symbols-1``. Raises ShapeMismatch (not 3-D), InvalidSymbols (non-integer dtype
    or values out of range) or OversizedPayload (more than ``max_symbols`` elements).
    """
    arr = np.asarray(indices)
    if arr.ndim != 3:
        raise ShapeMismatch(f"indices must be a (C, H, W) array, got shape {arr.shape}")
    if not np.issubdtype(arr.dtype, np.integer):
        raise InvalidSymbols(f"indices must have an integer dtype, got {arr.dtype}")
    if arr.size > max_symbols:
        raise OversizedPayload(f"indices hold {arr.size} symbols, limit is {max_symbols}")
    if arr.size:
        lo, hi = int(arr.min()), int(arr.max())
        if lo < 0 or hi >= n_symbols:
            raise InvalidSymbols(f"indices must lie in 0..{n_symbols - 1}, found {lo}..{hi}")
    return np.ascontiguousarray(arr, dtype=np.uint8)
