"""Float vs integer report of a bundle: how closely the firmware's integer path (the bundle's
``int8_params.json``, i.e. exactly the constants in ``agilenn_model.h``) follows the float
device model, and what it costs in accuracy.

    python -m agilenn_ros.export.int8_report BUNDLE --data SOURCE [--count N] [--calib SOURCE]
        [--variants all_int8 default] [--json OUT]
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from agilenn_ros.export.int8 import build_int8_model, load_frames
from agilenn_ros.runtime.device_float import FloatWeights, float_forward, load_float_weights
from agilenn_ros.runtime.firmware_reference import Int8Model, QuantConfig, int_forward, load_int8_model

__all__ = ["compare_float_int8", "evaluate_bundle", "AGREEMENT_TARGET", "ACCURACY_DROP_TARGET_POINTS"]

AGREEMENT_TARGET = 0.99
ACCURACY_DROP_TARGET_POINTS = 0.5


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
    p = argparse.ArgumentParser(prog="python -m agilenn_ros.export.int8_report",
                                description="float vs integer agreement and accuracy of a bundle")
    p.add_argument("bundle")
    p.add_argument("--data", required=True, help="load_split source of the evaluation images")
    p.add_argument("--split", default="test")
    p.add_argument("--count", type=int, default=0, help="0: the whole split")
    p.add_argument("--calib", default="", help="calibration source for --variants (train split)")
    p.add_argument("--calib-count", type=int, default=1000)
    p.add_argument("--variants", nargs="*", default=[], choices=["all_int8", "default"])
    p.add_argument("--json", help="also write the report here")
    args = p.parse_args(argv)
    frames, labels = load_frames(args.data, args.split, args.count, 2, 32)
    calib = load_frames(args.calib, "train", args.calib_count, 1, 32)[0] if args.calib else None
    report = evaluate_bundle(Path(args.bundle), frames, labels, calib_frames=calib, variants=args.variants)
    text = json.dumps(report, indent=2)
    print(text)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
