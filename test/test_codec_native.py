"""Native (C) rANS decoder: identical output and error classes to the Python decoder,
golden vectors, the loader (AGILENN_NATIVE, on-the-fly build, cache)."""
from __future__ import annotations

import ctypes
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from agilenn_ros.codec import (
    CONTEXTS,
    CodecError,
    CorruptPayload,
    OversizedPayload,
    RansCodec,
    RansTables,
    TruncatedPayload,
    build_codec_tables,
    make_codec,
)
from agilenn_ros.codec import native
from agilenn_ros.codec.synthetic import synthetic_indices

REPO = Path(__file__).resolve().parents[1]
GOLDEN = REPO / "test" / "data" / "codec_golden"
CC = shutil.which("cc")
NEEDS_CC = pytest.mark.skipif(CC is None, reason="no C compiler (cc) found: native rANS decoder not built")


@pytest.fixture(autouse=True)
def _restore_loader():
    """Tests below reload the library under changed environments; restore the cache."""
    saved = native._loaded
    yield
    native._loaded = saved


@pytest.fixture(scope="module")
def lib() -> native.NativeRans:
    """The native decoder, found or built with the default environment."""
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("AGILENN_NATIVE", raising=False)
        mp.delenv("AGILENN_NATIVE_BUILD", raising=False)
        found = native.load_native(force_reload=True)
    if found is None:
        if CC is None:
            pytest.skip("no C compiler (cc) found and no prebuilt native rANS decoder")
        pytest.fail("a C compiler is available but the native rANS decoder could not be loaded or built")
    return found


def both(tables, lib: native.NativeRans) -> tuple[RansCodec, RansCodec]:
    """(native codec, Python codec) for the same tables."""
    native._loaded = lib
    nat, py = RansCodec(tables, native=True), RansCodec(tables, native=False)
    assert nat.decode_backend == "native" and py.decode_backend == "python"
    return nat, py


def outcome(codec: RansCodec, data, shape) -> tuple[str, object]:
    try:
        out = codec.decode(data, shape)
    except CodecError as exc:
        return "error", type(exc)
    assert out.dtype == np.uint8 and out.shape == tuple(shape)
    return "ok", out.tobytes()


def random_tables(rng: np.random.Generator, context: str, channels: int, n_symbols: int,
                  precision: int) -> RansTables:
    """Skewed random tables (many frequency-1 symbols: exercises 2-byte renormalisation)."""
    from agilenn_ros.codec.rans import _n_tables

    n_tables = _n_tables(context, max(channels, 1), n_symbols)
    counts = rng.integers(0, 60, (n_tables, n_symbols)) ** 3
    counts[rng.random(counts.shape) < 0.3] = 0
    return RansTables.from_counts(counts, precision, context, 0 if context == "shared" else channels)


SHAPES = [(19, 16, 16), (1, 1, 1), (1, 7, 5), (3, 1, 9), (2, 6, 1), (4, 0, 3), (3, 4, 0)]
PARAMS = [(8, 12), (8, 8), (5, 10), (2, 16), (16, 16), (3, 2)]  # (n_symbols, precision_bits)


@pytest.mark.parametrize("context", CONTEXTS)
@pytest.mark.parametrize("n_symbols,precision", PARAMS)
def test_native_matches_python_random(lib, context: str, n_symbols: int, precision: int) -> None:
    rng = np.random.default_rng(n_symbols * 100 + precision + 7 * CONTEXTS.index(context))
    for shape in SHAPES:
        c = shape[0]
        if n_symbols ** 2 * c << precision > 20_000_000:  # keep the slot table small
            c = 1
            shape = (1,) + shape[1:]
        tables = random_tables(rng, context, c, n_symbols, precision)
        nat, py = both(tables, lib)
        frames = [rng.integers(0, n_symbols, shape, dtype=np.uint8)]
        if shape[1] and shape[2]:
            frames.append(synthetic_indices(1, c, shape[1], shape[2], n_symbols, seed=int(rng.integers(1e6)))[0])
        for frame in frames:
            payload = py.encode(frame)
            got = nat.decode(payload, shape)
            np.testing.assert_array_equal(got, frame)
            np.testing.assert_array_equal(py.decode(payload, shape), frame)
            assert got.dtype == np.uint8 and got.shape == shape


