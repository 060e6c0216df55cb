"""Codec ids, the Codec protocol and the factory that builds codecs from a bundle manifest.

Codec ids match msg/FeatureFrame.msg: CODEC_PACKED=0, CODEC_RANS=1, CODEC_LZW=2
(CODEC_NONE=255 means "no payload" and has no codec object).

The manifest stores ``codec: {default: "rans", tables: <build_codec_tables(...)>}``; pass
that ``tables`` dict to :func:`make_codec`.
"""

from __future__ import annotations

from typing import Any, Mapping, Protocol, runtime_checkable

import numpy as np

from .common import DEFAULT_MAX_SYMBOLS, check_n_symbols
from .errors import TableError, UnknownCodec
from .lzw import LzwCodec
from .packed import PackedCodec
from .rans import DEFAULT_CONTEXT, DEFAULT_PRECISION_BITS, RansCodec, RansTables, build_rans_tables

__all__ = [
    "CODEC_PACKED",
    "CODEC_RANS",
    "CODEC_LZW",
    "CODEC_NONE",
    "CODEC_IDS",
    "CODEC_NAMES",
    "Codec",
    "codec_id",
    "codec_name",
    "make_codec",
    "build_codec_tables",
]

CODEC_PACKED = 0
CODEC_RANS = 1
CODEC_LZW = 2
CODEC_NONE = 255

CODEC_IDS: dict[str, int] = {"packed": CODEC_PACKED, "rans": CODEC_RANS, "lzw": CODEC_LZW}
CODEC_NAMES: dict[int, str] = {v: k for k, v in CODEC_IDS.items()}


@runtime_checkable
class Codec(Protocol):
    """What every codec offers.

    ``encode`` takes a (C, H, W) integer array of centroid indices (values
    0..n_symbols-1) and returns the self-delimiting payload; ``decode`` takes a payload
    and the expected (C, H, W) shape from the message and returns a uint8 array of that
    shape, raising a :class:`~agilenn_ros.codec.errors.CodecError` subclass for any bad input.
    """

    name: str
    codec_id: int
    n_symbols: int

    def encode(self, indices: np.ndarray) -> bytes: ...

    def decode(self, payload: bytes, shape: tuple[int, int, int]) -> np.ndarray: ...


def codec_id(name_or_id: str | int) -> int:
    """Codec id (0, 1, 2) of a codec name or id; raises UnknownCodec."""
    if isinstance(name_or_id, str):
        key = name_or_id.strip().lower()
        if key in CODEC_IDS:
            return CODEC_IDS[key]
        if key.isdigit():
            name_or_id = int(key)
        else:
            raise UnknownCodec(f"unknown codec {name_or_id!r}; known: {sorted(CODEC_IDS)}")
    if isinstance(name_or_id, (int, np.integer)) and not isinstance(name_or_id, bool):
        if int(name_or_id) in CODEC_NAMES:
            return int(name_or_id)
    raise UnknownCodec(f"unknown codec {name_or_id!r}; known ids: {sorted(CODEC_NAMES)}")


def codec_name(name_or_id: str | int) -> str:
    """Codec name ("packed", "rans", "lzw") of a codec name or id; raises UnknownCodec."""
    return CODEC_NAMES[codec_id(name_or_id)]


def _tables_n_symbols(tables: Mapping[str, Any] | None) -> int | None:
    if not tables:
        return None
    value = tables.get("n_symbols")
    rans = tables.get("rans")
    if value is None and isinstance(rans, Mapping):
        value = rans.get("n_symbols")
    if value is None:
        return None
    try:
        return check_n_symbols(value)
    except ValueError as exc:
        raise TableError(f"codec tables: {exc}") from exc


def make_codec(
    name_or_id: str | int,
    tables: Mapping[str, Any] | None = None,
    *,
    n_symbols: int | None = None,
    max_symbols: int = DEFAULT_MAX_SYMBOLS,
) -> Codec:
    """Build a codec by name ("packed", "rans", "lzw") or id (0, 1, 2).

    ``tables`` is the manifest's ``codec.tables`` dict (as returned by
    :func:`build_codec_tables`). The alphabet size comes from ``n_symbols``, else from the
    tables, else 8. ``rans`` needs ``tables["rans"]``; without tables it falls back to a
    near-uniform shared table (no compression; only useful in tests).
    """
    cid = codec_id(name_or_id)
    if tables is not None and not isinstance(tables, Mapping):
        raise TableError(f"codec tables must be a mapping, got {type(tables).__name__}")
    from_tables = _tables_n_symbols(tables)
    n = check_n_symbols(n_symbols if n_symbols is not None else (from_tables or 8))
    if from_tables is not None and from_tables != n:
        raise TableError(f"tables are for {from_tables} symbols, requested {n}")
    if cid == CODEC_PACKED:
        return PackedCodec(n, max_symbols=max_symbols)
    if cid == CODEC_LZW:
        return LzwCodec(n, max_symbols=max_symbols)
    rans_tables = tables.get("rans") if tables else None
    if tables and rans_tables is None:
        raise TableError("codec tables have no 'rans' entry")
    codec = RansCodec(rans_tables, n_symbols=n, max_symbols=max_symbols)
    if codec.n_symbols != n:
        raise TableError(f"rANS tables are for {codec.n_symbols} symbols, requested {n}")
    return codec


def build_codec_tables(
    indices_samples: np.ndarray,
    n_symbols: int,
    *,
    precision_bits: int = DEFAULT_PRECISION_BITS,
    context: str = DEFAULT_CONTEXT,
) -> dict[str, Any]:
    """Learn the codec tables from training-set indices.

    ``indices_samples``: integer array (N, C, H, W) of centroid indices of the remote
    channels (a few thousand training frames are plenty). ``context``: "shared",
    "channel", "channel_left" or "channel_left_above" (default; docs/codec.md). Returns a
    JSON-serialisable dict for manifest.json ``codec.tables``::

        {"n_symbols": 8,
         "rans": {"format": "agilenn-rans-static-v1", "n_symbols": 8, "precision_bits": 12,
                  "context": "channel_left_above", "channels": C, "n_tables": C*8*8,
                  "freqs": [[8 ints summing to 4096], ...]}}
    """
    n = check_n_symbols(n_symbols)
    rans: RansTables = build_rans_tables(indices_samples, n, precision_bits, context)
    return {"n_symbols": n, "rans": rans.to_dict()}
