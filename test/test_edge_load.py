"""The edge under load from another process that publishes and subscribes (``agilenn bench-edge``):
half of the frames hostile (invalid UTF-8 or over-long device_id, 4 KiB and 1 MiB frame_id,
truncated CDR, another model's hash). Every valid frame is predicted, every sent frame is
accounted for on /diagnostics, and the publishing+subscribing process never waits over 1 s
for a prediction (issue 11: the edge used to echo a multi-MiB frame_id into fragmented
predictions, and that process saw 5-70 s stalls)."""
from __future__ import annotations

import json
import subprocess
import time
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


def test_edge_killed_and_restarted_accounts_for_every_frame(cifar_bundle: Path, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """kill -9 of the edge while 4 devices stream, restart a second later: the new edge process's
    counters alone add up to every frame the devices sent (what the dead one predicted and what
    was sent while it was down are its unseen_before_first_frame)."""
    import os
    import random
    import signal
    import threading

    from agilenn_ros.bench.edge_load import LOSS_COUNTERS, LoadGenerator, real_frames, start_edge
    from agilenn_ros.runtime.bundle import load_bundle
    from agilenn_ros.transport import make_transport

    monkeypatch.setenv("ROS_DOMAIN_ID", str(random.SystemRandom().randint(100, 232)))
    monkeypatch.setenv("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
    monkeypatch.delenv("CYCLONEDDS_URI", raising=False)
    env = python_env()
    bundle = load_bundle(cifar_bundle)
    edges = [start_edge(str(bundle.path), env, 0, 32, tmp_path / "edge1.log")]
    transport = make_transport("dds", argv=["test"], install_signal_handlers=False)
    try:
        gen = LoadGenerator(transport, real_frames(bundle, 4))
        assert gen.wait_for_edge(90)

        def kill_and_restart() -> None:
            time.sleep(2.0)
            edges[0].send_signal(signal.SIGKILL)
            edges[0].wait()
            time.sleep(1.0)
            edges.append(start_edge(str(bundle.path), env, 0, 32, tmp_path / "edge2.log"))

        killer = threading.Thread(target=kill_and_restart)
        killer.start()
        point = gen.run_point("r", 4, 25.0, 8.0, drain_s=5.0)
        killer.join()
        gen.diagnostics = {}
        assert transport.spin_until(lambda: bool(gen.diagnostics), 30), "the restarted edge never reported"
        counters = gen.fresh_diagnostics()
        assert 0 < counters["predictions_published"] < point["sent"]
        assert counters["unseen_before_first_frame"] > 0
        assert sum(counters[k] for k in LOSS_COUNTERS) == point["sent"], counters
        assert os.path.getsize(tmp_path / "edge2.log") > 0
    finally:
        transport.shutdown()
        for edge in edges:
            if edge.poll() is None:
                edge.terminate()
                edge.wait(10)