@pytest.mark.parametrize("context", CONTEXTS)
def test_native_matches_python_trained_tables(lib, context: str) -> None:
    train = synthetic_indices(60, 19, 16, 16, 8, seed=1)
    test = synthetic_indices(4, 19, 16, 16, 8, seed=2)
    nat, py = both(build_codec_tables(train, 8, context=context)["rans"], lib)
    for frame in test:
        payload = py.encode(frame)
        np.testing.assert_array_equal(nat.decode(payload, frame.shape), frame)
    # the C decoder's slot table is the Python decoder's
    assert nat._native_arrays()[0] == RansCodec(nat.tables, native=False)._slot_symbols()


def _golden_cases() -> list[dict]:
    return json.loads((GOLDEN / "cases.json").read_text())["cases"]


@pytest.mark.parametrize("case", _golden_cases(), ids=lambda c: c["name"])
def test_native_golden_vectors(lib, case: dict) -> None:
    shape = tuple(case["shape"])
    idx = np.frombuffer((GOLDEN / case["indices"]).read_bytes(), np.uint8).reshape(shape)
    tables = json.loads((GOLDEN / f"tables_{case['tables']}.json").read_text())
    golden = (GOLDEN / case["payloads"]["rans"]).read_bytes()
    native._loaded = lib
    codec = make_codec("rans", tables, n_symbols=case["n_symbols"])
    assert codec.decode_backend == "native"
    np.testing.assert_array_equal(codec.decode(golden, shape), idx)
    py = RansCodec(codec.tables, native=False)
    np.testing.assert_array_equal(py.decode(golden, shape), idx)


def _corrupt_cases(lib) -> list[tuple[RansCodec, RansCodec, np.ndarray, bytes]]:
    train = synthetic_indices(30, 19, 4, 4, 8, seed=1)
    frame = synthetic_indices(1, 19, 4, 4, 8, seed=21)[0]
    out = []
    for context in CONTEXTS:
        nat, py = both(build_codec_tables(train, 8, context=context)["rans"], lib)
        out.append((nat, py, frame, py.encode(frame)))
    return out


@pytest.mark.timeout(120)
def test_native_truncated_and_trailing(lib) -> None:
    rng = np.random.default_rng(3)
    for nat, py, frame, payload in _corrupt_cases(lib):
        for cut in range(len(payload)):
            for codec in (nat, py):
                with pytest.raises(TruncatedPayload):
                    codec.decode(payload[:cut], frame.shape)
        for extra in (b"\x00", b"\xff", bytes(rng.integers(0, 256, 50, dtype=np.uint8))):
            for codec in (nat, py):
                with pytest.raises(OversizedPayload):
                    codec.decode(payload + extra, frame.shape)
        for state in (0, 2**23 - 1, 2**31, 2**32 - 1):
            bad = payload[:6] + state.to_bytes(4, "little") + payload[10:]
            for codec in (nat, py):
                with pytest.raises(CorruptPayload):
                    codec.decode(bad, frame.shape)


@pytest.mark.timeout(120)
def test_native_corrupt_payloads_same_outcome(lib) -> None:
    """Bit flips, random bodies, byte changes and trailing bytes: same array or same
    exception class."""
    rng = np.random.default_rng(11)
    seen = set()
    for nat, py, frame, payload in _corrupt_cases(lib):
        trials = []
        for _ in range(150):
            flipped = bytearray(payload)
            for _ in range(int(rng.integers(1, 4))):
                pos = int(rng.integers(6, len(flipped)))
                flipped[pos] ^= 1 << int(rng.integers(0, 8))
            trials.append(bytes(flipped))
            n = int(rng.integers(0, 2 * len(payload)))
            trials.append(payload[:6] + bytes(rng.integers(0, 256, n, dtype=np.uint8)))
            changed = bytearray(payload)
            changed[int(rng.integers(10, len(changed)))] = int(rng.integers(0, 256))
            trials.append(bytes(changed))
            trials.append(payload + bytes(rng.integers(0, 256, int(rng.integers(1, 6)), dtype=np.uint8)))
        for data in trials:
            a, b = outcome(nat, data, frame.shape), outcome(py, data, frame.shape)
            assert a == b, f"native {a[0]}/{a[1] if a[0] == 'error' else ''} != python {b[0]}"
            seen.add(a[1] if a[0] == "error" else "ok")
    # the trials hit every classification of the body checks
    assert {TruncatedPayload, CorruptPayload, OversizedPayload} <= seen


