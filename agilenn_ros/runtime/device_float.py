"""The device network in float (numpy float64), from a bundle's ``fe_weights.npz``: what the
integer path (:mod:`agilenn_ros.runtime.firmware_reference`) is calibrated on and measured
against; it equals the bundle's ``device.onnx`` (test/test_int8.py). No torch here.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from agilenn_ros.runtime.firmware_reference import RELU6, axis_plan, depthwise3x3, pointwise

__all__ = ["FloatWeights", "FloatOutputs", "load_float_weights", "resize_float", "float_trace", "float_forward",
           "nearest_centroid"]

_REQUIRED_KEYS = (
    "dw1", "pw1", "bn1_gamma", "bn1_beta", "bn1_mean", "bn1_var",
    "dw2", "pw2", "bn2_gamma", "bn2_beta", "bn2_mean", "bn2_var",
    "local_w", "local_b", "lbn_gamma", "lbn_beta", "lbn_mean", "lbn_var",
    "centroids", "bn_eps", "stride1", "stride2", "pad2", "input_h", "input_w", "mean", "std",
)


@dataclass(frozen=True)
class FloatWeights:
    """The device network's float parameters (fe_weights.npz), as float64."""

    dw1: np.ndarray            # [3, 3, 3]      (channel, ky, kx)
    pw1: np.ndarray            # [hidden, 3]
    bn1: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]   # gamma, beta, mean, var
    dw2: np.ndarray            # [hidden, 3, 3]
    pw2: np.ndarray            # [channels, hidden]
    bn2: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
    local_w: np.ndarray        # [classes, k]
    local_b: np.ndarray        # [classes]
    lbn: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
    centroids: np.ndarray      # [n_centroids] ascending
    bn_eps: float
    stride1: int
    stride2: int
    pad2: int
    input_h: int
    input_w: int
    mean: np.ndarray           # [3]
    std: np.ndarray            # [3]

    @property
    def hidden(self) -> int:
        return int(self.pw1.shape[0])

    @property
    def channels(self) -> int:
        return int(self.pw2.shape[0])

    @property
    def k(self) -> int:
        return int(self.local_w.shape[1])

    @property
    def classes(self) -> int:
        return int(self.local_w.shape[0])

    @property
    def l1_shape(self) -> tuple[int, int]:
        return ((self.input_h - 3) // self.stride1 + 1, (self.input_w - 3) // self.stride1 + 1)

    @property
    def feature_shape(self) -> tuple[int, int]:
        h1, w1 = self.l1_shape
        return ((h1 + 2 * self.pad2 - 3) // self.stride2 + 1,
                (w1 + 2 * self.pad2 - 3) // self.stride2 + 1)

    def folded_bn(self, which: str) -> tuple[np.ndarray, np.ndarray]:
        """(scale, shift) of an eval-mode BatchNorm: y = x * scale + shift."""
        gamma, beta, mean, var = getattr(self, which)
        scale = gamma / np.sqrt(var + self.bn_eps)
        return scale, beta - mean * scale


def load_float_weights(source: str | Path | Mapping[str, Any]) -> FloatWeights:
    """Read fe_weights.npz (a path, or an already loaded mapping) and check its shapes."""
    if isinstance(source, (str, Path)):
        with np.load(source, allow_pickle=False) as npz:
            raw = {key: np.asarray(npz[key]) for key in npz.files}
    else:
        raw = {key: np.asarray(value) for key, value in source.items()}
    missing = [key for key in _REQUIRED_KEYS if key not in raw]
    if missing:
        raise ValueError(f"fe_weights: missing key(s) {missing}")
    f = {key: np.asarray(value, dtype=np.float64) for key, value in raw.items()}
    hidden = f["pw1"].shape[0]
    channels = f["pw2"].shape[0]
    classes, k = f["local_w"].shape
    expect = {
        "dw1": (3, 1, 3, 3), "pw1": (hidden, 3, 1, 1), "dw2": (hidden, 1, 3, 3),
        "pw2": (channels, hidden, 1, 1), "local_b": (classes,), "mean": (3,), "std": (3,),
    }
    for prefix, n in (("bn1", hidden), ("bn2", channels), ("lbn", classes)):
        for part in ("gamma", "beta", "mean", "var"):
            expect[f"{prefix}_{part}"] = (n,)
    for key, shape in expect.items():
        if f[key].shape != shape:
            raise ValueError(f"fe_weights: {key} has shape {f[key].shape}, expected {shape}")
    cent = f["centroids"].reshape(-1)
    if cent.size < 2 or np.any(np.diff(cent) <= 0) or cent[0] <= 0 or cent[-1] >= RELU6:
        raise ValueError(f"fe_weights: centroids must be ascending in (0, 6), got {cent}")
    if not 0 < k < channels:
        raise ValueError(f"fe_weights: k={k} must lie in 1..channels-1 ({channels})")

    def bn(prefix: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        return (f[f"{prefix}_gamma"], f[f"{prefix}_beta"], f[f"{prefix}_mean"], f[f"{prefix}_var"])

    weights = FloatWeights(
        dw1=f["dw1"].reshape(3, 3, 3), pw1=f["pw1"].reshape(hidden, 3), bn1=bn("bn1"),
        dw2=f["dw2"].reshape(hidden, 3, 3), pw2=f["pw2"].reshape(channels, hidden), bn2=bn("bn2"),
        local_w=f["local_w"], local_b=f["local_b"], lbn=bn("lbn"), centroids=cent,
        bn_eps=float(f["bn_eps"]), stride1=int(f["stride1"]), stride2=int(f["stride2"]),
        pad2=int(f["pad2"]), input_h=int(f["input_h"]), input_w=int(f["input_w"]),
        mean=f["mean"].reshape(3), std=f["std"].reshape(3),
    )
    h1, w1 = weights.l1_shape
    fh, fw = weights.feature_shape
    if min(h1, w1, fh, fw) < 1 or weights.stride1 < 1 or weights.stride2 < 1 or weights.pad2 not in (0, 1):
        raise ValueError("fe_weights: input size / strides / padding give an empty feature map")
    return weights


def resize_float(frames: np.ndarray, out_h: int, out_w: int) -> np.ndarray:
    """Bilinear resize with half-pixel centres in float64: [N, H, W, 3] -> [N, out_h, out_w, 3]."""
    x = np.asarray(frames, dtype=np.float64)
    y0, y1, _, fy = axis_plan(x.shape[1], out_h)
    x0, x1, _, fx = axis_plan(x.shape[2], out_w)
    rows = x[:, y0] * (1 - fy)[None, :, None, None] + x[:, y1] * fy[None, :, None, None]
    return rows[:, :, x0] * (1 - fx)[None, None, :, None] + rows[:, :, x1] * fx[None, None, :, None]


def _relu6(x: np.ndarray) -> np.ndarray:
    return np.clip(x, 0.0, RELU6)


def float_trace(w: FloatWeights, frames: np.ndarray) -> dict[str, np.ndarray]:
    """Every intermediate tensor of the float device model (NHWC, float64)."""
    x = resize_float(frames, w.input_h, w.input_w)
    xn = (x / 255.0 - w.mean) / w.std
    d1 = depthwise3x3(xn, w.dw1, w.stride1, 0)
    z1 = pointwise(d1, w.pw1)
    s1, t1 = w.folded_bn("bn1")
    a1 = _relu6(z1 * s1 + t1)
    d2 = depthwise3x3(a1, w.dw2, w.stride2, w.pad2)
    z2 = pointwise(d2, w.pw2)
    s2, t2 = w.folded_bn("bn2")
    f = _relu6(z2 * s2 + t2)
    zl = f[..., :w.k].mean(axis=(1, 2)) @ w.local_w.T + w.local_b
    sl, tl = w.folded_bn("lbn")
    return {"d1": d1, "z1": z1, "a1": a1, "d2": d2, "z2": z2, "features": f, "zl": zl,
            "logits": zl * sl + tl}


@dataclass
class FloatOutputs:
    local_logits: np.ndarray    # float64 [N, classes]
    indices: np.ndarray         # uint8 [N, C - k, FH, FW]
    features: np.ndarray        # float64 [N, C, FH, FW]


def nearest_centroid(values: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """argmin_j |v - c_j| with ties to the lower index (the training quantizer), as uint8."""
    dist = np.abs(values[..., None] - centroids)
    return np.argmin(dist, axis=-1).astype(np.uint8)


def float_forward(w: FloatWeights, frames: np.ndarray, batch: int = 256) -> FloatOutputs:
    """The float device model on uint8 frames of any size (numpy float64)."""
    logits, indices, feats = [], [], []
    for start in range(0, len(frames), batch):
        t = float_trace(w, frames[start:start + batch])
        f = t["features"].transpose(0, 3, 1, 2)
        logits.append(t["logits"])
        indices.append(nearest_centroid(f[:, w.k:], w.centroids))
        feats.append(f)
    return FloatOutputs(np.concatenate(logits), np.concatenate(indices), np.concatenate(feats))
