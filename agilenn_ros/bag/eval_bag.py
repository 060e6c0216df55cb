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

from agilenn_ros.bag.bagio import COMPRESSED_IMAGE, FEATURE_FRAME, TopicInfo, open_bag, read_messages, topics
from agilenn_ros.bag.offline import FeatureEvaluator, FrameRecord, ImageEvaluator, RunStats
from agilenn_ros.bag.pairing import pair_labels, stamp_problems
from agilenn_ros.bag.report import build_report, write_report
from agilenn_ros.bag.side_topics import read_ground_truth, read_predictions
from agilenn_ros.bag.topic_choice import Probe, choose_predictions, choose_source, find_labels
from agilenn_ros.runtime.bundle import Bundle, load_bundle
from agilenn_ros.runtime.preprocess import ImageFormatError
from agilenn_ros.transport.msgtypes import deserialize


def probe_first_message(reader: Any, info: TopicInfo, bundle: Bundle) -> Probe:
    """Whether the first message of ``info`` can be evaluated with ``bundle`` (and if it is grey)."""
    from agilenn_ros.runtime.image_encodings import image_msg_to_rgb, is_colour
    from agilenn_ros.runtime.ros_images import compressed_to_rgb
    try:
        first = next(read_messages(reader, info.name, limit=1), None)
    except Exception as exc:  # noqa: BLE001 - a broken topic is ruled out, not fatal
        return Probe(f"cannot be read ({exc})")
    if first is None:
        return Probe(f"no message could be read although the bag declares {info.count}")
    _, data, msgtype = first
    try:
        msg = deserialize(data, msgtype)
    except Exception as exc:  # noqa: BLE001
        return Probe(f"first message cannot be deserialized ({type(exc).__name__})")
    try:
        if msgtype == COMPRESSED_IMAGE:
            rgb = compressed_to_rgb(msg.format, msg.data)
            grey = bool((rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 1] == rgb[..., 2]).all())
            return Probe("", grey)
        if msgtype == FEATURE_FRAME:
            if int(msg.model_hash) != bundle.model_hash_u32:
                return Probe(f"FeatureFrames of another model (hash {int(msg.model_hash):08x}, "
                             f"bundle {bundle.model_hash_u32:08x})")
            return Probe("")
        image_msg_to_rgb(msg)
        return Probe("", not is_colour(str(msg.encoding)))
    except ImageFormatError as exc:
        return Probe(str(exc))


def evaluate_bag(bag: str | Path, bundle: Bundle, *, image_topic: str = "", features_topic: str = "",
                 labels_topic: str = "/ground_truth", prediction_topic: str = "", limit: int = 0,
                 codec: str | None = None, batch: int = 64, threads: int = 0,
                 progress: bool = True) -> tuple[dict[str, Any], list[FrameRecord]]:
    """Evaluate ``bundle`` on ``bag``; returns (report dict, per-frame records).

    ``report["console"]`` holds the lines eval-bag prints: which topic was chosen and why, how
    labels were paired, frames read against the messages the bag declares, why nothing matched."""
    start = time.perf_counter()
    threads = threads or min(4, os.cpu_count() or 1)
    stats = RunStats()
    console: list[str] = []
    with open_bag(bag) as reader:
        infos = topics(reader)
        source = choose_source(infos, image_topic, features_topic,
                               probe=lambda info: probe_first_message(reader, info, bundle))
        if source.note:
            console.append(source.note)
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
        console = list(getattr(reader, "agilenn_notes", [])) + console
    expected = min(source.count, limit) if limit else source.count
    if stats.frames_read != expected:
        console.append(f"read {stats.frames_read} of the {expected} messages the bag declares on {source.topic}"
                       + ("" if stats.frames_read else " (the storage holds none under that topic description, "
                          "or they cannot be read)"))
    context: dict[str, Any] = {
        "bag": str(bag), "model": bundle.model_id, "model_hash": bundle.model_hash,
        "source": {"kind": source.kind, "topic": source.topic, "type": source.msgtype, "messages": source.count,
                   "codec": codec_name, "note": source.note},
        "labels_topic": labels_found, "prediction_topic": predictions_found,
        "declared_messages": expected,
    }
    matched_labels = 0
    if truth is not None:
        pairing = pair_labels(records, truth, bundle.class_names,
                              all_frames_decoded=not limit and len(records) == stats.frames_read == source.count)
        for i, label in pairing.labels.items():
            records[i].label = label
        matched_labels = len(pairing.labels)
        if pairing.note:
            console.append(pairing.note)
        if not matched_labels and pairing.reason:
            console.append(f"labels on {labels_found}: {truth.messages} found, 0 matched: {pairing.reason}")
        context["labels"] = {"messages": truth.messages, "matched_frames": matched_labels,
                             "unknown_class_ids": dict(truth.unknown_class_ids), "pairing": pairing.method,
                             "note": pairing.note, "reason": "" if matched_labels else pairing.reason}
        if not limit:   # ground truth of frames missing from the bag (dropped upstream) or rejected
            context["labels"]["without_prediction"] = max(0, len(truth.known) - matched_labels)
        stats.errors.update(truth.errors)
    if recorded is not None:
        problems = stamp_problems([r.stamp_ns for r in records], "frame") + \
            stamp_problems(list(recorded.stamps), "recorded prediction")
        if problems:
            console.append(f"recorded predictions on {predictions_found} not compared: header stamps cannot "
                           f"identify frames ({'; '.join(problems)})")
        else:
            for record in records:
                if record.stamp_ns in recorded.class_ids:
                    record.recorded = recorded.class_ids[record.stamp_ns]
        context["recorded_predictions"] = recorded.messages
        stats.errors.update(recorded.errors)
    report = build_report(records, stats, context, bundle.class_names,
                          has_labels=matched_labels > 0, has_recorded=recorded is not None)
    if not records:
        console.append(nothing_evaluated_reason(stats, source.topic, expected))
    report["console"] = console
    report["seconds"] = time.perf_counter() - start
    return report, records


