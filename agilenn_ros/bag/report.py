"""eval-bag results: the report dict (report.json), its Markdown summary and a per-frame CSV."""
from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np

from agilenn_ros.bag.offline import FrameRecord, RunStats

TIMING_NOTE = ("measured on this host. device: the frame's resize + its share of a batched onnxruntime call + "
               "its encoding; decode: per frame; remote: the frame's share of a batched edge call. For FeatureFrame "
               "bags, device time is what the device reported (device_compute_us).")


def size_stats(values: list[int]) -> dict[str, float]:
    if not values:
        return {"mean": 0.0, "median": 0.0, "p95": 0.0, "max": 0.0, "min": 0.0, "frames": 0}
    arr = np.asarray(values, dtype=np.float64)
    return {"mean": float(arr.mean()), "median": float(np.median(arr)), "p95": float(np.percentile(arr, 95)),
            "max": float(arr.max()), "min": float(arr.min()), "frames": int(arr.size)}


def time_stats(values: list[float]) -> dict[str, float]:
    if not values:
        return {"mean": 0.0, "p50": 0.0, "p99": 0.0, "frames": 0}
    arr = np.asarray(values, dtype=np.float64)
    return {"mean": float(arr.mean()), "p50": float(np.percentile(arr, 50)), "p99": float(np.percentile(arr, 99)),
            "frames": int(arr.size)}


def confusion_matrix(records: list[FrameRecord], classes: int) -> np.ndarray:
    matrix = np.zeros((classes, classes), dtype=np.int64)
    for r in records:
        if r.label >= 0:
            matrix[r.label, r.class_id] += 1
    return matrix


def build_report(records: list[FrameRecord], stats: RunStats, context: dict[str, Any],
                 class_names: list[str], has_labels: bool, has_recorded: bool) -> dict[str, Any]:
    """``context``: bag, model, source, topics... (copied into the report as they are)."""
    labelled = [r for r in records if r.label >= 0]
    remote = [r for r in records if r.remote_used]
    report: dict[str, Any] = dict(context)
    report["frames"] = stats.frames_read
    report["predicted"] = len(records)
    report["labelled"] = len(labelled)
    report["remote_used"] = len(remote)
    report["local_only"] = len(records) - len(remote)
    if has_labels:
        n = max(1, len(labelled))
        remote_labelled = [r for r in labelled if r.remote_used]
        report["accuracy"] = sum(r.class_id == r.label for r in labelled) / n
        report["local_accuracy"] = sum(r.local_class == r.label for r in labelled) / n
        report["remote_accuracy"] = (sum(r.remote_class == r.label for r in remote_labelled) / len(remote_labelled)
                                     if remote_labelled else None)
        report["confusion_matrix"] = confusion_matrix(records, len(class_names)).tolist()
    report["payload_bytes"] = size_stats([r.payload_bytes for r in records])
    report["message_bytes"] = size_stats([r.message_bytes for r in records])
    report["times_ms"] = {
        "device": time_stats([r.device_ms for r in records]),
        "decode": time_stats([r.decode_ms for r in remote]),
        "remote": time_stats([r.remote_ms for r in remote]),
        "note": TIMING_NOTE,
    }
    if has_recorded:
        compared = [r for r in records if r.recorded >= 0]
        report["agreement"] = {
            "rate": (sum(r.recorded == r.class_id for r in compared) / len(compared)) if compared else None,
            "compared": len(compared),
        }
    report["errors"] = dict(sorted(stats.errors.items()))
    report["local_only_reasons"] = dict(sorted(stats.fallbacks.items()))
    report["encodings"] = dict(sorted(stats.encodings.items()))
    report["resolutions"] = dict(sorted(stats.resolutions.items()))
    report["class_names"] = list(class_names)
    return report


def _fmt(value: Any, pct: bool = False) -> str:
    if value is None:
        return "n/a"
    return f"{100 * value:.2f}%" if pct else f"{value:.3f}" if isinstance(value, float) else str(value)


