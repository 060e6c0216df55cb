"""Discovery with ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST (issue 9, items 6, 7 and 19).

Item 6 (LOCALHOST between the Cyclone backend and Fast DDS, in both start orders) is
test_ros_interop.py. Here: a LOCALHOST Cyclone edge started first finds a device
participant that appears after Cyclone's default initial-locator prune delay (30 s) and that
never probes localhost itself (as a micro-ROS agent creates a device's participant when the
device connects); and `agilenn demo` run the `ros2 run` way on a ROS install picks rclpy."""
from __future__ import annotations

import time
from pathlib import Path

from rosproc import Probe, RosEnv, assert_clean_exit
from test_ros_nodes import assert_predictions

# A participant that cannot start discovery: loopback only, no multicast, no peers (and
# Cyclone's automatic localhost peer off). It answers who probes its port, nothing more.
PASSIVE_PARTICIPANT = ('<CycloneDDS><Domain><General><Interfaces><NetworkInterface address="127.0.0.1"/>'
                       '</Interfaces><AllowMulticast>false</AllowMulticast></General><Discovery>'
                       '<ParticipantIndex>auto</ParticipantIndex><Peers AddLocalhost="false"/></Discovery>'
                       '</Domain></CycloneDDS>')
CYCLONE_INITIAL_PRUNE_S = 30.0  # Cyclone DDS's default InitialLocatorPruneDelay


def test_localhost_dds_edge_finds_a_participant_that_appears_later(ros_env: RosEnv, dds_python: Path) -> None:
    frames = 4
    probe = Probe(ros_env.domain_id)
    try:
        preds = probe.subscribe("agilenn_ros/msg/Prediction", "/agilenn/prediction")
        started = time.monotonic()
        edge = ros_env.run_dds(dds_python, ["agilenn_ros.nodes.edge_node"], name="cyclone_edge")
        edge.wait_for(r"edge node ready", 60)
        probe.spin_until(lambda: False, max(0.0, CYCLONE_INITIAL_PRUNE_S + 5.0 - (time.monotonic() - started)))
        device = ros_env.run_dds(dds_python, ["agilenn_ros.nodes.device_node", "--ros-args", "-p", "source:=folder",
                                              "-p", f"max_frames:={frames}", "-p", "rate_hz:=10.0",
                                              "-p", "device_id:=late0", "-p", "wait_for_edge_s:=20.0"],
                                 name="late_device", discovery_range="SYSTEM_DEFAULT",
                                 CYCLONEDDS_URI=PASSIVE_PARTICIPANT)
        appeared = time.monotonic()
        assert device.wait(60) == 0, device.logs()
        assert probe.spin_until(lambda: len(preds) >= frames - 1, 20), f"{len(preds)} predictions\n{edge.logs()}"
        probe.spin_until(lambda: len(preds) >= frames, 2)
        found_after_s = time.monotonic() - appeared
    finally:
        probe.close()
    assert_clean_exit(edge, edge.interrupt())
    assert_predictions(preds, "late0", frames)
    assert found_after_s < 20.0


def test_agilenn_demo_on_a_ros_install_uses_rclpy(ros_env: RosEnv) -> None:
    """`ros2 run agilenn_ros agilenn demo` where rclpy is importable and cyclonedds is not."""
    demo = ros_env.run_node("agilenn", "demo", "--frames", "4", "--rate", "10", "--quiet", "--timeout", "90")
    code = demo.wait(120)
    assert code == 0, demo.logs()
    assert "transport rclpy" in demo.out(), demo.logs()
    assert "Traceback" not in demo.err(), demo.logs()
