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
