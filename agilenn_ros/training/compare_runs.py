"""``agilenn compare-runs``: one table row per training run, for choosing between candidates.

Reads only what training, export and the firmware report write (no torch):

* ``RUN/metrics.jsonl`` (``agilenn train`` or ``train-baseline``), or the copy an exported
  bundle keeps as ``training_log.jsonl`` (so ``models/cifar10`` is a row too): the best
  epoch's validation accuracy, local-predictor accuracy and skewness, the epochs, and the wall
  time (reference pre-training included when the run did it);
* ``RUN/bundle/metrics.json`` when the run was exported there, ``RUN/metrics.json`` for a
  bundle, else ``RUN/evaluate.json`` (``agilenn evaluate --json``): rANS payload bytes (mean);
* ``RUN/firmware.json`` when ``make firmware-report`` was run on that bundle: device
  instructions per frame (worst frame, DSP kernels).

Missing pieces print as ``-``; a directory with neither log is an error.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class RunLogError(ValueError):
    """A run directory that cannot be summarised (one line, names the file)."""


@dataclass
class RunSummary:
    name: str
    kind: str                       # agilenn | baseline-edge | baseline-local | ...
    epochs: int
    best_epoch: int
    val_accuracy: float
    val_local_accuracy: float | None
    val_skewness: float | None
    minutes: float
    payload_rans_mean: float | None = None
    device_instructions: int | None = None


def _records(path: Path) -> list[dict[str, Any]]:
    out = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise RunLogError(f"{path}:{number}: not a JSON line ({exc.msg})") from None
    return out


def summarise_run(run_dir: Path, name: str | None = None) -> RunSummary:
    """The summary of one run directory; RunLogError when its log is missing or has no epoch."""
    log = run_dir / "metrics.jsonl"
    if not log.is_file():
        log = run_dir / "training_log.jsonl"   # an exported bundle
    if not log.is_file():
        raise RunLogError(f"{run_dir}: no metrics.jsonl or training_log.jsonl (not a directory written by "
                          "agilenn train / train-baseline, nor an exported bundle)")
    records = _records(log)
    epochs = [r for r in records if r.get("stage") == "agilenn" or str(r.get("stage", "")).startswith("baseline-")]
    if not epochs:
        raise RunLogError(f"{log}: no epoch has finished yet")
    best = max(epochs, key=lambda r: r["val_accuracy"])
    reference_seconds = max((r.get("seconds", 0.0) for r in records if r.get("stage") == "reference"), default=0.0)
    summary = RunSummary(
        name=name or run_dir.name, kind=str(epochs[-1]["stage"]), epochs=int(epochs[-1]["epoch"]),
        best_epoch=int(best["epoch"]), val_accuracy=float(best["val_accuracy"]),
        val_local_accuracy=best.get("val_local_accuracy"), val_skewness=best.get("val_skewness"),
        minutes=(float(epochs[-1]["wall_seconds"]) + float(reference_seconds)) / 60.0)
    bundle_metrics = run_dir / "metrics.json" if log.name == "training_log.jsonl" else run_dir / "bundle" / "metrics.json"
    for payload_file in (bundle_metrics, run_dir / "evaluate.json"):
        if payload_file.is_file():
            payload = json.loads(payload_file.read_text(encoding="utf-8")).get("payload_bytes") or {}
            summary.payload_rans_mean = (payload.get("rans") or {}).get("mean")
            break
    firmware = run_dir / "firmware.json"
    if firmware.is_file():
        summary.device_instructions = json.loads(firmware.read_text(encoding="utf-8")).get("instructions_per_frame")
    return summary


def _cell(value: Any, fmt: str) -> str:
    return "-" if value is None else format(value, fmt)


def markdown_table(rows: list[RunSummary]) -> str:
    """A Markdown table, one row per run, in the order given."""
    lines = ["| candidate | kind | epochs | val accuracy (best epoch) | val local | val skewness | "
             "payload rANS mean (B) | device instructions | minutes |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r.name} | {r.kind} | {r.epochs} | {r.val_accuracy:.4f} ({r.best_epoch}) | "
                     f"{_cell(r.val_local_accuracy, '.4f')} | {_cell(r.val_skewness, '.3f')} | "
                     f"{_cell(r.payload_rans_mean, '.0f')} | {_cell(r.device_instructions, ',')} | {r.minutes:.1f} |")
    return "\n".join(lines)
