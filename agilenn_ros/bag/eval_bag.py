"""``agilenn eval-bag``: run AgileNN offline over a ROS 2 bag and write a report.

The bag (rosbag2: a directory with metadata.yaml, or a bare .mcap / .db3 file; mcap or
sqlite3 storage, metadata version 8 or 9) holds either camera images (sensor_msgs/Image in
rgb8, bgr8, mono8, rgba8 or bgra8, or sensor_msgs/CompressedImage jpeg/png, any size),
which go through the device and the edge halves, or agilenn_ros/FeatureFrame messages
recorded from a device, which go through the edge half only. Optional in the same bag:

* ground truth: vision_msgs/Classification on ``--labels-topic`` with the image's header
  stamp, ``results[0].class_id`` a class name or index;
* recorded agilenn_ros/Prediction messages (matched by header stamp): the report gives the
  rate at which the offline prediction agrees with them.

Output in the report directory: report.json, report.md, frames.csv and PNG plots
(confusion matrix, payload histogram, latency breakdown). A frame that cannot be decoded is
counted under ``errors``; a bag that cannot be opened raises BagError (exit status 2).
Runtime only: numpy, onnxruntime, rosbags, matplotlib; no torch.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

from agilenn_ros.bag.bagio import open_bag, read_messages, topics
from agilenn_ros.bag.offline import FeatureEvaluator, FrameRecord, ImageEvaluator, RunStats
from agilenn_ros.bag.report import build_report, write_report
from agilenn_ros.bag.side_topics import read_ground_truth, read_predictions
from agilenn_ros.bag.topic_choice import choose_predictions, choose_source, find_labels
from agilenn_ros.runtime.bundle import Bundle, load_bundle


def evaluate_bag(bag: str | Path, bundle: Bundle, *, image_topic: str = "", features_topic: str = "",
                 labels_topic: str = "/ground_truth", prediction_topic: str = "", limit: int = 0,
                 codec: str | None = None, batch: int = 64, threads: int = 0,
                 progress: bool = True) -> tuple[dict[str, Any], list[FrameRecord]]:
    """Evaluate ``bundle`` on ``bag``; returns (report dict, per-frame records)."""
    start = time.perf_counter()
    threads = threads or min(4, os.cpu_count() or 1)
    stats = RunStats()
    with open_bag(bag) as reader:
        infos = topics(reader)
        source = choose_source(infos, image_topic, features_topic)
        labels_found = find_labels(infos, labels_topic)
        truth = read_ground_truth(reader, labels_found, bundle.class_names) if labels_found else None
        predictions_found = choose_predictions(infos, prediction_topic)
        recorded = read_predictions(reader, predictions_found) if predictions_found else None
        if source.kind == "image":
            evaluator: ImageEvaluator | FeatureEvaluator = ImageEvaluator(bundle, codec, threads, batch)
            codec_name = evaluator.device.codec.name
        else:
            evaluator = FeatureEvaluator(bundle, threads, batch)
            codec_name = ""
        total = min(source.count, limit) if limit else source.count
        records = evaluator.run(read_messages(reader, source.topic, limit), stats, total, progress)
    matched_labels = 0
    for record in records:
        if truth is not None and record.stamp_ns in truth.labels:
            record.label = truth.labels[record.stamp_ns]
            matched_labels += 1
        if recorded is not None and record.stamp_ns in recorded.class_ids:
            record.recorded = recorded.class_ids[record.stamp_ns]
    for side in (truth, recorded):
        if side is not None:
            stats.errors.update(side.errors)
    context: dict[str, Any] = {
        "bag": str(bag), "model": bundle.model_id, "model_hash": bundle.model_hash,
        "source": {"kind": source.kind, "topic": source.topic, "type": source.msgtype, "messages": source.count,
                   "codec": codec_name, "note": source.note},
        "labels_topic": labels_found, "prediction_topic": predictions_found,
    }
    if truth is not None:
        context["labels"] = {"messages": truth.messages, "matched_frames": matched_labels,
                             "unknown_class_ids": dict(truth.unknown_class_ids)}
        if not limit:   # ground truth of frames missing from the bag (dropped upstream) or rejected
            seen = {r.stamp_ns for r in records}
            context["labels"]["without_prediction"] = sum(1 for stamp in truth.labels if stamp not in seen)
    if recorded is not None:
        context["recorded_predictions"] = recorded.messages
    report = build_report(records, stats, context, bundle.class_names,
                          has_labels=matched_labels > 0, has_recorded=recorded is not None)
    report["seconds"] = time.perf_counter() - start
    return report, records


def eval_bag_command(args: argparse.Namespace) -> int:
    bundle = load_bundle(args.model)
    report, records = evaluate_bag(args.bag, bundle, image_topic=args.image_topic, features_topic=args.features_topic,
                                   labels_topic=args.labels_topic, prediction_topic=args.prediction_topic,
                                   limit=args.limit, codec=args.codec or None, batch=args.batch,
                                   threads=args.threads, progress=not args.no_progress)
    out = Path(args.report)
    if not args.no_plots:
        from agilenn_ros.bag.plots import write_plots
        report["plots"] = write_plots(out, report, records)
    write_report(out, report, records)
    summary = [f"{report['predicted']}/{report['frames']} frames"]
    if "accuracy" in report:
        summary.append(f"accuracy {100 * report['accuracy']:.2f}%")
    if "agreement" in report and report["agreement"]["rate"] is not None:
        summary.append(f"agreement {100 * report['agreement']['rate']:.2f}%")
    summary.append(f"payload {report['payload_bytes']['mean']:.0f} B")
    if report["errors"]:
        summary.append("errors " + ", ".join(f"{k}={v}" for k, v in report["errors"].items()))
    print(f"eval-bag: {'; '.join(summary)}; report in {out}/report.json", file=sys.stderr)
    return 0
