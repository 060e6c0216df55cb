"""Codec 0 ("packed"): fixed-width bit packing of the centroid indices.

Body after the 6-byte header: the ``count`` symbols in C order (channel, row, column),
each written with ``bits = ceil(log2(n_symbols))`` bits, most significant bit first, into
a big-endian bit stream (the first bit of the stream is bit 7 of the first byte). The last
byte is padded with zero bits. Body length: ceil(count * bits / 8) bytes.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .common import (
    DEFAULT_MAX_SYMBOLS,
    HEADER_BYTES,
    as_payload_bytes,
    check_n_symbols,
    check_shape,
    make_header,
    parse_header,
    symbol_bits,
    validate_indices,
)
from .errors import CorruptPayload, OversizedPayload, TruncatedPayload

__all__ = ["PackedCodec", "pack_symbols", "unpack_symbols"]

CODEC_ID = 0


def pack_symbols(values: np.ndarray, bits: int) -> bytes:
    """Pack a 1-D uint8 array of symbols (each < 2**bits) MSB first, ``bits`` bits each."""
    if bits == 8:
        return values.tobytes()
    planes = np.unpackbits(values.reshape(-1, 1), axis=1)[:, 8 - bits :]
    return np.packbits(planes.reshape(-1)).tobytes()


def unpack_symbols(body: bytes, count: int, bits: int) -> tuple[np.ndarray, bool]:
    """Inverse of :func:`pack_symbols` for a body of exactly ceil(count*bits/8) bytes.

    Returns the 1-D uint8 symbols and whether the padding bits after them are all zero.
    """
    raw = np.frombuffer(body, dtype=np.uint8)
    if bits == 8:
        return raw.copy(), True
    stream = np.unpackbits(raw)
    used = count * bits
    planes = np.zeros((count, 8), dtype=np.uint8)
    planes[:, 8 - bits :] = stream[:used].reshape(count, bits)
    values = np.packbits(planes, axis=1).reshape(count)
    return values, not stream[used:].any()


class PackedCodec:
    """Fixed-width packing of an ``n_symbols`` alphabet (3 bits per index for 8 centroids)."""

    name = "packed"
    codec_id = CODEC_ID

    def __init__(self, n_symbols: int = 8, *, max_symbols: int = DEFAULT_MAX_SYMBOLS) -> None:
        self.n_symbols = check_n_symbols(n_symbols)
        self.bits = symbol_bits(self.n_symbols)
        self.max_symbols = int(max_symbols)

    def __repr__(self) -> str:
        return f"PackedCodec(n_symbols={self.n_symbols})"

    def payload_size(self, shape: tuple[int, int, int]) -> int:
        """Exact payload length in bytes for a (C, H, W) shape."""
        _, count = check_shape(shape, self.max_symbols)
        return HEADER_BYTES + (count * self.bits + 7) // 8

    def encode(self, indices: np.ndarray) -> bytes:
        """Encode a (C, H, W) array of indices in 0..n_symbols-1."""
        arr = validate_indices(indices, self.n_symbols, self.max_symbols)
        header = make_header(CODEC_ID, self.n_symbols, arr.size)
        return header + pack_symbols(arr.reshape(-1), self.bits)

    def decode(self, payload: Any, shape: tuple[int, int, int]) -> np.ndarray:
        """Decode ``payload`` into a uint8 array of ``shape``; raises CodecError subclasses."""
        dims, count = check_shape(shape, self.max_symbols)
        data = as_payload_bytes(payload)
        parse_header(data, CODEC_ID, self.n_symbols, count)
        expected = HEADER_BYTES + (count * self.bits + 7) // 8
        if len(data) < expected:
            raise TruncatedPayload(f"packed payload has {len(data)} bytes, expected {expected}")
        if len(data) > expected:
            raise OversizedPayload(f"packed payload has {len(data)} bytes, expected {expected}")
        values, clean_pad = unpack_symbols(data[HEADER_BYTES:], count, self.bits)
        if not clean_pad:
            raise CorruptPayload("non-zero padding bits after the last symbol")
        if count and int(values.max()) >= self.n_symbols:
            raise CorruptPayload(f"decoded symbol {int(values.max())} >= n_symbols {self.n_symbols}")
        return values.reshape(dims)
