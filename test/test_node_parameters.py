"""Node parameters and start-up behaviour on the DDS transport (no ROS needed): read-only
parameters refuse run-time changes with a reason, run-time ones take effect, configuration
errors end in one log line and exit code 1, the edge runs without vision_msgs, logs the
features topic it really subscribes (after remaps) and can wait for its consumer.

The same behaviour through rclpy (``ros2 param set`` semantics) is tested by the ROS 2 suite
(``make test-ros``)."""
from __future__ import annotations

import random
import subprocess
from pathlib import Path

import pytest

pytest.importorskip("cyclonedds")

from conftest import PYTHON, python_env  # noqa: E402

from agilenn_ros.transport import RELIABLE, make_transport  # noqa: E402


@pytest.fixture
def dds_domain(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.setenv("ROS_DOMAIN_ID", str(random.SystemRandom().randint(100, 232)))
    monkeypatch.setenv("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
    for var in ("CYCLONEDDS_URI", "AGILENN_TRANSPORT", "ROS_STATIC_PEERS"):
        monkeypatch.delenv(var, raising=False)
    env = python_env()
    env["AGILENN_TRANSPORT"] = "dds"
    return env


def test_read_only_parameters_refuse_and_dynamic_ones_take_effect(cifar_bundle: Path, dds_domain: dict) -> None:
    from agilenn_ros.nodes.consumer import PredictionConsumer
    from agilenn_ros.nodes.device_node import DeviceEmulatorNode
    from agilenn_ros.nodes.edge_node import EdgeNode

    with make_transport("dds", argv=["test"], install_signal_handlers=False) as transport:
        edge = EdgeNode(transport, parameter_overrides={"model": str(cifar_bundle), "diagnostics_period_s": 0.2})
        device = DeviceEmulatorNode(transport, parameter_overrides={
            "model": str(cifar_bundle), "source": "folder", "loop": True, "rate_hz": 2.0, "wait_for_edge_s": 10.0})
        consumer = PredictionConsumer(transport, parameter_overrides={"print": False})

        # read-only: refused with rclpy's reason, nothing changes
        assert edge.node.set_parameter("model", "nonexistent_model") == "Trying to set a read-only parameter: model."
        assert edge.node.get_parameter("model") == str(cifar_bundle) and edge.params["model"] == str(cifar_bundle)
        assert device.node.set_parameter("codec", "lzw") == "Trying to set a read-only parameter: codec."
        assert consumer.node.set_parameter("jsonl", "/tmp/x.jsonl") is not None

        # device rate_hz: validated, then the frame timer is re-armed
        assert "must be > 0" in device.node.set_parameter("rate_hz", 0.0)
        assert "DOUBLE" in device.node.set_parameter("rate_hz", 50)        # an int for a float, as rclpy
        assert device.timer.period_s == pytest.approx(0.5)
        assert transport.spin_until(lambda: consumer.received >= 1, 20)
        before = consumer.received
        assert device.node.set_parameter("rate_hz", 25.0) is None
        assert device.timer.period_s == pytest.approx(0.04) and device.params["rate_hz"] == 25.0
        transport.spin(1.5)
        assert consumer.received - before >= 10, "rate_hz change did not take effect"

        # edge diagnostics: period and hardware id apply at run time, 0 switches them off
        diagnostics: list = []
        watcher = transport.create_node("watcher", "/agilenn")
        watcher.create_subscription("diagnostic_msgs/msg/DiagnosticArray", "/diagnostics", diagnostics.append,
                                    RELIABLE)
        assert edge.node.set_parameter("hardware_id", "edge-7") is None
        assert transport.spin_until(lambda: any(d.status[0].hardware_id == "edge-7" for d in diagnostics), 10)
        assert "must be >= 0" in edge.node.set_parameter("diagnostics_period_s", -1.0)
        assert edge.node.set_parameter("diagnostics_period_s", 0.0) is None
        assert edge.diagnostics_timer is None
        transport.spin(0.3)
        count = len(diagnostics)
        transport.spin(0.8)
        assert len(diagnostics) == count

        # consumer: max_predictions set at run time ends it
        assert consumer.node.set_parameter("max_predictions", consumer.received + 2) is None
        assert transport.spin_until(lambda: consumer.finished, 10)
        edge.close()


@pytest.mark.parametrize("args, parameter", [
    (["-p", "rate_hz:=10"], "rate_hz"),                       # int for a float parameter
    (["-p", "model:=nonexistent_model"], "model"),            # no such bundle
    (["-p", "source:=webcam"], "source"),                     # not a source
    (["-p", "source:=folder", "-p", "path:=/no/such/dir"], "path"),
    (["-p", "source:=video", "-p", "path:=/no/such/video.mp4"], "path"),
])
def test_configuration_error_is_one_line_and_exit_1(dds_domain: dict, args: list[str], parameter: str) -> None:
    proc = subprocess.run([PYTHON, "-m", "agilenn_ros.nodes.device_node", "--ros-args", *args],
                          env=dds_domain, capture_output=True, text=True, timeout=120)
    output = (proc.stdout + proc.stderr).strip().splitlines()
    assert proc.returncode == 1, output     # issue 9 item 10: one line, exit code 1
    assert "Traceback" not in proc.stderr
    errors = [line for line in output if "[ERROR]" in line]
    assert len(errors) == 1 and f"configuration error: parameter '{parameter}'" in errors[0], output
    assert len(output) <= 2, output  # at most one startup info line besides the error


def test_edge_runs_without_vision_msgs(cifar_bundle: Path, dds_domain: dict, monkeypatch: pytest.MonkeyPatch,
                                       capfd: pytest.CaptureFixture) -> None:
    from agilenn_ros.nodes.device_node import DeviceEmulatorNode
    from agilenn_ros.nodes.edge_node import EdgeNode

    with make_transport("dds", argv=["test"], install_signal_handlers=False) as transport:
        real = transport.has_type
        monkeypatch.setattr(transport, "has_type", lambda name: not name.startswith("vision_msgs/") and real(name))
        edge = EdgeNode(transport, parameter_overrides={"model": str(cifar_bundle),
                                                        "publish_classification": False})
        assert edge.pub_classification is None and edge.pub_label_info is None
        topics = {p.topic_name for p in edge.node.publishers}
        assert "/agilenn/label_info" not in topics and "/agilenn/classification" not in topics
        predictions: list = []
        listener = transport.create_node("listener", "/agilenn")
        listener.create_subscription("agilenn_ros/msg/Prediction", "prediction", predictions.append, RELIABLE)
        assert transport.spin_until(lambda: edge.pub_prediction.get_subscription_count() > 0, 10)
        device = DeviceEmulatorNode(transport, parameter_overrides={
            "model": str(cifar_bundle), "source": "folder", "rate_hz": 20.0, "max_frames": 3})
        assert transport.spin_until(lambda: len(predictions) == 3 and device.finished, 30), \
            (len(predictions), device.finished, edge.stats.summary())
        edge.close()
        EdgeNode(transport, name="edge_b", parameter_overrides={"model": str(cifar_bundle)}).close()  # classification on
    err = capfd.readouterr().err
    assert err.count("vision_msgs is not installed") == 2, err  # once per edge node


def test_edge_logs_the_remapped_features_topic(cifar_bundle: Path, dds_domain: dict,
                                               capfd: pytest.CaptureFixture) -> None:
    from agilenn_ros.nodes.edge_node import EdgeNode

    argv = ["test", "--ros-args", "-r", "features:=/cam1/features"]
    with make_transport("dds", argv=argv, install_signal_handlers=False) as transport:
        edge = EdgeNode(transport, parameter_overrides={"model": str(cifar_bundle)})
        assert edge.sub_features.topic_name == "/cam1/features"
        edge.close()
    err = capfd.readouterr().err
    assert "listening on /cam1/features" in err and "listening on /agilenn/features" not in err


def test_edge_waits_for_its_consumer(cifar_bundle: Path, dds_domain: dict) -> None:
    """demo.launch.py's start-up: a consumer that comes up after the edge and the device still
    gets the first prediction (sequence 0), because the edge subscribes to features only
    once prediction is matched and the device waits for the edge."""
    from agilenn_ros.nodes.consumer import PredictionConsumer
    from agilenn_ros.nodes.device_node import DeviceEmulatorNode
    from agilenn_ros.nodes.edge_node import EdgeNode

    with make_transport("dds", argv=["test"], install_signal_handlers=False) as transport:
        edge = EdgeNode(transport, parameter_overrides={"model": str(cifar_bundle), "wait_for_consumer_s": 30.0})
        device = DeviceEmulatorNode(transport, parameter_overrides={
            "model": str(cifar_bundle), "source": "folder", "rate_hz": 20.0, "max_frames": 5,
            "wait_for_edge_s": 60.0})
        transport.spin(1.5)
        assert edge.sub_features is None and device.sequence == 0
        sequences: list[int] = []
        consumer = PredictionConsumer(transport, parameter_overrides={"print": False, "max_predictions": 5})
        consumer.node.create_subscription("agilenn_ros/msg/Prediction", "prediction",
                                          lambda msg: sequences.append(int(msg.sequence)), RELIABLE)
        assert transport.spin_until(lambda: consumer.finished and len(sequences) == 5, 30)
        assert sequences == [0, 1, 2, 3, 4]
        assert edge.sub_features is not None
        edge.close()
