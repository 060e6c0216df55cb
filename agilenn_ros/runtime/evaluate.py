"""``agilenn evaluate``: accuracy of a bundle on a dataset split with onnxruntime (no torch).

Also measures payload bytes per codec from real encoded frames.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from agilenn_ros.codec.registry import CODEC_IDS, make_codec
from agilenn_ros.data import DatasetError, class_mismatch, open_source
from agilenn_ros.data.imageset import spread_index
from agilenn_ros.data.training_data import load_holdout
from agilenn_ros.runtime.bundle import Bundle, load_bundle
from agilenn_ros.runtime.device_pipeline import DevicePipeline
from agilenn_ros.runtime.edge_pipeline import EdgePipeline
from agilenn_ros.runtime.preprocess import model_input


def size_stats(sizes: list[int]) -> dict[str, float]:
    arr = np.asarray(sizes, dtype=np.float64)
    return {"mean": float(arr.mean()), "median": float(np.median(arr)), "p95": float(np.percentile(arr, 95)),
            "max": float(arr.max()), "min": float(arr.min()), "frames": int(arr.size)}


def payload_sizes(bundle: Bundle, indices: np.ndarray) -> dict[str, dict[str, float]]:
    """Encode every frame of ``indices`` [N, C, H, W] with every codec; size statistics in bytes."""
    result: dict[str, dict[str, float]] = {}
    for name in CODEC_IDS:
        codec = make_codec(name, bundle.codec_tables, n_symbols=len(bundle.centroids))
        result[name] = size_stats([len(codec.encode(frame)) for frame in indices])
    return result


def evaluate_bundle(bundle: Bundle, images: np.ndarray, labels: np.ndarray, batch: int = 250,
                    threads: int = 0, payload_frames: int = 1000, progress: bool = True) -> dict[str, Any]:
    """Run the device and edge halves on ``images`` (uint8 [N, H, W, 3]) and score them.

    Payload bytes per codec are measured on ``payload_frames`` frames spread evenly over the set
    (all frames when it has fewer; none for 0): image sets are sorted by class, and the first
    frames of one class code to other sizes than the whole set (CIFAR-10's airplanes: 15% fewer
    rANS bytes)."""
    import os
    threads = threads or (os.cpu_count() or 1)
    device = DevicePipeline(bundle, threads=threads)
    edge = EdgePipeline(bundle, threads=threads)
    start = time.perf_counter()
    correct = {"accuracy": 0, "local_accuracy": 0, "remote_accuracy": 0}
    coded: list[np.ndarray] = []
    payload_at = spread_index(len(labels), payload_frames)
    bar = tqdm(range(0, len(labels), batch), desc="evaluate", unit="batch", disable=not progress, leave=False)
    for i in bar:
        x = model_input(list(images[i:i + batch]), bundle.input_hw)
        local_logits, indices = device.infer_prepared(x)
        fused, remote = edge.infer(indices, local_logits)
        y = labels[i:i + batch]
        correct["accuracy"] += int((fused.argmax(1) == y).sum())
        correct["local_accuracy"] += int((local_logits.argmax(1) == y).sum())
        correct["remote_accuracy"] += int((remote.argmax(1) == y).sum())
        in_batch = payload_at[(payload_at >= i) & (payload_at < i + batch)] - i
        if len(in_batch):
            coded.append(indices[in_batch])
    inference_s = time.perf_counter() - start
    n = max(1, len(labels))
    result: dict[str, Any] = {"model": bundle.model_id, "samples": int(len(labels)),
                              **{key: value / n for key, value in correct.items()}}
    if coded:
        result["payload_bytes"] = payload_sizes(bundle, np.concatenate(coded))
    result["seconds"] = time.perf_counter() - start
    result["inference_seconds"] = inference_s
    return result


def bundle_val_size(bundle: Bundle) -> float:
    """The validation size the bundle's model was trained with (carving ``val`` the same way)."""
    training = bundle.manifest.get("training") or {}
    value = ((training.get("profile") or {}).get("data") or {}).get("val_size")
    return float(value) if value else 0.1


def evaluate_command(args: argparse.Namespace) -> int:
    bundle = load_bundle(args.model)
    source = open_source(args.data)
    if args.split not in source.splits() + ["all"] and not (args.split == "val" and "train" in source.splits()):
        raise source.missing(args.split)
    data, split, origin = load_holdout(source, args.split, bundle.input_hw, bundle_val_size(bundle))
    for line in data.notes:
        print(f"{source.location}: {line}", file=sys.stderr)
    problem = class_mismatch(data.class_names, bundle.class_names, f"{split} split of {args.data}",
                             f"the model's ({bundle.model_id})")
    if problem:
        raise DatasetError(problem)
    if args.limit and args.limit >= len(data):
        print(f"note: --limit {args.limit} is not below the {len(data)} images of the {split} split: "
              "evaluating all of them", file=sys.stderr)
    elif args.limit:  # spread over the set: it is sorted by class, so the first N would be one class
        data = data.spread(args.limit)
    result = evaluate_bundle(bundle, data.images, data.labels)
    result.update({"split": split, "split_origin": origin, "data": str(args.data)})
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(text + "\n")
    return 0
