"""Codec 1 ("rans"): static-table rANS entropy coder over the centroid indices.

Parameters (fixed by the format, see docs/codec.md):

* state: 32-bit unsigned, kept in [RANS_L, RANS_L * 256) with RANS_L = 2**23;
* renormalisation: byte-wise (8 bits at a time);
* precision: ``precision_bits`` P (default 12): every table's frequencies sum to 2**P;
* context: one frequency table per remote channel (``n_tables == C``) or one table shared
  by all channels (``n_tables == 1``). Symbol i of the C-order (c, y, x) stream uses the
  table of its channel c.

Payload after the 6-byte header: the encoder's final state (uint32 little-endian) followed
by the renormalisation bytes, stored in the reverse of the order the encoder emitted them,
so the decoder reads everything front to back. The encoder starts from state RANS_L and
codes the symbols in reverse order; a correct decode therefore ends in state RANS_L with
every byte consumed, which the decoder checks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

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
from .errors import (
    CorruptPayload,
    InvalidSymbols,
    OversizedPayload,
    ShapeMismatch,
    TableError,
    TruncatedPayload,
)

__all__ = [
    "RANS_L",
    "RANS_STATE_BYTES",
    "DEFAULT_PRECISION_BITS",
    "MAX_PRECISION_BITS",
    "TABLES_FORMAT",
    "RansTables",
    "RansCodec",
    "quantize_frequencies",
    "count_symbols",
    "build_rans_tables",
    "rans_tables_to_c",
    "empirical_entropy_bits",
    "ideal_code_bits",
]

CODEC_ID = 1
RANS_L = 1 << 23
RANS_STATE_BYTES = 4
DEFAULT_PRECISION_BITS = 12
MAX_PRECISION_BITS = 16
TABLES_FORMAT = "agilenn-rans-static-v1"


# --------------------------------------------------------------------------- tables


def quantize_frequencies(counts: Sequence[int], precision_bits: int = DEFAULT_PRECISION_BITS) -> list[int]:
    """Turn symbol counts into integer frequencies summing to exactly 2**precision_bits.

    Deterministic, integer-only (docs/codec.md, "table quantisation"): with S symbols,
    M = 2**precision_bits and T = sum(counts) > 0, every symbol gets
    ``1 + floor(counts[s] * (M - S) / T)``; the remaining R < S units go, one each, to the
    R symbols with the largest remainders ``counts[s] * (M - S) mod T`` (ties: lower symbol
    first). All-zero counts give the same result as all-one counts (near uniform).
    Every frequency is >= 1, so every symbol stays codable.
    """
    cnt = [int(c) for c in counts]
    n = len(cnt)
    if n < 2:
        raise TableError(f"need at least 2 symbols, got {n}")
    if any(c < 0 for c in cnt):
        raise TableError("symbol counts must be non-negative")
    if not 1 <= precision_bits <= MAX_PRECISION_BITS:
        raise TableError(f"precision_bits must be in 1..{MAX_PRECISION_BITS}, got {precision_bits}")
    total_slots = 1 << precision_bits
    if n > total_slots:
        raise TableError(f"{n} symbols do not fit in 2**{precision_bits} slots")
    total = sum(cnt)
    if total == 0:
        cnt = [1] * n
        total = n
    spread = total_slots - n
    freqs = [1 + (c * spread) // total for c in cnt]
    remainders = [(c * spread) % total for c in cnt]
    left = total_slots - sum(freqs)
    order = sorted(range(n), key=lambda s: (-remainders[s], s))
    for s in order[:left]:
        freqs[s] += 1
    return freqs


@dataclass(frozen=True)
class RansTables:
    """Static rANS frequency tables.

    ``freqs[t][s]`` is the frequency of symbol s in table t (>= 1, each table sums to
    2**precision_bits). With one table it is shared by every channel; otherwise table t
    codes channel t and a frame must have exactly ``n_tables`` channels.
    """

    n_symbols: int
    precision_bits: int
    freqs: tuple[tuple[int, ...], ...]

    def __post_init__(self) -> None:
        try:
            n = check_n_symbols(self.n_symbols)
        except ValueError as exc:
            raise TableError(str(exc)) from exc
        p = self.precision_bits
        if isinstance(p, bool) or not isinstance(p, (int, np.integer)) or not 1 <= p <= MAX_PRECISION_BITS:
            raise TableError(f"precision_bits must be an integer in 1..{MAX_PRECISION_BITS}, got {p!r}")
        if len(self.freqs) < 1:
            raise TableError("rANS tables need at least one frequency table")
        total = 1 << int(p)
        for t, row in enumerate(self.freqs):
            if len(row) != n:
                raise TableError(f"table {t} has {len(row)} frequencies, expected {n}")
            if any(isinstance(f, bool) or not isinstance(f, (int, np.integer)) or f < 1 for f in row):
                raise TableError(f"table {t}: every frequency must be an integer >= 1")
            if sum(int(f) for f in row) != total:
                raise TableError(f"table {t}: frequencies sum to {sum(row)}, expected 2**{p} = {total}")

    @property
    def n_tables(self) -> int:
        """Number of frequency tables (1 = shared by all channels)."""
        return len(self.freqs)

    @property
    def context(self) -> str:
        """``"channel"`` (one table per channel) or ``"shared"``."""
        return "shared" if self.n_tables == 1 else "channel"

    def freq_array(self) -> np.ndarray:
        """Frequencies as an int64 array of shape (n_tables, n_symbols)."""
        return np.asarray(self.freqs, dtype=np.int64).reshape(self.n_tables, self.n_symbols)

    def cum_array(self) -> np.ndarray:
        """Cumulative frequencies (cum[t, s] = sum of freqs[t, :s]), shape (n_tables, n_symbols)."""
        f = self.freq_array()
        return np.cumsum(f, axis=1) - f

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (stored in manifest.json under codec.tables.rans)."""
        return {
            "format": TABLES_FORMAT,
            "n_symbols": int(self.n_symbols),
            "precision_bits": int(self.precision_bits),
            "context": self.context,
            "n_tables": self.n_tables,
            "freqs": [[int(f) for f in row] for row in self.freqs],
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "RansTables":
        """Inverse of :meth:`to_dict`; raises TableError for anything malformed."""
        if not isinstance(d, Mapping):
            raise TableError(f"rANS tables must be a mapping, got {type(d).__name__}")
        fmt = d.get("format", TABLES_FORMAT)
        if fmt != TABLES_FORMAT:
            raise TableError(f"unsupported rANS tables format {fmt!r}")
        try:
            freqs = tuple(tuple(row) for row in d["freqs"])
            tables = cls(n_symbols=d["n_symbols"], precision_bits=d["precision_bits"], freqs=freqs)
        except (KeyError, TypeError) as exc:
            raise TableError(f"malformed rANS tables: {exc!r}") from exc
        if "n_tables" in d and d["n_tables"] != tables.n_tables:
            raise TableError(f"n_tables {d['n_tables']} disagrees with {tables.n_tables} frequency rows")
        if "context" in d and d["context"] != tables.context:
            raise TableError(f"context {d['context']!r} disagrees with {tables.n_tables} frequency rows")
        return tables

    @classmethod
    def uniform(cls, n_symbols: int = 8, precision_bits: int = DEFAULT_PRECISION_BITS) -> "RansTables":
        """One shared, near-uniform table (codes anything at about log2(n_symbols) bits)."""
        return cls.from_counts(np.ones((1, n_symbols), dtype=np.int64), precision_bits)

    @classmethod
    def from_counts(cls, counts: np.ndarray, precision_bits: int = DEFAULT_PRECISION_BITS) -> "RansTables":
        """Quantise a (n_tables, n_symbols) array of symbol counts into tables."""
        arr = np.asarray(counts)
        if arr.ndim != 2:
            raise TableError(f"counts must be (n_tables, n_symbols), got shape {arr.shape}")
        rows = tuple(tuple(quantize_frequencies(row.tolist(), precision_bits)) for row in arr)
        return cls(n_symbols=arr.shape[1], precision_bits=precision_bits, freqs=rows)


def count_symbols(indices_samples: np.ndarray, n_symbols: int, per_channel: bool = True) -> np.ndarray:
    """Histogram of training indices.

    ``indices_samples``: integer array (N, C, H, W) (or one (C, H, W) frame) of centroid
    indices. Returns int64 counts of shape (C, n_symbols) when ``per_channel`` else
    (1, n_symbols).
    """
    n_symbols = check_n_symbols(n_symbols)
    arr = np.asarray(indices_samples)
    if arr.ndim == 3:
        arr = arr[None]
    if arr.ndim != 4:
        raise ShapeMismatch(f"indices samples must be (N, C, H, W), got shape {arr.shape}")
    if not np.issubdtype(arr.dtype, np.integer):
        raise InvalidSymbols(f"indices must have an integer dtype, got {arr.dtype}")
    if arr.size and (int(arr.min()) < 0 or int(arr.max()) >= n_symbols):
        raise InvalidSymbols(f"indices must lie in 0..{n_symbols - 1}")
    channels = arr.shape[1]
    if not per_channel:
        return np.bincount(arr.reshape(-1).astype(np.int64), minlength=n_symbols)[None].astype(np.int64)
    per = np.moveaxis(arr, 1, 0).reshape(channels, -1).astype(np.int64)
    keys = per + (np.arange(channels, dtype=np.int64) * n_symbols)[:, None]
    counts = np.bincount(keys.reshape(-1), minlength=channels * n_symbols)
    return counts.reshape(channels, n_symbols).astype(np.int64)


def build_rans_tables(
    indices_samples: np.ndarray,
    n_symbols: int,
    precision_bits: int = DEFAULT_PRECISION_BITS,
    per_channel: bool = True,
) -> RansTables:
    """Learn static tables from training indices (N, C, H, W): one per channel by default."""
    return RansTables.from_counts(count_symbols(indices_samples, n_symbols, per_channel), precision_bits)


def _as_tables(tables: "RansTables | Mapping[str, Any]") -> RansTables:
    if isinstance(tables, RansTables):
        return tables
    if isinstance(tables, Mapping) and "rans" in tables:
        tables = tables["rans"]
    return RansTables.from_dict(tables)


def _c_rows(rows: np.ndarray, per_line: int = 16) -> str:
    lines = []
    for t, row in enumerate(rows.tolist()):
        vals = [str(v) for v in row]
        chunks = [", ".join(vals[i : i + per_line]) for i in range(0, len(vals), per_line)]
        body = ",\n    ".join(chunks)
        lines.append(f"    /* table {t} */\n    {body},")
    return "\n".join(lines)


def rans_tables_to_c(tables: "RansTables | Mapping[str, Any]", prefix: str = "agilenn_rans") -> str:
    """Render tables as C99 definitions for the firmware's generated model header.

    Accepts a RansTables, its dict form, or the manifest's whole ``codec.tables`` dict.
    The text needs ``#include "agilenn_codec.h"`` first and defines ``<prefix>_freq``,
    ``<prefix>_cum`` (static const uint16_t[n_tables * n_symbols]) and ``<prefix>_tables``
    (static const agilenn_rans_tables_t), plus macros ``<PREFIX>_N_SYMBOLS``,
    ``<PREFIX>_N_TABLES`` and ``<PREFIX>_PRECISION_BITS``.
    """
    t = _as_tables(tables)
    if not prefix.isidentifier():
        raise ValueError(f"prefix must be a C identifier, got {prefix!r}")
    up = prefix.upper()
    n = t.n_tables * t.n_symbols
    return (
        f"/* rANS tables ({t.context} context), generated by "
        f"agilenn_ros.codec.rans.rans_tables_to_c: do not edit. */\n"
        f"#define {up}_N_SYMBOLS {t.n_symbols}u\n"
        f"#define {up}_N_TABLES {t.n_tables}u\n"
        f"#define {up}_PRECISION_BITS {t.precision_bits}u\n"
        f"static const uint16_t {prefix}_freq[{n}] = {{\n{_c_rows(t.freq_array())}\n}};\n"
        f"static const uint16_t {prefix}_cum[{n}] = {{\n{_c_rows(t.cum_array())}\n}};\n"
        f"static const agilenn_rans_tables_t {prefix}_tables = {{\n"
        f"    .n_symbols = {up}_N_SYMBOLS,\n"
        f"    .n_tables = {up}_N_TABLES,\n"
        f"    .precision_bits = {up}_PRECISION_BITS,\n"
        f"    .freq = {prefix}_freq,\n"
        f"    .cum = {prefix}_cum,\n"
        f"}};\n"
    )


def empirical_entropy_bits(indices: np.ndarray, n_symbols: int, per_channel: bool = True) -> float:
    """Order-0 empirical entropy, in bits, of all symbols in ``indices`` ((C,H,W) or
    (N,C,H,W)): the sum over contexts (channels, or one global context) of
    count * H(empirical distribution of that context)."""
    counts = count_symbols(indices, n_symbols, per_channel).astype(np.float64)
    total = counts.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(counts > 0, counts / np.maximum(total, 1), 1.0)
        return float(-(counts * np.log2(p)).sum())


def ideal_code_bits(indices: np.ndarray, tables: RansTables) -> float:
    """Information content, in bits, of ``indices`` ((C,H,W) or (N,C,H,W)) under the
    tables: what an ideal coder with these static tables would spend."""
    arr = np.asarray(indices)
    if arr.ndim == 3:
        arr = arr[None]
    per_channel = tables.n_tables > 1
    counts = count_symbols(arr, tables.n_symbols, per_channel).astype(np.float64)
    if per_channel and counts.shape[0] != tables.n_tables:
        raise ShapeMismatch(f"indices have {counts.shape[0]} channels, tables {tables.n_tables}")
    logp = np.log2(tables.freq_array() / float(1 << tables.precision_bits))
    return float(-(counts * logp).sum())


# --------------------------------------------------------------------------- codec


class RansCodec:
    """rANS coder with static tables (see module docstring for the bitstream)."""

    name = "rans"
    codec_id = CODEC_ID

    def __init__(
        self,
        tables: "RansTables | Mapping[str, Any] | None" = None,
        *,
        n_symbols: int = 8,
        max_symbols: int = DEFAULT_MAX_SYMBOLS,
    ) -> None:
        """``tables``: RansTables, their dict form or the manifest's ``codec.tables``; None
        gives one shared near-uniform table for ``n_symbols`` symbols."""
        self.tables = RansTables.uniform(check_n_symbols(n_symbols)) if tables is None else _as_tables(tables)
        self.n_symbols = self.tables.n_symbols
        self.max_symbols = int(max_symbols)
        self._freq = self.tables.freq_array()
        self._cum = self.tables.cum_array()
        self._decode_tables: list[tuple[list[int], list[int], list[int]]] | None = None

    def __repr__(self) -> str:
        t = self.tables
        return f"RansCodec(n_symbols={t.n_symbols}, n_tables={t.n_tables}, precision_bits={t.precision_bits})"

    def _check_channels(self, channels: int) -> None:
        nt = self.tables.n_tables
        if nt != 1 and channels != nt:
            raise ShapeMismatch(f"frame has {channels} channels, the rANS tables have {nt} (one per channel)")

    # -- encode ---------------------------------------------------------------

    def encode(self, indices: np.ndarray) -> bytes:
        """Encode a (C, H, W) array of indices in 0..n_symbols-1."""
        arr = validate_indices(indices, self.n_symbols, self.max_symbols)
        channels = arr.shape[0]
        self._check_channels(channels)
        flat = arr.reshape(-1).astype(np.int64)
        if self.tables.n_tables == 1:
            table = np.zeros(flat.size, dtype=np.int64)
        else:
            table = np.repeat(np.arange(channels, dtype=np.int64), flat.size // max(channels, 1))
        prec = self.tables.precision_bits
        freq = self._freq[table, flat][::-1]
        cum = self._cum[table, flat][::-1]
        xmax = freq * ((RANS_L >> prec) << 8)
        x = RANS_L
        out = bytearray()
        emit = out.append
        for f, c, xm in zip(freq.tolist(), cum.tolist(), xmax.tolist()):
            while x >= xm:
                emit(x & 0xFF)
                x >>= 8
            q, r = divmod(x, f)
            x = (q << prec) + r + c
        out.reverse()
        return make_header(CODEC_ID, self.n_symbols, flat.size) + x.to_bytes(4, "little") + bytes(out)

    # -- decode ---------------------------------------------------------------

    def _slot_tables(self) -> list[tuple[list[int], list[int], list[int]]]:
        """Per table: slot -> frequency, slot -> (slot - cum), slot -> symbol, as lists."""
        if self._decode_tables is None:
            built = []
            for row in self.tables.freqs:
                freq_of: list[int] = []
                bias_of: list[int] = []
                sym_of: list[int] = []
                for s, f in enumerate(row):
                    freq_of.extend([f] * f)
                    bias_of.extend(range(f))
                    sym_of.extend([s] * f)
                built.append((freq_of, bias_of, sym_of))
            self._decode_tables = built
        return self._decode_tables

    def decode(self, payload: Any, shape: tuple[int, int, int]) -> np.ndarray:
        """Decode ``payload`` into a uint8 array of ``shape``; raises CodecError subclasses."""
        dims, count = check_shape(shape, self.max_symbols)
        self._check_channels(dims[0])
        data = as_payload_bytes(payload)
        parse_header(data, CODEC_ID, self.n_symbols, count)
        start = HEADER_BYTES + RANS_STATE_BYTES
        if len(data) < start:
            raise TruncatedPayload(f"rANS payload has {len(data)} bytes, needs at least {start}")
        x = int.from_bytes(data[HEADER_BYTES:start], "little")
        if not RANS_L <= x < (RANS_L << 8):
            raise CorruptPayload(f"rANS initial state 0x{x:08x} outside [2**23, 2**31)")
        out = bytearray(count)
        tabs = self._slot_tables()
        if self.tables.n_tables == 1:
            runs = [(tabs[0], 0, count)]
        else:
            per = count // dims[0] if dims[0] else 0
            runs = [(tabs[c], c * per, (c + 1) * per) for c in range(dims[0])]
        prec = self.tables.precision_bits
        mask = (1 << prec) - 1
        low = RANS_L
        pos = start
        try:
            for (freq_of, bias_of, sym_of), begin, end in runs:
                for j in range(begin, end):
                    slot = x & mask
                    x = freq_of[slot] * (x >> prec) + bias_of[slot]
                    out[j] = sym_of[slot]
                    if x < low:
                        x = (x << 8) | data[pos]
                        pos += 1
                        if x < low:
                            x = (x << 8) | data[pos]
                            pos += 1
        except IndexError:
            raise TruncatedPayload("rANS payload ended before all symbols were decoded") from None
        if x != RANS_L:
            raise CorruptPayload("rANS final state check failed (corrupt payload or wrong tables)")
        if pos != len(data):
            raise OversizedPayload(f"rANS payload has {len(data) - pos} bytes after the coded data")
        return np.frombuffer(bytes(out), dtype=np.uint8).reshape(dims)
