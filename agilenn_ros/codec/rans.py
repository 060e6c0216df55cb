"""Codec 1 ("rans"): static-table rANS entropy coder over the centroid indices.

Parameters (fixed by the format, docs/codec.md has the full specification):

* state: 32-bit unsigned, kept in [RANS_L, RANS_L * 256) with RANS_L = 2**23;
* renormalisation: byte-wise (8 bits at a time);
* precision: ``precision_bits`` P (default 12): every table's frequencies sum to 2**P;
* context (chosen when the tables are learned, stored with them): which table codes a
  symbol. With S symbols, channel c and the causal neighbours ``left`` and ``above`` of the
  symbol in its channel plane (see :func:`context_ids`):

  ==================== ============ =====================================
  context              n_tables     table of a symbol
  ==================== ============ =====================================
  shared               1            0
  channel              C            c
  channel_left         C*S          c*S + left
  channel_left_above   C*S*S        (c*S + left)*S + above
  ==================== ============ =====================================

Payload after the 6-byte header: the encoder's final state (uint32 little-endian) followed
by the renormalisation bytes in the reverse of the order the encoder emitted them, so the
decoder reads front to back. The encoder starts from state RANS_L and codes the symbols
from last to first; a correct decode therefore ends in state RANS_L with every byte
consumed, which the decoder checks.

Decoding uses the native C decoder (csrc/rans_decode.c, loaded by :mod:`.native`) when it
is available and the pure-Python decoder otherwise; both give identical results and errors
(``RansCodec.decode_backend`` says which one is used).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from . import native as _native_mod
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
    "CONTEXTS",
    "DEFAULT_CONTEXT",
    "CONTEXT_PRIOR_WEIGHT",
    "RansTables",
    "RansCodec",
    "quantize_frequencies",
    "context_ids",
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
#: Context names, in the order of their numeric ids in C (AGILENN_RANS_CTX_*).
CONTEXTS = ("shared", "channel", "channel_left", "channel_left_above")
DEFAULT_CONTEXT = "channel_left_above"
#: Pseudo-observations of the channel's marginal distribution added to every neighbour
#: context when learning tables (so rarely seen contexts fall back to the channel's
#: statistics instead of a uniform table).
CONTEXT_PRIOR_WEIGHT = 1


def _load_native():
    """The native decoder (agilenn_ros.codec.native.load_native()), or None."""
    return _native_mod.load_native()


# --------------------------------------------------------------------------- contexts


def _context_multipliers(context: str, n_symbols: int) -> tuple[int, int, int]:
    """(k_channel, k_left, k_above): table = c*k_channel + left*k_left + above*k_above."""
    s = n_symbols
    return {
        "shared": (0, 0, 0),
        "channel": (1, 0, 0),
        "channel_left": (s, 1, 0),
        "channel_left_above": (s * s, s, 1),
    }[context]


def _n_tables(context: str, channels: int, n_symbols: int) -> int:
    return {
        "shared": 1,
        "channel": channels,
        "channel_left": channels * n_symbols,
        "channel_left_above": channels * n_symbols * n_symbols,
    }[context]


def _neighbours(arr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Causal neighbours of every element of (..., H, W) planes.

    left(y, x)  = p[y, x-1] if x > 0, else p[y-1, 0] if y > 0, else 0;
    above(y, x) = p[y-1, x] if y > 0, else left(y, x).
    """
    left = np.zeros_like(arr)
    left[..., :, 1:] = arr[..., :, :-1]
    left[..., 1:, :1] = arr[..., :-1, :1]
    above = np.empty_like(arr)
    above[..., 1:, :] = arr[..., :-1, :]
    above[..., :1, :] = left[..., :1, :]  # slices, not indices: also for H = 0 or W = 0
    return left, above


