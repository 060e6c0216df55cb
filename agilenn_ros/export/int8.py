"""Post-training quantization of the device network, its exact integer reference, and the
firmware's generated C header (``agilenn_model.h``).

No torch here: the float weights come from the bundle's ``fe_weights.npz`` (docs/CONTRACTS.md)
and calibration images are uint8 RGB numpy arrays ``[N, H, W, 3]`` of any size (the frame the
device sees; the resize to the model input is part of the device computation).

Integer scheme (``QuantConfig`` picks the bit widths; the C core in firmware_microros/core
implements exactly the same arithmetic, the golden tests pin it):

- Resize: bilinear, half-pixel centres (cv2.INTER_LINEAR / torch ``align_corners=False``)
  in fixed point: per-axis Q15 weights, horizontal pass first, each pass rounded to Q7
  pixels (``x_q = round(pixel * 128)``, at most 32640, int16).
- Layer 1: the input normalisation ``(p / 255 - mean) / std`` is folded into the depthwise
  weights and bias (padding is 0, so the fold is exact). Every conv / dense layer: weights
  with per-output-channel scales (int16 storage, as many bits as ``weight_bits`` allows while
  the worst-case accumulator, computed exactly from the quantized weights, fits int32),
  int32 accumulators, int32 bias in the accumulator scale, and requantization to the next
  activation's per-tensor scale, CMSIS-NN style: ``h = (acc * M) >> 32`` (high word of a
  32x32 multiply, M in [2**30, 2**31)), then a rounding shift ``((h >> (s-1)) + 1) >> 1``
  and a clamp (see :func:`requantize`).
  BatchNorm folds into the pointwise weights/bias; ReLU6 is the clamp at 0 and at the
  calibrated range.
- Activations: signed per-tensor tensors after the depthwise convs (D1, D2), unsigned
  (zero point 0) after ReLU6 (A1, A2); widths from ``QuantConfig`` (8 = plain int8/uint8;
  up to 16 signed / 15 unsigned, so the C core stores every activation as int16_t).
  ``QuantConfig.all_int8()`` is the textbook int8 network; the default keeps 16-bit
  activations and up-to-16-bit weights because the indices (what the edge consumes) agree
  with the float model far better that way (docs in firmware_microros/README.md), at the
  same instruction count on a Cortex-M7 (16x16 MACs cost what 8x8 MACs cost in plain C).
- Quantizer: the remote channels never get requantized. ``index = #{j: acc > T[c, j]}``
  with ``T[c, j] = floor(mid_j / S_c)``, ``mid_j`` the midpoints between adjacent sorted
  centroids and ``S_c`` the accumulator scale of channel c: the same decision as
  ``argmin_j |y - c_j|`` (ties -> lower index) on the real value ``y = acc * S_c``, ReLU6
  included (all midpoints lie in (0, 6)).
- Local predictor: the k local channels are requantized (ReLU6) to A2, summed over the
  feature map (int32), divided by H*W with rounding, then a dense layer with the logit
  BatchNorm folded in, requantized to Q16 logits (``logit_frac_bits``, fewer only if the
  requantization ratio needs it); ``float(logit_q) * 2**-logit_frac_bits`` is exact.
- Payload: rANS with the bundle's tables when its payload is no longer than the packed
  one, else packed (codec 0): the firmware's frame size is bounded by the packed size.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np

__all__ = [
    "FloatWeights", "QuantConfig", "Int8Model", "FloatOutputs", "IntOutputs",
    "load_float_weights", "make_synthetic_weights", "synthetic_frames",
    "resize_float", "resize_fixed", "float_forward", "calibrate", "quantize_model",
    "int_forward", "quantize_multiplier", "requantize", "compare_float_int8",
    "generate_header", "export_firmware", "build_int8_model", "encode_payload",
    "model_to_json", "model_from_json", "load_int8_model", "write_firmware_files",
    "make_synthetic_bundle", "codec_tables_c", "rgb565_to_rgb888", "rgb888_to_rgb565",
    "evaluate_bundle",
]

RESIZE_COEF_BITS = 15          # bilinear weights in Q15
PIXEL_FRAC_BITS = 7            # resized pixels in Q7 (<= 255 * 128 = 32640)
LOGIT_FRAC_BITS = 16           # local logits leave the integer path in Q16 (fewer bits only
                               # where the requantization ratio would reach 0.25)
INT32_MAX = 2**31 - 1
INT32_MIN = -(2**31)
RELU6 = 6.0
HEADER_NAME = "agilenn_model.h"

_REQUIRED_KEYS = (
    "dw1", "pw1", "bn1_gamma", "bn1_beta", "bn1_mean", "bn1_var",
    "dw2", "pw2", "bn2_gamma", "bn2_beta", "bn2_mean", "bn2_var",
    "local_w", "local_b", "lbn_gamma", "lbn_beta", "lbn_mean", "lbn_var",
    "centroids", "bn_eps", "stride1", "stride2", "pad2", "input_h", "input_w", "mean", "std",
)


# --------------------------------------------------------------------------------------------
# Float weights
# --------------------------------------------------------------------------------------------

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


# --------------------------------------------------------------------------------------------
# Synthetic models and images (tests, and firmware builds before a trained bundle exists)
# --------------------------------------------------------------------------------------------

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
        z = _float_trace(fw, frames)[probe]
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


# --------------------------------------------------------------------------------------------
# Resize (float and fixed point)
# --------------------------------------------------------------------------------------------

def _axis_plan(src: int, dst: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per output coordinate: (i0, i1, Q15 weight of i1, float weight of i1).

    Source position ``((2 d + 1) * src - dst) / (2 dst)``, clamped at 0 (half-pixel centres),
    computed with integers so C and numpy agree exactly.
    """
    if src < 1 or dst < 1:
        raise ValueError(f"resize: sizes must be positive, got {src} -> {dst}")
    d = np.arange(dst, dtype=np.int64)
    num = (2 * d + 1) * src - dst
    den = 2 * dst
    num = np.maximum(num, 0)
    i0 = num // den
    rem = num % den
    frac_q = (rem * (1 << RESIZE_COEF_BITS) + den // 2) // den
    frac_f = rem / den
    beyond = i0 >= src - 1
    i0 = np.minimum(i0, src - 1)
    i1 = np.minimum(i0 + 1, src - 1)
    frac_q = np.where(beyond, 0, frac_q)
    frac_f = np.where(beyond, 0.0, frac_f)
    return i0, i1, frac_q.astype(np.int64), frac_f


def resize_float(frames: np.ndarray, out_h: int, out_w: int) -> np.ndarray:
    """Bilinear resize with half-pixel centres in float64: [N, H, W, 3] -> [N, out_h, out_w, 3]."""
    x = np.asarray(frames, dtype=np.float64)
    y0, y1, _, fy = _axis_plan(x.shape[1], out_h)
    x0, x1, _, fx = _axis_plan(x.shape[2], out_w)
    rows = x[:, y0] * (1 - fy)[None, :, None, None] + x[:, y1] * fy[None, :, None, None]
    return rows[:, :, x0] * (1 - fx)[None, None, :, None] + rows[:, :, x1] * fx[None, None, :, None]


def resize_fixed(frames: np.ndarray, out_h: int, out_w: int) -> np.ndarray:
    """The firmware's fixed-point resize: uint8 [N, H, W, 3] -> int64 Q7 [N, out_h, out_w, 3]."""
    x = np.asarray(frames, dtype=np.int64)
    one = 1 << RESIZE_COEF_BITS
    y0, y1, ay, _ = _axis_plan(x.shape[1], out_h)
    x0, x1, ax, _ = _axis_plan(x.shape[2], out_w)
    shift_h = RESIZE_COEF_BITS - PIXEL_FRAC_BITS
    horiz = x[:, :, x0] * (one - ax)[None, None, :, None] + x[:, :, x1] * ax[None, None, :, None]
    horiz = (horiz + (1 << (shift_h - 1))) >> shift_h                          # Q7
    vert = horiz[:, y0] * (one - ay)[None, :, None, None] + horiz[:, y1] * ay[None, :, None, None]
    return (vert + (1 << (RESIZE_COEF_BITS - 1))) >> RESIZE_COEF_BITS         # Q7


def rgb565_to_rgb888(frame: np.ndarray, big_endian: bool = False) -> np.ndarray:
    """RGB565 (uint16 [H, W], or uint8 [H, W, 2] in little- or big-endian byte order) to
    uint8 RGB [H, W, 3] by bit replication, as the firmware core expands camera pixels."""
    arr = np.asarray(frame)
    if arr.dtype == np.uint8 and arr.ndim == 3 and arr.shape[2] == 2:
        lo, hi = (arr[..., 1], arr[..., 0]) if big_endian else (arr[..., 0], arr[..., 1])
        arr = lo.astype(np.uint16) | (hi.astype(np.uint16) << 8)
    v = arr.astype(np.uint32)
    r, g, b = (v >> 11) & 31, (v >> 5) & 63, v & 31
    return np.stack([(r << 3) | (r >> 2), (g << 2) | (g >> 4), (b << 3) | (b >> 2)],
                    axis=-1).astype(np.uint8)


def rgb888_to_rgb565(frame: np.ndarray) -> np.ndarray:
    """uint8 RGB [H, W, 3] -> uint16 RGB565 [H, W] (truncating), e.g. to emulate a camera."""
    f = np.asarray(frame, dtype=np.uint16)
    return ((f[..., 0] >> 3) << 11 | (f[..., 1] >> 2) << 5 | (f[..., 2] >> 3)).astype(np.uint16)


# --------------------------------------------------------------------------------------------
# Float reference of the device model
# --------------------------------------------------------------------------------------------

def _dw3x3(x: np.ndarray, w: np.ndarray, stride: int, pad: int) -> np.ndarray:
    """Depthwise 3x3 conv on NHWC, weights [C, 3, 3]; exact in integer dtypes."""
    if pad:
        x = np.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
    oh = (x.shape[1] - 3) // stride + 1
    ow = (x.shape[2] - 3) // stride + 1
    out = np.zeros((x.shape[0], oh, ow, x.shape[3]), dtype=np.result_type(x, w))
    for ky in range(3):
        for kx in range(3):
            patch = x[:, ky:ky + stride * (oh - 1) + 1:stride, kx:kx + stride * (ow - 1) + 1:stride]
            out += patch * w[:, ky, kx]
    return out


def _pw(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Pointwise conv on NHWC, weights [out, in]."""
    return np.tensordot(x, w.T, axes=([3], [0]))


def _relu6(x: np.ndarray) -> np.ndarray:
    return np.clip(x, 0.0, RELU6)


def _float_trace(w: FloatWeights, frames: np.ndarray) -> dict[str, np.ndarray]:
    """Every intermediate tensor of the float device model (NHWC, float64)."""
    x = resize_float(frames, w.input_h, w.input_w)
    xn = (x / 255.0 - w.mean) / w.std
    d1 = _dw3x3(xn, w.dw1, w.stride1, 0)
    z1 = _pw(d1, w.pw1)
    s1, t1 = w.folded_bn("bn1")
    a1 = _relu6(z1 * s1 + t1)
    d2 = _dw3x3(a1, w.dw2, w.stride2, w.pad2)
    z2 = _pw(d2, w.pw2)
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
        t = _float_trace(w, frames[start:start + batch])
        f = t["features"].transpose(0, 3, 1, 2)
        logits.append(t["logits"])
        indices.append(nearest_centroid(f[:, w.k:], w.centroids))
        feats.append(f)
    return FloatOutputs(np.concatenate(logits), np.concatenate(indices), np.concatenate(feats))


# --------------------------------------------------------------------------------------------
# Quantization
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class QuantConfig:
    """Bit widths of the integer path. ``*_bits`` of signed tensors count the sign bit."""

    weight_bits: int = 16      # most bits of any weight (per-output-channel scales, int16
                               # storage); each layer uses fewer if its accumulator needs it
    d1_bits: int = 16          # signed: depthwise-1 output (normalised input folded in)
    a1_bits: int = 15          # unsigned: layer-1 ReLU6 output
    d2_bits: int = 16          # signed: depthwise-2 output
    a2_bits: int = 15          # unsigned: local channels' ReLU6 output (local predictor input)
    margin: float = 1.0        # calibrated range = margin * observed max (ReLU6 ranges cap at 6)

    def __post_init__(self) -> None:
        if not 8 <= self.weight_bits <= 16:
            raise ValueError("weight_bits must lie in 8..16 (int16 weight storage)")
        for name in ("d1_bits", "d2_bits"):
            if not 4 <= getattr(self, name) <= 16:
                raise ValueError(f"{name} must lie in 4..16")
        for name in ("a1_bits", "a2_bits"):
            if not 4 <= getattr(self, name) <= 15:
                raise ValueError(f"{name} must lie in 4..15")
        if not self.margin >= 1.0:
            raise ValueError("margin must be >= 1")

    @classmethod
    def all_int8(cls) -> "QuantConfig":
        """Every activation 8 bits (int8 signed / uint8 after ReLU6)."""
        return cls(weight_bits=8, d1_bits=8, a1_bits=8, d2_bits=8, a2_bits=8)


MIN_POST_SHIFT = 1
MAX_POST_SHIFT = 31


def quantize_multiplier(ratio: float) -> tuple[int, int]:
    """(M, s) with ratio ~= M * 2**-(32 + s), M < 2**31, 1 <= s <= 31, M as large as that
    allows (>= 2**30 unless the ratio is below 2**-33). Needs 0 < ratio < 0.25."""
    if not (ratio > 0 and math.isfinite(ratio)):
        raise ValueError(f"requantization ratio must be positive and finite, got {ratio}")
    if ratio >= 0.25:
        raise ValueError(f"requantization ratio {ratio:.4g} >= 0.25 cannot be represented "
                         "(more weight or activation bits, or a wider calibration range)")
    mant, exp = math.frexp(ratio)          # ratio = mant * 2**exp, 0.5 <= mant < 1
    shift = -exp - 1                       # M = mant * 2**31 -> total shift 31 - exp = 32 + s
    mult = int(round(mant * (1 << 31)))
    if mult == 1 << 31:
        mult //= 2
        shift -= 1
    if shift > MAX_POST_SHIFT:
        mult = int(round(ratio * 2.0 ** (32 + MAX_POST_SHIFT)))
        shift = MAX_POST_SHIFT
    if shift < MIN_POST_SHIFT:             # only for ratio in [0.25, ...): excluded above
        raise ValueError(f"requantization ratio {ratio} too large")
    return mult, shift


def requantize(acc: np.ndarray, mult: np.ndarray | int, shift: np.ndarray | int) -> np.ndarray:
    """The core's requantization (agn_requant), elementwise in int64 (M, s broadcast over the
    last axis): h = (acc * M) >> 32 (the high word of a 32x32 multiply), then a rounding
    right shift by s: ((h >> (s - 1)) + 1) >> 1 == floor(h / 2**s + 1/2)."""
    acc = np.asarray(acc, dtype=np.int64)
    mult = np.asarray(mult, dtype=np.int64)
    shift = np.asarray(shift, dtype=np.int64)
    high = (acc * mult) >> 32
    return ((high >> (shift - 1)) + 1) >> 1


def _quantize_weights(w: np.ndarray, bits: int) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric per-row (output channel) quantization: returns (int64 [rows, ...], scales)."""
    qmax = (1 << (bits - 1)) - 1
    rows = w.reshape(w.shape[0], -1)
    amax = np.abs(rows).max(axis=1)
    scale = np.where(amax > 0, amax / qmax, 1.0)
    q = np.clip(np.rint(rows / scale[:, None]), -qmax, qmax).astype(np.int64)
    return q.reshape(w.shape), scale


def _round_bias(bias: np.ndarray, acc_scale: np.ndarray) -> np.ndarray:
    return np.rint(bias / acc_scale).astype(np.int64)


def _multipliers(ratios: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pairs = [quantize_multiplier(float(r)) for r in np.asarray(ratios, dtype=np.float64).reshape(-1)]
    return (np.array([p[0] for p in pairs], dtype=np.int64),
            np.array([p[1] for p in pairs], dtype=np.int64))


@dataclass
class Int8Model:
    """Every integer constant of the firmware core, plus the float scales (documentation)."""

    config: QuantConfig
    input_h: int
    input_w: int
    stride1: int
    stride2: int
    pad2: int
    hidden: int
    channels: int
    k: int
    classes: int
    l1_h: int
    l1_w: int
    feat_h: int
    feat_w: int
    n_centroids: int
    centroids: np.ndarray
    dw1_w: np.ndarray          # int [3, 3, 3]
    dw1_b: np.ndarray          # int [3]
    dw1_m: np.ndarray
    dw1_r: np.ndarray
    d1_max: int
    pw1_w: np.ndarray          # int [hidden, 3]
    pw1_b: np.ndarray
    pw1_m: np.ndarray
    pw1_r: np.ndarray
    a1_max: int
    dw2_w: np.ndarray          # int [hidden, 3, 3]
    dw2_m: np.ndarray
    dw2_r: np.ndarray
    d2_max: int
    pw2_w: np.ndarray          # int [channels, hidden]
    pw2_b: np.ndarray          # int [channels]
    pw2_m: np.ndarray          # [k] (local channels only)
    pw2_r: np.ndarray
    a2_max: int
    thresholds: np.ndarray     # int [channels - k, n_centroids - 1]
    dense_w: np.ndarray        # int [classes, k]
    dense_b: np.ndarray        # int [classes]
    dense_m: np.ndarray
    dense_r: np.ndarray
    logit_frac_bits: int = LOGIT_FRAC_BITS
    scales: dict[str, Any] = field(default_factory=dict)
    acc_bounds: dict[str, int] = field(default_factory=dict)
    weight_bits: dict[str, int] = field(default_factory=dict)
    model_hash: int = 0

    @property
    def remote(self) -> int:
        return self.channels - self.k

    def describe(self) -> dict[str, Any]:
        return {"config": asdict(self.config), "scales": self.scales,
                "weight_bits": self.weight_bits, "accumulator_bounds": self.acc_bounds,
                "logit_frac_bits": self.logit_frac_bits, "model_hash": f"{self.model_hash:08x}"}


def calibrate(w: FloatWeights, frames: np.ndarray, batch: int = 128) -> dict[str, float]:
    """Observed maxima of each activation tensor over calibration frames (uint8 RGB)."""
    if len(frames) == 0:
        raise ValueError("calibration needs at least one image")
    ranges = {"d1": 0.0, "a1": 0.0, "d2": 0.0, "a2": 0.0}
    for start in range(0, len(frames), batch):
        t = _float_trace(w, frames[start:start + batch])
        ranges["d1"] = max(ranges["d1"], float(np.abs(t["d1"]).max()))
        ranges["a1"] = max(ranges["a1"], float(t["a1"].max()))
        ranges["d2"] = max(ranges["d2"], float(np.abs(t["d2"]).max()))
        ranges["a2"] = max(ranges["a2"], float(t["features"][..., :w.k].max()))
    return ranges


def _acc_worst(in_max: int, wq: np.ndarray, bias: np.ndarray | None) -> int:
    """Worst-case |accumulator| of a layer: max over outputs of in_max * sum|w| + |bias|."""
    rows = np.abs(wq.reshape(wq.shape[0], -1)).sum(axis=1) * in_max
    if bias is not None:
        rows = rows + np.abs(bias)
    return int(rows.max())


def _fit_layer(name: str, weights: np.ndarray, in_max: int, max_bits: int,
               bias_of: Callable[[np.ndarray], np.ndarray | None],
               report: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Quantize a layer's weights with the most bits (<= max_bits, >= 8) whose worst-case
    accumulator still fits int32; returns (weights, scales, bias in the accumulator scale)."""
    for bits in range(max_bits, 7, -1):
        wq, scale = _quantize_weights(weights, bits)
        bias = bias_of(scale)
        worst = _acc_worst(in_max, wq, bias)
        if worst <= INT32_MAX:
            report["accumulator_bounds"][name] = worst
            report["weight_bits"][name] = bits
            return wq, scale, bias
    raise ValueError(f"{name}: the accumulator overflows int32 even with 8-bit weights; "
                     "lower the activation bit widths")


def quantize_model(w: FloatWeights, ranges: Mapping[str, float], cfg: QuantConfig = QuantConfig(),
                   model_hash: int = 0) -> Int8Model:
    """Turn float weights + calibrated ranges into the firmware's integer constants."""
    report: dict[str, Any] = {"accumulator_bounds": {}, "weight_bits": {}}
    d1_max = (1 << (cfg.d1_bits - 1)) - 1
    a1_max = (1 << cfg.a1_bits) - 1
    d2_max = (1 << (cfg.d2_bits - 1)) - 1
    a2_max = (1 << cfg.a2_bits) - 1
    tiny = 1e-6
    s_x = 1.0 / (1 << PIXEL_FRAC_BITS)                      # Q7 pixels
    s_d1 = max(ranges["d1"] * cfg.margin, tiny) / d1_max
    s_a1 = min(RELU6, max(ranges["a1"] * cfg.margin, tiny)) / a1_max
    s_d2 = max(ranges["d2"] * cfg.margin, tiny) / d2_max
    s_a2 = min(RELU6, max(ranges["a2"] * cfg.margin, tiny)) / a2_max
    wb = cfg.weight_bits

    # Layer 1 depthwise with the normalisation folded in (per input channel c).
    eff = w.dw1 / (255.0 * w.std)[:, None, None]
    dw1_bias = -(w.mean / w.std) * w.dw1.reshape(3, -1).sum(axis=1)
    dw1_q, s_dw1, dw1_b = _fit_layer("dw1", eff, 255 << PIXEL_FRAC_BITS, wb,
                                     lambda s: _round_bias(dw1_bias, s * s_x), report)
    dw1_m, dw1_r = _multipliers(s_dw1 * s_x / s_d1)

    # Layer 1 pointwise + BN1 + ReLU6.
    bn_s, bn_t = w.folded_bn("bn1")
    pw1_q, s_pw1, pw1_b = _fit_layer("pw1", w.pw1 * bn_s[:, None], d1_max, wb,
                                     lambda s: _round_bias(bn_t, s * s_d1), report)
    pw1_m, pw1_r = _multipliers(s_pw1 * s_d1 / s_a1)

    # Layer 2 depthwise (zero padding = zero point, exact).
    dw2_q, s_dw2, _ = _fit_layer("dw2", w.dw2, a1_max, wb, lambda s: None, report)
    dw2_m, dw2_r = _multipliers(s_dw2 * s_a1 / s_d2)

    # Layer 2 pointwise + BN2; local channels requantized, remote ones thresholded.
    bn2_s, bn2_t = w.folded_bn("bn2")
    pw2_q, s_pw2, pw2_b = _fit_layer("pw2", w.pw2 * bn2_s[:, None], d2_max, wb,
                                     lambda s: _round_bias(bn2_t, s * s_d2), report)
    acc2_scale = s_pw2 * s_d2
    pw2_m, pw2_r = _multipliers(acc2_scale[:w.k] / s_a2)
    mids = (w.centroids[1:] + w.centroids[:-1]) / 2.0
    thr = np.floor(mids[None, :] / acc2_scale[w.k:, None])
    thresholds = np.clip(thr, INT32_MIN, INT32_MAX).astype(np.int64)

    # Local predictor: GAP (rounded mean in A2 units) -> dense with the logit BN folded.
    sl, tl = w.folded_bn("lbn")
    dense_bias = w.local_b * sl + tl
    dense_q, s_dense, dense_b = _fit_layer("dense", w.local_w * sl[:, None], a2_max, wb,
                                           lambda s: _round_bias(dense_bias, s * s_a2), report)
    logit_bits = LOGIT_FRAC_BITS
    while logit_bits > 0 and float((s_dense * s_a2).max()) * 2.0**logit_bits >= 0.25:
        logit_bits -= 1
    dense_m, dense_r = _multipliers(s_dense * s_a2 * 2.0**logit_bits)

    h1, w1 = w.l1_shape
    fh, fw = w.feature_shape
    scales = {"pixel": s_x, "d1": s_d1, "a1": s_a1, "d2": s_d2, "a2": s_a2,
              "ranges": dict(ranges)}
    return Int8Model(
        config=cfg, input_h=w.input_h, input_w=w.input_w, stride1=w.stride1, stride2=w.stride2,
        pad2=w.pad2, hidden=w.hidden, channels=w.channels, k=w.k, classes=w.classes,
        l1_h=h1, l1_w=w1, feat_h=fh, feat_w=fw, n_centroids=int(w.centroids.size),
        centroids=w.centroids.copy(),
        dw1_w=dw1_q, dw1_b=dw1_b, dw1_m=dw1_m, dw1_r=dw1_r, d1_max=d1_max,
        pw1_w=pw1_q, pw1_b=pw1_b, pw1_m=pw1_m, pw1_r=pw1_r, a1_max=a1_max,
        dw2_w=dw2_q, dw2_m=dw2_m, dw2_r=dw2_r, d2_max=d2_max,
        pw2_w=pw2_q, pw2_b=pw2_b, pw2_m=pw2_m, pw2_r=pw2_r, a2_max=a2_max,
        thresholds=thresholds, dense_w=dense_q, dense_b=dense_b, dense_m=dense_m,
        dense_r=dense_r, logit_frac_bits=logit_bits, scales=scales,
        acc_bounds=report["accumulator_bounds"],
        weight_bits=report["weight_bits"], model_hash=int(model_hash),
    )


def build_int8_model(weights: str | Path | Mapping[str, Any] | FloatWeights,
                     calib_frames: np.ndarray, cfg: QuantConfig = QuantConfig(),
                     model_hash: int = 0) -> tuple[FloatWeights, Int8Model]:
    """Load, calibrate and quantize in one call."""
    fw = weights if isinstance(weights, FloatWeights) else load_float_weights(weights)
    return fw, quantize_model(fw, calibrate(fw, calib_frames), cfg, model_hash)


# --------------------------------------------------------------------------------------------
# Integer reference (bit-exact model of firmware_microros/core)
# --------------------------------------------------------------------------------------------

@dataclass
class IntOutputs:
    local_logits: np.ndarray    # float32 [N, classes] = logit_q * 2**-logit_frac_bits
    logit_q: np.ndarray         # int64 [N, classes] (fixed point, logit_frac_bits)
    indices: np.ndarray         # uint8 [N, C - k, FH, FW]


def _check_int32(x: np.ndarray, name: str) -> None:
    if x.size and (int(x.max()) > INT32_MAX or int(x.min()) < INT32_MIN):
        raise AssertionError(f"{name}: accumulator left the int32 range")


def _int_trace(m: Int8Model, frames: np.ndarray) -> dict[str, np.ndarray]:
    x = resize_fixed(frames, m.input_h, m.input_w)
    acc = _dw3x3(x, m.dw1_w, m.stride1, 0) + m.dw1_b
    _check_int32(acc, "dw1")
    d1 = np.clip(requantize(acc, m.dw1_m, m.dw1_r), -m.d1_max, m.d1_max)
    acc = _pw(d1, m.pw1_w) + m.pw1_b
    _check_int32(acc, "pw1")
    a1 = np.clip(requantize(acc, m.pw1_m, m.pw1_r), 0, m.a1_max)
    acc = _dw3x3(a1, m.dw2_w, m.stride2, m.pad2)
    _check_int32(acc, "dw2")
    d2 = np.clip(requantize(acc, m.dw2_m, m.dw2_r), -m.d2_max, m.d2_max)
    acc2 = _pw(d2, m.pw2_w) + m.pw2_b
    _check_int32(acc2, "pw2")
    a2 = np.clip(requantize(acc2[..., :m.k], m.pw2_m, m.pw2_r), 0, m.a2_max)
    return {"x": x, "d1": d1, "a1": a1, "d2": d2, "acc2": acc2, "a2": a2}


def int_forward(m: Int8Model, frames: np.ndarray, batch: int = 128) -> IntOutputs:
    """The firmware core's arithmetic on uint8 RGB frames [N, H, W, 3] (any H, W)."""
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise ValueError(f"frames must be uint8 [N, H, W, 3], got {frames.dtype} {frames.shape}")
    hw = m.feat_h * m.feat_w
    logit_q, indices = [], []
    for start in range(0, len(frames), batch):
        t = _int_trace(m, frames[start:start + batch])
        remote = t["acc2"][..., m.k:]                                      # [n, FH, FW, R]
        idx = (remote[..., None] > m.thresholds).sum(axis=-1)
        indices.append(idx.transpose(0, 3, 1, 2).astype(np.uint8))
        gap = (t["a2"].sum(axis=(1, 2)) + hw // 2) // hw                  # [n, k]
        acc = gap @ m.dense_w.T + m.dense_b
        _check_int32(acc, "dense")
        q = requantize(acc, m.dense_m, m.dense_r)
        logit_q.append(np.clip(q, INT32_MIN, INT32_MAX))
    lq = np.concatenate(logit_q)
    logits = lq.astype(np.float32) * np.float32(2.0 ** -m.logit_frac_bits)
    return IntOutputs(logits, lq, np.concatenate(indices))


# --------------------------------------------------------------------------------------------
# Float vs integer comparison
# --------------------------------------------------------------------------------------------

def compare_float_int8(w: FloatWeights, m: Int8Model, frames: np.ndarray,
                       labels: np.ndarray | None = None,
                       edge: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
                       batch: int = 500) -> dict[str, Any]:
    """Agreement of the integer path with the float device model on ``frames``.

    ``edge(indices int64 [N, R, FH, FW], local_logits float32 [N, classes]) -> fused logits``
    (e.g. edge.onnx through onnxruntime) adds fused accuracies when ``labels`` are given.
    """
    n = len(frames)
    idx_equal = 0
    frames_equal = 0
    argmax_equal = 0
    max_logit_diff = 0.0
    hits = {"local_float": 0, "local_int8": 0, "fused_float": 0, "fused_int8": 0}
    for start in range(0, n, batch):
        part = frames[start:start + batch]
        fo = float_forward(w, part)
        io = int_forward(m, part)
        same = fo.indices == io.indices
        idx_equal += int(same.sum())
        frames_equal += int(same.reshape(len(part), -1).all(axis=1).sum())
        fa = fo.local_logits.argmax(axis=1)
        ia = io.local_logits.argmax(axis=1)
        argmax_equal += int((fa == ia).sum())
        max_logit_diff = max(max_logit_diff, float(np.abs(fo.local_logits - io.local_logits).max()))
        if labels is not None:
            lab = np.asarray(labels[start:start + batch])
            hits["local_float"] += int((fa == lab).sum())
            hits["local_int8"] += int((ia == lab).sum())
            if edge is not None:
                ff = edge(fo.indices.astype(np.int64), fo.local_logits.astype(np.float32))
                fi = edge(io.indices.astype(np.int64), io.local_logits.astype(np.float32))
                hits["fused_float"] += int((np.argmax(ff, axis=1) == lab).sum())
                hits["fused_int8"] += int((np.argmax(fi, axis=1) == lab).sum())
    total_idx = n * m.remote * m.feat_h * m.feat_w
    report: dict[str, Any] = {
        "images": n,
        "indices_equal_rate": idx_equal / max(total_idx, 1),
        "frames_all_indices_equal_rate": frames_equal / max(n, 1),
        "local_argmax_agreement": argmax_equal / max(n, 1),
        "max_abs_local_logit_diff": max_logit_diff,
    }
    if labels is not None:
        report["local_accuracy_float"] = hits["local_float"] / n
        report["local_accuracy_int8"] = hits["local_int8"] / n
        if edge is not None:
            report["fused_accuracy_float"] = hits["fused_float"] / n
            report["fused_accuracy_int8"] = hits["fused_int8"] / n
            report["fused_accuracy_drop_points"] = 100.0 * (hits["fused_float"] - hits["fused_int8"]) / n
    return report


# --------------------------------------------------------------------------------------------
# Persistence (int8_params.json holds every integer constant: golden vectors and the
# firmware build regenerate from it without the calibration images)
# --------------------------------------------------------------------------------------------

_ARRAY_FIELDS = ("centroids", "dw1_w", "dw1_b", "dw1_m", "dw1_r", "pw1_w", "pw1_b", "pw1_m", "pw1_r",
                 "dw2_w", "dw2_m", "dw2_r", "pw2_w", "pw2_b", "pw2_m", "pw2_r", "thresholds",
                 "dense_w", "dense_b", "dense_m", "dense_r")
_INT_FIELDS = ("input_h", "input_w", "stride1", "stride2", "pad2", "hidden", "channels", "k",
               "classes", "l1_h", "l1_w", "feat_h", "feat_w", "n_centroids", "d1_max", "a1_max",
               "d2_max", "a2_max", "logit_frac_bits", "model_hash")
PARAMS_FORMAT = "agilenn-int8-v1"


def model_to_json(m: Int8Model) -> dict[str, Any]:
    """Everything needed to rebuild ``m`` exactly (plus its description)."""
    data: dict[str, Any] = {"format": PARAMS_FORMAT, **m.describe()}
    data["dims"] = {name: int(getattr(m, name)) for name in _INT_FIELDS}
    data["arrays"] = {}
    for name in _ARRAY_FIELDS:
        arr = np.asarray(getattr(m, name))
        values = arr.astype(float).tolist() if name == "centroids" else arr.astype(np.int64).tolist()
        data["arrays"][name] = {"shape": list(arr.shape), "values": values}
    return data


def model_from_json(data: Mapping[str, Any]) -> Int8Model:
    if data.get("format") != PARAMS_FORMAT:
        raise ValueError(f"int8 params: format {data.get('format')!r}, expected {PARAMS_FORMAT!r}")
    arrays = {}
    for name in _ARRAY_FIELDS:
        entry = data["arrays"][name]
        dtype = np.float64 if name == "centroids" else np.int64
        arrays[name] = np.asarray(entry["values"], dtype=dtype).reshape(entry["shape"])
    dims = {name: int(data["dims"][name]) for name in _INT_FIELDS}
    for name in ("dw1_r", "pw1_r", "dw2_r", "pw2_r", "dense_r"):
        _check_range(name, arrays[name], MIN_POST_SHIFT, MAX_POST_SHIFT)
    return Int8Model(config=QuantConfig(**data["config"]), scales=dict(data.get("scales", {})),
                     acc_bounds=dict(data.get("accumulator_bounds", {})),
                     weight_bits=dict(data.get("weight_bits", {})), **dims, **arrays)


def load_int8_model(path: str | Path) -> Int8Model:
    """Read a bundle's int8_params.json (or the file itself)."""
    p = Path(path)
    if p.is_dir():
        p = p / PARAMS_NAME
    return model_from_json(json.loads(p.read_text()))


# --------------------------------------------------------------------------------------------
# Payload reference (the firmware's codec policy)
# --------------------------------------------------------------------------------------------

def encode_payload(indices: np.ndarray, n_symbols: int, codec_tables: Mapping[str, Any] | None,
                   prefer: str = "rans") -> tuple[int, bytes]:
    """(codec id, payload) as the firmware sends it: rANS with the bundle's tables when it is
    no longer than the packed payload, packed otherwise (and when there are no tables)."""
    from agilenn_ros.codec import PackedCodec, RansCodec
    packed = PackedCodec(n_symbols).encode(indices)
    if prefer == "packed" or not codec_tables or "rans" not in codec_tables:
        return PackedCodec.codec_id, packed
    rans = RansCodec(codec_tables["rans"], n_symbols=n_symbols).encode(indices)
    if len(rans) <= len(packed):
        return RansCodec.codec_id, rans
    return PackedCodec.codec_id, packed


# --------------------------------------------------------------------------------------------
# C header
# --------------------------------------------------------------------------------------------

def _c_int_array(ctype: str, name: str, values: np.ndarray, per_line: int = 12) -> str:
    arr = np.asarray(values)
    if ctype == "agn_rq_t":
        items = [f"{{{int(mv)}, {int(sv)}}}" for mv, sv in arr.reshape(-1, 2)]
        per_line = 4
    else:
        items = [str(int(v)) if int(v) != INT32_MIN else "(-2147483647 - 1)" for v in arr.reshape(-1)]
    lines = [", ".join(items[i:i + per_line]) for i in range(0, len(items), per_line)]
    return f"const {ctype} {name}[{len(items)}] = {{\n    " + ",\n    ".join(lines) + "\n};"


def _c_len(ctype: str, values: np.ndarray) -> int:
    size = int(np.asarray(values).size)
    return size // 2 if ctype == "agn_rq_t" else size


def _check_range(name: str, values: np.ndarray, lo: int, hi: int) -> None:
    arr = np.asarray(values)
    if arr.size and (int(arr.min()) < lo or int(arr.max()) > hi):
        raise ValueError(f"{name}: values outside [{lo}, {hi}]")


def _header_arrays(m: Int8Model) -> list[tuple[str, str, np.ndarray, str]]:
    """(C type, name, values, comment) of every constant array; ``agn_rq_t`` arrays hold
    (multiplier, post-shift) pairs."""
    def rq(mult: np.ndarray, shift: np.ndarray) -> np.ndarray:
        return np.stack([np.asarray(mult), np.asarray(shift)], axis=-1)
    return [
        ("int16_t", "agn_dw1_w", m.dw1_w, "[3][9] (channel, ky*3+kx), normalisation folded in"),
        ("int32_t", "agn_dw1_b", m.dw1_b, "[3]"),
        ("agn_rq_t", "agn_dw1_rq", rq(m.dw1_m, m.dw1_r), "[3] requantization (mult, shift)"),
        ("int16_t", "agn_pw1_w", m.pw1_w, "[HIDDEN][3], BN1 folded"),
        ("int32_t", "agn_pw1_b", m.pw1_b, "[HIDDEN]"),
        ("agn_rq_t", "agn_pw1_rq", rq(m.pw1_m, m.pw1_r), "[HIDDEN]"),
        ("int16_t", "agn_dw2_w", m.dw2_w, "[HIDDEN][9]"),
        ("agn_rq_t", "agn_dw2_rq", rq(m.dw2_m, m.dw2_r), "[HIDDEN]"),
        ("int16_t", "agn_pw2_w", m.pw2_w, "[CHANNELS][HIDDEN], BN2 folded"),
        ("int32_t", "agn_pw2_b", m.pw2_b, "[CHANNELS]"),
        ("agn_rq_t", "agn_pw2_rq", rq(m.pw2_m, m.pw2_r), "[LOCAL]"),
        ("int32_t", "agn_thresholds", m.thresholds, "[REMOTE][CENTROIDS-1]: index = #(acc > T)"),
        ("int16_t", "agn_dense_w", m.dense_w, "[CLASSES][LOCAL], logit BN folded"),
        ("int32_t", "agn_dense_b", m.dense_b, "[CLASSES]"),
        ("agn_rq_t", "agn_dense_rq", rq(m.dense_m, m.dense_r), "[CLASSES]"),
    ]


def generate_header(m: Int8Model, *, model_id: str = "", codec_c: str | None = None,
                    max_payload_bytes: int | None = None) -> str:
    """The firmware's ``agilenn_model.h``.

    Macros and ``extern`` declarations everywhere; the array definitions (and the codec tables
    ``codec_c``, the text of ``agilenn_ros.codec.rans_tables_to_c``) only in the one
    translation unit that defines ``AGILENN_MODEL_IMPLEMENTATION`` before including it
    (firmware_microros/core/agilenn_model_data.c).
    """
    arrays = _header_arrays(m)
    limits = {"int16_t": (-32767, 32767), "int32_t": (INT32_MIN, INT32_MAX)}
    for ctype, name, values, _ in arrays:
        if ctype == "agn_rq_t":
            _check_range(name + " multipliers", values[..., 0], 0, INT32_MAX)
            _check_range(name + " shifts", values[..., 1], MIN_POST_SHIFT, MAX_POST_SHIFT)
        else:
            lo, hi = limits[ctype]
            _check_range(name, values, lo, hi)
    if np.any(np.diff(m.thresholds, axis=1) < 0):
        raise ValueError("quantizer thresholds must be non-decreasing per channel")
    if m.a2_max * m.feat_h * m.feat_w > INT32_MAX:
        raise ValueError("feature map too large for the int32 pooling sums")
    remote_count = m.remote * m.feat_h * m.feat_w
    bits = max(1, (m.n_centroids - 1).bit_length())
    packed = 6 + (remote_count * bits + 7) // 8
    if max_payload_bytes is None:
        max_payload_bytes = packed
    cfg = m.config
    tag = f"{m.model_hash:08x}"
    ident = model_id or tag
    if not all(ch.isalnum() or ch in "-_." for ch in ident):
        raise ValueError(f"model id {ident!r} must be alphanumeric with - _ .")
    macros = [
        ("AGN_MODEL_HASH", f"0x{tag}u", "manifest model_hash (on the wire as uint32)"),
        ("AGN_INPUT_H", m.input_h, "model input size (after the resize)"),
        ("AGN_INPUT_W", m.input_w, ""),
        ("AGN_STRIDE1", m.stride1, "depthwise-1 stride (kernel 3, padding 0)"),
        ("AGN_STRIDE2", m.stride2, "depthwise-2 stride (kernel 3)"),
        ("AGN_PAD2", m.pad2, "depthwise-2 symmetric zero padding"),
        ("AGN_HIDDEN", m.hidden, "layer-1 output channels"),
        ("AGN_L1_H", m.l1_h, "layer-1 output size"),
        ("AGN_L1_W", m.l1_w, ""),
        ("AGN_CHANNELS", m.channels, "feature channels C"),
        ("AGN_LOCAL", m.k, "local channels k (channels [0, k))"),
        ("AGN_REMOTE", m.remote, "remote channels C - k"),
        ("AGN_FEAT_H", m.feat_h, "feature map size"),
        ("AGN_FEAT_W", m.feat_w, ""),
        ("AGN_CLASSES", m.classes, "local predictor outputs"),
        ("AGN_CENTROIDS", m.n_centroids, "quantizer alphabet size"),
        ("AGN_REMOTE_COUNT", remote_count, "remote indices per frame (C - k) * H * W"),
        ("AGN_PACKED_PAYLOAD_BYTES", packed, "codec 0 payload: 6-byte header + packed bits"),
        ("AGN_MAX_PAYLOAD_BYTES", max_payload_bytes, "payload buffer (rANS falls back to packed)"),
        ("AGN_D1_MAX", m.d1_max, f"depthwise-1 output clamp ({cfg.d1_bits}-bit signed)"),
        ("AGN_A1_MAX", m.a1_max, f"layer-1 ReLU6 clamp ({cfg.a1_bits}-bit unsigned)"),
        ("AGN_D2_MAX", m.d2_max, f"depthwise-2 output clamp ({cfg.d2_bits}-bit signed)"),
        ("AGN_A2_MAX", m.a2_max, f"local ReLU6 clamp ({cfg.a2_bits}-bit unsigned)"),
        ("AGN_WEIGHT_BITS", max(m.weight_bits.values()), "most bits of a weight (int16 storage)"),
        ("AGN_LOGIT_FRAC_BITS", m.logit_frac_bits, "local logits = logit_q * 2^-bits"),
        ("AGN_PIXEL_FRAC_BITS", PIXEL_FRAC_BITS, "resized pixels in Q7"),
        ("AGN_RESIZE_COEF_BITS", RESIZE_COEF_BITS, "bilinear weights in Q15"),
        ("AGN_HAVE_RANS_TABLES", 1 if codec_c else 0, "agn_rans_tables is defined"),
    ]
    out = [
        "/* agilenn_model.h: GENERATED by agilenn_ros.export.int8 - do not edit.",
        f" * Model {ident}: the integer device network (feature extractor, local predictor,",
        " * quantizer thresholds) for firmware_microros/core; the arithmetic is described in",
        " * agilenn_ros/export/int8.py. Weight bits per layer: "
        + ", ".join(f"{k} {v}" for k, v in m.weight_bits.items()) + ".",
        f" * Activation scales: d1 {m.scales['d1']:.6g}, a1 {m.scales['a1']:.6g},"
        f" d2 {m.scales['d2']:.6g}, a2 {m.scales['a2']:.6g}. */",
        "#ifndef AGILENN_MODEL_H",
        "#define AGILENN_MODEL_H",
        "",
        "#include <stdint.h>",
        "",
        '#include "agilenn_codec.h"',
        '#include "agilenn_kernels.h"',
        "",
        f'#define AGN_MODEL_ID "{ident}"',
    ]
    out += [f"#define {name} {value}" + (f"  /* {note} */" if note else "")
            for name, value, note in macros]
    out += ["", "#ifdef __cplusplus", 'extern "C" {', "#endif", ""]
    for ctype, name, values, note in arrays:
        out.append(f"extern const {ctype} {name}[{_c_len(ctype, values)}];  /* {note} */")
    out.append(f"extern const float agn_centroids[{m.n_centroids}];  /* documentation only */")
    out.append("extern const agilenn_rans_tables_t *const agn_rans_tables;  /* NULL without tables */")
    out += ["", "#ifdef __cplusplus", "}", "#endif", "", "#ifdef AGILENN_MODEL_IMPLEMENTATION", ""]
    for ctype, name, values, note in arrays:
        out.append(_c_int_array(ctype, name, values))
    cents = ", ".join(f"{float(v):.9g}f" for v in m.centroids)
    out.append(f"const float agn_centroids[{m.n_centroids}] = {{ {cents} }};")
    if codec_c:
        out += ["", codec_c.rstrip("\n"),
                "const agilenn_rans_tables_t *const agn_rans_tables = &agilenn_rans_tables;"]
    else:
        out.append("const agilenn_rans_tables_t *const agn_rans_tables = 0;")
    out += ["", "#endif /* AGILENN_MODEL_IMPLEMENTATION */", "", "#endif /* AGILENN_MODEL_H */", ""]
    return "\n".join(out)


# --------------------------------------------------------------------------------------------
# Bundle export
# --------------------------------------------------------------------------------------------

PARAMS_NAME = "int8_params.json"


def codec_tables_c(codec_tables: Mapping[str, Any] | None) -> str | None:
    """The rANS tables as C text via the codec package's ``rans_tables_to_c`` (None when the
    bundle has no rANS tables)."""
    if not codec_tables or "rans" not in codec_tables:
        return None
    from agilenn_ros.codec import rans_tables_to_c
    return rans_tables_to_c(codec_tables)


def _manifest(bundle: Path) -> dict[str, Any]:
    path = bundle / "manifest.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def write_firmware_files(bundle_dir: str | Path, m: Int8Model, *, model_id: str = "",
                         codec_tables: Mapping[str, Any] | None = None) -> Path:
    """Write ``agilenn_model.h`` and ``int8_params.json`` for ``m`` into the bundle folder."""
    bundle = Path(bundle_dir)
    header = generate_header(m, model_id=model_id, codec_c=codec_tables_c(codec_tables))
    path = bundle / HEADER_NAME
    path.write_text(header)
    (bundle / PARAMS_NAME).write_text(json.dumps(model_to_json(m)) + "\n")
    return path


def export_firmware(bundle_dir: str | Path, calib_frames: np.ndarray, *,
                    cfg: QuantConfig = QuantConfig(), model_hash: int | None = None,
                    model_id: str | None = None) -> tuple[Int8Model, Path]:
    """Calibrate on ``calib_frames`` (uint8 RGB [N, H, W, 3], training images), quantize the
    bundle's fe_weights.npz and write ``agilenn_model.h`` (with the manifest's rANS tables)
    and ``int8_params.json``. Returns the integer model and the header path."""
    bundle = Path(bundle_dir)
    manifest = _manifest(bundle)
    fw = load_float_weights(bundle / "fe_weights.npz")
    if model_hash is None:
        tag = str(manifest.get("model_hash") or "")
        if tag:
            model_hash = int(tag, 16)
        else:
            model_hash = int(hashlib.sha256((bundle / "fe_weights.npz").read_bytes()).hexdigest()[:8], 16)
    ident = model_id or str(manifest.get("model_id") or f"{model_hash:08x}")
    qm = quantize_model(fw, calibrate(fw, calib_frames), cfg, model_hash)
    tables = manifest.get("codec", {}).get("tables") or None
    return qm, write_firmware_files(bundle, qm, model_id=ident, codec_tables=tables)


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


# --------------------------------------------------------------------------------------------
# Float vs integer report of a bundle
# --------------------------------------------------------------------------------------------

AGREEMENT_TARGET = 0.99
ACCURACY_DROP_TARGET_POINTS = 0.5


def evaluate_bundle(bundle_dir: str | Path, frames: np.ndarray, labels: np.ndarray | None = None,
                    *, calib_frames: np.ndarray | None = None,
                    variants: Sequence[str] = ()) -> dict[str, Any]:
    """Float device model vs the bundle's integer path (its int8_params.json, i.e. exactly the
    firmware's constants) on ``frames``: indices equality, local argmax agreement and, with
    ``labels`` and the bundle's edge.onnx, local and fused accuracies.

    ``variants`` ("all_int8", "default") re-calibrate on ``calib_frames`` with other bit
    widths, to show what the chosen precision buys.
    """
    bundle = Path(bundle_dir)
    fw = load_float_weights(bundle / "fe_weights.npz")
    m = load_int8_model(bundle)
    edge = _onnx_edge(bundle)
    t0 = time.time()
    report: dict[str, Any] = {
        "bundle": str(bundle), "model_hash": f"{m.model_hash:08x}",
        "reference": "float device model (numpy float64, = device.onnx) on the same frames, "
                     "bilinear resize in float",
        "integer_path": "the bundle's int8_params.json (the constants in agilenn_model.h)",
        "quantization": m.describe(),
        **compare_float_int8(fw, m, frames, labels, edge),
    }
    checks = {"indices_equal_rate": report["indices_equal_rate"] >= AGREEMENT_TARGET,
              "local_argmax_agreement": report["local_argmax_agreement"] >= AGREEMENT_TARGET}
    if "fused_accuracy_drop_points" in report:
        checks["fused_accuracy_drop_points"] = \
            report["fused_accuracy_drop_points"] <= ACCURACY_DROP_TARGET_POINTS
    report["targets"] = {"agreement_min": AGREEMENT_TARGET,
                         "accuracy_drop_max_points": ACCURACY_DROP_TARGET_POINTS, "met": checks}
    configs = {"all_int8": QuantConfig.all_int8(), "default": QuantConfig()}
    for name in variants:
        if calib_frames is None:
            raise ValueError("variants need calibration frames")
        _, alt = build_int8_model(fw, calib_frames, configs[name])
        report.setdefault("variants", {})[name] = {
            "config": asdict(configs[name]), "weight_bits": alt.weight_bits,
            **compare_float_int8(fw, alt, frames, labels, edge)}
    report["seconds"] = round(time.time() - t0, 1)
    return report


# --------------------------------------------------------------------------------------------
# CLI: python -m agilenn_ros.export.int8 {synth,header,report}
# --------------------------------------------------------------------------------------------

def _load_frames(source: str, split: str, limit: int, seed: int,
                 size: int) -> tuple[np.ndarray, np.ndarray | None]:
    if source == "synthetic":
        return synthetic_frames(limit, size, size, seed), None
    from agilenn_ros.data import load_split
    data = load_split(source, split)
    index = np.arange(len(data))
    if 0 < limit < len(index):
        index = np.sort(np.random.default_rng(seed).choice(index, limit, replace=False))
    return data.images[index], data.labels[index]


def _onnx_edge(bundle: Path) -> Callable[[np.ndarray, np.ndarray], np.ndarray] | None:
    path = bundle / "edge.onnx"
    if not path.is_file():
        return None
    import onnxruntime as ort
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])

    def run(indices: np.ndarray, logits: np.ndarray) -> np.ndarray:
        return session.run(["fused_logits"], {"indices": indices, "local_logits": logits})[0]
    return run


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m agilenn_ros.export.int8",
                                     description="int8 firmware export tools")
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("synth", help="write a synthetic stand-in bundle (random weights)")
    p.add_argument("out")
    p.add_argument("--input-size", type=int, default=96)
    p.add_argument("--classes", type=int, default=10)
    p.add_argument("--seed", type=int, default=0)
    p = sub.add_parser("header", help="calibrate and write agilenn_model.h + int8_params.json")
    p.add_argument("bundle")
    p.add_argument("--calib", default="synthetic", help="load_split source or 'synthetic'")
    p.add_argument("--calib-count", type=int, default=1000)
    p.add_argument("--frame-size", type=int, default=32, help="synthetic frame size")
    p.add_argument("--all-int8", action="store_true", help="8-bit activations and weights")
    p = sub.add_parser("report", help="float vs integer agreement and accuracy of a bundle")
    p.add_argument("bundle")
    p.add_argument("--data", required=True, help="load_split source of the evaluation images")
    p.add_argument("--split", default="test")
    p.add_argument("--count", type=int, default=0, help="0: the whole split")
    p.add_argument("--calib", default="", help="calibration source for --variants (train split)")
    p.add_argument("--calib-count", type=int, default=1000)
    p.add_argument("--variants", nargs="*", default=[], choices=["all_int8", "default"])
    p.add_argument("--json", help="also write the report here")
    args = parser.parse_args(argv)
    if args.cmd == "synth":
        make_synthetic_bundle(args.out, input_size=args.input_size, classes=args.classes,
                              seed=args.seed)
        return 0
    bundle = Path(args.bundle)
    if args.cmd == "header":
        cfg = QuantConfig.all_int8() if args.all_int8 else QuantConfig()
        calib, _ = _load_frames(args.calib, "train", args.calib_count, 1, args.frame_size)
        qm, path = export_firmware(bundle, calib, cfg=cfg)
        print(json.dumps({"header": str(path), **qm.describe()}, indent=2))
        return 0
    frames, labels = _load_frames(args.data, args.split, args.count, 2, 32)
    calib = _load_frames(args.calib, "train", args.calib_count, 1, 32)[0] if args.calib else None
    report = evaluate_bundle(bundle, frames, labels, calib_frames=calib, variants=args.variants)
    text = json.dumps(report, indent=2)
    print(text)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
