"""Golden CDR bytes of the wire messages, and the encoder checked against independent ones.

Regenerate the vectors with ``python test/data/cdr_golden/make_golden.py`` (only when a
.msg change is intended: the micro-ROS firmware must follow).
"""

from __future__ import annotations

import importlib.util
import struct
from pathlib import Path

import numpy as np
import pytest

from agilenn_ros.transport import msgtypes

GOLDEN_DIR = Path(__file__).resolve().parent / "data" / "cdr_golden"
_spec = importlib.util.spec_from_file_location("make_golden", GOLDEN_DIR / "make_golden.py")
golden = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(golden)  # type: ignore[union-attr]


def _fields_equal(a, b) -> None:
    """Recursive field comparison of two rosbags messages."""
    assert type(a).__name__ == type(b).__name__
    for name in a.__dataclass_fields__:
        if name == "__msgtype__" or name.isupper():
            continue
        x, y = getattr(a, name), getattr(b, name)
        if hasattr(x, "__msgtype__"):
            _fields_equal(x, y)
        elif isinstance(x, np.ndarray):
            assert x.dtype == y.dtype and np.array_equal(x, y), name
        elif isinstance(x, list):
            assert len(x) == len(y), name
            for i, j in zip(x, y):
                if hasattr(i, "__msgtype__"):
                    _fields_equal(i, j)
                else:
                    assert i == j, name
        elif isinstance(x, float):
            assert np.float32(x) == np.float32(y), name
        else:
            assert x == y, name


@pytest.mark.parametrize("name", sorted(golden.SAMPLES))
def test_golden_bytes(name: str) -> None:
    type_name, msg = golden.build(name)
    data = msgtypes.serialize(msg, type_name)
    expected = golden.golden_path(name).read_bytes()
    assert data == expected, f"{name}: CDR differs from {golden.golden_path(name).name}"


@pytest.mark.parametrize("name", sorted(golden.SAMPLES))
def test_golden_round_trip(name: str) -> None:
    type_name, msg = golden.build(name)
    expected = golden.golden_path(name).read_bytes()
    decoded = msgtypes.deserialize(expected, type_name)
    _fields_equal(msg, decoded)
    assert msgtypes.serialize(decoded, type_name) == expected
    # DDS zero-pads samples to a multiple of 4 (up to 3 bytes): still the same message
    for pad in (1, 2, 3):
        _fields_equal(msg, msgtypes.deserialize(expected + b"\0" * pad, type_name))


def test_feature_frame_layout_by_hand() -> None:
    """Spot-check the golden FeatureFrame against the CDR rules, independent of rosbags."""
    data = golden.golden_path("feature_frame").read_bytes()
    fields = golden.SAMPLES["feature_frame"][1]
    assert data[:4] == b"\x00\x01\x00\x00"  # XCDR1, little endian
    body = data[4:]
    sec, nsec, flen = struct.unpack_from("<iII", body, 0)
    assert (sec, nsec) == (1700000000, 123456789)
    assert body[12:12 + flen] == b"camera_optical\0"  # length counts the NUL
    off = 12 + flen
    off += -off % 4
    dlen = struct.unpack_from("<I", body, off)[0]
    assert body[off + 4:off + 4 + dlen] == b"stm32f746-01\0"
    off += 4 + dlen
    off += -off % 4
    seq, mhash, c, h, w, codec = struct.unpack_from("<IIHHHB", body, off)
    assert (seq, mhash, c, h, w, codec) == (42, 0xA1B2C3D4, 19, 16, 16, 1)
    off += 15
    off += -off % 4
    plen = struct.unpack_from("<I", body, off)[0]
    assert body[off + 4:off + 4 + plen] == fields["payload"]
    off += 4 + plen
    off += -off % 4
    nlog = struct.unpack_from("<I", body, off)[0]
    logits = struct.unpack_from(f"<{nlog}f", body, off + 4)
    assert list(logits) == fields["local_logits"]
    assert struct.unpack_from("<I", body, off + 4 + 4 * nlog)[0] == 14000
    assert len(body) == off + 4 + 4 * nlog + 4


