"""Ratios between schemes and the Markdown report of a benchmark result."""
from __future__ import annotations

from typing import Any

RATIO_LINK = "6Mbps"
ACCURACY_WINDOW = 0.10
"""The paper's fairness rule: a baseline counts when its accuracy is within 10 points of AgileNN's."""


def _total(r: dict[str, Any], link: str = RATIO_LINK) -> float | None:
    return r["latency_ms"][link]["total_ms"] if r.get("available") else None


def pick(rows: list[dict[str, Any]], scheme: str, reference_accuracy: float | None) -> dict[str, Any] | None:
    """The fastest available row of ``scheme`` (at 6 Mbps) within the accuracy window of AgileNN,
    else the fastest available one."""
    candidates = [r for r in rows if r["scheme"] == scheme and _total(r) is not None]
    if not candidates:
        return None
    fair = [r for r in candidates if reference_accuracy is None or r["accuracy"] is None
            or r["accuracy"] >= reference_accuracy - ACCURACY_WINDOW]
    return min(fair or candidates, key=lambda r: _total(r))


def ratios(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Baseline end-to-end latency over AgileNN's at 6 Mbps; each side is its fastest variant
    (AgileNN: fastest codec; baselines: fastest within the accuracy window)."""
    agilenn = pick(rows, "agilenn", None)
    ref_total = _total(agilenn) if agilenn else None
    ref_acc = agilenn["accuracy"] if agilenn else None
    out: dict[str, Any] = {"link": RATIO_LINK, "reference": agilenn["name"] if agilenn else None,
                           "reference_total_ms": ref_total,
                           "rule": f"end-to-end latency at {RATIO_LINK} of the fastest available variant whose "
                                   f"accuracy is within {int(ACCURACY_WINDOW * 100)} points of AgileNN's (else the "
                                   "fastest), divided by that of AgileNN's fastest codec", "basis": {}}
    for key, scheme in (("edge_only_over_agilenn", "edge-only"), ("local_only_over_agilenn", "local-only"),
                        ("split_over_agilenn", "split"), ("all_channels_over_agilenn", "all-channels")):
        chosen = pick(rows, scheme, ref_acc)
        value = None
        if chosen is not None and ref_total:
            value = _total(chosen) / ref_total
        out[key] = value
        out["basis"][key] = chosen["name"] if chosen else None
    return out


TARGETS = (
    # (key, description, goal, comparison)
    ("agilenn_e2e_ms_6mbps", "AgileNN end to end at 6 Mbps (the paper: 21.8 ms)", 10.0, "<="),
    ("local_only_over_agilenn", "local-only / AgileNN end to end at 6 Mbps", 5.0, ">="),
    ("edge_only_over_agilenn", "edge-only / AgileNN end to end at 6 Mbps", 3.0, ">="),
    ("accuracy_gap_to_edge_only_points", "edge-only accuracy minus AgileNN's (points)", 1.5, "<="),
)


def targets(rows: list[dict[str, Any]], rt: dict[str, Any]) -> dict[str, Any]:
    """The issue's compass goals, measured in this run: value, goal and whether it is met
    (``met`` is None when a scheme is missing)."""
    by_name = {r["name"]: r for r in rows}
    agilenn = by_name.get(rt.get("reference") or "")
    edge = by_name.get(rt.get("basis", {}).get("edge_only_over_agilenn") or "")
    gap = None
    if agilenn and edge and agilenn.get("accuracy") is not None and edge.get("accuracy") is not None:
        gap = 100.0 * (edge["accuracy"] - agilenn["accuracy"])
    values = {"agilenn_e2e_ms_6mbps": rt.get("reference_total_ms"),
              "local_only_over_agilenn": rt.get("local_only_over_agilenn"),
              "edge_only_over_agilenn": rt.get("edge_only_over_agilenn"),
              "accuracy_gap_to_edge_only_points": gap}
    out: dict[str, Any] = {}
    for key, what, goal, cmp in TARGETS:
        value = values[key]
        met = None if value is None else (value <= goal if cmp == "<=" else value >= goal)
        out[key] = {"what": what, "value": value, "goal": f"{cmp} {goal:g}", "met": met}
    return out


def _num(v: Any, fmt: str = "{:.1f}") -> str:
    return "n/a" if v is None else fmt.format(v)


def _pct(v: Any) -> str:
    return "n/a" if v is None else f"{100 * v:.2f}%"


def markdown(result: dict[str, Any]) -> str:
    data = result["data"]
    lines = ["# AgileNN side-by-side benchmark", "",
             f"{'Quick run' if result['quick'] else 'Full run'} on {data['images']} {data['split']} images of "
             f"`{data['source']}` at {data['input_resolution'][1]}x{data['input_resolution'][0]}, AgileNN bundle "
             f"`{result['model']['model_id']}`. Written by `agilenn bench` ({result['created']}, "
             f"{result['seconds']:.0f} s).", "",
             "Bytes are serialized ROS 2 messages (CDR). Edge times are measured here (onnxruntime, one frame, "
             "one thread); device times at the device clock, measured or estimated as the assumptions below say. "
             "End to end = device + transmission + edge.", "",
             "| scheme | role | accuracy | bytes/frame | device MACs | device ms | edge ms | e2e 270 kbps | "
             "e2e 2 Mbps | e2e 6 Mbps |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in result["schemes"]:
        lat = r["latency_ms"]
        edge = r["edge_ms"]["p50"] if r.get("edge_ms") else (0.0 if r["scheme"] == "local-only" and r["available"]
                                                             else None)
        macs = r["device"].get("macs")
        lines.append(f"| {r['name']}{'' if r['available'] else ' (missing)'} | {r['role']} | {_pct(r['accuracy'])} | "
                     f"{_num(r['bytes_per_frame']['mean'], '{:.0f}')} | "
                     f"{_num(macs / 1e6 if macs is not None else None, '{:.2f} M')} | {_num(r['device'].get('ms'), '{:.2f}')} | "
                     f"{_num(edge, '{:.2f}')} | {_num(lat['270kbps']['total_ms'])} | {_num(lat['2Mbps']['total_ms'])} | "
                     f"{_num(lat['6Mbps']['total_ms'])} |")
    rt = result["ratios"]
    lines += ["", f"## Ratios (end-to-end latency at {rt['link']}, over AgileNN: {rt['reference']})", "",
              f"Rule: {rt['rule']}.", ""]
    for key in ("edge_only_over_agilenn", "local_only_over_agilenn", "split_over_agilenn", "all_channels_over_agilenn"):
        value = rt.get(key)
        lines.append(f"- {key}: {_num(value, '{:.2f}x')}" + (f" ({rt['basis'][key]})" if rt["basis"].get(key) else ""))
    if result.get("targets"):
        lines += ["", "## Targets (compass goals) and where this run stands", "",
                  "| target | goal | this run | met |", "|---|---|---|---|"]
        for t in result["targets"].values():
            met = "n/a" if t["met"] is None else ("yes" if t["met"] else "**no**")
            lines.append(f"| {t['what']} | {t['goal']} | {_num(t['value'], '{:.2f}')} | {met} |")
    agilenn = next((r for r in result["schemes"] if r["name"] == "agilenn-rans"), None)
    if agilenn:
        d = agilenn["device"]
        lines += ["", "## AgileNN on the device", "",
                  f"- device network: {d['macs']} MACs, {d['params']} parameters, SRAM estimate {d['sram_bytes']} B, "
                  f"flash estimate {d['flash_bytes']} B",
                  f"- device time {d['ms']:.3f} ms ({d['source']})"]
        if d.get("firmware_instructions_per_frame"):
            lines.append(f"- firmware: {d['firmware_instructions_per_frame']:.0f} instructions per frame "
                         f"({d['firmware_frame_ms']:.3f} ms at {result['device_model']['clock_hz'] / 1e6:g} MHz), "
                         f"flash {_num(d.get('firmware_flash_bytes'), '{:.0f}')} B, "
                         f"RAM {_num(d.get('firmware_ram_bytes'), '{:.0f}')} B")
        lines.append(f"- accuracy {_pct(agilenn['accuracy'])} (local predictor alone {_pct(agilenn.get('local_accuracy'))}, "
                     f"remote alone {_pct(agilenn.get('remote_accuracy'))})")
    if result["missing"]:
        lines += ["", "## Missing baselines", ""] + [f"- {m['scheme']}: {m['reason']}" for m in result["missing"]]
    lines += ["", "## Notes per scheme", ""]
    for r in result["schemes"]:
        for note in r["notes"]:
            lines.append(f"- {r['name']}: {note}")
    lines += ["", "## Assumptions", ""] + [f"- {a}" for a in result["assumptions"]]
    if result.get("plots"):
        lines += ["", "## Plots", ""] + [f"![{p.split('/')[-1]}]({p})" for p in result["plots"]]
    return "\n".join(lines) + "\n"
