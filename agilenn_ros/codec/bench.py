"""Micro-benchmark of the feature codecs (Python encoders, Python and native decoders).

    python -m agilenn_ros.codec.bench --json out.json
    python -m agilenn_ros.codec.bench --indices remote_indices.npy --json out.json

Measures, for every codec and frame shape (default 19x16x16 and 19x32x32): payload bytes,
encode and decode time per frame, and frames per second per core. Times are CPU time of
this (single-threaded) process (``time.process_time``), so they are per core even on a
busy machine; wall-clock times are reported beside them. ``decode_ms`` is the codec's
default decoder; for rANS the decode time of both backends (the C decoder of
agilenn_ros/codec/native.py and the pure-Python one) is reported side by side
(``decode_ms_native``, ``decode_ms_python``, ``native_speedup``; native None when
unavailable).

Data: ``--indices`` loads real centroid indices (N, C, H, W) from a .npy file (the first
80% learn the rANS tables, the rest are coded); without it, synthetic AgileNN-like indices
(agilenn_ros.codec.synthetic) are used, which the JSON says.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from .native import load_native
from .rans import CONTEXTS, DEFAULT_CONTEXT, RansCodec, empirical_entropy_bits
from .registry import build_codec_tables, make_codec
from .synthetic import synthetic_indices

__all__ = ["run_benchmark", "main"]


def _time_per_call(fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    """(CPU ms, wall ms) per call of ``fn``, best of ``repeat`` rounds after a warm-up call."""
    fn()
    best_cpu = best_wall = float("inf")
    for _ in range(repeat):
        c0, w0 = time.process_time(), time.perf_counter()
        fn()
        best_cpu = min(best_cpu, time.process_time() - c0)
        best_wall = min(best_wall, time.perf_counter() - w0)
    return best_cpu * 1e3, best_wall * 1e3


def _bench_codec(codec: Any, frames: np.ndarray, repeat: int) -> dict[str, Any]:
    payloads = [codec.encode(f) for f in frames]
    for p, f in zip(payloads, frames):
        if not np.array_equal(codec.decode(p, f.shape), f):
            raise AssertionError(f"{codec!r}: round trip failed")
    shape = frames.shape[1:]

    def encode_all() -> None:
        for f in frames:
            codec.encode(f)

    def decode_all() -> None:
        for p in payloads:
            codec.decode(p, shape)

    enc_cpu, enc_wall = _time_per_call(encode_all, repeat)
    dec_cpu, dec_wall = _time_per_call(decode_all, repeat)
    n = len(frames)
    sizes = np.array([len(p) for p in payloads], dtype=np.float64)
    symbols = int(np.prod(shape))
    extra: dict[str, Any] = {}
    if isinstance(codec, RansCodec):
        extra = _rans_backends(codec, payloads, frames, repeat)
    return {
        "bytes_mean": float(sizes.mean()),
        "bytes_min": int(sizes.min()),
        "bytes_max": int(sizes.max()),
        "bits_per_symbol": float(sizes.mean() * 8 / symbols),
        "encode_ms": enc_cpu / n,
        "decode_ms": dec_cpu / n,
        "encode_wall_ms": enc_wall / n,
        "decode_wall_ms": dec_wall / n,
        "encode_fps_per_core": 1e3 * n / enc_cpu if enc_cpu > 0 else float("inf"),
        "decode_fps_per_core": 1e3 * n / dec_cpu if dec_cpu > 0 else float("inf"),
        **extra,
    }


def _rans_backends(codec: RansCodec, payloads: list[bytes], frames: np.ndarray, repeat: int) -> dict[str, Any]:
    """CPU ms per frame of the Python and the native rANS decoder on the same payloads."""
    shape = frames.shape[1:]
    n = len(frames)
    times: dict[str, float | None] = {}
    for backend in ("python", "native"):
        if backend == "native" and load_native() is None:
            times[backend] = None
            continue
        dec = RansCodec(codec.tables, max_symbols=codec.max_symbols, native=backend == "native")
        for p, f in zip(payloads, frames):
            if not np.array_equal(dec.decode(p, shape), f):
                raise AssertionError(f"{codec!r}: {backend} decoder round trip failed")

        def decode_all(dec: RansCodec = dec) -> None:
            for p in payloads:
                dec.decode(p, shape)

        times[backend] = _time_per_call(decode_all, repeat)[0] / n
    py, nat = times["python"], times["native"]
    return {
        "decode_backend": codec.decode_backend,
        "decode_ms_python": py,
        "decode_ms_native": nat,
        "native_speedup": py / nat if py is not None and nat else None,
    }


def _data_for(shape: tuple[int, int, int], args: argparse.Namespace) -> tuple[np.ndarray, np.ndarray, str]:
    if args.indices:
        arr = np.load(args.indices)
        if arr.ndim != 4 or tuple(arr.shape[1:]) != shape:
            raise SystemExit(f"--indices holds shape {arr.shape}, expected (N,) + {shape}")
        split = max(1, int(0.8 * len(arr)))
        return arr[:split], arr[split:][: args.frames], f"indices from {args.indices}"
    c, h, w = shape
    train = synthetic_indices(args.train_frames, c, h, w, args.n_symbols, seed=1)
    test = synthetic_indices(args.frames, c, h, w, args.n_symbols, seed=2)
    return train, test, "synthetic (agilenn_ros.codec.synthetic, seeds 1/2)"


def run_benchmark(args: argparse.Namespace) -> dict[str, Any]:
    """Run every codec on every shape; return the JSON-ready report."""
    results: list[dict[str, Any]] = []
    sources = {}
    contexts = list(CONTEXTS) if args.all_contexts else [DEFAULT_CONTEXT]
    for shape_text in args.shapes:
        shape = tuple(int(v) for v in shape_text.lower().split("x"))
        if len(shape) != 3:
            raise SystemExit(f"bad shape {shape_text!r}; use CxHxW")
        train, test, source = _data_for(shape, args)  # type: ignore[arg-type]
        sources[shape_text] = source
        entropy = {
            ctx: empirical_entropy_bits(test, args.n_symbols, ctx) / 8 / len(test) for ctx in CONTEXTS
        }
        codecs: list[tuple[str, str | None, Any]] = [
            ("packed", None, make_codec("packed", n_symbols=args.n_symbols)),
            ("lzw", None, make_codec("lzw", n_symbols=args.n_symbols)),
        ]
        for ctx in contexts:
            tables = build_codec_tables(train, args.n_symbols, context=ctx)
            codecs.append(("rans", ctx, make_codec("rans", tables)))
        for name, ctx, codec in codecs:
            row = {"codec": name, "context": ctx, "shape": shape_text, "frames": int(len(test))}
            row.update(_bench_codec(codec, test, args.repeat))
            if ctx is not None:
                row["entropy_bytes_per_frame"] = entropy[ctx]
                row["bytes_over_entropy"] = row["bytes_mean"] / entropy[ctx] if entropy[ctx] else None
            results.append(row)
        lzw_bytes = next(r["bytes_mean"] for r in results if r["shape"] == shape_text and r["codec"] == "lzw")
        for r in results:
            if r["shape"] == shape_text:
                r["bytes_vs_lzw"] = r["bytes_mean"] / lzw_bytes
                r["global_order0_entropy_bytes_per_frame"] = entropy["shared"]
    return {
        "benchmark": "agilenn_ros.codec.bench",
        "timing": "CPU time of one Python thread (time.process_time), best of --repeat rounds",
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "machine": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "n_symbols": args.n_symbols,
        "data": sources,
        "results": results,
    }


def _markdown(report: dict[str, Any]) -> str:
    lines = [
        "| shape | codec | bytes/frame | bits/symbol | vs LZW | encode ms | decode ms | decode frames/s/core |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in report["results"]:
        name = r["codec"] if r["context"] is None else f"rans ({r['context']})"
        lines.append(
            f"| {r['shape']} | {name} | {r['bytes_mean']:.0f} | {r['bits_per_symbol']:.3f} | "
            f"{r['bytes_vs_lzw']:.3f} | {r['encode_ms']:.3f} | {r['decode_ms']:.3f} | "
            f"{r['decode_fps_per_core']:.0f} |"
        )
    rans = [r for r in report["results"] if r["codec"] == "rans" and "decode_ms_python" in r]
    if rans:
        lines += [
            "",
            "rANS decode, CPU ms per frame, both decoders:",
            "",
            "| shape | context | python ms | native ms | python / native |",
            "|---|---|---:|---:|---:|",
        ]
        for r in rans:
            nat = "n/a" if r["decode_ms_native"] is None else f"{r['decode_ms_native']:.4f}"
            ratio = "n/a" if r["native_speedup"] is None else f"{r['native_speedup']:.1f}x"
            lines.append(f"| {r['shape']} | {r['context']} | {r['decode_ms_python']:.3f} | {nat} | {ratio} |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m agilenn_ros.codec.bench", description=__doc__.split("\n")[0])
    p.add_argument("--json", type=Path, help="write the report here")
    p.add_argument("--shapes", nargs="+", default=["19x16x16", "19x32x32"], help="frame shapes CxHxW")
    p.add_argument("--frames", type=int, default=20, help="frames coded per shape")
    p.add_argument("--repeat", type=int, default=3, help="timing rounds (best is kept)")
    p.add_argument("--train-frames", type=int, default=300, help="synthetic frames that learn the tables")
    p.add_argument("--n-symbols", type=int, default=8)
    p.add_argument("--indices", type=Path, help="real indices (N, C, H, W) in a .npy file")
    p.add_argument("--all-contexts", action="store_true", help="also time every rANS context")
    args = p.parse_args(argv)
    report = run_benchmark(args)
    print(_markdown(report))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