def markdown(report: dict[str, Any]) -> str:
    src = report.get("source", {})
    lines = [f"# eval-bag: {report.get('bag', '')}", "",
             f"- model: `{report.get('model', '')}` (hash {report.get('model_hash', '')})",
             f"- source: {src.get('kind', '')} topic `{src.get('topic', '')}` ({src.get('type', '')})"
             + (f", codec {src['codec']}" if src.get("codec") else ""),
             f"- frames read: {report['frames']}, predicted: {report['predicted']} "
             f"(remote used {report['remote_used']}, local-only {report['local_only']})"]
    if src.get("note"):
        lines.append(f"- note: {src['note']}")
    if report.get("frames") != report.get("declared_messages", report.get("frames")):
        lines.append(f"- the bag declares {report['declared_messages']} messages on the source topic; "
                     f"{report['frames']} were read")
    labels = report.get("labels", {})
    if labels.get("note"):
        lines.append(f"- label pairing: {labels['note']}")
    if "accuracy" in report:
        lines.append(f"- labelled frames: {report['labelled']} (ground truth `{report.get('labels_topic', '')}`, "
                     f"matched by {labels.get('pairing', 'header_stamp').replace('_', ' ')})")
        dropped = labels.get("without_prediction")
        if dropped:
            lines.append(f"- {dropped} ground-truth labels have no prediction (frame missing from the bag, "
                         "e.g. dropped before recording, or rejected: see errors)")
    elif labels:
        lines.append(f"- ground truth `{report.get('labels_topic', '')}`: {labels.get('messages', 0)} labels found, "
                     f"0 matched a frame: {labels.get('reason', '')}; accuracy not computed")
    else:
        lines.append("- no ground truth in the bag: accuracy not computed")
    for line in report.get("console", []):
        if line != src.get("note") and line != labels.get("note"):
            lines.append(f"- {line}")
    lines += ["", "| metric | value |", "|---|---|"]
    for key in ("accuracy", "local_accuracy", "remote_accuracy"):
        if key in report:
            lines.append(f"| {key.replace('_', ' ')} | {_fmt(report[key], pct=True)} |")
    if "agreement" in report:
        ag = report["agreement"]
        lines.append(f"| agreement with recorded predictions | {_fmt(ag['rate'], pct=True)} "
                     f"({ag['compared']} frames) |")
    pb = report["payload_bytes"]
    lines.append(f"| payload bytes mean / median / p95 / max | {pb['mean']:.1f} / {pb['median']:.0f} / "
                 f"{pb['p95']:.0f} / {pb['max']:.0f} |")
    mb = report["message_bytes"]
    lines.append(f"| FeatureFrame message bytes (CDR) mean | {mb['mean']:.1f} |")
    for stage in ("device", "decode", "remote"):
        t = report["times_ms"][stage]
        lines.append(f"| {stage} ms mean / p50 / p99 | {t['mean']:.3f} / {t['p50']:.3f} / {t['p99']:.3f} |")
    lines += ["", f"Timing: {report['times_ms']['note']}", ""]
    errors = report.get("errors") or {}
    lines.append("## Errors" if errors else "No frame errors.")
    if errors:
        lines += ["", "| kind | frames |", "|---|---|"] + [f"| {k} | {v} |" for k, v in errors.items()]
    if report.get("local_only_reasons"):
        lines += ["", "Local-only fallbacks: " + ", ".join(f"{k}: {v}" for k, v in report["local_only_reasons"].items())]
    if report.get("plots"):
        lines += ["", "## Plots", ""] + [f"![{Path(p).stem}]({Path(p).name})" for p in report["plots"]]
    return "\n".join(lines) + "\n"


def write_frames_csv(path: Path, records: list[FrameRecord], class_names: list[str]) -> None:
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["stamp_ns", "label", "prediction", "local_prediction", "remote_prediction", "remote_used",
                         "recorded_prediction", "payload_bytes", "message_bytes", "device_ms", "decode_ms",
                         "remote_ms"])
        name = lambda i: class_names[i] if 0 <= i < len(class_names) else ""  # noqa: E731
        for r in records:
            writer.writerow([r.stamp_ns, name(r.label), name(r.class_id), name(r.local_class), name(r.remote_class),
                             int(r.remote_used), name(r.recorded), r.payload_bytes, r.message_bytes,
                             f"{r.device_ms:.4f}", f"{r.decode_ms:.4f}", f"{r.remote_ms:.4f}"])


def write_report(out: Path, report: dict[str, Any], records: list[FrameRecord]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    (out / "report.md").write_text(markdown(report))
    write_frames_csv(out / "frames.csv", records, report.get("class_names", []))
