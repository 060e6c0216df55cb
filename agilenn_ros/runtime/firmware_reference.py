"""What the firmware computes, in numpy: the bit-exact integer reference of
firmware_microros/core (resize, feature extractor, local predictor, quantizer, payload), the
integer model's constants (:class:`Int8Model`) and their file (``int8_params.json``).

The C core must equal :func:`int_forward` and :func:`encode_payload` bit for bit (golden
vectors: firmware_microros/tools/gen_firmware_data.py; the host shared library:
:mod:`agilenn_ros.runtime.firmware_core`). The constants come from
:mod:`agilenn_ros.export.int8` (calibration), the float model it is compared with from
:mod:`agilenn_ros.runtime.device_float`. No torch here.

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

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Mapping

import numpy as np

__all__ = [
    "QuantConfig", "Int8Model", "IntOutputs", "requantize", "resize_fixed", "rgb565_to_rgb888",
    "rgb888_to_rgb565", "int_forward", "model_to_json", "model_from_json", "load_int8_model",
    "encode_payload", "depthwise3x3", "pointwise", "axis_plan", "check_range",
]

RESIZE_COEF_BITS = 15          # bilinear weights in Q15
PIXEL_FRAC_BITS = 7            # resized pixels in Q7 (<= 255 * 128 = 32640)
LOGIT_FRAC_BITS = 16           # local logits leave the integer path in Q16 (fewer bits only
                               # where the requantization ratio would reach 0.25)
INT32_MAX = 2**31 - 1
INT32_MIN = -(2**31)
RELU6 = 6.0
MIN_POST_SHIFT = 1
MAX_POST_SHIFT = 31
PARAMS_NAME = "int8_params.json"


# --------------------------------------------------------------------------------------------
# Bit widths
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


# --------------------------------------------------------------------------------------------
# Resize and pixel formats (fixed point, as the core does it)
# --------------------------------------------------------------------------------------------

def axis_plan(src: int, dst: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
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


def resize_fixed(frames: np.ndarray, out_h: int, out_w: int) -> np.ndarray:
    """The firmware's fixed-point resize: uint8 [N, H, W, 3] -> int64 Q7 [N, out_h, out_w, 3]."""
    x = np.asarray(frames, dtype=np.int64)
    one = 1 << RESIZE_COEF_BITS
    y0, y1, ay, _ = axis_plan(x.shape[1], out_h)
    x0, x1, ax, _ = axis_plan(x.shape[2], out_w)
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
# Convolutions on NHWC arrays (exact in integer dtypes; the float model uses them too)
# --------------------------------------------------------------------------------------------

def depthwise3x3(x: np.ndarray, w: np.ndarray, stride: int, pad: int) -> np.ndarray:
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


def pointwise(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Pointwise conv on NHWC, weights [out, in]."""
    return np.tensordot(x, w.T, axes=([3], [0]))


# --------------------------------------------------------------------------------------------
# Requantization and the integer model's constants
# --------------------------------------------------------------------------------------------

def requantize(acc: np.ndarray, mult: np.ndarray | int, shift: np.ndarray | int) -> np.ndarray:
    """The core's requantization (agn_requant), elementwise in int64 (M, s broadcast over the
    last axis): h = (acc * M) >> 32 (the high word of a 32x32 multiply), then a rounding
    right shift by s: ((h >> (s - 1)) + 1) >> 1 == floor(h / 2**s + 1/2)."""
    acc = np.asarray(acc, dtype=np.int64)
    mult = np.asarray(mult, dtype=np.int64)
    shift = np.asarray(shift, dtype=np.int64)
    high = (acc * mult) >> 32
    return ((high >> (shift - 1)) + 1) >> 1


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


# --------------------------------------------------------------------------------------------
# Integer forward pass (bit-exact model of firmware_microros/core)
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
    acc = depthwise3x3(x, m.dw1_w, m.stride1, 0) + m.dw1_b
    _check_int32(acc, "dw1")
    d1 = np.clip(requantize(acc, m.dw1_m, m.dw1_r), -m.d1_max, m.d1_max)
    acc = pointwise(d1, m.pw1_w) + m.pw1_b
    _check_int32(acc, "pw1")
    a1 = np.clip(requantize(acc, m.pw1_m, m.pw1_r), 0, m.a1_max)
    acc = depthwise3x3(a1, m.dw2_w, m.stride2, m.pad2)
    _check_int32(acc, "dw2")
    d2 = np.clip(requantize(acc, m.dw2_m, m.dw2_r), -m.d2_max, m.d2_max)
    acc2 = pointwise(d2, m.pw2_w) + m.pw2_b
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
# Persistence (int8_params.json holds every integer constant: golden vectors and the
# firmware build regenerate from it without the calibration images)
# --------------------------------------------------------------------------------------------

def check_range(name: str, values: np.ndarray, lo: int, hi: int) -> None:
    arr = np.asarray(values)
    if arr.size and (int(arr.min()) < lo or int(arr.max()) > hi):
        raise ValueError(f"{name}: values outside [{lo}, {hi}]")


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
        check_range(name, arrays[name], MIN_POST_SHIFT, MAX_POST_SHIFT)
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