def nothing_evaluated_reason(stats: RunStats, topic: str, declared: int) -> str:
    """One line: why no frame of ``topic`` was evaluated."""
    if stats.frames_read == 0:
        return (f"no frame evaluated: 0 messages read from {topic} although the bag declares {declared}"
                if declared else f"no frame evaluated: {topic} has no messages")
    kinds = ", ".join(f"{k}={v}" for k, v in stats.errors.most_common())
    first = next(iter(stats.examples.values()), "")
    return f"no frame evaluated: all {stats.frames_read} messages of {topic} failed ({kinds})" + \
        (f"; e.g. {first}" if first else "")


def eval_bag_command(args: argparse.Namespace) -> int:
    """Exit status 0 when frames were evaluated, 1 when none could be, 2 for a bag that cannot be opened."""
    if args.limit < 0 or args.batch < 1 or args.threads < 0:
        raise ValueError("--limit and --threads must be >= 0 and --batch >= 1")
    bundle = load_bundle(args.model)
    report, records = evaluate_bag(args.bag, bundle, image_topic=args.image_topic, features_topic=args.features_topic,
                                   labels_topic=args.labels_topic, prediction_topic=args.prediction_topic,
                                   limit=args.limit, codec=args.codec or None, batch=args.batch,
                                   threads=args.threads, progress=not args.no_progress)
    out = Path(args.report)
    for line in report["console"]:
        print(f"eval-bag: {line}", file=sys.stderr)
    if not args.no_plots and records:
        from agilenn_ros.bag.plots import write_plots
        report["plots"] = write_plots(out, report, records)
    write_report(out, report, records)
    summary = [f"{report['predicted']}/{report['frames']} frames"]
    if report["frames"] != report["declared_messages"]:
        summary[0] += f" (bag declares {report['declared_messages']})"
    if "accuracy" in report:
        summary.append(f"accuracy {100 * report['accuracy']:.2f}% on {report['labelled']} labelled")
    if "agreement" in report and report["agreement"]["rate"] is not None:
        summary.append(f"agreement {100 * report['agreement']['rate']:.2f}%")
    if records:
        summary.append(f"payload {report['payload_bytes']['mean']:.0f} B")
    if report["errors"]:
        summary.append("errors " + ", ".join(f"{k}={v}" for k, v in report["errors"].items()))
    print(f"eval-bag: {'; '.join(summary)}; report in {out}/report.json", file=sys.stderr)
    if not records:
        print(f"agilenn eval-bag: error: {report['console'][-1]}", file=sys.stderr)
        return 1
    return 0
