"""The device emulator's camera input (issue 10 item 7): image_qos adapts to the publishers,
large reliable camera frames all arrive, and frames the device could not take are counted."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from test_transport_dds import dds_env  # noqa: F401 (fixture)

from agilenn_ros.transport import RELIABLE, SENSOR, make_transport


def test_auto_rule() -> None:
    from agilenn_ros.nodes.image_input import ImageInput, check_image_qos
    rule = ImageInput.wanted
    fake = type("S", (), {"reliability": ""})()
    assert rule(fake, None) == "best_effort" and rule(fake, []) == "best_effort"
    assert rule(fake, ["reliable", "reliable"]) == "reliable"
    assert rule(fake, ["reliable", "best_effort"]) == "best_effort"
    fake.reliability = "reliable"
    assert rule(fake, []) == "reliable"                 # publishers gone: keep what matched them
    assert check_image_qos("auto") is None and "must be one of" in check_image_qos("sensor")


def _image(node, width: int, height: int, seed: int, encoding: str = "rgb8", stamp_ns: int = 0):
    """An image stamped ``stamp_ns`` (default: frame ``seed`` of a 4 Hz camera)."""
    rng = np.random.default_rng(seed)
    channels = 2 if encoding == "16UC1" else 3
    data = rng.integers(0, 256, size=height * width * channels, dtype=np.uint8)
    stamp_ns = stamp_ns or 1_700_000_000_000_000_000 + seed * 250_000_000
    return node.message("sensor_msgs/msg/Image", header={"stamp": divmod(stamp_ns, 1_000_000_000),
                                                         "frame_id": "cam"},
                        height=height, width=width, encoding=encoding, is_bigendian=0, step=width * channels,
                        data=data)


def test_reliable_camera_large_frames_all_arrive_and_counts(cifar_bundle: Path, dds_env) -> None:  # noqa: F811
    from agilenn_ros.nodes.device_node import DeviceEmulatorNode
    transport = make_transport("dds", argv=["test"], install_signal_handlers=False)
    try:
        camera = transport.create_node("usb_cam", "/")
        pub = camera.create_publisher("sensor_msgs/msg/Image", "/cam/image_raw", RELIABLE)   # as usb_cam
        frames: list = []
        camera.create_subscription("agilenn_ros/msg/FeatureFrame", "/agilenn/features", frames.append, RELIABLE)
        device = DeviceEmulatorNode(transport, parameter_overrides={
            "model": str(cifar_bundle), "source": "topic", "image_topic": "/cam/image_raw"})
        images = device.images
        assert images is not None and images.mode == "auto"
        assert camera.publisher_reliabilities("/cam/image_raw") == ["reliable"]
        assert transport.spin_until(lambda: images.reliability == "reliable" and len(images._subs) == 1
                                    and pub.get_subscription_count() >= 1, 10)
        for i in range(6):                                   # 1280x720 rgb8, 2.7 MB each, 4 Hz
            pub.publish(_image(camera, 1280, 720, i))
            transport.spin_until(lambda: len(frames) > i, 5)
        assert transport.spin_until(lambda: len(frames) >= 6, 10)
        assert images.counts.taken == 6 and images.counts.not_taken == 0
        # a burst faster than the device: it takes the newest, the others are counted as busy
        for i in range(4):
            pub.publish(_image(camera, 64, 48, 6 + i))
        transport.spin_until(lambda: images.counts.received >= 10 and images._pending is None, 10)
        assert images.counts.received == 10
        assert images.counts.taken + images.counts.busy == 10 and images.counts.taken >= 7
        assert images.counts.missing == 0
        # frames 10 and 11 never arrive (a best-effort reader losing fragments): seen in the stamps
        pub.publish(_image(camera, 64, 48, 12))
        assert transport.spin_until(lambda: images.counts.received == 11, 10)
        assert images.counts.missing == 2 and images.counts.lost_in_transport == 2
        # the camera pauses for 40 frame periods (or its publisher restarts): not a loss
        pub.publish(_image(camera, 64, 48, 52))
        assert transport.spin_until(lambda: images.counts.received == 12, 10)
        assert images.counts.missing == 2
        # a depth image: unusable, counted
        pub.publish(_image(camera, 32, 24, 13, encoding="16UC1"))
        assert transport.spin_until(lambda: images.counts.unusable == 1, 10)
        assert "could not be taken" in images.counts.summary()
        # a best-effort publisher joins: a reliable reader would never match it -> best effort
        other = camera.create_publisher("sensor_msgs/msg/Image", "/cam/image_raw", SENSOR)
        assert transport.spin_until(lambda: images.reliability == "best_effort" and len(images._subs) == 1, 10)
        assert sorted(camera.publisher_reliabilities("/cam/image_raw")) == ["best_effort", "reliable"]
        before = len(frames)
        assert transport.spin_until(lambda: other.get_subscription_count() >= 1, 10)
        other.publish(_image(camera, 64, 48, 300))
        assert transport.spin_until(lambda: len(frames) > before, 10)
    finally:
        transport.shutdown()


def test_fixed_image_qos_and_bad_value(cifar_bundle: Path, dds_env) -> None:  # noqa: F811
    from agilenn_ros.nodes.device_node import DeviceEmulatorNode
    transport = make_transport("dds", argv=["test"], install_signal_handlers=False)
    try:
        device = DeviceEmulatorNode(transport, parameter_overrides={
            "model": str(cifar_bundle), "source": "topic", "image_qos": "best_effort"})
        assert device.images.reliability == "best_effort" and device.images.mode == "best_effort"
        camera = transport.create_node("usb_cam", "/")
        camera.create_publisher("sensor_msgs/msg/Image", "/agilenn/image_raw", RELIABLE)
        assert transport.spin_until(lambda: device.images._advised, 10)     # warned once
        with pytest.raises(Exception, match="image_qos"):
            DeviceEmulatorNode(transport, name="second", parameter_overrides={
                "model": str(cifar_bundle), "source": "topic", "image_qos": "sometimes"})
    finally:
        transport.shutdown()


# ------------------------------------------------------------------------------ agilenn demo arguments


@pytest.mark.parametrize("argv, env, words", [
    (["--frames", "0"], {}, ["--frames must be at least 1"]),
    (["--frames", "-5", "--rate", "0"], {}, ["--frames must be at least 1", "--rate must be a positive"]),
    (["--devices", "0", "--timeout", "-1"], {}, ["--devices must be at least 1", "--timeout must be a positive"]),
    ([], {"ROS_DOMAIN_ID": "300"}, ["ROS_DOMAIN_ID=300 is outside 0..232"]),
    ([], {"ROS_DOMAIN_ID": "abc"}, ["ROS_DOMAIN_ID='abc' is not an integer"]),
    (["--images", "/nonexistent/images"], {}, ["--images /nonexistent/images: no such file"]),
    (["--model", "/nonexistent/bundle"], {}, ["--model /nonexistent/bundle"]),
])
def test_demo_rejects_bad_arguments_before_starting_anything(argv, env, words, monkeypatch, capsys) -> None:
    import subprocess as sp
    from agilenn_ros.cli import main

    def no_process(*args, **kwargs):
        raise AssertionError("a process was started")
    monkeypatch.setattr(sp, "Popen", no_process)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    rc = main(["demo", *argv])
    captured = capsys.readouterr()
    lines = [line for line in captured.err.splitlines() if line]
    assert rc == 2 and len(lines) == len(words), lines
    for line, word in zip(lines, words):
        assert line.startswith("agilenn demo: error: ") and word in line, (line, word)
    assert "Traceback" not in captured.err and "nan" not in captured.out.lower()


def test_demo_runtime_error_is_one_line(monkeypatch, capsys) -> None:
    import importlib.util
    from agilenn_ros.cli import main
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "rclpy" else real(name, *a))
    rc = main(["demo", "--transport", "rclpy"])
    err = capsys.readouterr().err
    assert rc == 1 and err.strip().count("\n") == 0 and "rclpy is not installed" in err


def test_device_source_errors_one_line_exit_1(dds_env) -> None:  # noqa: F811
    """source=camera without a camera, a missing video file, an unknown source: one line each
    naming the parameter, exit code 1 (issue 9 item 10), no traceback, no OpenCV probing noise."""
    import subprocess
    import sys
    cases = [(["-p", "source:=camera", "-p", "camera_index:=99"], 1, "no camera at index 99"),
             (["-p", "source:=video", "-p", "path:=/no/such/clip.mp4"], 1, "video file '/no/such/clip.mp4' does not exist"),
             (["-p", "source:=webcam"], 1, "must be one of topic, folder, video, camera")]
    for args, status, words in cases:
        proc = subprocess.run([sys.executable, "-m", "agilenn_ros.nodes.device_node", "--ros-args", *args],
                              env=dds_env, capture_output=True, text=True, timeout=120)
        lines = (proc.stdout + proc.stderr).strip().splitlines()
        assert proc.returncode == status, lines
        assert "Traceback" not in proc.stderr and len(lines) == 1 and words in lines[0], lines
