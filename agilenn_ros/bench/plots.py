"""Benchmark plots (matplotlib, Agg): latency breakdown like the paper's Figure 16 and
accuracy against bytes per frame like its Figure 17."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

COLORS = {"agilenn": "tab:blue", "all-channels": "tab:cyan", "edge-only": "tab:red", "edge-only-camera": "tab:pink",
          "local-only": "tab:green", "split": "tab:orange"}


CLIP_FACTOR = 4.0
"""Each latency panel's axis ends at this many times AgileNN's end-to-end latency at that link
(longer bars are cut there, hatched, and carry their value)."""


def _clip_limit(rows: list[dict[str, Any]], link: str) -> float:
    totals = [r["latency_ms"][link]["total_ms"] for r in rows]
    agilenn = [r["latency_ms"][link]["total_ms"] for r in rows if r["scheme"] == "agilenn"]
    if not agilenn:
        return max(totals) * 1.15
    return min(max(totals) * 1.15, CLIP_FACTOR * min(agilenn))


def plot_latency_breakdown(path: Path, rows: list[dict[str, Any]], links: list[str] | None = None) -> Path:
    """One panel per link rate: horizontal stacked bars (device compute, device encode,
    transmission, edge) per scheme, each labelled with its total (ms) and accuracy. The axis is
    linear and ends at CLIP_FACTOR x AgileNN's total; longer bars are clipped, hatched and
    labelled with their value, so a 468 ms local-only bar does not flatten the rest."""
    usable = [r for r in rows if r["available"]]
    links = links or (list(usable[0]["latency_ms"]) if usable else ["6Mbps"])
    usable = [r for r in usable if all(r["latency_ms"][lk]["total_ms"] is not None for lk in links)]
    names = [r["name"] for r in usable]
    height = max(3.0, 0.3 * len(usable) + 1.6)
    fig, axes = plt.subplots(1, len(links), figsize=(5.2 * len(links) + 1.6, height), sharey=True, squeeze=False)
    ypos = list(range(len(usable)))[::-1]
    for ax, link in zip(axes[0], links):
        parts = [("device compute", "tab:orange", lambda r: r["device"].get("compute_ms") or 0.0),
                 ("device encode", "tab:olive", lambda r: r["device"].get("encode_ms") or 0.0),
                 ("transmit", "tab:blue", lambda r, lk=link: r["latency_ms"][lk]["transmit_ms"]),
                 ("edge", "tab:purple", lambda r, lk=link: r["latency_ms"][lk]["edge_ms"] or 0.0)]
        limit = _clip_limit(usable, link) if usable else 1.0
        left = [0.0] * len(usable)
        for label, color, get in parts:
            values = [get(r) for r in usable]
            shown = [max(0.0, min(a + v, limit) - a) for a, v in zip(left, values)]   # cut at the limit
            ax.barh(ypos, shown, left=left, color=color, label=label if ax is axes[0][0] else None, height=0.7)
            left = [a + v for a, v in zip(left, shown)]
        for y, r in zip(ypos, usable):
            total = r["latency_ms"][link]["total_ms"]
            acc = "" if r["accuracy"] is None else f", {100 * r['accuracy']:.1f}%"
            if total > limit:
                ax.barh([y], [limit * 0.05], left=[limit * 0.95], color="white", hatch="////",
                        edgecolor="black", linewidth=0.5, height=0.7)
                ax.text(limit * 0.94, y, f"{total:.0f} ms{acc} \u25b8", ha="right", va="center", fontsize=7,
                        color="white", fontweight="bold")
            else:
                ax.text(total + limit * 0.01, y, f"{total:.1f}{acc}", ha="left", va="center", fontsize=7)
        ax.set_xlim(0, limit * 1.25)
        ax.set_title(f"{link}", fontsize=10)
        ax.set_xlabel("end-to-end latency per frame (ms)")
        ax.grid(True, axis="x", alpha=0.3)
    axes[0][0].set_yticks(ypos)
    axes[0][0].set_yticklabels(names, fontsize=8)
    for tick, r in zip(axes[0][0].get_yticklabels(), usable):
        if r["scheme"] == "agilenn":
            tick.set_fontweight("bold")
    fig.legend(loc="lower center", ncol=4, fontsize=8, frameon=False)
    fig.suptitle("latency breakdown per link (cf. paper Fig. 16); labels: total ms, accuracy; bars longer than "
                 f"{CLIP_FACTOR:g}x AgileNN's total are cut (hatched end) and carry their value", fontsize=9)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_accuracy_vs_bytes(path: Path, rows: list[dict[str, Any]]) -> Path:
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    shown = [r for r in rows if r["available"] and r["accuracy"] is not None and r["bytes_per_frame"]["mean"] > 0
             and r["scheme"] != "edge-only-camera"]      # same bytes and accuracy as the software JPEG rows
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