def test_reference_vector_52_bytes() -> None:
    """The hand-computed vector of ros2-wire.md 1.2 (a Prediction-shaped type), through the
    same rosbags path our messages use."""
    from rosbags.typesys import Stores, get_types_from_msg, get_typestore

    ts = get_typestore(Stores.ROS2_JAZZY)
    ts.register(get_types_from_msg(
        "std_msgs/Header header\nint32 class_id\nfloat32 confidence\nfloat32[] scores\nstring label\n",
        "wire_ref/msg/Prediction"))
    cls, hdr, t = ts.types["wire_ref/msg/Prediction"], ts.types["std_msgs/msg/Header"], ts.types["builtin_interfaces/msg/Time"]
    msg = cls(header=hdr(stamp=t(sec=1700000000, nanosec=123456789), frame_id="cam"), class_id=7,
              confidence=0.5, scores=np.array([0.25, 0.5, 0.125], np.float32), label="dog")
    expected = bytes.fromhex(
        "00010000 00f15365 15cd5b07 04000000 63616d00 07000000 0000003f"
        " 03000000 0000803e 0000003f 0000003e 04000000 646f6700")
    assert bytes(ts.serialize_cdr(msg, "wire_ref/msg/Prediction")) == expected


@pytest.mark.parametrize("name", sorted(golden.SAMPLES))
def test_cyclonedds_serializer_agrees(name: str) -> None:
    """cyclonedds-python's own XCDR1 serializer of the DDS type built from the .msg gives the
    same bytes (so raw passthrough and a stock cyclonedds peer see identical samples)."""
    pytest.importorskip("cyclonedds")
    from agilenn_ros.transport.dds import idl_struct

    type_name, _ = golden.build(name)
    data = golden.golden_path(name).read_bytes()
    cls = idl_struct(type_name)
    assert cls.__idl_typename__ == msgtypes.dds_type_name(type_name)
    sample = cls.deserialize(data)
    assert sample.serialize(use_version_2=False) == data


def test_new_message_defaults_and_errors() -> None:
    m = msgtypes.new_message("agilenn_ros/FeatureFrame")
    assert m.device_id == "" and m.sequence == 0 and m.payload.dtype == np.uint8 and len(m.payload) == 0
    assert m.local_logits.dtype == np.float32 and m.header.stamp.sec == 0
    assert msgtypes.msg_class("agilenn_ros/msg/FeatureFrame").CODEC_RANS == 1
    with pytest.raises(TypeError):
        msgtypes.new_message("agilenn_ros/msg/FeatureFrame", payloadd=b"")
    with pytest.raises(ValueError, match="bound 32768"):
        msgtypes.serialize(msgtypes.new_message("agilenn_ros/msg/FeatureFrame", payload=bytes(32769)))
    with pytest.raises(ValueError, match="bound 32"):
        msgtypes.serialize(msgtypes.new_message("agilenn_ros/msg/Prediction", device_id="x" * 33))
    msgtypes.serialize(msgtypes.new_message("agilenn_ros/msg/FeatureFrame", payload=bytes(32768)))


def test_standard_and_vendored_types() -> None:
    for name in msgtypes.STANDARD_TYPES:
        msgtypes.serialize(msgtypes.new_message(name), name)
    c = msgtypes.new_message("vision_msgs/msg/Classification", header={"frame_id": "cam"},
                             results=[{"class_id": "3", "score": 0.5}])
    back = msgtypes.deserialize(msgtypes.serialize(c), "vision_msgs/msg/Classification")
    assert back.results[0].class_id == "3" and back.results[0].score == 0.5
    # Image RIHS01 equals ROS's own golden value (ros2-wire.md 1.4)
    assert msgtypes.type_hash("sensor_msgs/msg/Image").startswith("RIHS01_d31d41a9")
    assert msgtypes.type_hash("agilenn_ros/msg/Prediction").startswith("RIHS01_")
