"""The firmware report (``results/firmware.json``, written by ``make firmware-report`` with
firmware_microros/tools/firmware_report.py): instructions per frame counted in QEMU on the
real firmware code, flash and RAM sizes.

The layout firmware_report.py writes is read exactly: top-level ``flash_bytes``,
``ram_bytes``, ``instructions_per_frame`` (worst test frame) and ``per_frame`` rows with
``insn_extract`` / ``insn_encode`` (rANS) / ``insn_encode_packed`` (TCG plugin) or
``icount_extract`` / ``icount_encode`` (-icount); the benchmark uses the means over the test
images. Any other layout falls back to looking numbers up by key name in the flattened JSON
(``a.b.c`` paths), recording which keys it used:

* instructions of a whole frame (feature extractor + local predictor + quantizer + encoder):
  keys with ``instr``/``insn`` and none of the stage words below, preferring ``total`` /
  ``per_frame`` and ``mean`` / ``median``;
* instructions of the network part only (``extract``, ``feature``, ``nn``, ``network``) and of the
  encoder (``encode``, ``codec``, ``rans``, ``packed``, ``lzw``) when reported separately;
* flash (``flash`` or ``text``) and RAM (``ram``, ``sram``, ``bss`` + ``data`` + ``stack``) bytes.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ENCODE_WORDS = ("encode", "codec", "rans", "packed", "lzw", "compress")
EXTRACT_WORDS = ("extract", "feature", "network", "nn_", "_nn", "infer", "fe_")


@dataclass
class FirmwareFigures:
    path: str
    instructions_per_frame: float | None = None      # whole device computation of a frame
    extract_instructions: float | None = None        # networks only (no encoder), when reported
    encode_instructions: dict[str, float] = field(default_factory=dict)   # per codec name, when reported
    flash_bytes: float | None = None
    ram_bytes: float | None = None
    keys_used: dict[str, str] = field(default_factory=dict)
    model_hash: str | None = None                    # the bundle it was measured on, when recorded

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "instructions_per_frame": self.instructions_per_frame,
                "extract_instructions": self.extract_instructions, "encode_instructions": self.encode_instructions,
                "flash_bytes": self.flash_bytes, "ram_bytes": self.ram_bytes, "keys_used": self.keys_used,
                "model_hash": self.model_hash}


def flatten(value: Any, prefix: str = "") -> dict[str, float]:
    """Numeric leaves of a JSON value as {"a.b.0.c": number} (booleans excluded)."""
    out: dict[str, float] = {}
    if isinstance(value, dict):
        for key, sub in value.items():
            out.update(flatten(sub, f"{prefix}.{key}" if prefix else str(key)))
    elif isinstance(value, list):
        for i, sub in enumerate(value):
            out.update(flatten(sub, f"{prefix}.{i}" if prefix else str(i)))
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        out[prefix] = float(value)
    return out


def _score(key: str) -> int:
    k = key.lower()
    score = 0
    for word, points in (("per_frame", 4), ("total", 3), ("mean", 2), ("median", 2), ("frame", 1), ("avg", 1)):
        if word in k:
            score += points
    for word in ("min", "max", "stddev", "std", "p99", "count", "cases", "frames."):
        if re.search(rf"(^|[._]){re.escape(word)}($|[._])", k):
            score -= 3
    return score


def _best(candidates: dict[str, float]) -> tuple[str, float] | None:
    if not candidates:
        return None
    key = max(candidates, key=lambda k: (_score(k), -len(k)))
    return key, candidates[key]


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def parse_known_layout(data: Any, path: str = "") -> FirmwareFigures | None:
    """firmware_report.py's layout; None when ``data`` is not in it."""
    if not isinstance(data, dict) or not isinstance(data.get("per_frame"), list) or \
            "instructions_per_frame" not in data:
        return None
    rows = [r for r in data["per_frame"] if isinstance(r, dict)]
    tests = [r for r in rows if str(r.get("name", "")).startswith("test_image")] or rows
    method = "insn" if any("insn_extract" in r for r in tests) else "icount"
    figures = FirmwareFigures(path=path)
    extract = _mean([float(r[f"{method}_extract"]) for r in tests if f"{method}_extract" in r])
    encode = _mean([float(r[f"{method}_encode"]) for r in tests if f"{method}_encode" in r])
    packed = _mean([float(r["insn_encode_packed"]) for r in tests if "insn_encode_packed" in r])
    if extract is None:
        return None
    figures.extract_instructions = extract
    figures.keys_used["extract_instructions"] = f"mean of per_frame[*].{method}_extract over {len(tests)} frames"
    if encode is not None:
        figures.encode_instructions["rans"] = encode
        figures.keys_used["encode_instructions.rans"] = f"mean of per_frame[*].{method}_encode"
    if packed is not None:
        figures.encode_instructions["packed"] = packed
        figures.keys_used["encode_instructions.packed"] = "mean of per_frame[*].insn_encode_packed"
    figures.instructions_per_frame = extract + (encode or 0.0)
    figures.keys_used["instructions_per_frame"] = "extract + rANS encode (means)"
    for name in ("flash_bytes", "ram_bytes"):
        if isinstance(data.get(name), (int, float)):
            setattr(figures, name, float(data[name]))
            figures.keys_used[name] = name
    return figures


