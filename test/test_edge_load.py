"""The edge under load from another process that publishes and subscribes (``agilenn bench-edge``):
half of the frames hostile (invalid UTF-8 or over-long device_id, 4 KiB and 1 MiB frame_id,
truncated CDR, another model's hash). Every valid frame is predicted, every sent frame is
accounted for on /diagnostics, and the publishing+subscribing process never waits over 1 s
for a prediction (issue 11: the edge used to echo a multi-MiB frame_id into fragmented
predictions, and that process saw 5-70 s stalls)."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from conftest import PYTHON, python_env

pytest.importorskip("cyclonedds")


def test_hostile_half_no_stall_no_loss_all_accounted(cifar_bundle: Path, tmp_path: Path) -> None:
    out = tmp_path / "load.json"
    proc = subprocess.run([PYTHON, "-m", "agilenn_ros.cli", "bench-edge", "--model", str(cifar_bundle),
                           "--devices", "4", "--rate-hz", "25", "--duration", "8", "--malformed", "0.5",
                           "--json", str(out)], env=python_env(), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(out.read_text())
    (point,) = result["points"]
    assert point["sent_valid"] > 300 and sum(point["sent_hostile"].values()) > 150
    assert point["predictions_received"] == point["sent_valid"] and point["lost_valid"] == 0
    assert point["accounting"]["unaccounted"] == 0 and result["all_accounted"]
    counters = point["edge_counters"]
    hostile = point["sent_hostile"]
    assert counters["rejected_model_hash"] == hostile.get("model_hash", 0)
    assert counters["rejected_field_bounds"] == sum(hostile.get(k, 0) for k in
                                                    ("device_id_utf8", "device_id_long", "frame_id_long",
                                                     "frame_id_huge"))
    assert counters["sequence_gaps"] == 0 and counters["errors_internal"] == 0
    assert point["max_receive_gap_ms"] < 1000, point
    assert point["latency_ms"]["p99"] < 1000