def test_agilenn_native_0_gives_python(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGILENN_NATIVE", "0")
    assert native.load_native(force_reload=True) is None
    codec = RansCodec(None)
    assert codec.decode_backend == "python"
    frame = np.random.default_rng(0).integers(0, 8, (2, 3, 4), dtype=np.uint8)
    np.testing.assert_array_equal(codec.decode(codec.encode(frame), frame.shape), frame)
    with pytest.raises(RuntimeError):
        RansCodec(None, native=True)
    # native=False always means Python, whatever the environment
    monkeypatch.delenv("AGILENN_NATIVE")
    native.load_native(force_reload=True)
    assert RansCodec(None, native=False).decode_backend == "python"
    with pytest.raises(TypeError):
        RansCodec(None, native="yes")  # type: ignore[arg-type]


def test_default_backend_is_native(lib, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AGILENN_NATIVE", raising=False)
    assert native.load_native(force_reload=True) is not None
    assert RansCodec(None).decode_backend == "native"
    assert lib.lib.agilenn_rans_decode_abi() == native.ABI_VERSION


@NEEDS_CC
def test_build_into_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Source checkout without a prebuilt library: compiled once into the user cache."""
    monkeypatch.delenv("AGILENN_NATIVE", raising=False)
    monkeypatch.delenv("AGILENN_NATIVE_BUILD", raising=False)
    monkeypatch.delenv("CC", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(native, "_package_candidates", lambda: [])
    # AGILENN_NATIVE_BUILD=0 and nothing cached: no library
    monkeypatch.setenv("AGILENN_NATIVE_BUILD", "0")
    assert native.load_native(force_reload=True) is None
    monkeypatch.delenv("AGILENN_NATIVE_BUILD")
    lib = native.load_native(force_reload=True)
    assert lib is not None
    files = sorted(p.name for p in (tmp_path / "agilenn_ros").iterdir())
    assert files == [lib.path.name] and lib.path.parent == tmp_path / "agilenn_ros"
    assert native._cached_name() == lib.path.name  # named after the source hash
    # the cached build is reused, even with building disabled
    monkeypatch.setenv("AGILENN_NATIVE_BUILD", "0")
    assert native.load_native(force_reload=True).path == lib.path
    codec = RansCodec(None)
    frame = np.random.default_rng(1).integers(0, 8, (3, 5, 5), dtype=np.uint8)
    np.testing.assert_array_equal(codec.decode(codec.encode(frame), frame.shape), frame)


def test_no_compiler_is_silent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AGILENN_NATIVE", raising=False)
    monkeypatch.delenv("AGILENN_NATIVE_BUILD", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setenv("CC", str(tmp_path / "no-such-compiler"))
    monkeypatch.setattr(native, "_package_candidates", lambda: [])
    assert native.load_native(force_reload=True) is None
    assert RansCodec(None).decode_backend == "python"
    # a broken library file in the package directory is skipped, not fatal
    bogus = tmp_path / "_rans_native.bogus.so"
    bogus.write_bytes(b"not a library")
    monkeypatch.setattr(native, "_package_candidates", lambda: [bogus])
    assert native.load_native(force_reload=True) is None


def test_c_rejects_inconsistent_arguments(lib) -> None:
    """The C function checks its table sizes (a caller bug is RC_ARG, never a bad read)."""
    codec = RansCodec(build_codec_tables(synthetic_indices(5, 2, 3, 3, 8, seed=1), 8,
                                         context="channel_left_above")["rans"])
    native._loaded = lib
    frame = synthetic_indices(1, 2, 3, 3, 8, seed=2)[0]
    payload = codec.encode(frame)
    slot_sym, freq, cum = codec._native_arrays()
    args = (codec.n_symbols, codec.tables.precision_bits, codec.tables.multipliers())
    rc, out = lib.decode(payload, 6, slot_sym, freq, cum, *args, frame.shape)
    assert rc == native.RC_OK and np.array_equal(out, frame)
    # three channels with tables for two: table index out of range
    rc, _ = lib.decode(payload, 6, slot_sym, freq, cum, *args, (3, 3, 2))
    assert rc == native.RC_ARG
    fn = lib.lib.agilenn_rans_decode
    assert fn(None, 0, 0, None, None, None, 8, 1, 12, 0, 0, 0, 1, 1, 1, None) == native.RC_ARG
    assert fn(payload, 8, 6, slot_sym, freq.ctypes.data, cum.ctypes.data, 8, 128, 12, 64, 8, 1,
              1, 1, 1, ctypes.c_void_p(out.ctypes.data)) == native.RC_TRUNCATED