def parse_firmware_report(data: Any, path: str = "") -> FirmwareFigures:
    known = parse_known_layout(data, path)
    if known is not None:
        return known
    flat = flatten(data)
    figures = FirmwareFigures(path=path)
    instr = {k: v for k, v in flat.items() if re.search(r"instr|insn", k.lower()) and v > 0}
    encode = {k: v for k, v in instr.items() if any(w in k.lower() for w in ENCODE_WORDS)}
    extract = {k: v for k, v in instr.items() if k not in encode and any(w in k.lower() for w in EXTRACT_WORDS)}
    total = {k: v for k, v in instr.items() if k not in encode and k not in extract}
    for name, group in (("instructions_per_frame", total), ("extract_instructions", extract)):
        best = _best(group)
        if best:
            figures.keys_used[name] = best[0]
            setattr(figures, name, best[1])
    for codec in ("rans", "packed", "lzw"):
        best = _best({k: v for k, v in encode.items() if codec in k.lower()})
        if best:
            figures.encode_instructions[codec] = best[1]
            figures.keys_used[f"encode_instructions.{codec}"] = best[0]
    if not figures.encode_instructions:
        best = _best(encode)
        if best:
            figures.encode_instructions["rans"] = best[1]   # the firmware's default codec
            figures.keys_used["encode_instructions.rans"] = best[0]
    if figures.instructions_per_frame is None and figures.extract_instructions is not None:
        figures.instructions_per_frame = figures.extract_instructions + figures.encode_instructions.get("rans", 0.0)
        figures.keys_used["instructions_per_frame"] = "extract + encode"
    for name, pattern in (("flash_bytes", r"flash|(^|[._])text($|[._])"), ("ram_bytes", r"sram|(^|[._])ram")):
        group = {k: v for k, v in flat.items() if re.search(pattern, k.lower()) and "instr" not in k.lower()}
        if group:
            key = max(group, key=lambda k: (("total" in k.lower()) * 2 + ("bytes" in k.lower()), -len(k)))
            figures.keys_used[name] = key
            setattr(figures, name, group[key])
    return figures


def load_firmware_report(path: str | Path) -> FirmwareFigures | None:
    """None when the file is missing, unreadable or holds no instruction count."""
    p = Path(path)
    if not p.is_file():
        return None
    try:
        data = json.loads(p.read_text())
    except (OSError, json.JSONDecodeError):
        return None
    figures = parse_firmware_report(data, str(p))
    model = data.get("model") if isinstance(data, dict) else None
    if isinstance(model, dict) and model.get("model_hash") is not None:
        figures.model_hash = str(model["model_hash"])
    return figures if figures.instructions_per_frame else None


def stale_report_problem(figures: FirmwareFigures, model_hash: str) -> str | None:
    """Why a firmware report does not describe the bundle ``model_hash`` (None when it does, or
    when the report does not say which model it measured)."""
    if figures.model_hash is None or figures.model_hash == model_hash:
        return None
    return (f"{figures.path} was measured on model {figures.model_hash}, not on this bundle ({model_hash}): "
            "its instruction counts, flash and RAM are not used (re-measure with make -C firmware_microros "
            "report BUNDLE=<this bundle> OUT=<json> and pass it with --firmware)")
