"""Ratios between schemes and the Markdown report of a benchmark result."""
from __future__ import annotations

from typing import Any

RATIO_LINK = "6Mbps"
SLOW_LINK = "270kbps"
ACCURACY_WINDOW = 0.10
"""The paper's fairness rule: a baseline counts when its accuracy is within 10 points of AgileNN's."""

RATIO_SCHEMES = (("edge_only_over_agilenn", "edge-only"),
                 ("edge_only_camera_jpeg_over_agilenn", "edge-only-camera"),
                 ("local_only_over_agilenn", "local-only"),
                 ("split_over_agilenn", "split"),
                 ("all_channels_over_agilenn", "all-channels"))
"""Ratio key -> scheme. ``edge-only`` is the device encoding in software (raw, PNG, JPEG with the
measured encoder); ``edge-only-camera`` is the hardware-JPEG camera (0 device cycles)."""


def _total(r: dict[str, Any], link: str = RATIO_LINK) -> float | None:
    return r["latency_ms"][link]["total_ms"] if r.get("available") else None


def pick(rows: list[dict[str, Any]], scheme: str, reference_accuracy: float | None,
         link: str = RATIO_LINK) -> dict[str, Any] | None:
    """The fastest available row of ``scheme`` (at ``link``) within the accuracy window of
    AgileNN, else the fastest available one."""
    candidates = [r for r in rows if r["scheme"] == scheme and _total(r, link) is not None]
    if not candidates:
        return None
    fair = [r for r in candidates if reference_accuracy is None or r["accuracy"] is None
            or r["accuracy"] >= reference_accuracy - ACCURACY_WINDOW]
    return min(fair or candidates, key=lambda r: _total(r, link))


def link_ratios(rows: list[dict[str, Any]], link: str) -> dict[str, Any]:
    """Baseline end-to-end latency over AgileNN's at ``link``; each side is its fastest variant
    at that link (AgileNN: fastest codec; baselines: fastest within the accuracy window)."""
    agilenn = pick(rows, "agilenn", None, link)
    ref_total = _total(agilenn, link) if agilenn else None
    ref_acc = agilenn["accuracy"] if agilenn else None
    out: dict[str, Any] = {"link": link, "reference": agilenn["name"] if agilenn else None,
                           "reference_total_ms": ref_total,
                           "rule": f"end-to-end latency at {link} of the fastest available variant whose "
                                   f"accuracy is within {int(ACCURACY_WINDOW * 100)} points of AgileNN's (else the "
                                   "fastest), divided by that of AgileNN's fastest codec", "basis": {}}
    for key, scheme in RATIO_SCHEMES:
        chosen = pick(rows, scheme, ref_acc, link)
        value = None
        if chosen is not None and ref_total:
            value = _total(chosen, link) / ref_total
        out[key] = value
        out["basis"][key] = chosen["name"] if chosen else None
    return out


