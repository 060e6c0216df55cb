"""Synthetic stand-ins: smooth colour frames and a random but well-conditioned device network,
written as a self-consistent bundle (fe_weights.npz, manifest.json, agilenn_model.h,
int8_params.json) for firmware builds and tests before a trained bundle exists.

    python -m agilenn_ros.export.synthetic OUT_DIR [--input-size 96] [--classes 10] [--seed 0]
"""
from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
from pathlib import Path
from typing import Sequence

import numpy as np

from agilenn_ros.export.int8 import calibrate, quantize_model, write_firmware_files
from agilenn_ros.runtime.device_float import float_trace, load_float_weights
from agilenn_ros.runtime.firmware_reference import QuantConfig, int_forward

__all__ = ["synthetic_frames", "make_synthetic_weights", "make_synthetic_bundle"]

def synthetic_frames(n: int, height: int, width: int, seed: int = 0) -> np.ndarray:
    """Deterministic smooth colour images uint8 [n, height, width, 3] (blobs, edges, noise)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.meshgrid(np.linspace(0, 1, height), np.linspace(0, 1, width), indexing="ij")
    out = np.empty((n, height, width, 3), dtype=np.uint8)
    for i in range(n):
        img = np.zeros((height, width, 3))
        for _ in range(4):
            cy, cx = rng.uniform(0, 1, 2)
            sigma = rng.uniform(0.08, 0.4)
            colour = rng.uniform(-120, 120, 3)
            blob = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * sigma**2))
            img += blob[..., None] * colour
        angle = rng.uniform(0, np.pi)
        edge = (np.cos(angle) * (xx - 0.5) + np.sin(angle) * (yy - 0.5)) > rng.uniform(-0.2, 0.2)
        img += edge[..., None] * rng.uniform(-60, 60, 3)
        img += rng.normal(0, 8, img.shape) + rng.uniform(60, 180, 3)
        out[i] = np.clip(np.rint(img), 0, 255).astype(np.uint8)
    return out


def make_synthetic_weights(*, input_size: int = 96, hidden: int = 16, channels: int = 24,
                           k: int = 5, classes: int = 10, n_centroids: int = 8,
                           stride1: int = 3, stride2: int = 2, pad2: int = 1,
                           mean: Sequence[float] = (0.4914, 0.4822, 0.4465),
                           std: Sequence[float] = (0.2023, 0.1994, 0.2010),
                           frames: np.ndarray | None = None, seed: int = 0) -> dict[str, np.ndarray]:
    """A random but well-conditioned fe_weights mapping (same keys as a bundle's npz).

    BatchNorm statistics are measured on ``frames`` (synthetic ones by default) so that every
    ReLU6 output spreads over (0, 6) and the quantizer sees all centroids, like a trained net.
    """
    rng = np.random.default_rng(seed)
    if frames is None:
        frames = synthetic_frames(64, max(8, input_size // 3), max(8, input_size // 3), seed + 1)
    w: dict[str, np.ndarray] = {
        "dw1": rng.normal(0, 0.4, (3, 1, 3, 3)), "pw1": rng.normal(0, 0.6, (hidden, 3, 1, 1)),
        "dw2": rng.normal(0, 0.4, (hidden, 1, 3, 3)),
        "pw2": rng.normal(0, 1 / math.sqrt(hidden), (channels, hidden, 1, 1)),
        "local_w": rng.normal(0, 1.0, (classes, k)), "local_b": rng.normal(0, 0.1, classes),
        "centroids": np.sort(rng.uniform(0.15, 5.85, n_centroids)),
        "bn_eps": np.float64(1e-3), "stride1": np.int64(stride1), "stride2": np.int64(stride2),
        "pad2": np.int64(pad2), "input_h": np.int64(input_size), "input_w": np.int64(input_size),
        "mean": np.asarray(mean, dtype=np.float64), "std": np.asarray(std, dtype=np.float64),
    }
    gaps = np.diff(w["centroids"])
    if np.any(gaps < 0.2):           # keep centroids apart so every index occurs
        w["centroids"] = np.linspace(0.35, 5.4, n_centroids) + rng.uniform(-0.1, 0.1, n_centroids)
    for prefix, n in (("bn1", hidden), ("bn2", channels), ("lbn", classes)):
        w[f"{prefix}_gamma"] = np.ones(n)
        w[f"{prefix}_beta"] = np.zeros(n)
        w[f"{prefix}_mean"] = np.zeros(n)
        w[f"{prefix}_var"] = np.ones(n) - 1e-3
    # Set BatchNorm statistics layer by layer from the pre-BN activations.
    for prefix, n, probe in (("bn1", hidden, "z1"), ("bn2", channels, "z2"), ("lbn", classes, "zl")):
        fw = load_float_weights(w)
        z = float_trace(fw, frames)[probe]
        axes = tuple(range(z.ndim - 1))
        w[f"{prefix}_mean"] = z.mean(axis=axes)
        w[f"{prefix}_var"] = z.var(axis=axes) + 1e-6
        if prefix == "lbn":
            w[f"{prefix}_gamma"] = rng.uniform(1.0, 2.0, n)
            w[f"{prefix}_beta"] = rng.normal(0, 0.2, n)
        else:
            w[f"{prefix}_gamma"] = rng.uniform(1.0, 2.2, n) * rng.choice([-1.0, 1.0], n, p=[0.2, 0.8])
            w[f"{prefix}_beta"] = rng.uniform(1.2, 3.2, n)
    return {key: np.asarray(value) for key, value in w.items()}


def make_synthetic_bundle(out_dir: str | Path, *, input_size: int = 96, classes: int = 10,
                          seed: int = 0, frames: np.ndarray | None = None,
                          cfg: QuantConfig = QuantConfig()) -> Path:
    """A self-consistent stand-in bundle for firmware builds and tests before training:
    fe_weights.npz (random, calibrated BN), manifest.json (hash, centroids, codec tables
    learned from the integer path's indices), agilenn_model.h and int8_params.json."""
    from agilenn_ros.codec import build_codec_tables
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    src = max(8, input_size // 3)
    if frames is None:
        frames = synthetic_frames(96, src, src, seed + 7)
    weights = make_synthetic_weights(input_size=input_size, classes=classes, seed=seed, frames=frames)
    np.savez(out / "fe_weights.npz", **weights)
    fw = load_float_weights(weights)
    digest = hashlib.sha256((out / "fe_weights.npz").read_bytes()).hexdigest()[:8]
    qm = quantize_model(fw, calibrate(fw, frames), cfg, int(digest, 16))
    tables = build_codec_tables(int_forward(qm, frames).indices, qm.n_centroids)
    fh, fwid = fw.feature_shape
    manifest = {
        "format_version": 1, "model_hash": digest, "model_id": f"synthetic-{digest}",
        "profile": "synthetic", "class_names": [f"class{i}" for i in range(classes)],
        "input": {"height": input_size, "width": input_size, "channels": 3, "color": "rgb",
                  "mean": fw.mean.tolist(), "std": fw.std.tolist(), "scale": 1 / 255,
                  "resize": "bilinear"},
        "features": {"channels": fw.channels, "local_channels": fw.k,
                     "remote_channels": fw.channels - fw.k, "height": fh, "width": fwid},
        "quantizer": {"centroids": fw.centroids.tolist(), "bits": 3},
        "codec": {"default": "rans", "tables": tables},
        "note": "synthetic stand-in (random weights): firmware builds and tests only",
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    write_firmware_files(out, qm, model_id=f"synthetic-{digest}", codec_tables=tables)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m agilenn_ros.export.synthetic",
                                     description="write a synthetic stand-in bundle (random weights)")
    parser.add_argument("out")
    parser.add_argument("--input-size", type=int, default=96)
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    make_synthetic_bundle(args.out, input_size=args.input_size, classes=args.classes, seed=args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
