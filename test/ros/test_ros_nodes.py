"""The nodes on rclpy (Fast DDS) end to end, from the colcon install: device emulator ->
edge -> consumer in one process (agilenn_runner) and as separate processes started like
`ros2 run` with --ros-args parameters, a params file, remaps and a namespace."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from rosproc import Probe, RosEnv, assert_clean_exit

FRAMES = 6


def expected_predictions(n: int) -> list[tuple[int, str]]:
    """(class id, label) of the first ``n`` bundled sample images through the device and
    edge pipelines directly (no transport): what the nodes must publish."""
    from agilenn_ros.runtime.bundle import load_bundle
    from agilenn_ros.runtime.device_pipeline import DevicePipeline
    from agilenn_ros.runtime.edge_pipeline import EdgePipeline
    from agilenn_ros.runtime.frame_sources import open_source

    bundle = load_bundle("cifar10")
    device, edge = DevicePipeline(bundle, codec="rans"), EdgePipeline(bundle)
    out = []
    for frame, _ in zip(open_source("folder", "").frames(), range(n)):
        r = device.process(frame.rgb)
        e = edge.process(r.codec_id, r.payload, r.indices.shape, np.asarray(r.local_logits, np.float32))
        out.append((int(e.class_id), str(e.label)))
    return out


def assert_predictions(preds: list[Any], device_id: str, frames: int = FRAMES) -> None:
    """Every frame that reached the edge was used and predicted as the pipelines predict it.
    The first frame may be lost: the device sends when its writer has matched the edge's
    reader, and the reader may match the writer a moment later (a reliable
    volatile reader does not get what was sent before it matched). Any later loss fails."""
    got = sorted(preds, key=lambda p: p.sequence)
    sequences = [p.sequence for p in got]
    assert sequences in (list(range(frames)), list(range(1, frames))), sequences
    expected = expected_predictions(frames)
    assert [(p.class_id, p.label) for p in got] == [expected[i] for i in sequences]
    assert {p.device_id for p in got} == {device_id} and all(p.remote_used for p in got)


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_runner_device_edge_consumer_in_one_process(ros_env: RosEnv) -> None:
    jsonl = ros_env.workdir / "predictions.jsonl"
    runner = ros_env.run_node(
        "agilenn_runner", "--nodes", "device,edge,consumer", "--ros-args",
        "-p", "source:=folder", "-p", f"max_frames:={FRAMES}", "-p", "rate_hz:=10.0",
        "-p", f"jsonl:={jsonl}", "-p", f"max_predictions:={FRAMES}", "-p", "print:=true")
    probe = Probe(ros_env.domain_id)
    try:
        preds = probe.subscribe("agilenn_ros/msg/Prediction", "/agilenn/prediction")
        runner.wait_for(r"emulator0 #\s*%d\]" % (FRAMES - 1), 90, stream="stdout")
        # a subscriber that joins late still gets the class map (transient local)
        labels = probe.subscribe("vision_msgs/msg/LabelInfo", "/agilenn/label_info", Probe.qos(latched=True))
        assert probe.spin_until(lambda: labels, 15), runner.logs()
    finally:
        probe.close()
    assert_clean_exit(runner, runner.interrupt())
    got = [(r["class_id"], r["label"]) for r in sorted(read_jsonl(jsonl), key=lambda r: r["sequence"])]
    assert [r["sequence"] for r in sorted(read_jsonl(jsonl), key=lambda r: r["sequence"])] == list(range(FRAMES))
    assert got == expected_predictions(FRAMES)
    assert all(r["remote_used"] for r in read_jsonl(jsonl))
    names = [c.class_name for c in labels[0].class_map]
    assert names[:3] == ["airplane", "automobile", "bird"] and len(names) == 10
    assert [c.class_id for c in labels[0].class_map] == list(range(10))


PARAMS_YAML = """\
/**:
  ros__parameters:
    model: cifar10
/robot1/front_edge:
  ros__parameters:
    diagnostics_period_s: 0.5
    hardware_id: test_edge_hw
"""


def test_separate_processes_like_ros2_run(ros_env: RosEnv) -> None:
    params = ros_env.workdir / "params.yaml"
    params.write_text(PARAMS_YAML)
    jsonl = ros_env.workdir / "consumer.jsonl"
    probe = Probe(ros_env.domain_id)
    try:
        preds = probe.subscribe("agilenn_ros/msg/Prediction", "/robot1/prediction")
        classes = probe.subscribe("vision_msgs/msg/Classification", "/robot1/classification")
        diags = probe.subscribe("diagnostic_msgs/msg/DiagnosticArray", "/diagnostics")
        edge = ros_env.run_node("agilenn_edge", "--ros-args", "-r", "__ns:=/robot1", "-r", "__node:=front_edge",
                                "--params-file", str(params), "-r", "features:=cam_features")
        edge.wait_for(r"edge node ready", 60)
        # the remap applies to the renamed node in its namespace
        assert probe.spin_until(lambda: ("front_edge", "/robot1") in probe.node.get_node_names_and_namespaces(), 20)
        assert ("/robot1/cam_features", ["agilenn_ros/msg/FeatureFrame"]) in \
            probe.node.get_subscriber_names_and_types_by_node("front_edge", "/robot1")
        consumer = ros_env.run_node("agilenn_consumer", "--ros-args", "-r", "__ns:=/robot1",
                                    "-p", f"jsonl:={jsonl}", "-p", "print:=true")
        # the consumer's and the probe's prediction subscriptions are both known before frames flow
        assert probe.spin_until(lambda: probe.node.count_subscribers("/robot1/prediction") >= 2, 30), consumer.logs()
        probe.spin_until(lambda: False, 2.0)  # and the edge has matched them (frames are not kept for late joiners)
        device = ros_env.run_node("agilenn_device", "--ros-args", "-r", "__ns:=/robot1",
                                  "--params-file", str(params), "-p", "source:=folder", "-p", f"max_frames:={FRAMES}",
                                  "-p", "rate_hz:=10.0", "-p", "device_id:=dev7", "-r", "features:=cam_features")
        assert device.wait(90) == 0, device.logs()
        assert probe.spin_until(lambda: len(preds) >= FRAMES - 1 and len(classes) >= FRAMES - 1, 30), \
            f"{len(preds)} predictions, {len(classes)} classifications\n" + edge.logs() + device.logs() + consumer.logs()
        probe.spin_until(lambda: len(preds) >= FRAMES, 2)
        assert probe.spin_until(lambda: any(s.hardware_id == "test_edge_hw" and s.values
                                            and dict((v.key, v.value) for v in s.values).get("model")
                                            for d in diags for s in d.status), 10), edge.logs()
        labels = probe.subscribe("vision_msgs/msg/LabelInfo", "/robot1/label_info", Probe.qos(latched=True))
        assert probe.spin_until(lambda: labels, 15), edge.logs()
    finally:
        probe.close()
    assert_clean_exit(edge, edge.interrupt())
    assert_clean_exit(consumer, consumer.interrupt())
    assert "Traceback" not in device.err()

    assert_predictions(preds, "dev7")  # and the device's remap matches the edge's
    for c, p in zip(classes, preds):
        assert c.header.stamp == p.header.stamp and c.results[0].class_id == p.label
        assert abs(c.results[0].score - p.confidence) < 1e-6
    status = next(s for d in diags for s in d.status if s.hardware_id == "test_edge_hw")
    assert status.name.startswith("/robot1/front_edge")
    assert len(labels[0].class_map) == 10
    consumed = sorted(r["sequence"] for r in read_jsonl(jsonl))
    assert consumed == sorted(p.sequence for p in preds), consumer.logs()
    assert "dev7 #" in consumer.out()
