"""Codec 2 ("lzw"): LZW over the centroid-index symbols (the paper's baseline coder).

The LZW alphabet is the index alphabet itself (A = n_symbols literal codes 0..A-1), not the
bytes of the packed stream, so dictionary strings align with feature elements.

* Codes: 0..A-1 literals, A = CLEAR, A+1.. = dictionary strings; at most 4096 codes
  (12-bit maximum width).
* Code i (0-based since the start or the last CLEAR) is written with
  ``bit_length(min(A + 1 + i, 4096) - 1)`` bits: just enough for the largest code the
  decoder could meet at that point.
* After emitting a code the encoder adds (string + next symbol) as the next code while the
  dictionary has fewer than 4096 codes; when it is full it emits CLEAR instead and both
  sides restart from the literals (reset policy). CLEAR occurs only there.
* Codes are packed most significant bit first into a big-endian bit stream, the last byte
  padded with zero bits. There is no end code: the header gives the symbol count.
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
    validate_indices,
)
from .errors import CorruptPayload, OversizedPayload, TruncatedPayload

__all__ = ["LzwCodec", "LZW_MAX_BITS", "LZW_MAX_CODES"]

CODEC_ID = 2
LZW_MAX_BITS = 12
LZW_MAX_CODES = 1 << LZW_MAX_BITS


class LzwCodec:
    """LZW with variable code width up to 12 bits and dictionary reset when full."""

    name = "lzw"
    codec_id = CODEC_ID

    def __init__(self, n_symbols: int = 8, *, max_symbols: int = DEFAULT_MAX_SYMBOLS) -> None:
        self.n_symbols = check_n_symbols(n_symbols)
        self.max_symbols = int(max_symbols)
        self._clear = self.n_symbols
        self._first = self.n_symbols + 1
        # Width of code i since the last reset, for every i the format allows.
        last = LZW_MAX_CODES - self._first + 1  # index of the CLEAR code in a full epoch
        self._widths = [(min(self._first + i, LZW_MAX_CODES) - 1).bit_length() for i in range(last + 1)]

    def __repr__(self) -> str:
        return f"LzwCodec(n_symbols={self.n_symbols})"

    # -- encode ---------------------------------------------------------------

    def encode(self, indices: np.ndarray) -> bytes:
        """Encode a (C, H, W) array of indices in 0..n_symbols-1."""
        arr = validate_indices(indices, self.n_symbols, self.max_symbols)
        symbols = arr.reshape(-1).tolist()
        header = make_header(CODEC_ID, self.n_symbols, len(symbols))
        if not symbols:
            return header
        widths = self._widths
        first = self._first
        out = bytearray()
        acc = 0  # pending bits, right-aligned
        nbits = 0
        table: dict[int, int] = {}
        next_code = first
        i = 0  # codes emitted since the last reset
        w = symbols[0]
        for s in symbols[1:]:
            key = (w << 8) | s
            code = table.get(key)
            if code is not None:
                w = code
                continue
            # emit w
            width = widths[i]
            acc = (acc << width) | w
            nbits += width
            i += 1
            if next_code < LZW_MAX_CODES:
                table[key] = next_code
                next_code += 1
            else:
                width = widths[i]
                acc = (acc << width) | self._clear
                nbits += width
                table = {}
                next_code = first
                i = 0
            while nbits >= 8:
                nbits -= 8
                out.append((acc >> nbits) & 0xFF)
            acc &= (1 << nbits) - 1
            w = s
        width = widths[i]
        acc = (acc << width) | w
        nbits += width
        while nbits >= 8:
            nbits -= 8
            out.append((acc >> nbits) & 0xFF)
        if nbits:
            out.append((acc << (8 - nbits)) & 0xFF)
        return header + bytes(out)

    # -- decode ---------------------------------------------------------------

    def decode(self, payload: Any, shape: tuple[int, int, int]) -> np.ndarray:
        """Decode ``payload`` into a uint8 array of ``shape``; raises CodecError subclasses."""
        dims, count = check_shape(shape, self.max_symbols)
        data = as_payload_bytes(payload)
        parse_header(data, CODEC_ID, self.n_symbols, count)
        if count == 0:
            if len(data) != HEADER_BYTES:
                raise OversizedPayload(f"empty LZW payload has {len(data) - HEADER_BYTES} extra bytes")
            return np.zeros(dims, dtype=np.uint8)
        stream = memoryview(data)[HEADER_BYTES:]
        total_bits = len(stream) * 8
        n_alpha = self.n_symbols
        clear = self._clear
        first = self._first
        widths = self._widths
        clear_at = len(widths) - 1  # the only code index where CLEAR is allowed (and required)
        literals = [bytes([s]) for s in range(n_alpha)]
        entries: list[bytes] = list(literals) + [b""]  # index `clear` is a placeholder
        out = bytearray()
        acc = 0
        nbits = 0
        pos = 0
        bits_read = 0
        i = 0
        prev = b""
        while len(out) < count:
            width = widths[i]
            while nbits < width:
                if pos >= len(stream):
                    raise TruncatedPayload("LZW payload ended before all symbols were decoded")
                acc = (acc << 8) | stream[pos]
                pos += 1
                nbits += 8
            nbits -= width
            code = (acc >> nbits) & ((1 << width) - 1)
            acc &= (1 << nbits) - 1
            bits_read += width
            if i == clear_at:
                if code != clear:
                    raise CorruptPayload("LZW dictionary full but no CLEAR code")
                entries = list(literals) + [b""]
                i = 0
                continue
            if i == 0:
                if code >= n_alpha:
                    raise CorruptPayload(f"LZW code {code} after a reset is not a literal")
                cur = literals[code]
            else:
                new_code = first + i - 1  # entry the encoder added after the previous code
                if code < len(entries) and code != clear:
                    cur = entries[code]
                elif code == new_code and new_code < LZW_MAX_CODES:
                    cur = prev + prev[:1]
                else:
                    raise CorruptPayload(f"invalid LZW code {code}")
                if new_code < LZW_MAX_CODES:
                    entries.append(prev + cur[:1])
            out += cur
            prev = cur
            i += 1
        if len(out) != count:
            raise CorruptPayload(f"LZW data decodes to more than {count} symbols")
        if pos != len(stream):
            raise OversizedPayload(f"LZW payload has {len(stream) - pos} bytes after the coded data")
        if acc:
            raise CorruptPayload("non-zero padding bits after the last LZW code")
        values = np.frombuffer(bytes(out), dtype=np.uint8)
        return values.reshape(dims)
