"""Benchmark plots (matplotlib, Agg): latency breakdown like the paper's Figure 16 and
accuracy against bytes per frame like its Figure 17."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

COLORS = {"agilenn": "tab:blue", "all-channels": "tab:cyan", "edge-only": "tab:red", "local-only": "tab:green",
          "split": "tab:orange"}


def plot_latency_breakdown(path: Path, rows: list[dict[str, Any]], link: str = "6Mbps") -> Path:
    usable = [r for r in rows if r["available"] and r["latency_ms"][link]["total_ms"] is not None]
    parts = [("device compute", "tab:orange", lambda r: r["device"].get("compute_ms") or 0.0),
             ("device encode", "tab:olive", lambda r: r["device"].get("encode_ms") or 0.0),
             (f"transmit @ {link}", "tab:blue", lambda r: r["latency_ms"][link]["transmit_ms"]),
             ("edge", "tab:purple", lambda r: r["latency_ms"][link]["edge_ms"] or 0.0)]
    fig, ax = plt.subplots(figsize=(max(6.0, 0.75 * len(usable) + 2), 4.2))
    names = [r["name"] for r in usable]
    bottom = [0.0] * len(usable)
    for label, color, get in parts:
        values = [get(r) for r in usable]
        ax.bar(names, values, bottom=bottom, color=color, label=label)
        bottom = [b + v for b, v in zip(bottom, values)]
    for i, r in enumerate(usable):
        acc = "" if r["accuracy"] is None else f"\n{100 * r['accuracy']:.1f}%"
        ax.text(i, bottom[i], f"{bottom[i]:.1f}{acc}", ha="center", va="bottom", fontsize=7)
    ax.set_ylabel("end-to-end latency per frame (ms)")
    ax.set_title(f"latency breakdown at {link} (cf. paper Fig. 16); labels: total ms, accuracy")
    ax.tick_params(axis="x", labelrotation=45, labelsize=8)
    for label in ax.get_xticklabels():
        label.set_horizontalalignment("right")
    ax.legend(fontsize=8)
    ax.set_ylim(0, max(bottom or [1.0]) * 1.2)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_accuracy_vs_bytes(path: Path, rows: list[dict[str, Any]]) -> Path:
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    shown = [r for r in rows if r["available"] and r["accuracy"] is not None and r["bytes_per_frame"]["mean"] > 0]
    for i, r in enumerate(sorted(shown, key=lambda r: r["bytes_per_frame"]["mean"])):
        x, y = r["bytes_per_frame"]["mean"], 100 * r["accuracy"]
        ax.scatter([x], [y], color=COLORS.get(r["scheme"], "gray"), s=30)
        ax.annotate(r["name"], (x, y), textcoords="offset points", xytext=(4, (-10, 3, 12)[i % 3]), fontsize=7)
    local = next((r for r in rows if r["scheme"] == "local-only" and r["available"]), None)
    if local is not None and local["accuracy"] is not None:
        ax.axhline(100 * local["accuracy"], color=COLORS["local-only"], linestyle="--", linewidth=1,
                   label="local-only (0 bytes)")
        ax.legend(fontsize=8)
    ax.set_xscale("log")
    ax.set_xlabel("bytes per frame on the wire (serialized message, log scale)")
    ax.set_ylabel("accuracy (%)")
    ax.set_title("accuracy vs transmitted bytes (cf. paper Fig. 17)")
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_plots(directory: Path, rows: list[dict[str, Any]]) -> list[str]:
    directory.mkdir(parents=True, exist_ok=True)
    return [str(plot_latency_breakdown(directory / "bench_latency_breakdown.png", rows)),
            str(plot_accuracy_vs_bytes(directory / "bench_accuracy_vs_bytes.png", rows))]
