"""Cross-vendor interop on loopback: the Cyclone DDS backend (the normal .venv, cyclonedds
11.0.1, no rclpy) and rclpy on Fast DDS (.venv-ros, the colcon install), both with
ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST, in both directions: every frame arrives and is used
(zero rejected), the type hashes agree, and no side logs an incompatible-QoS or type-hash
warning. The participant that starts second is the rclpy one in one direction and the Cyclone
one in the other (both orders must discover each other)."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from rosproc import Probe, Proc, RosEnv, assert_clean_exit
from test_ros_nodes import FRAMES, assert_predictions

WARNINGS = re.compile(r"incompatible|type.?hash|failed to parse", re.IGNORECASE)


def edge_done(values: dict[str, str]) -> bool:
    """The edge received the frames (all but possibly the first) and predicted every one."""
    received = int(values.get("frames_received", "0"))
    return received >= FRAMES - 1 and values.get("predictions_published") == str(received)


def diagnostics_values(diags: list[Any], hardware_id: str = "agilenn_edge") -> dict[str, str]:
    """The key/values of the newest edge status on /diagnostics."""
    for array in reversed(diags):
        for status in array.status:
            if status.hardware_id == hardware_id:
                return {v.key: v.value for v in status.values}
    return {}


def own_type_hash(probe: Probe, type_name: str) -> str:
    """RIHS01 hash rclpy gives ``type_name``, read from a publisher of the probe's own."""
    import importlib

    pkg, _, short = type_name.split("/")
    topic = f"/probe_hash/{short.lower()}"
    probe.node.create_publisher(getattr(importlib.import_module(f"{pkg}.msg"), short), topic, 1)
    return str(probe.node.get_publishers_info_by_topic(topic)[0].topic_type_hash)


def remote_type_hash(probe: Probe, topic: str, node_name: str) -> str:
    assert probe.spin_until(lambda: any(i.node_name == node_name for i in probe.node.get_publishers_info_by_topic(topic)),
                            20), f"no publisher of {node_name} on {topic}"
    return next(str(i.topic_type_hash) for i in probe.node.get_publishers_info_by_topic(topic) if i.node_name == node_name)


def assert_no_interop_warnings(*procs: Proc) -> None:
    for proc in procs:
        bad = [line for line in (proc.out() + proc.err()).splitlines() if WARNINGS.search(line)]
        assert not bad, f"{proc.name}: {bad}"


def test_cyclone_device_to_rclpy_edge(ros_env: RosEnv, dds_python: Path) -> None:
    probe = Probe(ros_env.domain_id)
    try:
        preds = probe.subscribe("agilenn_ros/msg/Prediction", "/agilenn/prediction")
        diags = probe.subscribe("diagnostic_msgs/msg/DiagnosticArray", "/diagnostics")
        edge = ros_env.run_node("agilenn_edge", "--ros-args", "-p", "diagnostics_period_s:=0.5")
        edge.wait_for(r"edge node ready", 60)
        assert probe.spin_until(lambda: probe.node.count_publishers("/agilenn/prediction") > 0, 20)
        probe.spin_until(lambda: False, 1.0)  # the edge's writer has matched the probe too
        device = ros_env.run_dds(dds_python, ["agilenn_ros.nodes.device_node", "--ros-args", "-p", "source:=folder",
                                              "-p", f"max_frames:={FRAMES}", "-p", "rate_hz:=10.0",
                                              "-p", "device_id:=cyclone0", "-p", "wait_for_edge_s:=30.0"],
                                 name="cyclone_device")
        features_hash = remote_type_hash(probe, "/agilenn/features", "agilenn_device")
        assert device.wait(90) == 0, device.logs()
        assert probe.spin_until(lambda: len(preds) >= FRAMES - 1, 30), f"{len(preds)} predictions\n{edge.logs()}"
        probe.spin_until(lambda: len(preds) >= FRAMES, 2)
        assert probe.spin_until(lambda: edge_done(diagnostics_values(diags)), 10), \
            f"{diagnostics_values(diags)}\n{edge.logs()}"
        values = diagnostics_values(diags)
        assert features_hash == own_type_hash(probe, "agilenn_ros/msg/FeatureFrame")
    finally:
        probe.close()
    assert_clean_exit(edge, edge.interrupt())
    assert values["rejected_model_hash"] == "0" and values["rejected_invalid"] == "0", values
    assert values["sequence_gaps"] == "0", values
    assert_predictions(preds, "cyclone0")
    assert_no_interop_warnings(edge, device)


def test_rclpy_device_to_cyclone_edge(ros_env: RosEnv, dds_python: Path) -> None:
    probe = Probe(ros_env.domain_id)
    try:
        preds = probe.subscribe("agilenn_ros/msg/Prediction", "/agilenn/prediction")
        classes = probe.subscribe("vision_msgs/msg/Classification", "/agilenn/classification")
        diags = probe.subscribe("diagnostic_msgs/msg/DiagnosticArray", "/diagnostics")
        edge = ros_env.run_dds(dds_python, ["agilenn_ros.nodes.edge_node", "--ros-args",
                                            "-p", "diagnostics_period_s:=0.5"], name="cyclone_edge")
        edge.wait_for(r"edge node ready", 60)
        assert probe.spin_until(lambda: probe.node.count_publishers("/agilenn/prediction") > 0, 20)
        probe.spin_until(lambda: False, 1.0)  # the edge's writer has matched the probe too
        device = ros_env.run_node("agilenn_device", "--ros-args", "-p", "source:=folder",
                                  "-p", f"max_frames:={FRAMES}", "-p", "rate_hz:=10.0", "-p", "device_id:=fastdds0",
                                  "-p", "wait_for_edge_s:=30.0")
        assert device.wait(90) == 0, device.logs()
        assert probe.spin_until(lambda: len(preds) >= FRAMES - 1 and len(classes) >= FRAMES - 1, 30), \
            f"{len(preds)} predictions {diagnostics_values(diags)}\n{edge.logs()}{device.logs()}"
        probe.spin_until(lambda: len(preds) >= FRAMES, 2)
        assert probe.spin_until(lambda: edge_done(diagnostics_values(diags)), 10), \
            f"{diagnostics_values(diags)}\n{edge.logs()}"
        values = diagnostics_values(diags)
        labels = probe.subscribe("vision_msgs/msg/LabelInfo", "/agilenn/label_info", Probe.qos(latched=True))
        assert probe.spin_until(lambda: labels, 15), edge.logs()
        for topic, type_name in [("/agilenn/prediction", "agilenn_ros/msg/Prediction"),
                                 ("/agilenn/classification", "vision_msgs/msg/Classification"),
                                 ("/agilenn/label_info", "vision_msgs/msg/LabelInfo"),
                                 ("/diagnostics", "diagnostic_msgs/msg/DiagnosticArray")]:
            assert remote_type_hash(probe, topic, "agilenn_edge") == own_type_hash(probe, type_name), topic
    finally:
        probe.close()
    assert_clean_exit(edge, edge.interrupt())
    assert values["rejected_model_hash"] == "0" and values["rejected_invalid"] == "0", values
    assert values["sequence_gaps"] == "0", values
    assert_predictions(preds, "fastdds0")
    assert [c.class_name for c in labels[0].class_map][:2] == ["airplane", "automobile"]
    assert all(c.results[0].class_id == p.label for c, p in zip(classes, preds))
    assert_no_interop_warnings(edge, device)
