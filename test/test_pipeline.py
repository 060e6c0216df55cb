"""The ROS 2 pipeline without ROS: edge node behaviour, and the multi-process demo over Cyclone DDS
watched by an independent subscriber that knows only msg/Prediction.msg and the naming rules."""
from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import PYTHON
from test_transport_dds import LOCALHOST_XML, _independent_types, dds_env  # noqa: F401 (fixture)

from agilenn_ros.transport import RELIABLE, make_transport


def test_edge_node_rejects_falls_back_and_reports(digits_bundle: Path, dds_env: dict[str, str]) -> None:
    from agilenn_ros.data import load_split
    from agilenn_ros.nodes.edge_node import EdgeNode
    from agilenn_ros.runtime.bundle import load_bundle
    from agilenn_ros.runtime.device_pipeline import DevicePipeline

    bundle = load_bundle(digits_bundle)
    device = DevicePipeline(bundle)
    image = load_split("digits", "test").images[0]
    result = device.process(image)
    transport = make_transport("dds", argv=["test"], install_signal_handlers=False)
    try:
        edge = EdgeNode(transport, parameter_overrides={"model": str(digits_bundle), "diagnostics_period_s": 0.2})
        sender = transport.create_node("sender", "/agilenn")
        pub = sender.create_publisher("agilenn_ros/msg/FeatureFrame", "features", RELIABLE)
        predictions: list = []
        diagnostics: list = []
        sender.create_subscription("agilenn_ros/msg/Prediction", "prediction", predictions.append, RELIABLE)
        sender.create_subscription("diagnostic_msgs/msg/DiagnosticArray", "/diagnostics", diagnostics.append, RELIABLE)
        assert transport.spin_until(lambda: pub.get_subscription_count() > 0, 10)
        c, h, w = result.indices.shape

        def frame(seq: int, **over: object) -> object:
            fields = dict(header={"stamp": sender.now(), "frame_id": "cam"}, device_id="d0", sequence=seq,
                          model_hash=bundle.model_hash_u32, channels=c, height=h, width=w, codec=result.codec_id,
                          payload=np.frombuffer(result.payload, np.uint8), local_logits=result.local_logits,
                          device_compute_us=100)
            fields.update(over)
            return sender.message("agilenn_ros/msg/FeatureFrame", **fields)

        pub.publish(frame(0))                                                   # good
        pub.publish(frame(1, model_hash=bundle.model_hash_u32 ^ 1))             # another model
        pub.publish(frame(2, payload=np.frombuffer(b"\x11garbage", np.uint8)))  # undecodable -> local only
        pub.publish(frame(3, local_logits=np.ones(3, np.float32)))              # unusable
        pub.publish(frame(5))                                                   # sequence gap of one
        assert transport.spin_until(lambda: len(predictions) >= 3 and edge.stats.frames >= 5, 15)
        transport.spin_until(lambda: len(diagnostics) >= 2, 3)
        by_seq = {int(p.sequence): p for p in predictions}
        assert sorted(by_seq) == [0, 2, 5]
        assert by_seq[0].remote_used and by_seq[0].payload_bytes == len(result.payload)
        assert not by_seq[2].remote_used
        assert np.allclose(np.asarray(by_seq[2].scores), result.local_logits, atol=1e-6)
        assert by_seq[0].header.frame_id == "cam" and by_seq[0].label in bundle.class_names
        assert (edge.stats.rejected_model, edge.stats.rejected_invalid, edge.stats.local_only) == (1, 1, 1)
        assert edge.stats.devices["d0"].gaps == 1 and edge.stats.sequence_gaps == 1
        keys = {kv.key: kv.value for kv in diagnostics[-1].status[0].values}
        assert keys["rejected_model_hash"] == "1" and keys["local_only_fallbacks"] == "1"
        assert keys["rans_decoder"] in ("native", "python") and keys["model"] == bundle.model_id
        assert keys["transport_samples_lost"] == "0" and keys["frames_received"] == "5"
        assert int(diagnostics[-1].status[0].level) == 1
    finally:
        transport.shutdown()


