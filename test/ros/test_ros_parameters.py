"""Node parameters and start-up behaviour on rclpy (Fast DDS), from the colcon install
(issue 9 items 5, 10, 11, 12, 18): what a `ros2 param set` (SetParameters service) answers for
read-only and live parameters and whether live ones take effect; configuration errors as one
line and exit code 1 (issue 9 item 10; usage errors of the `agilenn` CLI exit 2); the edge without
vision_msgs; the remapped features topic in the log;
a consumer that starts after the edge still gets the first prediction."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from typing import Any

from rosproc import Probe, RosEnv, assert_clean_exit


def set_parameter(probe: Probe, node: str, name: str, value: Any) -> tuple[bool, str]:
    """What `ros2 param set <node> <name> <value>` does: one SetParameters call."""
    from rcl_interfaces.srv import SetParameters
    from rclpy.parameter import Parameter

    client = probe.node.create_client(SetParameters, f"{node}/set_parameters")
    try:
        assert probe.spin_until(client.service_is_ready, 30), f"no parameter service on {node}"
        future = client.call_async(SetParameters.Request(parameters=[Parameter(name, value=value).to_parameter_msg()]))
        assert probe.spin_until(future.done, 15), f"{node}: set_parameters did not answer"
        result = future.result().results[0]
        return bool(result.successful), str(result.reason)
    finally:
        probe.node.destroy_client(client)


def test_param_set_refuses_read_only_and_applies_live(ros_env: RosEnv) -> None:
    runner = ros_env.run_node("agilenn_runner", "--nodes", "edge,device", "--ros-args",
                              "-p", "source:=folder", "-p", "loop:=true", "-p", "rate_hz:=2.0")
    probe = Probe(ros_env.domain_id)
    try:
        preds = probe.subscribe("agilenn_ros/msg/Prediction", "/agilenn/prediction")
        assert probe.spin_until(lambda: len(preds) >= 1, 90), runner.logs()
        # read-only: refused with a reason, nothing changes (was: "Set parameter successful")
        ok, reason = set_parameter(probe, "/agilenn/agilenn_edge", "model", "nonexistent_model")
        assert not ok and "read-only" in reason, reason
        ok, reason = set_parameter(probe, "/agilenn/agilenn_device_0", "codec", "lzw")
        assert not ok and "read-only" in reason, reason
        # live: checked, then applied (the frame timer runs at the new rate)
        ok, reason = set_parameter(probe, "/agilenn/agilenn_device_0", "rate_hz", 0.0)
        assert not ok and "must be > 0" in reason, reason
        ok, reason = set_parameter(probe, "/agilenn/agilenn_device_0", "rate_hz", 20)
        assert not ok and "DOUBLE" in reason, reason
        start = len(preds)
        probe.spin_until(lambda: False, 2.0)
        slow = len(preds) - start
        ok, reason = set_parameter(probe, "/agilenn/agilenn_device_0", "rate_hz", 20.0)
        assert ok, reason
        probe.spin_until(lambda: False, 1.0)  # the change settles
        start = len(preds)
        probe.spin_until(lambda: False, 2.0)
        fast = len(preds) - start
        assert slow <= 6 and fast >= 15, (slow, fast, runner.logs())
        runner.wait_for(r"parameter rate_hz set to 20\.0", 10, stream="stderr")
    finally:
        probe.close()
    assert_clean_exit(runner, runner.interrupt())


def test_configuration_errors_are_one_line_and_exit_non_zero(ros_env: RosEnv) -> None:
    cases = [(["-p", "rate_hz:=10"], "rate_hz"), (["-p", "model:=nonexistent_model"], "model"),
             (["-p", "features_reliability:=sometimes"], "features_reliability")]
    for i, (args, parameter) in enumerate(cases):
        exe = "agilenn_edge" if parameter == "features_reliability" else "agilenn_device"
        proc = ros_env.run_node(exe, "--ros-args", *args, name=f"bad{i}")
        assert proc.wait(60) == 1, proc.logs()  # issue 9 item 10: one line, exit code 1
        lines = [line for line in (proc.out() + proc.err()).splitlines() if line.strip()]
        assert "Traceback" not in proc.err(), proc.logs()
        assert len(lines) == 1 and f"configuration error: parameter '{parameter}'" in lines[0], proc.logs()


def _without_vision_msgs(env: dict[str, str]) -> dict[str, str]:
    """The sourced environment minus the (test) vision_msgs install prefix."""
    out = dict(env)
    for var in ("AMENT_PREFIX_PATH", "CMAKE_PREFIX_PATH", "PYTHONPATH", "LD_LIBRARY_PATH", "COLCON_PREFIX_PATH"):
        if var in out:
            out[var] = os.pathsep.join(p for p in out[var].split(os.pathsep) if "vision_msgs" not in p)
    return out


def test_edge_without_vision_msgs_warns_once_and_predicts(ros_env: RosEnv) -> None:
    env = _without_vision_msgs(ros_env.rclpy_env())
    probe_code = "import importlib.util, sys; sys.exit(importlib.util.find_spec('vision_msgs') is not None)"
    assert subprocess.run([sys.executable, "-c", probe_code], env=ros_env.rclpy_env()).returncode == 1, \
        "the test vision_msgs is not installed: nothing to take away"
    assert subprocess.run([sys.executable, "-c", probe_code], env=env).returncode == 0, "vision_msgs still visible"
    edge = ros_env.start("edge", [ros_env.launcher("agilenn_edge"), "--ros-args", "-r", "__ns:=/agilenn",
                                  "-p", "publish_classification:=false", "-r", "features:=/cam1/features"], env)
    probe = Probe(ros_env.domain_id)
    try:
        preds = probe.subscribe("agilenn_ros/msg/Prediction", "/agilenn/prediction")
        # predictions are not kept for late joiners: the probe listens before any frame is sent
        assert probe.spin_until(lambda: probe.node.count_publishers("/agilenn/prediction") > 0, 30), edge.logs()
        probe.spin_until(lambda: False, 1.0)  # the edge's writer has matched the probe too
        device = ros_env.run_node("agilenn_device", "--ros-args", "-r", "__ns:=/agilenn", "-p", "source:=folder",
                                  "-p", "max_frames:=4", "-p", "rate_hz:=10.0", "-r", "features:=/cam1/features")
        assert probe.spin_until(lambda: len(preds) >= 4, 90), edge.logs() + device.logs()
    finally:
        probe.close()
    assert edge.err().count("vision_msgs is not installed") == 1, edge.logs()
    assert "listening on /cam1/features" in edge.err(), edge.logs()  # the remapped name (item 11)
    assert_clean_exit(edge, edge.interrupt())
    device.wait(30)


def test_consumer_started_after_the_edge_gets_the_first_prediction(ros_env: RosEnv) -> None:
    """demo.launch.py's start-up without launch: edge waits for a consumer, device for the edge."""
    jsonl = ros_env.workdir / "consumer.jsonl"
    edge = ros_env.run_node("agilenn_edge", "--ros-args", "-r", "__ns:=/agilenn", "-p", "wait_for_consumer_s:=60.0")
    device = ros_env.run_node("agilenn_device", "--ros-args", "-r", "__ns:=/agilenn", "-p", "source:=folder",
                              "-p", "max_frames:=5", "-p", "rate_hz:=10.0", "-p", "wait_for_edge_s:=90.0")
    edge.wait_for(r"waiting up to 60 s for a subscriber on /agilenn/prediction", 60, stream="stderr")
    time.sleep(3.0)  # edge and device are up; nothing may be sent before the consumer listens
    assert "listening on" not in edge.err(), edge.logs()
    consumer = ros_env.run_node("agilenn_consumer", "--ros-args", "-r", "__ns:=/agilenn",
                                "-p", f"jsonl:={jsonl}", "-p", "max_predictions:=5")
    assert consumer.wait(90) == 0, consumer.logs() + edge.logs() + device.logs()
    sequences = [json.loads(line)["sequence"] for line in jsonl.read_text().splitlines()]
    assert sequences == [0, 1, 2, 3, 4], sequences
    assert_clean_exit(edge, edge.interrupt())
    device.wait(30)