def ratios(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The ratios at 6 Mbps (top level, as the paper reports them) and at every link
    (``per_link``)."""
    links = list(rows[0]["latency_ms"]) if rows else [RATIO_LINK]
    out = link_ratios(rows, RATIO_LINK)
    out["per_link"] = {link: {k: v for k, v in link_ratios(rows, link).items() if k not in ("rule", "link")}
                       for link in links}
    return out


TARGETS = (
    # (key, description, goal, comparison); goal None: reported, no goal
    ("agilenn_e2e_ms_6mbps", "AgileNN end to end at 6 Mbps (the paper: 21.8 ms)", 10.0, "<="),
    ("local_only_over_agilenn", "local-only / AgileNN end to end at 6 Mbps", 5.0, ">="),
    ("edge_only_over_agilenn", "best software edge-only (measured JPEG encoder) / AgileNN at 6 Mbps "
                               "(3 is the long-run goal)", 2.0, ">="),
    ("edge_only_camera_jpeg_over_agilenn", "hardware-JPEG camera edge-only / AgileNN at 6 Mbps", None, ""),
    ("edge_only_over_agilenn_270kbps", "best software edge-only / AgileNN at 270 kbps", 3.0, ">="),
    ("edge_only_camera_jpeg_over_agilenn_270kbps", "hardware-JPEG camera edge-only / AgileNN at 270 kbps", 2.5, ">="),
    ("accuracy_gap_to_edge_only_points", "best edge-only variant's accuracy minus AgileNN's (points)", 1.5, "<="),
    ("accuracy_gap_to_ratio_basis_points", "accuracy of the edge-only variant the 6 Mbps ratio uses minus "
                                           "AgileNN's (points)", None, ""),
)


def targets(rows: list[dict[str, Any]], rt: dict[str, Any]) -> dict[str, Any]:
    """The issue's goals, measured in this run: value, goal and whether it is met (``met`` is
    None when a scheme is missing or the figure has no goal)."""
    by_name = {r["name"]: r for r in rows}
    agilenn = by_name.get(rt.get("reference") or "")
    basis = by_name.get(rt.get("basis", {}).get("edge_only_over_agilenn") or "")
    edge_rows = [r for r in rows if r.get("scheme") == "edge-only" and r.get("accuracy") is not None]
    best_edge = max(edge_rows, key=lambda r: r["accuracy"]) if edge_rows else None
    gap = basis_gap = None
    if agilenn and agilenn.get("accuracy") is not None:
        if best_edge is not None:
            gap = 100.0 * (best_edge["accuracy"] - agilenn["accuracy"])
        if basis and basis.get("accuracy") is not None:
            basis_gap = 100.0 * (basis["accuracy"] - agilenn["accuracy"])
    slow = rt.get("per_link", {}).get(SLOW_LINK, {})
    values = {"agilenn_e2e_ms_6mbps": rt.get("reference_total_ms"),
              "local_only_over_agilenn": rt.get("local_only_over_agilenn"),
              "edge_only_over_agilenn": rt.get("edge_only_over_agilenn"),
              "edge_only_camera_jpeg_over_agilenn": rt.get("edge_only_camera_jpeg_over_agilenn"),
              "edge_only_over_agilenn_270kbps": slow.get("edge_only_over_agilenn"),
              "edge_only_camera_jpeg_over_agilenn_270kbps": slow.get("edge_only_camera_jpeg_over_agilenn"),
              "accuracy_gap_to_edge_only_points": gap,
              "accuracy_gap_to_ratio_basis_points": basis_gap}
    out: dict[str, Any] = {}
    for key, what, goal, cmp in TARGETS:
        value = values[key]
        if goal is None:
            out[key] = {"what": what, "value": value, "goal": "reported", "met": None}
            continue
        met = None if value is None else (value <= goal if cmp == "<=" else value >= goal)
        out[key] = {"what": what, "value": value, "goal": f"{cmp} {goal:g}", "met": met}
    return out


MEASURED_VS_MODELLED = (
    "Measured in this run: accuracy (onnxruntime on the evaluated test images), bytes per frame (the serialized "
    "ROS 2 messages), edge times (this host, one thread).",
    "Measured on QEMU's Cortex-M7 (instruction counts, results/*.json): AgileNN's device time (the firmware core, "
    "results/firmware.json) and the software JPEG encoder of the edge-only rows (libjpeg-turbo, "
    "results/jpeg_m7.json).",
    "Modelled: transmission (bytes / link rate, no protocol overhead or loss); instructions to time (CPI below); "
    "PNG encoding (assumed cycles per byte); the hardware-JPEG camera (0 device cycles, the software JPEG's bytes); "
    "the device networks of local-only, split and all-channels (their MACs at the firmware's cycles per MAC); "
    "AgileNN's LZW encoder (assumed cycles per symbol).",
)


def device_figure_kind(r: dict[str, Any]) -> str:
    """'measured', 'modelled', 'measured + modelled' or 'none' for a row's device time."""
    src = str(r.get("device", {}).get("source", "")).lower()
    measured = "measured" in src or "firmware" in src
    modelled = any(w in src for w in ("assumed", "estimated", "modelled"))
    if r.get("scheme") == "edge-only" and r.get("variant") == "raw":
        return "none (DMA)"
    if measured and modelled:
        return "measured + modelled"
    return "measured" if measured else ("modelled" if modelled else "n/a")


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
             "| scheme | role | accuracy | bytes/frame | device MACs | device ms | device figure | edge ms | "
             "e2e 270 kbps | e2e 2 Mbps | e2e 6 Mbps |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in result["schemes"]:
        lat = r["latency_ms"]
        edge = r["edge_ms"]["p50"] if r.get("edge_ms") else (0.0 if r["scheme"] == "local-only" and r["available"]
                                                             else None)
        macs = r["device"].get("macs")
        lines.append(f"| {r['name']}{'' if r['available'] else ' (missing)'} | {r['role']} | {_pct(r['accuracy'])} | "
                     f"{_num(r['bytes_per_frame']['mean'], '{:.0f}')} | "
                     f"{_num(macs / 1e6 if macs is not None else None, '{:.2f} M')} | {_num(r['device'].get('ms'), '{:.2f}')} | "
                     f"{device_figure_kind(r)} | {_num(edge, '{:.2f}')} | {_num(lat['270kbps']['total_ms'])} | "
                     f"{_num(lat['2Mbps']['total_ms'])} | {_num(lat['6Mbps']['total_ms'])} |")
    lines += ["", "## What is measured and what is modelled", ""] + [f"- {line}" for line in MEASURED_VS_MODELLED]
    cpi = result.get("device_model", {}).get("cpi")
    if cpi is not None:
        lines.append(f"- CPI assumption: measured instruction counts become time at CPI = {cpi:g} (one cycle per "
                     f"instruction) at {result['device_model']['clock_hz'] / 1e6:g} MHz, for AgileNN and for the JPEG "
                     "encoder alike; QEMU counts instructions, not cycles (no pipeline, caches or flash wait states), "
                     "so absolute device times carry that assumption while their ratio does not.")
    rt = result["ratios"]
    per_link = rt.get("per_link") or {rt["link"]: rt}
    lines += ["", f"## Ratios (end-to-end latency over AgileNN's: {rt['reference']} at {rt['link']})", "",
              f"Rule: {rt['rule']}; the same rule at each link.", "",
              "| baseline / AgileNN | " + " | ".join(per_link) + " |", "|---|" + "---|" * len(per_link)]
    for key, _ in RATIO_SCHEMES:
        cells = [_num(v.get(key), "{:.2f}x") + (f" ({v['basis'][key]})" if v.get("basis", {}).get(key) else "")
                 for v in per_link.values()]
        lines.append(f"| {key} | " + " | ".join(cells) + " |")
    if result.get("targets"):
        lines += ["", "## Targets and where this run stands", "",
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
    jpeg = result.get("device_model", {}).get("jpeg_encoder")
    if jpeg:
        ifast = jpeg.get("instructions_per_frame_ifast") or {}
        lines += ["", "## Software JPEG on the device (measured)", "",
                  f"- {jpeg['library']}, portable C encoder, counted in QEMU ({jpeg['counting_method']}) on "
                  f"{jpeg['frames']} of the bench's {jpeg['frame'][0]}x{jpeg['frame'][1]} frames; flags "
                  f"`{jpeg['flags']}`; from `{jpeg['path']}` (`make jpeg-report`)",
                  "- instructions per frame (ISLOW, mean): " + ", ".join(
                      f"q{q} {v:.0f}" for q, v in jpeg["instructions_per_frame"].items())
                  + ("; IFAST: " + ", ".join(f"q{q} {v:.0f}" for q, v in ifast.items()) if ifast else ""),
                  f"- output byte-identical to OpenCV's encoder (what the bench sends): "
                  + (", ".join(f"q{q} {'yes' if v else '**no**'}" for q, v in jpeg["byte_identical_to_opencv"].items())
                     or "not checked"),
                  f"- heap {_num(jpeg.get('heap_bytes'), '{:.0f}')} B, stack {_num(jpeg.get('stack_bytes'), '{:.0f}')} B, "
                  f"flash {_num(jpeg.get('flash_bytes'), '{:.0f}')} B (encoder image with startup code and libc parts)"]
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
