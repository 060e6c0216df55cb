"""Feature codec: round trips, compression, decoder robustness, golden vectors, C == Python.

Run just these:  .venv/bin/python -m pytest -q test/test_codec.py
"""

from __future__ import annotations

import ctypes
import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from agilenn_ros.codec import (
    CODEC_IDS,
    CONTEXTS,
    CodecError,
    CorruptPayload,
    InvalidSymbols,
    LzwCodec,
    OversizedPayload,
    PackedCodec,
    RansCodec,
    RansTables,
    ShapeMismatch,
    TableError,
    TruncatedPayload,
    UnknownCodec,
    build_codec_tables,
    codec_id,
    codec_name,
    empirical_entropy_bits,
    ideal_code_bits,
    make_codec,
    quantize_frequencies,
    rans_tables_to_c,
)
from agilenn_ros.codec.synthetic import synthetic_indices

REPO = Path(__file__).resolve().parents[1]
GOLDEN = REPO / "test" / "data" / "codec_golden"
CORE = REPO / "firmware_microros" / "core"
FW_TEST = REPO / "firmware_microros" / "test"
GCC = shutil.which("gcc")
NEEDS_GCC = pytest.mark.skipif(GCC is None, reason="gcc not found: C encoder not compiled")


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def train19() -> np.ndarray:
    """Training indices (N, 19, 16, 16) with AgileNN-like statistics."""
    return synthetic_indices(150, 19, 16, 16, 8, seed=1)


@pytest.fixture(scope="module")
def test19() -> np.ndarray:
    """Held-out frames drawn from the same distribution as ``train19``."""
    return synthetic_indices(40, 19, 16, 16, 8, seed=2)


@pytest.fixture(scope="module")
def tables19(train19: np.ndarray) -> dict[str, dict]:
    """codec.tables dicts for every rANS context, learned on train19."""
    return {ctx: build_codec_tables(train19, 8, context=ctx) for ctx in CONTEXTS}


def all_codecs(n_symbols: int = 8, tables: dict | None = None) -> list:
    return [make_codec(name, tables, n_symbols=n_symbols) for name in ("packed", "rans", "lzw")]


def roundtrip(codec, idx: np.ndarray) -> bytes:
    payload = codec.encode(idx)
    assert isinstance(payload, bytes)
    out = codec.decode(payload, idx.shape)
    assert out.dtype == np.uint8 and out.shape == idx.shape
    np.testing.assert_array_equal(out, idx)
    return payload


# --------------------------------------------------------------------------- registry


def test_codec_ids_match_message_constants() -> None:
    text = (REPO / "msg" / "FeatureFrame.msg").read_text()
    consts = {m.group(1).lower(): int(m.group(2)) for m in re.finditer(r"uint8 CODEC_(\w+)=(\d+)", text)}
    assert consts["packed"] == CODEC_IDS["packed"] == PackedCodec.codec_id
    assert consts["rans"] == CODEC_IDS["rans"] == RansCodec.codec_id
    assert consts["lzw"] == CODEC_IDS["lzw"] == LzwCodec.codec_id
    for name, cid in CODEC_IDS.items():
        assert codec_id(name) == cid and codec_id(cid) == cid and codec_name(cid) == name
        assert codec_id(name.upper()) == cid and codec_id(str(cid)) == cid
        assert make_codec(cid).codec_id == cid and make_codec(name).name == name


@pytest.mark.parametrize("bad", ["zip", "", 3, 255, -1, None, 1.0, True])
def test_unknown_codec(bad) -> None:
    with pytest.raises(UnknownCodec):
        make_codec(bad)


def test_tables_are_json_and_rebuild_codec(tables19: dict, test19: np.ndarray) -> None:
    for ctx, tables in tables19.items():
        loaded = json.loads(json.dumps(tables))
        assert loaded == tables and loaded["n_symbols"] == 8 and loaded["rans"]["context"] == ctx
        a, b = make_codec("rans", tables), make_codec(1, loaded)
        assert a.encode(test19[0]) == b.encode(test19[0])
        t = RansTables.from_dict(loaded["rans"])
        assert all(sum(row) == 1 << t.precision_bits and min(row) >= 1 for row in t.freqs)


