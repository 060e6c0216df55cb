"""The colcon build from the ros-jazzy-* wheels: what got installed, and that this test
process uses it (not the source checkout) without rosidl_runtime_py or cyclonedds."""
from __future__ import annotations

import importlib.util
from pathlib import Path


def test_messages_come_from_the_colcon_install(install_prefix: Path) -> None:
    import agilenn_ros
    import agilenn_ros.msg as msgs

    site = install_prefix / "lib" / "python3.11" / "site-packages" / "agilenn_ros"
    assert Path(msgs.__file__).resolve().is_relative_to(site.resolve())
    assert Path(agilenn_ros.__file__).resolve().parent == site.resolve()
    ff = msgs.FeatureFrame()
    fields = ff.get_fields_and_field_types()
    assert fields["payload"].startswith("sequence<uint8") and fields["local_logits"].startswith("sequence<float")
    assert "confidence" in msgs.Prediction.get_fields_and_field_types()
    for exe in ("agilenn_device", "agilenn_edge", "agilenn_consumer", "agilenn_runner", "agilenn"):
        assert (install_prefix / "lib" / "agilenn_ros" / exe).stat().st_mode & 0o111, exe
    assert (install_prefix / "share" / "agilenn_ros" / "models" / "cifar10" / "manifest.json").is_file()


def test_test_vision_msgs_have_the_interface_layout() -> None:
    from vision_msgs.msg import Classification, LabelInfo, ObjectHypothesis, VisionClass

    assert ObjectHypothesis.get_fields_and_field_types() == {"class_id": "string", "score": "double"}
    assert Classification.get_fields_and_field_types() == {
        "header": "std_msgs/Header", "results": "sequence<vision_msgs/ObjectHypothesis>"}
    assert VisionClass.get_fields_and_field_types() == {"class_id": "uint16", "class_name": "string"}
    assert LabelInfo.get_fields_and_field_types() == {
        "header": "std_msgs/Header", "class_map": "sequence<vision_msgs/VisionClass>", "threshold": "float"}


def test_rclpy_venv_has_no_cyclonedds_and_auto_picks_rclpy() -> None:
    from agilenn_ros.transport import choose_backend

    assert importlib.util.find_spec("cyclonedds") is None, "the ROS venv must not have cyclonedds"
    assert importlib.util.find_spec("rosidl_runtime_py") is None  # type lookup must not need it
    assert choose_backend("auto") == "rclpy"


def test_source_checkout_first_still_finds_the_installed_messages(install_prefix: Path, tmp_path: Path) -> None:
    """Item 3: with the repository first on PYTHONPATH (colcon test, scripts run from a checkout)
    the source package is used and ``agilenn_ros.msg`` still comes from the install."""
    import os
    import subprocess
    import sys

    repo = Path(__file__).resolve().parents[2]
    env = dict(os.environ, PYTHONPATH=str(repo) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    code = ("import agilenn_ros, agilenn_ros.msg as m, agilenn_ros.transport as t; "
            "print(agilenn_ros.__file__); print(m.__file__); print(m.FeatureFrame.__name__)")
    out = subprocess.run([sys.executable, "-P", "-c", code], env=env, capture_output=True, text=True,
                         cwd=tmp_path, timeout=60)
    assert out.returncode == 0, out.stderr
    pkg_file, msg_file, name = out.stdout.split()
    assert Path(pkg_file).resolve().parent == (repo / "agilenn_ros").resolve()
    assert Path(msg_file).resolve().is_relative_to(install_prefix.resolve()) and name == "FeatureFrame"


def test_firmware_sources_found_from_the_install(install_prefix: Path, monkeypatch) -> None:
    """Item 4: the installed package finds the firmware core's sources in its share folder."""
    monkeypatch.delenv("AGILENN_FIRMWARE_DIR", raising=False)
    from agilenn_ros.runtime.firmware_core import firmware_dir

    found = firmware_dir()
    assert found.resolve() == (install_prefix / "share" / "agilenn_ros" / "firmware_microros").resolve()
    assert (found / "core" / "agilenn_core.c").is_file() and (found / "host" / "agilenn_shlib.c").is_file()


def test_firmware_core_runs_from_the_install(tmp_path: Path, monkeypatch) -> None:
    """The device emulator's firmware path on a ROS install: the C core is compiled from the
    installed sources and its payload decodes at the edge."""
    import numpy as np

    monkeypatch.delenv("AGILENN_FIRMWARE_DIR", raising=False)
    from agilenn_ros.runtime.bundle import load_bundle
    from agilenn_ros.runtime.edge_pipeline import EdgePipeline
    from agilenn_ros.runtime.firmware_core import FirmwareCore
    from agilenn_ros.runtime.frame_sources import open_source

    bundle = load_bundle("cifar10")
    core = FirmwareCore(bundle.path, cache_dir=tmp_path)
    frame = next(iter(open_source("folder", "").frames()))
    res = core.run(frame.rgb)
    out = EdgePipeline(bundle).process(res.codec_id, res.payload, core.remote_shape,
                                       np.asarray(res.local_logits, np.float32))
    assert out.remote_used and 0 <= out.class_id < 10
