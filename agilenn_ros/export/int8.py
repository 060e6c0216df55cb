"""Post-training quantization of the device network and the files the firmware is built from.

:func:`calibrate` measures the float model's activation ranges (:mod:`agilenn_ros.runtime.device_float`)
on calibration images (uint8 RGB numpy arrays ``[N, H, W, 3]`` of any size: the frame the
device sees; the resize to the model input is part of the device computation),
:func:`quantize_model` turns them into the firmware's integer constants
(:class:`~agilenn_ros.runtime.firmware_reference.Int8Model`, whose arithmetic
:mod:`agilenn_ros.runtime.firmware_reference` describes and computes), and
:func:`write_firmware_files` writes ``agilenn_model.h`` (:mod:`agilenn_ros.export.firmware_header`)
and ``int8_params.json`` into the bundle. No torch here: the float weights come from the
bundle's ``fe_weights.npz`` (docs/CONTRACTS.md).

    python -m agilenn_ros.export.int8 header BUNDLE [--calib SOURCE] [--all-int8]

The float vs integer report is :mod:`agilenn_ros.export.int8_report`; synthetic stand-in
bundles are :mod:`agilenn_ros.export.synthetic`.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from agilenn_ros.export.firmware_header import HEADER_NAME, codec_tables_c, generate_header
from agilenn_ros.runtime.device_float import FloatWeights, float_trace, load_float_weights
from agilenn_ros.runtime.firmware_reference import (INT32_MAX, INT32_MIN, LOGIT_FRAC_BITS, MAX_POST_SHIFT,
                                                    MIN_POST_SHIFT, PARAMS_NAME, PIXEL_FRAC_BITS, RELU6, Int8Model,
                                                    QuantConfig, model_to_json)

__all__ = ["calibrate", "quantize_multiplier", "quantize_model", "build_int8_model", "write_firmware_files",
           "export_firmware", "load_frames"]

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


def calibrate(w: FloatWeights, frames: np.ndarray, batch: int = 128) -> dict[str, float]:
    """Observed maxima of each activation tensor over calibration frames (uint8 RGB)."""
    if len(frames) == 0:
        raise ValueError("calibration needs at least one image")
    ranges = {"d1": 0.0, "a1": 0.0, "d2": 0.0, "a2": 0.0}
    for start in range(0, len(frames), batch):
        t = float_trace(w, frames[start:start + batch])
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


def load_frames(source: str, split: str, limit: int, seed: int,
                size: int) -> tuple[np.ndarray, np.ndarray | None]:
    """uint8 RGB images [N, H, W, 3] and labels from a load_split source (``limit`` > 0: a random
    subset with this seed), or ``limit`` synthetic ``size`` x ``size`` frames (labels None) for
    ``source == "synthetic"``."""
    if source == "synthetic":
        from agilenn_ros.export.synthetic import synthetic_frames   # synthetic imports this module
        return synthetic_frames(limit, size, size, seed), None
    from agilenn_ros.data import load_split
    data = load_split(source, split)
    index = np.arange(len(data))
    if 0 < limit < len(index):
        index = np.sort(np.random.default_rng(seed).choice(index, limit, replace=False))
    return data.images[index], data.labels[index]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m agilenn_ros.export.int8",
                                     description="int8 firmware export: calibrate and write agilenn_model.h")
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("header", help="calibrate and write agilenn_model.h + int8_params.json")
    p.add_argument("bundle")
    p.add_argument("--calib", default="synthetic", help="load_split source or 'synthetic'")
    p.add_argument("--calib-count", type=int, default=1000)
    p.add_argument("--frame-size", type=int, default=32, help="synthetic frame size")
    p.add_argument("--all-int8", action="store_true", help="8-bit activations and weights")
    args = parser.parse_args(argv)
    cfg = QuantConfig.all_int8() if args.all_int8 else QuantConfig()
    calib, _ = load_frames(args.calib, "train", args.calib_count, 1, args.frame_size)
    qm, path = export_firmware(Path(args.bundle), calib, cfg=cfg)
    print(json.dumps({"header": str(path), **qm.describe()}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
