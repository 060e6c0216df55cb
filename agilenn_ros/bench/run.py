"""``agilenn bench``: AgileNN side by side with edge-only (software encoding on the device, and a
hardware-JPEG camera), local-only and split computing, and AgileNN with all channels sent, on the
same test images at the same input resolution. Device times come from instruction counts
measured in QEMU where they exist (results/firmware.json, results/jpeg_m7.json).

Writes one JSON (``schemes``, ``ratios``, ``assumptions``, ``missing``, ...), optionally a
Markdown report and the Figure 16/17-style plots. Baselines come from bundles under
``models/baselines/`` (``agilenn train-baseline`` + ``agilenn export-baseline``); a missing
one is reported in the JSON and the Markdown, never fatal. ``--quick`` evaluates 500 test
images and times 30 frames per scheme: a minute on two cores, the same JSON shape.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from agilenn_ros.bench.baseline_bundle import HOW_TO_MAKE
from agilenn_ros.bench.device_model import DeviceModel, agilenn_device_cost
from agilenn_ros.bench.firmware import load_firmware_report, stale_report_problem
from agilenn_ros.bench.jpeg_encoder import load_jpeg_report
from agilenn_ros.bench.schemes import (BenchContext, BenchData, agilenn_rows, all_channels_rows, edge_only_rows,
                                       local_only_row, split_rows)
from agilenn_ros.bench.summary import markdown, ratios, targets
from agilenn_ros.bench.wire import LINKS_BPS
from agilenn_ros.data import ImageSet, load_split
from agilenn_ros.runtime.device_float import load_float_weights
from agilenn_ros.runtime.bundle import Bundle, load_bundle

REPO = Path(__file__).resolve().parents[2]
QUICK_IMAGES = 500
QUICK_TIMING = 30
QUICK_CALIBRATION = 300


def shown_path(path: Path) -> str:
    """``path`` relative to the repository when it lies inside it (what the report shows)."""
    try:
        return str(path.resolve().relative_to(REPO))
    except ValueError:
        return str(path)


def default_data(bundle: Bundle) -> str:
    if str(bundle.manifest.get("profile", "")).startswith("digits"):
        return "digits"
    env = os.environ.get("AGILENN_CIFAR10")
    for candidate in ([Path(env)] if env else []) + [REPO.parent / "shared" / "data" / "cifar10", Path.cwd() / "data" / "cifar10"]:
        if candidate.exists():
            return str(candidate)
    raise ValueError("no test data: pass --data (CIFAR-10 directory or archive) or set AGILENN_CIFAR10")


def to_model_size(images: np.ndarray, hw: tuple[int, int]) -> np.ndarray:
    """The camera frames every scheme starts from: uint8 RGB at the model input size (bilinear)."""
    if images.shape[1:3] == tuple(hw):
        return images
    return np.stack([cv2.resize(im, (hw[1], hw[0]), interpolation=cv2.INTER_LINEAR) for im in images])


def pick_data(test: ImageSet, source: str, hw: tuple[int, int], limit: int, calibration: int, timing: int,
              quick: bool) -> tuple[Any, dict[str, Any]]:
    rng = np.random.default_rng(0)
    order = rng.permutation(len(test))
    chosen = np.sort(order[:limit]) if limit and limit < len(test) else np.arange(len(test))
    rest = np.sort(order[limit:]) if limit and limit < len(test) else np.zeros(0, dtype=np.int64)
    if quick and len(rest) >= calibration:
        calib_images = test.images[rest[:calibration]]
        calib_source = "test images outside the evaluated subset (quick run)"
    else:
        train = load_split(source, "train")
        pick = np.sort(np.random.default_rng(1).permutation(len(train))[:calibration])
        calib_images = train.images[pick]
        calib_source = "training split"
    frames = to_model_size(test.images[chosen], hw)
    data = BenchData(frames=frames, labels=test.labels[chosen], calibration=to_model_size(calib_images, hw),
                     timing=np.arange(min(timing, len(frames))), class_names=test.class_names)
    info = {"source": source, "split": "test", "images": int(len(frames)), "of": int(len(test)),
            "subset": "all" if len(chosen) == len(test) else f"random subset (seed 0) of {len(chosen)}",
            "input_resolution": [int(hw[0]), int(hw[1])], "source_resolution": list(test.images.shape[1:3]),
            "calibration": {"images": int(len(calib_images)), "source": calib_source},
            "timing_frames": int(len(data.timing))}
    return data, info


def run_bench(args: argparse.Namespace) -> dict[str, Any]:
    t0 = time.perf_counter()
    bundle = load_bundle(args.model)
    source = args.data or default_data(bundle)
    test = load_split(source, "test")
    if test.class_names != bundle.class_names:
        raise ValueError(f"test data classes {test.class_names} differ from the bundle's {bundle.class_names}")
    limit = args.limit or (QUICK_IMAGES if args.quick else 0)
    timing = args.timing_frames or (QUICK_TIMING if args.quick else 200)
    calibration = args.calibration or (QUICK_CALIBRATION if args.quick else 1000)
    data, data_info = pick_data(test, source, bundle.input_hw, limit, calibration, timing, args.quick)
    weights = load_float_weights(bundle.file("fe_weights.npz"))
    firmware_path = Path(args.firmware) if args.firmware else REPO / "results" / "firmware.json"
    firmware = load_firmware_report(firmware_path)
    firmware_note = None
    if firmware is not None:
        firmware.path = shown_path(firmware_path)
        firmware_note = stale_report_problem(firmware, bundle.model_hash)
        if firmware_note:
            print(f"warning: {firmware_note}", file=sys.stderr, flush=True)
            firmware = None
    agilenn_cost = agilenn_device_cost(weights)
    device = DeviceModel.calibrate(args.clock_mhz * 1e6, firmware, agilenn_cost["macs"],
                                   int(np.prod(bundle.remote_shape)))
    jpeg_path = Path(args.jpeg_encoder) if args.jpeg_encoder else REPO / "results" / "jpeg_m7.json"
    device.jpeg = load_jpeg_report(jpeg_path)
    if device.jpeg is not None:
        device.jpeg.path = shown_path(jpeg_path)
    baselines_dir = Path(args.baselines) if args.baselines else bundle.path.parent / "baselines"
    profile = str(bundle.manifest.get("profile", "cifar10"))
    how = {k: v.format(profile="digits" if profile.startswith("digits") else "cifar10", data=source,
                       dir=baselines_dir) for k, v in HOW_TO_MAKE.items()}
    ctx = BenchContext(bundle, weights, data, device, args.threads or (os.cpu_count() or 1), baselines_dir, how)

    rows, onnx_indices = agilenn_rows(ctx)
    rows += all_channels_rows(ctx, onnx_indices)
    rows += edge_only_rows(ctx)
    rows.append(local_only_row(ctx))
    rows += split_rows(ctx)

    missing = []
    for r in rows:
        if not r["available"] and r["scheme"] not in [m["scheme"] for m in missing]:
            missing.append({"scheme": r["scheme"], "reason": r["missing_reason"]})
    assumptions = device.assumptions() + ([f"Firmware report not used: {firmware_note}"] if firmware_note else []) + [
        "Bytes per frame: the serialized ROS 2 message (CDR with its 4-byte encapsulation header) that crosses "
        "the link; RTPS/UDP/IP or micro-ROS XRCE framing and the downlink (the prediction) are not counted.",
        f"Links: {', '.join(f'{k} = {v / 1e3:g} kbit/s' for k, v in LINKS_BPS.items())}, full rate, no loss, no "
        "protocol overhead; end to end = device time + message bits / rate + edge time.",
        "Edge times: measured on this host with onnxruntime on one thread, one frame at a time (decode + "
        "network + fusion), p50 shown; a GPU edge would be faster for every scheme alike. This machine is noisy: "
        "compare within one run.",
        f"All schemes start from the same uint8 RGB frames at the model input ({bundle.input_hw[1]}x"
        f"{bundle.input_hw[0]}, bilinear from the {test.images.shape[2]}x{test.images.shape[1]} test images): "
        "the camera's frame.",
        "Edge-only sends the frame itself (raw sensor_msgs/Image, or PNG/JPEG CompressedImage) to a full network "
        "on the edge trained on images; local-only runs a whole small network on the device (MCUNet's role); "
        "split cuts the edge network after its stem and sends uint8 activations (Neurosurgeon's role); "
        "all-channels sends every AgileNN feature channel (DeepCOD's role, without DeepCOD's own training).",
        "Accuracy is measured on the evaluated test images with onnxruntime; the ratios use the fastest variant "
        "within 10 accuracy points of AgileNN (the paper's fairness rule).",
    ]
    result: dict[str, Any] = {
        "benchmark": "agilenn side-by-side", "quick": bool(args.quick),
        "created": datetime.datetime.now().isoformat(timespec="seconds"),
        "host": {"machine": platform.machine(), "python": platform.python_version(), "cpus": os.cpu_count()},
        "data": data_info,
        "model": {"model_id": bundle.model_id, "path": str(bundle.path), "input_hw": list(bundle.input_hw),
                  "remote_shape": list(bundle.remote_shape), "centroids": len(bundle.centroids),
                  "alpha": bundle.alpha},
        "links_bps": LINKS_BPS, "device_model": device.to_dict(),
        "firmware": firmware.to_dict() if firmware else None, "firmware_ignored": firmware_note,
        "baselines_dir": str(baselines_dir),
        "schemes": rows, "ratios": ratios(rows), "missing": missing, "assumptions": assumptions,
    }
    result["targets"] = targets(rows, result["ratios"])
    result["seconds"] = time.perf_counter() - t0
    return result


def bench_command(args: argparse.Namespace) -> int:
    result = run_bench(args)
    if args.plots:
        from agilenn_ros.bench.plots import write_plots
        result["plots"] = write_plots(Path(args.plots), result["schemes"])
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    if args.markdown:
        md = Path(args.markdown)
        md.parent.mkdir(parents=True, exist_ok=True)
        if result.get("plots"):
            result["plots"] = [os.path.relpath(p, md.parent.resolve()) for p in
                               (str(Path(p).resolve()) for p in result["plots"])]
        md.write_text(markdown(result))
    rt = result["ratios"]
    parts = [f"{k.replace('_over_agilenn', '')} {v:.2f}x" for k, v in rt.items()
             if k.endswith("_over_agilenn") and v is not None]
    print(f"bench: {len(result['schemes'])} rows in {result['seconds']:.0f} s; at {rt['link']}: "
          f"{', '.join(parts) or 'no baseline ratios'}"
          f"{'; missing: ' + ', '.join(m['scheme'] for m in result['missing']) if result['missing'] else ''}; "
          f"wrote {out}", file=sys.stderr)
    return 0