def test_make_codec_alphabet_from_tables(tables19: dict) -> None:
    assert make_codec("packed", tables19["channel"]).n_symbols == 8
    assert make_codec("lzw", None, n_symbols=5).n_symbols == 5
    with pytest.raises(TableError):
        make_codec("rans", tables19["channel"], n_symbols=4)
    with pytest.raises(TableError):
        make_codec("rans", {"n_symbols": 8})
    with pytest.raises(ValueError):
        make_codec("packed", None, n_symbols=1)
    with pytest.raises(ValueError):
        make_codec("packed", None, n_symbols=257)


def _zero_frequency(d: dict) -> None:
    row = d["freqs"][0]
    row[1] += row[0]
    row[0] = 0  # sum still 2**P, but symbol 0 would be uncodable


BAD_TABLES = {
    "wrong_sum": lambda d: d.update(freqs=[[1] * 8] * len(d["freqs"])),
    "zero_frequency": _zero_frequency,
    "precision_17": lambda d: d.update(precision_bits=17),
    "unknown_context": lambda d: d.update(context="diagonal"),
    "wrong_channels": lambda d: d.update(channels=18),
    "unknown_format": lambda d: d.update(format="something-else"),
    "no_freqs": lambda d: d.pop("freqs"),
    "float_freq": lambda d: d.update(freqs=[[4096 - 8, 1, 1, 1, 1, 1, 1, 1.0]] * len(d["freqs"])),
    "wrong_n_tables": lambda d: d.update(n_tables=3),
    "short_row": lambda d: d["freqs"][3].pop(),
}


@pytest.mark.parametrize("mutation", sorted(BAD_TABLES))
def test_bad_tables_raise_table_error(tables19: dict, mutation: str) -> None:
    d = json.loads(json.dumps(tables19["channel"]["rans"]))
    BAD_TABLES[mutation](d)
    with pytest.raises(TableError):
        RansTables.from_dict(d)


# --------------------------------------------------------------------------- table quantisation


def test_quantize_frequencies_properties() -> None:
    rng = np.random.default_rng(0)
    for _ in range(200):
        n = int(rng.integers(2, 257))
        prec = int(rng.integers(max(1, (n - 1).bit_length()), 17))
        counts = rng.integers(0, 10**int(rng.integers(1, 9)), n) * (rng.random(n) < 0.7)
        f = quantize_frequencies(counts.tolist(), prec)
        assert len(f) == n and sum(f) == 1 << prec and min(f) >= 1
        assert f == quantize_frequencies(counts.tolist(), prec)  # deterministic
    # hand example: S=4, M=16, counts 6,2,0,0 -> 1+floor(c*12/8) = 10,4,1,1 = 16, nothing left
    assert quantize_frequencies([6, 2, 0, 0], 4) == [10, 4, 1, 1]
    # remainders: 1+floor(c*12/7) = 1+5,1+5,1+1,1 = 15; one left -> largest remainder (60%7=4 for
    # counts 3 and 3; 12%7=5 for count 1) -> symbol 2
    assert quantize_frequencies([3, 3, 1, 0], 4) == [6, 6, 3, 1]
    assert quantize_frequencies([0, 0, 0], 4) == [6, 5, 5]
    with pytest.raises(TableError):
        quantize_frequencies([1] * 9, 3)
    with pytest.raises(TableError):
        quantize_frequencies([1, -1], 12)


# --------------------------------------------------------------------------- round trips

SHAPES = [(19, 16, 16), (19, 32, 32), (19, 4, 4), (3, 5, 7), (1, 1, 1), (2, 0, 3), (1, 1, 300)]


