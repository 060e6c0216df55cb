"""eval-bag plots (matplotlib, Agg backend): confusion matrix, payload sizes, latency."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from agilenn_ros.bag.offline import FrameRecord  # noqa: E402


def plot_confusion(path: Path, matrix: np.ndarray, class_names: list[str], accuracy: float) -> Path:
    n = len(class_names)
    fig, ax = plt.subplots(figsize=(max(4.0, 0.55 * n + 2), max(3.5, 0.5 * n + 1.5)))
    norm = matrix / np.maximum(1, matrix.sum(axis=1, keepdims=True))
    im = ax.imshow(norm, cmap="Blues", vmin=0.0, vmax=1.0)
    ax.set_xticks(range(n), class_names, rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(n), class_names, fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("ground truth")
    ax.set_title(f"confusion matrix (accuracy {100 * accuracy:.2f}%)")
    if n <= 20:
        for i in range(n):
            for j in range(n):
                if matrix[i, j]:
                    ax.text(j, i, str(matrix[i, j]), ha="center", va="center", fontsize=7,
                            color="white" if norm[i, j] > 0.5 else "black")
    fig.colorbar(im, ax=ax, fraction=0.046, label="row fraction")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_payload_histogram(path: Path, records: list[FrameRecord]) -> Path:
    sizes = np.asarray([r.payload_bytes for r in records], dtype=np.float64)
    fig, ax = plt.subplots(figsize=(6, 3.5))
    if sizes.size:
        ax.hist(sizes, bins=min(50, max(5, int(np.sqrt(sizes.size)))), color="tab:blue", alpha=0.8)
        ax.axvline(sizes.mean(), color="tab:red", linestyle="--", label=f"mean {sizes.mean():.0f} B")
        ax.legend()
    ax.set_xlabel("payload bytes per frame")
    ax.set_ylabel("frames")
    ax.set_title("FeatureFrame payload sizes")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_latency(path: Path, times: dict[str, Any]) -> Path:
    stages = ["device", "decode", "remote"]
    colors = ["tab:orange", "tab:green", "tab:purple"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(8, 3.5), gridspec_kw={"width_ratios": [1, 2]})
    bottom = 0.0
    for stage, color in zip(stages, colors):
        value = float(times[stage]["mean"])
        left.bar(["mean"], [value], bottom=bottom, color=color, label=stage)
        bottom += value
    left.set_ylabel("ms per frame")
    left.set_title("mean breakdown")
    left.legend(fontsize=8)
    x = np.arange(len(stages))
    for offset, key in ((-0.2, "p50"), (0.2, "p99")):
        right.bar(x + offset, [float(times[s][key]) for s in stages], width=0.4, label=key)
    right.set_xticks(x, stages)
    right.set_ylabel("ms")
    right.set_title("per-stage p50 / p99")
    right.legend(fontsize=8)
    fig.suptitle("latency breakdown (this host; see report timing note)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_plots(out: Path, report: dict[str, Any], records: list[FrameRecord]) -> list[str]:
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    if "confusion_matrix" in report and report.get("labelled"):
        paths.append(plot_confusion(out / "confusion_matrix.png", np.asarray(report["confusion_matrix"]),
                                    report["class_names"], float(report["accuracy"])))
    paths.append(plot_payload_histogram(out / "payload_histogram.png", records))
    paths.append(plot_latency(out / "latency_breakdown.png", report["times_ms"]))
    return [str(p) for p in paths]
