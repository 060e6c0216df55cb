"""Typed errors of the feature codec.

Every problem a codec detects raises a subclass of :class:`CodecError`, which is itself a
``ValueError``, so callers can catch one type for "this payload/array/table is unusable"
and still tell the cases apart. Decoders never let ``IndexError``, ``struct.error`` or numpy
errors escape for malformed input.
"""

from __future__ import annotations

__all__ = [
    "CodecError",
    "TruncatedPayload",
    "OversizedPayload",
    "CorruptPayload",
    "ShapeMismatch",
    "InvalidSymbols",
    "TableError",
    "UnknownCodec",
]


class CodecError(ValueError):
    """Base class of every codec error."""


class TruncatedPayload(CodecError):
    """The payload ends before the header or the coded symbols are complete."""


class OversizedPayload(CodecError):
    """The payload holds bytes after the end of its coded data, or claims more symbols
    than the codec accepts (``max_symbols``)."""


class CorruptPayload(CodecError):
    """The payload is malformed: wrong format tag or alphabet size, invalid code,
    non-zero padding bits, failed rANS final-state check, decoded symbol out of range."""


class ShapeMismatch(CodecError):
    """The expected shape is invalid or disagrees with the payload (symbol count) or with
    the codec tables (channel count), or an input array is not (C, H, W)."""


class InvalidSymbols(CodecError):
    """An array to encode has a non-integer dtype or values outside ``0..n_symbols-1``."""


class TableError(CodecError):
    """Codec tables are missing, malformed or inconsistent."""


class UnknownCodec(CodecError):
    """No codec has the requested name or id."""