def test_demo_processes_and_independent_subscriber(digits_bundle: Path, dds_env: dict[str, str], tmp_path: Path) -> None:
    from cyclonedds.domain import Domain, DomainParticipant
    from cyclonedds.qos import Policy, Qos
    from cyclonedds.sub import DataReader
    from cyclonedds.topic import Topic
    from cyclonedds.util import duration

    from agilenn_ros.data import load_split
    from agilenn_ros.runtime.bundle import load_bundle
    from agilenn_ros.runtime.evaluate import evaluate_bundle

    out = tmp_path / "demo.json"
    demo = subprocess.Popen([PYTHON, "-m", "agilenn_ros.cli", "demo", "--model", str(digits_bundle), "--images", "digits",
                             "--frames", "40", "--devices", "2", "--rate", "40", "--quiet", "--json", str(out)],
                            env=dds_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    prediction_t, _ = _independent_types()
    did = int(dds_env["ROS_DOMAIN_ID"])
    domain = Domain(did, LOCALHOST_XML)
    dp = DomainParticipant(did)
    samples: list = []
    try:
        reader = DataReader(dp, Topic(dp, "rt/agilenn/prediction", prediction_t), Qos(
            Policy.Reliability.Reliable(duration(seconds=1)), Policy.Durability.Volatile,
            Policy.History.KeepLast(50), Policy.DataRepresentation(use_cdrv0_representation=True)))
        deadline = time.monotonic() + 90
        while demo.poll() is None and time.monotonic() < deadline:
            samples += reader.take(N=50)
            time.sleep(0.02)
        samples += reader.take(N=50)
    finally:
        del dp, domain
        if demo.poll() is None:
            demo.kill()
    log = demo.stdout.read() if demo.stdout else ""
    assert demo.returncode == 0, log
    summary = json.loads(out.read_text())
    assert summary["frames_sent"] == summary["predictions_received"] == 40, log
    assert summary["payload_bytes_median"] > 0 and summary["latency_ms"]["p99"] > 0
    # both devices stream the first 20 test digits: the demo's accuracy is evaluate's on them
    images = load_split("digits", "test")
    expected = evaluate_bundle(load_bundle(digits_bundle), images.images[:20], images.labels[:20], progress=False)
    assert summary["accuracy"] == pytest.approx(expected["accuracy"], abs=1e-9)
    samples = [s for s in samples if hasattr(s, "device_id")]  # drop writer-gone notifications
    assert len(samples) >= 10, "the independent subscriber received no predictions"
    assert {s.device_id for s in samples} <= {"emulator0", "emulator1"}
    assert all(s.label in load_bundle(digits_bundle).class_names for s in samples)


def test_payload_bytes_are_measured_on_frames_spread_over_the_set(cifar_bundle: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Image sets are sorted by class: payload statistics from the first N frames would describe one
    class (the shipped metrics.json once reported CIFAR-10's airplanes only)."""
    import agilenn_ros.runtime.evaluate as evaluate
    from agilenn_ros.runtime.bundle import load_bundle
    from agilenn_ros.runtime.device_pipeline import DevicePipeline
    from agilenn_ros.runtime.preprocess import model_input
    bundle = load_bundle(str(cifar_bundle))
    images = np.random.default_rng(3).integers(0, 256, (40, 32, 32, 3), dtype=np.uint8)
    seen: list[np.ndarray] = []
    real = evaluate.payload_sizes
    monkeypatch.setattr(evaluate, "payload_sizes", lambda b, idx: seen.append(idx) or real(b, idx))
    result = evaluate.evaluate_bundle(bundle, images, np.zeros(40, np.int64), batch=16, threads=1,
                                      payload_frames=4, progress=False)
    assert result["payload_bytes"]["rans"]["frames"] == 4
    _, expected = DevicePipeline(bundle, threads=1).infer_prepared(model_input(list(images[[0, 13, 26, 39]]),
                                                                               bundle.input_hw))
    assert np.array_equal(seen[0], expected)
    assert "payload_bytes" not in evaluate.evaluate_bundle(bundle, images[:3], np.zeros(3, np.int64), threads=1,
                                                           payload_frames=0, progress=False)