@pytest.mark.parametrize("n_symbols", [2, 5, 8, 16, 256])
@pytest.mark.parametrize("shape", SHAPES)
def test_roundtrip_random(shape: tuple[int, int, int], n_symbols: int) -> None:
    rng = np.random.default_rng(hash((shape, n_symbols)) % 2**32)
    idx = rng.integers(0, n_symbols, shape, dtype=np.uint8)
    for codec in all_codecs(n_symbols):
        roundtrip(codec, idx)


@pytest.mark.parametrize(
    "make",
    [
        lambda s: np.zeros(s, np.uint8),
        lambda s: np.full(s, 7, np.uint8),
        lambda s: (np.arange(np.prod(s)) % 8).reshape(s).astype(np.uint8),
        lambda s: ((np.arange(np.prod(s)) // 37) % 8).reshape(s).astype(np.uint8),
        lambda s: np.broadcast_to((np.arange(s[2]) % 8).astype(np.uint8), s).copy(),
    ],
    ids=["zeros", "sevens", "ramp", "runs", "columns"],
)
@pytest.mark.parametrize("shape", [(19, 16, 16), (19, 32, 32), (19, 4, 4)])
def test_roundtrip_structured(make, shape, tables19: dict) -> None:
    idx = make(shape)
    for codec in all_codecs(8):
        roundtrip(codec, idx)
    for tables in tables19.values():
        roundtrip(make_codec("rans", tables), idx)


def test_roundtrip_trained_tables(tables19: dict, test19: np.ndarray) -> None:
    for ctx, tables in tables19.items():
        codec = make_codec("rans", tables)
        for frame in test19[:5]:
            roundtrip(codec, frame)
        for shape in [(19, 32, 32), (19, 4, 4), (19, 1, 9), (19, 7, 1)]:
            roundtrip(codec, synthetic_indices(1, *shape, seed=5)[0])


def test_lzw_dictionary_resets() -> None:
    """Enough distinct strings to fill the 4096-code dictionary several times."""
    rng = np.random.default_rng(3)
    for n in (2, 8, 256):
        idx = rng.integers(0, n, (19, 32, 32), dtype=np.uint8)
        roundtrip(LzwCodec(n), idx)
    idx = rng.integers(0, 256, (8, 64, 64), dtype=np.uint8)
    roundtrip(LzwCodec(256), idx)


def test_encoder_input_validation() -> None:
    for codec in all_codecs(8):
        roundtrip(codec, np.arange(24, dtype=np.int64).reshape(2, 3, 4) % 8)  # ONNX int64
        with pytest.raises(InvalidSymbols):
            codec.encode(np.full((2, 3, 4), 8, np.uint8))
        with pytest.raises(InvalidSymbols):
            codec.encode(np.full((2, 3, 4), -1, np.int64))
        with pytest.raises(InvalidSymbols):
            codec.encode(np.zeros((2, 3, 4), np.float32))
        with pytest.raises(ShapeMismatch):
            codec.encode(np.zeros((3, 4), np.uint8))
        with pytest.raises(ShapeMismatch):
            codec.encode(np.zeros((1, 2, 3, 4), np.uint8))
    small = make_codec("packed", max_symbols=100)
    with pytest.raises(OversizedPayload):
        small.encode(np.zeros((1, 11, 10), np.uint8))


def test_rans_channel_tables_need_matching_channels(tables19: dict) -> None:
    codec = make_codec("rans", tables19["channel_left_above"])
    with pytest.raises(ShapeMismatch):
        codec.encode(np.zeros((18, 4, 4), np.uint8))
    payload = codec.encode(np.zeros((19, 4, 4), np.uint8))
    with pytest.raises(ShapeMismatch):
        codec.decode(payload, (18, 4, 4))


# --------------------------------------------------------------------------- compression


def test_packed_size_is_exact() -> None:
    for n, bits in [(2, 1), (3, 2), (5, 3), (8, 3), (9, 4), (256, 8)]:
        codec = PackedCodec(n)
        assert codec.bits == bits
        for shape in [(19, 16, 16), (3, 5, 7)]:
            idx = np.zeros(shape, np.uint8)
            assert len(codec.encode(idx)) == codec.payload_size(shape) == 6 + (int(np.prod(shape)) * bits + 7) // 8


def test_rans_close_to_entropy_and_beats_lzw(tables19: dict, test19: np.ndarray) -> None:
    """On realistic (skewed, spatially correlated) frames: rANS size within 5% of the empirical
    entropy of its own context model, below the global order-0 entropy, and at least 30%
    smaller than LZW with the default tables."""
    lzw = LzwCodec(8)
    lzw_bytes = sum(len(lzw.encode(f)) for f in test19)
    global_h = empirical_entropy_bits(test19, 8, "shared") / 8
    channel_h = empirical_entropy_bits(test19, 8, "channel") / 8
    sizes = {}
    for ctx, tables in tables19.items():
        codec = make_codec("rans", tables)
        sizes[ctx] = sum(len(codec.encode(f)) for f in test19)
        own_h = empirical_entropy_bits(test19, 8, ctx) / 8
        ideal = ideal_code_bits(test19, codec.tables) / 8
        assert sizes[ctx] <= 1.05 * own_h, (ctx, sizes[ctx], own_h)
        assert sizes[ctx] >= ideal  # cannot beat the model's own information content
        assert sizes[ctx] <= ideal + 12 * len(test19)  # header 6 + state 4 + rounding per frame
    assert sizes["shared"] <= 1.05 * global_h
    assert sizes["channel"] <= 1.05 * channel_h and sizes["channel"] < global_h
    default = make_codec("rans", build_codec_tables(synthetic_indices(150, seed=1), 8))
    default_bytes = sum(len(default.encode(f)) for f in test19)
    assert default_bytes <= 0.70 * lzw_bytes, (default_bytes, lzw_bytes)
    assert default_bytes < 0.75 * global_h
    packed_bytes = sum(len(make_codec("packed").encode(f)) for f in test19)
    assert lzw_bytes < packed_bytes


def test_uniform_rans_costs_about_packed() -> None:
    idx = np.random.default_rng(1).integers(0, 8, (19, 16, 16), dtype=np.uint8)
    assert len(RansCodec(None).encode(idx)) <= len(PackedCodec(8).encode(idx)) + 8


# --------------------------------------------------------------------------- decoder robustness


def _valid_payloads(tables19: dict) -> list[tuple[object, np.ndarray, bytes]]:
    frame = synthetic_indices(1, 19, 4, 4, 8, seed=21)[0]
    out = []
    for codec in all_codecs(8) + [make_codec("rans", tables19[c]) for c in ("channel", "channel_left_above")]:
        out.append((codec, frame, codec.encode(frame)))
    return out


@pytest.mark.timeout(60)
def test_truncated_payloads(tables19: dict) -> None:
    for codec, frame, payload in _valid_payloads(tables19):
        for cut in range(len(payload)):
            with pytest.raises(TruncatedPayload):
                codec.decode(payload[:cut], frame.shape)


@pytest.mark.timeout(60)
def test_extended_payloads(tables19: dict) -> None:
    rng = np.random.default_rng(5)
    for codec, frame, payload in _valid_payloads(tables19):
        for extra in (b"\x00", b"\xff", bytes(rng.integers(0, 256, 100, dtype=np.uint8))):
            with pytest.raises(OversizedPayload):
                codec.decode(payload + extra, frame.shape)


def test_empty_and_header_errors(tables19: dict) -> None:
    for codec, frame, payload in _valid_payloads(tables19):
        for empty in (b"", bytearray(), [], np.zeros(0, np.uint8)):
            with pytest.raises(TruncatedPayload):
                codec.decode(empty, frame.shape)
        bad_version = bytes([0x20 | codec.codec_id]) + payload[1:]
        other_codec = bytes([0x10 | ((codec.codec_id + 1) % 3)]) + payload[1:]
        bad_alphabet = payload[:1] + bytes([payload[1] ^ 1]) + payload[2:]
        for bad in (bad_version, other_codec, bad_alphabet):
            with pytest.raises(CorruptPayload):
                codec.decode(bad, frame.shape)
        # the count in the header must equal C*H*W
        with pytest.raises(ShapeMismatch):
            codec.decode(payload, (frame.shape[0], frame.shape[1], frame.shape[2] + 1))
        with pytest.raises(ShapeMismatch):
            codec.decode(payload[:2] + (2**32 - 1).to_bytes(4, "little") + payload[6:], frame.shape)
        for shape in [(19, 4), (19, 4, 4, 1), (19, -4, 4), (19, 4.0, 4), "19x4x4", None, (True, 4, 4)]:
            with pytest.raises(ShapeMismatch):
                codec.decode(payload, shape)
        # payload containers other than bytes
        for container in (bytearray(payload), memoryview(payload), list(payload),
                          np.frombuffer(payload, np.uint8)):
            np.testing.assert_array_equal(codec.decode(container, frame.shape), frame)
        for bad_container in (np.frombuffer(payload, np.uint8).astype(np.int64), [300] + list(payload), 12, "abc"):
            with pytest.raises(CodecError):
                codec.decode(bad_container, frame.shape)


@pytest.mark.timeout(30)
def test_huge_claimed_sizes_fail_fast() -> None:
    for codec in all_codecs(8):
        header = bytes([0x10 | codec.codec_id, 7]) + (2**32 - 1).to_bytes(4, "little")
        with pytest.raises(OversizedPayload):  # 65535^3 symbols: refused before allocating
            codec.decode(header + b"\x00" * 16, (65535, 65535, 65535))
        with pytest.raises(OversizedPayload):
            codec.decode(header, (1024, 2048, 4096))
    # a claim within limits but with (almost) no data fails on the data, quickly
    for codec in all_codecs(8):
        shape = (64, 256, 256)  # 2**22 symbols, the default limit
        header = bytes([0x10 | codec.codec_id, 7]) + (2**22).to_bytes(4, "little")
        body = b"" if codec.name != "rans" else (2**23).to_bytes(4, "little")
        with pytest.raises(CodecError):
            codec.decode(header + body + b"\x00\x01", shape)


def _lzw_payload(n_symbols: int, count: int, codes: list[tuple[int, int]]) -> bytes:
    acc, nbits = 0, 0
    for value, width in codes:
        acc, nbits = (acc << width) | value, nbits + width
    pad = (-nbits) % 8
    body = (acc << pad).to_bytes((nbits + pad) // 8, "big") if nbits else b""
    return bytes([0x12, n_symbols - 1]) + count.to_bytes(4, "little") + body


def test_lzw_invalid_codes() -> None:
    codec = LzwCodec(2)  # literals 0, 1; CLEAR 2; first string code 3
    ok = _lzw_payload(2, 4, [(0, 2), (3, 2), (0, 3)])  # 0 0 0 0 (the KwKwK case)
    np.testing.assert_array_equal(codec.decode(ok, (1, 1, 4)), np.zeros((1, 1, 4)))
    for codes, count in [
        ([(2, 2)], 1),  # CLEAR as first code
        ([(3, 2)], 2),  # string code before any string exists
        ([(0, 2), (2, 2)], 2),  # CLEAR while the dictionary is not full
        ([(0, 2), (3, 2), (7, 3)], 5),  # code 7 beyond the next free code 4
    ]:
        with pytest.raises(CorruptPayload):
            codec.decode(_lzw_payload(2, count, codes), (1, 1, count))
    # non-zero padding bits
    bad_pad = ok[:-1] + bytes([ok[-1] | 1])
    with pytest.raises(CorruptPayload):
        codec.decode(bad_pad, (1, 1, 4))
    # decodes to more symbols than the header says
    with pytest.raises(CorruptPayload):
        codec.decode(_lzw_payload(2, 2, [(0, 2), (3, 2)]), (1, 1, 2))


def test_packed_invalid_content() -> None:
    codec = PackedCodec(5)  # 3 bits: values 5..7 are invalid
    payload = bytearray(codec.encode(np.zeros((1, 1, 3), np.uint8)))
    payload[6] = 0b10100000  # first symbol 5
    with pytest.raises(CorruptPayload):
        codec.decode(bytes(payload), (1, 1, 3))
    payload[6] = 0
    payload[7] = 0b00000001  # 9 bits used: the last 7 bits of byte 7 are padding
    with pytest.raises(CorruptPayload):
        codec.decode(bytes(payload), (1, 1, 3))


def test_rans_state_checks(tables19: dict) -> None:
    codec = make_codec("rans", tables19["channel"])
    frame = synthetic_indices(1, 19, 4, 4, seed=3)[0]
    payload = codec.encode(frame)
    for state in (0, 2**23 - 1, 2**31, 2**32 - 1):
        with pytest.raises(CorruptPayload):
            codec.decode(payload[:6] + state.to_bytes(4, "little") + payload[10:], frame.shape)


@pytest.mark.timeout(120)
def test_fuzz_decoders_only_raise_codec_errors(tables19: dict) -> None:
    """Random bytes, random headers and random bit flips: a decoder returns a valid array or
    raises a CodecError subclass, never anything else, and never hangs."""
    rng = np.random.default_rng(11)
    cases = _valid_payloads(tables19)
    for codec, frame, payload in cases:
        shape = frame.shape
        header = payload[:6]
        trials = []
        for _ in range(150):
            n = int(rng.integers(0, 2 * len(payload) + 8))
            trials.append(bytes(rng.integers(0, 256, n, dtype=np.uint8)))
            trials.append(header + bytes(rng.integers(0, 256, n, dtype=np.uint8)))
            flipped = bytearray(payload)
            for _ in range(int(rng.integers(1, 4))):
                pos = int(rng.integers(0, len(flipped)))
                flipped[pos] ^= 1 << int(rng.integers(0, 8))
            trials.append(bytes(flipped))
        for data in trials:
            try:
                out = codec.decode(data, shape)
            except CodecError:
                continue
            assert out.shape == shape and out.dtype == np.uint8
            assert int(out.max(initial=0)) < codec.n_symbols


# --------------------------------------------------------------------------- golden vectors


def _golden_cases() -> list[dict]:
    return json.loads((GOLDEN / "cases.json").read_text())["cases"]


def _golden_tables(name: str) -> dict:
    return json.loads((GOLDEN / f"tables_{name}.json").read_text())


@pytest.mark.parametrize("case", _golden_cases(), ids=lambda c: c["name"])
def test_golden_vectors(case: dict) -> None:
    shape = tuple(case["shape"])
    idx = np.frombuffer((GOLDEN / case["indices"]).read_bytes(), np.uint8).reshape(shape)
    tables = _golden_tables(case["tables"])
    for name, fname in case["payloads"].items():
        codec = make_codec(name, tables, n_symbols=case["n_symbols"])
        golden = (GOLDEN / fname).read_bytes()
        assert codec.encode(idx) == golden, f"{case['name']}/{name}: encoder output changed"
        np.testing.assert_array_equal(codec.decode(golden, shape), idx)


def test_golden_covers_every_codec_and_context() -> None:
    cases = _golden_cases()
    contexts = {_golden_tables(c["tables"])["rans"]["context"] for c in cases}
    assert contexts == set(CONTEXTS)
    assert {n for c in cases for n in c["payloads"]} == {"packed", "rans", "lzw"}
    assert {c["n_symbols"] for c in cases} >= {2, 5, 8, 256}


# --------------------------------------------------------------------------- C encoder == Python


class _CTables(ctypes.Structure):
    _fields_ = [
        ("n_symbols", ctypes.c_uint16),
        ("precision_bits", ctypes.c_uint8),
        ("context", ctypes.c_uint8),
        ("channels", ctypes.c_uint16),
        ("n_tables", ctypes.c_uint32),
        ("freq", ctypes.POINTER(ctypes.c_uint16)),
        ("cum", ctypes.POINTER(ctypes.c_uint16)),
    ]


class CEncoder:
    """ctypes wrapper of the firmware encoders compiled as a shared library."""

    def __init__(self, lib_path: Path) -> None:
        lib = ctypes.CDLL(str(lib_path))
        u8p, u32 = ctypes.POINTER(ctypes.c_uint8), ctypes.c_uint32
        lib.agilenn_packed_encode.argtypes = [u8p, u32, ctypes.c_uint16, u8p, u32]
        lib.agilenn_rans_encode.argtypes = [u8p, ctypes.c_uint16, ctypes.c_uint16, ctypes.c_uint16,
                                            ctypes.POINTER(_CTables), u8p, u32]
        lib.agilenn_lzw_encode.argtypes = [u8p, u32, ctypes.c_uint16, ctypes.c_void_p, u8p, u32]
        for fn in (lib.agilenn_packed_encode, lib.agilenn_rans_encode, lib.agilenn_lzw_encode):
            fn.restype = ctypes.c_int32
        self.lib = lib
        self.ws = ctypes.create_string_buffer(4096 * 5)  # agilenn_lzw_workspace_t

    @staticmethod
    def _u8(arr: np.ndarray):
        return arr.ctypes.data_as(ctypes.POINTER(ctypes.c_uint8))

    def encode(self, name: str, idx: np.ndarray, n_symbols: int, tables: RansTables | None = None,
               cap: int | None = None) -> bytes | int:
        idx = np.ascontiguousarray(idx, np.uint8)
        cap = cap if cap is not None else 64 + 2 * idx.size
        out = np.zeros(max(cap, 1), np.uint8)
        if name == "packed":
            rc = self.lib.agilenn_packed_encode(self._u8(idx), idx.size, n_symbols, self._u8(out), cap)
        elif name == "lzw":
            rc = self.lib.agilenn_lzw_encode(self._u8(idx), idx.size, n_symbols, self.ws, self._u8(out), cap)
        else:
            assert tables is not None
            freq = np.ascontiguousarray(tables.freq_array(), np.uint16)
            cum = np.ascontiguousarray(tables.cum_array(), np.uint16)
            ct = _CTables(tables.n_symbols, tables.precision_bits, CONTEXTS.index(tables.context),
                          tables.channels, tables.n_tables,
                          freq.ctypes.data_as(ctypes.POINTER(ctypes.c_uint16)),
                          cum.ctypes.data_as(ctypes.POINTER(ctypes.c_uint16)))
            rc = self.lib.agilenn_rans_encode(self._u8(idx), *idx.shape, ctypes.byref(ct), self._u8(out), cap)
        return out[:rc].tobytes() if rc >= 0 else rc


@pytest.fixture(scope="module")
def c_encoder(tmp_path_factory: pytest.TempPathFactory) -> CEncoder:
    if GCC is None:
        pytest.skip("gcc not found: C encoder not compiled")
    lib = tmp_path_factory.mktemp("codec_c") / "libagilenn_codec.so"
    subprocess.run(
        [GCC, "-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-O2", "-shared", "-fPIC",
         str(CORE / "agilenn_codec.c"), "-o", str(lib)],
        check=True, capture_output=True, text=True,
    )
    return CEncoder(lib)


@NEEDS_GCC
@pytest.mark.parametrize("case", _golden_cases(), ids=lambda c: c["name"])
def test_c_encoder_matches_golden(case: dict, c_encoder: CEncoder) -> None:
    shape = tuple(case["shape"])
    idx = np.frombuffer((GOLDEN / case["indices"]).read_bytes(), np.uint8).reshape(shape)
    tables = RansTables.from_dict(_golden_tables(case["tables"])["rans"])
    for name, fname in case["payloads"].items():
        got = c_encoder.encode(name, idx, case["n_symbols"], tables)
        assert got == (GOLDEN / fname).read_bytes(), f"{case['name']}/{name}"


@NEEDS_GCC
@pytest.mark.timeout(120)
def test_c_encoder_matches_python_random(c_encoder: CEncoder) -> None:
    rng = np.random.default_rng(2024)
    for trial in range(60):
        n = int(rng.choice([2, 3, 5, 8, 8, 8, 16, 200, 256]))
        shape = (int(rng.integers(1, 6)), int(rng.integers(1, 20)), int(rng.integers(1, 20)))
        if trial % 10 == 0:
            shape = (19, 16, 16)
        p = rng.random(n) ** 4 + 1e-3
        idx = rng.choice(n, size=shape, p=p / p.sum()).astype(np.uint8)
        ctx = CONTEXTS[trial % 4] if n <= 16 else "shared"
        prec = int(rng.integers(max(1, (n - 1).bit_length()), 17))
        train = rng.choice(n, size=(3,) + shape, p=p / p.sum())
        tables = make_codec("rans", build_codec_tables(train, n, precision_bits=prec, context=ctx)).tables
        for name in ("packed", "rans", "lzw"):
            codec = RansCodec(tables) if name == "rans" else make_codec(name, n_symbols=n)
            want = codec.encode(idx)
            assert c_encoder.encode(name, idx, n, tables) == want, (trial, name, n, shape, ctx, prec)
            if len(want) > 6:  # one byte short must fail cleanly
                assert c_encoder.encode(name, idx, n, tables, cap=len(want) - 1) == -1


@NEEDS_GCC
def test_c_encoder_realistic_frames(c_encoder: CEncoder, tables19: dict) -> None:
    frames = synthetic_indices(4, 19, 16, 16, seed=8)
    for ctx, tables in tables19.items():
        t = RansTables.from_dict(tables["rans"])
        codec = RansCodec(t)
        for frame in frames:
            assert c_encoder.encode("rans", frame, 8, t) == codec.encode(frame)
    lzw = LzwCodec(8)
    for frame in synthetic_indices(2, 19, 32, 32, seed=9):
        assert c_encoder.encode("lzw", frame, 8) == lzw.encode(frame)


@NEEDS_GCC
@pytest.mark.timeout(300)
def test_c_host_unit_test(tmp_path: Path) -> None:
    """firmware_microros/test/test_codec_host.c: golden vectors, buffer limits, error codes."""
    if shutil.which("make") is None:
        pytest.skip("make not found")
    proc = subprocess.run(
        ["make", "--no-print-directory", "-f", str(FW_TEST / "Makefile.codec"), "codec-host-test",
         f"CODEC_BUILD_DIR={tmp_path}"],
        capture_output=True, text=True, cwd=REPO,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 failures" in proc.stdout


@NEEDS_GCC
def test_rans_tables_to_c_compiles(tables19: dict, tmp_path: Path) -> None:
    src = tmp_path / "t.c"
    src.write_text(
        '#include "agilenn_codec.h"\n#define MYQ const\n'
        + rans_tables_to_c(tables19["channel_left"], prefix="my_rans", qualifier="MYQ")
        + "int main(void) { return (int)my_rans_tables.n_tables - (int)MY_RANS_N_TABLES; }\n"
    )
    exe = tmp_path / "t"
    subprocess.run([GCC, "-std=c99", "-Wall", "-Wextra", "-Werror", f"-I{CORE}", str(src), "-o", str(exe)],
                   check=True, capture_output=True, text=True)
    assert subprocess.run([str(exe)]).returncode == 0
    assert "MY_RANS_CONTEXT AGILENN_RANS_CTX_CHANNEL_LEFT" in rans_tables_to_c(tables19["channel_left"], "my_rans")


# --------------------------------------------------------------------------- benchmark script


@pytest.mark.timeout(120)
def test_bench_script_writes_json(tmp_path: Path) -> None:
    from agilenn_ros.codec import bench

    out = tmp_path / "bench.json"
    assert bench.main(["--json", str(out), "--frames", "2", "--repeat", "1", "--train-frames", "20"]) == 0
    data = json.loads(out.read_text())
    assert {r["codec"] for r in data["results"]} >= {"packed", "rans", "lzw"}
    for r in data["results"]:
        assert r["decode_ms"] > 0 and r["encode_ms"] > 0 and r["decode_fps_per_core"] > 0