def context_ids(indices: np.ndarray, context: str, n_symbols: int) -> np.ndarray:
    """Table index of every symbol of ``indices`` ((C,H,W) or (N,C,H,W)), same shape, int64."""
    arr = np.asarray(indices).astype(np.int64)
    kc, kl, ka = _context_multipliers(context, n_symbols)
    channels = arr.shape[-3]
    chan = np.arange(channels, dtype=np.int64).reshape(channels, 1, 1) * kc
    if kl == 0 and ka == 0:
        return np.broadcast_to(chan, arr.shape).copy()
    left, above = _neighbours(arr)
    return chan + left * kl + above * ka


# --------------------------------------------------------------------------- tables


def quantize_frequencies(counts: Sequence[int], precision_bits: int = DEFAULT_PRECISION_BITS) -> list[int]:
    """Turn symbol counts into integer frequencies summing to exactly 2**precision_bits.

    Deterministic, integer-only (docs/codec.md, "table quantisation"): with S symbols,
    M = 2**precision_bits and T = sum(counts) > 0, every symbol gets
    ``1 + floor(counts[s] * (M - S) / T)``; the remaining R < S units go, one each, to the
    R symbols with the largest remainders ``counts[s] * (M - S) mod T`` (ties: lower symbol
    first). All-zero counts are treated as all-one counts (near uniform).
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


def _is_int(v: Any) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))


@dataclass(frozen=True)
class RansTables:
    """Static rANS frequency tables.

    ``freqs[t][s]``: frequency of symbol s in table t (>= 1; each table sums to
    2**precision_bits). ``context`` says which table codes a symbol (module docstring);
    ``channels`` is the channel count C the tables were learned for (0 for ``shared``,
    which codes any C).
    """

    n_symbols: int
    precision_bits: int
    freqs: tuple[tuple[int, ...], ...]
    context: str = "channel"
    channels: int = 0

    def __post_init__(self) -> None:
        try:
            n = check_n_symbols(self.n_symbols)
        except ValueError as exc:
            raise TableError(str(exc)) from exc
        p = self.precision_bits
        if not _is_int(p) or not 1 <= p <= MAX_PRECISION_BITS:
            raise TableError(f"precision_bits must be an integer in 1..{MAX_PRECISION_BITS}, got {p!r}")
        if n > (1 << int(p)):
            raise TableError(f"{n} symbols do not fit in 2**{p} slots")
        if self.context not in CONTEXTS:
            raise TableError(f"unknown rANS context {self.context!r}; known: {CONTEXTS}")
        if not _is_int(self.channels) or self.channels < 0 or self.channels > 0xFFFF:
            raise TableError(f"channels must be an integer in 0..65535, got {self.channels!r}")
        if self.context == "shared":
            if self.channels != 0:
                raise TableError("shared tables have channels = 0")
        elif self.channels < 1:
            raise TableError(f"context {self.context!r} needs channels >= 1")
        expected = _n_tables(self.context, max(int(self.channels), 1), n)
        if len(self.freqs) != expected:
            raise TableError(
                f"context {self.context!r} with {self.channels} channels needs {expected} tables, "
                f"got {len(self.freqs)}"
            )
        total = 1 << int(p)
        for t, row in enumerate(self.freqs):
            if len(row) != n:
                raise TableError(f"table {t} has {len(row)} frequencies, expected {n}")
            if any(not _is_int(f) or f < 1 for f in row):
                raise TableError(f"table {t}: every frequency must be an integer >= 1")
            if sum(int(f) for f in row) != total:
                raise TableError(f"table {t}: frequencies sum to {sum(row)}, expected 2**{p} = {total}")

    @property
    def n_tables(self) -> int:
        """Number of frequency tables."""
        return len(self.freqs)

    def multipliers(self) -> tuple[int, int, int]:
        """(k_channel, k_left, k_above) of the table-index formula."""
        return _context_multipliers(self.context, self.n_symbols)

    def freq_array(self) -> np.ndarray:
        """Frequencies, int64 array (n_tables, n_symbols)."""
        return np.asarray(self.freqs, dtype=np.int64).reshape(self.n_tables, self.n_symbols)

    def cum_array(self) -> np.ndarray:
        """Cumulative frequencies (cum[t, s] = sum of freqs[t, :s]), (n_tables, n_symbols)."""
        f = self.freq_array()
        return np.cumsum(f, axis=1) - f

    def check_channels(self, channels: int) -> None:
        """Raise ShapeMismatch unless the tables code frames with ``channels`` channels."""
        if self.context != "shared" and channels != self.channels:
            raise ShapeMismatch(f"frame has {channels} channels, the rANS tables were built for {self.channels}")

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (stored in manifest.json under codec.tables.rans)."""
        return {
            "format": TABLES_FORMAT,
            "n_symbols": int(self.n_symbols),
            "precision_bits": int(self.precision_bits),
            "context": self.context,
            "channels": int(self.channels),
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
            context = d.get("context", "channel")
            channels = d.get("channels", 0 if context == "shared" else len(freqs))
            tables = cls(
                n_symbols=d["n_symbols"],
                precision_bits=d["precision_bits"],
                freqs=freqs,
                context=context,
                channels=channels,
            )
        except (KeyError, TypeError) as exc:
            raise TableError(f"malformed rANS tables: {exc!r}") from exc
        if "n_tables" in d and d["n_tables"] != tables.n_tables:
            raise TableError(f"n_tables {d['n_tables']} disagrees with {tables.n_tables} frequency rows")
        return tables

    @classmethod
    def uniform(cls, n_symbols: int = 8, precision_bits: int = DEFAULT_PRECISION_BITS) -> "RansTables":
        """One shared, near-uniform table (codes anything at about log2(n_symbols) bits)."""
        return cls.from_counts(np.ones((1, n_symbols), dtype=np.int64), precision_bits, "shared", 0)

    @classmethod
    def from_counts(
        cls,
        counts: np.ndarray,
        precision_bits: int = DEFAULT_PRECISION_BITS,
        context: str = "channel",
        channels: int | None = None,
    ) -> "RansTables":
        """Quantise an (n_tables, n_symbols) array of (smoothed) counts into tables."""
        arr = np.asarray(counts)
        if arr.ndim != 2:
            raise TableError(f"counts must be (n_tables, n_symbols), got shape {arr.shape}")
        if context not in CONTEXTS:
            raise TableError(f"unknown rANS context {context!r}; known: {CONTEXTS}")
        if channels is None:
            per_channel_tables = _n_tables(context, 1, arr.shape[1])
            channels = 0 if context == "shared" else arr.shape[0] // per_channel_tables
        rows = tuple(tuple(quantize_frequencies(row, precision_bits)) for row in arr.tolist())
        return cls(
            n_symbols=arr.shape[1], precision_bits=precision_bits, freqs=rows, context=context, channels=channels
        )


def _check_samples(indices_samples: np.ndarray, n_symbols: int) -> np.ndarray:
    arr = np.asarray(indices_samples)
    if arr.ndim == 3:
        arr = arr[None]
    if arr.ndim != 4:
        raise ShapeMismatch(f"indices samples must be (N, C, H, W), got shape {arr.shape}")
    if not np.issubdtype(arr.dtype, np.integer):
        raise InvalidSymbols(f"indices must have an integer dtype, got {arr.dtype}")
    if arr.size and (int(arr.min()) < 0 or int(arr.max()) >= n_symbols):
        raise InvalidSymbols(f"indices must lie in 0..{n_symbols - 1}")
    return arr


def count_symbols(indices_samples: np.ndarray, n_symbols: int, context: str = "channel") -> np.ndarray:
    """Histogram of indices per table of ``context``.

    ``indices_samples``: integer array (N, C, H, W) (or one (C, H, W) frame) of centroid
    indices. Returns int64 counts of shape (n_tables, n_symbols).
    """
    n_symbols = check_n_symbols(n_symbols)
    if context not in CONTEXTS:
        raise TableError(f"unknown rANS context {context!r}; known: {CONTEXTS}")
    arr = _check_samples(indices_samples, n_symbols)
    n_tables = _n_tables(context, arr.shape[1], n_symbols)
    keys = context_ids(arr, context, n_symbols) * n_symbols + arr.astype(np.int64)
    counts = np.bincount(keys.reshape(-1), minlength=n_tables * n_symbols)
    return counts.reshape(n_tables, n_symbols).astype(np.int64)


def build_rans_tables(
    indices_samples: np.ndarray,
    n_symbols: int,
    precision_bits: int = DEFAULT_PRECISION_BITS,
    context: str = DEFAULT_CONTEXT,
) -> RansTables:
    """Learn static tables from training indices (N, C, H, W).

    Counts per table of ``context``; for the neighbour contexts every table's counts are
    smoothed towards its channel's marginal distribution (``CONTEXT_PRIOR_WEIGHT``
    pseudo-observations, integer arithmetic: ``count * n_c + w * marginal_count`` with n_c
    the channel's sample count), then quantised with :func:`quantize_frequencies`.
    """
    n_symbols = check_n_symbols(n_symbols)
    arr = _check_samples(indices_samples, n_symbols)
    channels = arr.shape[1]
    counts = count_symbols(arr, n_symbols, context)
    if context in ("channel_left", "channel_left_above"):
        per_channel = counts.reshape(channels, -1, n_symbols)
        marginal = per_channel.sum(axis=1, keepdims=True)  # (C, 1, S)
        n_c = marginal.sum(axis=2, keepdims=True)  # (C, 1, 1)
        counts = (per_channel * n_c + marginal * CONTEXT_PRIOR_WEIGHT).reshape(counts.shape)
    return RansTables.from_counts(
        counts, precision_bits, context, 0 if context == "shared" else channels
    )


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
        lines.append(f"    /* {t} */ {body},")
    return "\n".join(lines)


def rans_tables_to_c(
    tables: "RansTables | Mapping[str, Any]",
    prefix: str = "agilenn_rans",
    qualifier: str = "static const",
) -> str:
    """Render tables as C99 definitions for the firmware's generated model header.

    Accepts a RansTables, its dict form, or the manifest's whole ``codec.tables`` dict.
    The text needs ``#include "agilenn_codec.h"`` before it. It defines the macros
    ``<PREFIX>_N_SYMBOLS``, ``<PREFIX>_N_TABLES``, ``<PREFIX>_CHANNELS``,
    ``<PREFIX>_PRECISION_BITS``, ``<PREFIX>_CONTEXT``, the arrays ``<prefix>_freq`` and
    ``<prefix>_cum`` (uint16_t[n_tables * n_symbols], row t = table t) and
    ``<prefix>_tables`` (agilenn_rans_tables_t) to pass to ``agilenn_rans_encode``.

    ``qualifier`` starts each of the three definitions (``static const`` by default; a
    header included by several translation units may pass a macro that expands to
    ``const`` in one unit and ``extern const`` in the others). Each definition starts on
    its own line with ``<qualifier> <type> <name>... = {`` and ends with a line ``};``.
    """
    t = _as_tables(tables)
    if not prefix.isidentifier():
        raise ValueError(f"prefix must be a C identifier, got {prefix!r}")
    q = qualifier.strip()
    up = prefix.upper()
    n = t.n_tables * t.n_symbols
    ctx_macro = "AGILENN_RANS_CTX_" + t.context.upper()
    return (
        f"/* rANS tables (context {t.context}), generated by "
        f"agilenn_ros.codec.rans.rans_tables_to_c: do not edit. */\n"
        f"#define {up}_N_SYMBOLS {t.n_symbols}u\n"
        f"#define {up}_N_TABLES {t.n_tables}u\n"
        f"#define {up}_CHANNELS {t.channels}u\n"
        f"#define {up}_PRECISION_BITS {t.precision_bits}u\n"
        f"#define {up}_CONTEXT {ctx_macro}\n"
        f"{q} uint16_t {prefix}_freq[{n}] = {{\n{_c_rows(t.freq_array())}\n}};\n"
        f"{q} uint16_t {prefix}_cum[{n}] = {{\n{_c_rows(t.cum_array())}\n}};\n"
        f"{q} agilenn_rans_tables_t {prefix}_tables = {{\n"
        f"    .n_symbols = {up}_N_SYMBOLS,\n"
        f"    .precision_bits = {up}_PRECISION_BITS,\n"
        f"    .context = {up}_CONTEXT,\n"
        f"    .channels = {up}_CHANNELS,\n"
        f"    .n_tables = {up}_N_TABLES,\n"
        f"    .freq = {prefix}_freq,\n"
        f"    .cum = {prefix}_cum,\n"
        f"}};\n"
    )


def empirical_entropy_bits(indices: np.ndarray, n_symbols: int, context: str = "channel") -> float:
    """Empirical entropy, in bits, of all symbols of ``indices`` ((C,H,W) or (N,C,H,W))
    given ``context``: the sum over tables t of n_t * H(empirical distribution of the
    symbols coded with table t). ``"shared"`` gives the global order-0 entropy."""
    counts = count_symbols(indices, n_symbols, context).astype(np.float64)
    total = counts.sum(axis=1, keepdims=True)
    p = np.where(counts > 0, counts / np.maximum(total, 1.0), 1.0)
    return float(-(counts * np.log2(p)).sum())


def ideal_code_bits(indices: np.ndarray, tables: RansTables) -> float:
    """Information content, in bits, of ``indices`` ((C,H,W) or (N,C,H,W)) under the
    tables: what an ideal coder with these static tables would spend."""
    arr = np.asarray(indices)
    tables.check_channels(arr.shape[-3])
    counts = count_symbols(arr, tables.n_symbols, tables.context).astype(np.float64)
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
        native: bool | None = None,
    ) -> None:
        """``tables``: RansTables, their dict form or the manifest's ``codec.tables``; None
        gives one shared near-uniform table for ``n_symbols`` symbols (no compression).

        ``native``: which decoder :meth:`decode` uses. None (default): the native (C)
        decoder when :func:`agilenn_ros.codec.native.load_native` finds one, else the
        pure-Python decoder; False: always Python; True: always native (RuntimeError
        here if no native decoder is available). Both give identical results and errors."""
        self.tables = RansTables.uniform(check_n_symbols(n_symbols)) if tables is None else _as_tables(tables)
        self.n_symbols = self.tables.n_symbols
        self.max_symbols = int(max_symbols)
        self._freq = self.tables.freq_array()
        self._cum = self.tables.cum_array()
        self._slot_lists: list[tuple[list[int], list[int], list[int]]] | None = None
        self._sym_bytes: bytes | None = None
        # native decoder tables (slot -> symbol bytes, freq, cum as uint32), built lazily
        self._native_tables: tuple[bytes, np.ndarray, np.ndarray] | None = None
        if native is not None and not isinstance(native, bool):
            raise TypeError(f"native must be None, True or False, got {native!r}")
        self._native_pref = native
        if native and _load_native() is None:
            raise RuntimeError(
                "native rANS decoder requested but unavailable (AGILENN_NATIVE=0, or no library "
                "and no C compiler; see agilenn_ros/codec/native.py)"
            )

    @property
    def decode_backend(self) -> str:
        """Decoder :meth:`decode` uses now: ``"native"`` (C, via ctypes) or ``"python"``."""
        return "native" if self._native() is not None else "python"

    def _native(self):
        if self._native_pref is False:
            return None
        return _load_native()

    def __repr__(self) -> str:
        t = self.tables
        return (
            f"RansCodec(n_symbols={t.n_symbols}, context={t.context!r}, channels={t.channels}, "
            f"precision_bits={t.precision_bits})"
        )

    # -- encode ---------------------------------------------------------------

    def encode(self, indices: np.ndarray) -> bytes:
        """Encode a (C, H, W) array of indices in 0..n_symbols-1."""
        arr = validate_indices(indices, self.n_symbols, self.max_symbols)
        self.tables.check_channels(arr.shape[0])
        flat = arr.reshape(-1).astype(np.int64)
        table = context_ids(arr, self.tables.context, self.n_symbols).reshape(-1)
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

    def decode(self, payload: Any, shape: tuple[int, int, int]) -> np.ndarray:
        """Decode ``payload`` into a uint8 array of ``shape``; raises CodecError subclasses."""
        dims, count = check_shape(shape, self.max_symbols)
        self.tables.check_channels(dims[0])
        data = as_payload_bytes(payload)
        parse_header(data, CODEC_ID, self.n_symbols, count)
        start = HEADER_BYTES + RANS_STATE_BYTES
        if len(data) < start:
            raise TruncatedPayload(f"rANS payload has {len(data)} bytes, needs at least {start}")
        x = int.from_bytes(data[HEADER_BYTES:start], "little")
        if not RANS_L <= x < (RANS_L << 8):
            raise CorruptPayload(f"rANS initial state 0x{x:08x} outside [2**23, 2**31)")
        lib = self._native()
        if lib is not None and max(dims) <= 0xFFFFFFFF:  # the C decoder takes uint32 dims
            return self._decode_native(lib, data, dims)
        try:
            if self.tables.context in ("shared", "channel"):
                out, x, pos = self._decode_order0(data, start, x, dims)
            else:
                out, x, pos = self._decode_neighbours(data, start, x, dims)
        except IndexError:
            raise TruncatedPayload("rANS payload ended before all symbols were decoded") from None
        if x != RANS_L:
            raise CorruptPayload("rANS final state check failed (corrupt payload or wrong tables)")
        if pos != len(data):
            raise OversizedPayload(f"rANS payload has {len(data) - pos} bytes after the coded data")
        return np.frombuffer(out, dtype=np.uint8).reshape(dims)

    def _native_arrays(self) -> tuple[bytes, np.ndarray, np.ndarray]:
        """(slot -> symbol bytes as :meth:`_slot_symbols`, freq, cum) for the C decoder;
        freq and cum are C-contiguous uint32 (n_tables, n_symbols)."""
        if self._native_tables is None:
            freq = np.ascontiguousarray(self._freq, dtype=np.uint32)
            cum = np.ascontiguousarray(self._cum, dtype=np.uint32)
            if self._sym_bytes is None:
                symbols = np.tile(np.arange(self.n_symbols, dtype=np.uint8), self.tables.n_tables)
                self._sym_bytes = np.repeat(symbols, self._freq.reshape(-1)).tobytes()
            self._native_tables = (self._sym_bytes, freq, cum)
        return self._native_tables

    def _decode_native(self, lib: Any, data: bytes, dims: tuple[int, int, int]) -> np.ndarray:
        """Decode with the C decoder (header and initial state already checked)."""
        slot_sym, freq, cum = self._native_arrays()
        rc, out = lib.decode(
            data, HEADER_BYTES, slot_sym, freq, cum, self.n_symbols, self.tables.precision_bits,
            self.tables.multipliers(), dims,
        )
        if rc == _native_mod.RC_OK:
            return out
        if rc == _native_mod.RC_TRUNCATED:
            raise TruncatedPayload("rANS payload ended before all symbols were decoded")
        if rc == _native_mod.RC_FINAL_STATE:
            raise CorruptPayload("rANS final state check failed (corrupt payload or wrong tables)")
        if rc == _native_mod.RC_TRAILING:
            raise OversizedPayload("rANS payload has bytes after the coded data")
        if rc == _native_mod.RC_INITIAL_STATE:
            raise CorruptPayload("rANS initial state outside [2**23, 2**31)")
        raise RuntimeError(f"native rANS decoder rejected its arguments (code {rc}); this is a bug")

    def _order0_lists(self) -> list[tuple[list[int], list[int], list[int]]]:
        """Per table: slot -> frequency, slot -> (slot - cum), slot -> symbol (lists)."""
        if self._slot_lists is None:
            built = []
            for row in self.tables.freqs:
                freq_of: list[int] = []
                bias_of: list[int] = []
                sym_of: list[int] = []
                for s, f in enumerate(row):
                    freq_of.extend([int(f)] * int(f))
                    bias_of.extend(range(int(f)))
                    sym_of.extend([s] * int(f))
                built.append((freq_of, bias_of, sym_of))
            self._slot_lists = built
        return self._slot_lists

    def _slot_symbols(self) -> bytes:
        """slot -> symbol for every table, concatenated: entry (t << P) | slot."""
        if self._sym_bytes is None:
            parts = []
            for row in self.tables.freqs:
                parts.append(b"".join(bytes([s]) * int(f) for s, f in enumerate(row)))
            self._sym_bytes = b"".join(parts)
        return self._sym_bytes

    def _decode_order0(self, data: bytes, pos: int, x: int, dims: tuple[int, int, int]):
        count = dims[0] * dims[1] * dims[2]
        out = bytearray(count)
        tabs = self._order0_lists()
        if self.tables.context == "shared":
            runs = [(tabs[0], 0, count)]
        else:
            per = dims[1] * dims[2]
            runs = [(tabs[c], c * per, (c + 1) * per) for c in range(dims[0])]
        prec = self.tables.precision_bits
        mask = (1 << prec) - 1
        low = RANS_L
        for (freq_of, bias_of, sym_of), begin, end in runs:
            for j in range(begin, end):
                slot = x & mask
                x = freq_of[slot] * (x >> prec) + bias_of[slot]
                out[j] = sym_of[slot]
                if x < low:
                    x = (x << 8) | data[pos]
                    pos += 1
                    if x < low:  # at most two bytes per symbol (precision <= 16)
                        x = (x << 8) | data[pos]
                        pos += 1
        return out, x, pos

    def _decode_neighbours(self, data: bytes, pos: int, x: int, dims: tuple[int, int, int]):
        """Decode with the channel_left / channel_left_above contexts, row by row.

        Row 0 of a channel: above = left; column 0 of later rows: left = above = the symbol
        above; the first symbol of a channel: left = above = 0 (see _neighbours).
        """
        channels, height, width = dims
        out = bytearray()
        emit = out.append
        n_sym = self.n_symbols
        kc, kl, ka = self.tables.multipliers()
        kla = kl + ka
        prec = self.tables.precision_bits
        mask = (1 << prec) - 1
        low = RANS_L
        symtab = self._slot_symbols()
        freq = self._freq.reshape(-1).tolist()  # index t * n_symbols + s
        cum = self._cum.reshape(-1).tolist()
        if width == 0:
            return out, x, pos
        for c in range(channels):
            cb = c * kc
            for y in range(height):
                above_row = out[-width:] if y else b""
                # first symbol of the row: left = above = symbol above it (0 in row 0)
                t = cb + above_row[0] * kla if y else cb
                slot = x & mask
                s = symtab[(t << prec) | slot]
                k = t * n_sym + s
                x = freq[k] * (x >> prec) + slot - cum[k]
                emit(s)
                if x < low:
                    x = (x << 8) | data[pos]
                    pos += 1
                    if x < low:
                        x = (x << 8) | data[pos]
                        pos += 1
                left = s
                if y:
                    for a in above_row[1:]:
                        t = cb + left * kl + a * ka
                        slot = x & mask
                        s = symtab[(t << prec) | slot]
                        k = t * n_sym + s
                        x = freq[k] * (x >> prec) + slot - cum[k]
                        emit(s)
                        if x < low:
                            x = (x << 8) | data[pos]
                            pos += 1
                            if x < low:
                                x = (x << 8) | data[pos]
                                pos += 1
                        left = s
                else:
                    for _ in range(width - 1):
                        t = cb + left * kla
                        slot = x & mask
                        s = symtab[(t << prec) | slot]
                        k = t * n_sym + s
                        x = freq[k] * (x >> prec) + slot - cum[k]
                        emit(s)
                        if x < low:
                            x = (x << 8) | data[pos]
                            pos += 1
                            if x < low:
                                x = (x << 8) | data[pos]
                                pos += 1
                        left = s
        return out, x, pos
