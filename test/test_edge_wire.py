"""The edge's own CDR reader/writers against rosbags (byte for byte), and the field bounds."""
from __future__ import annotations

import struct

import numpy as np
import pytest

from agilenn_ros.runtime.frame_wire import (FieldLimits, WireReject, classification_cdr, parse_feature_frame,
                                            prediction_cdr)
from agilenn_ros.transport import msgtypes

FRAME = "agilenn_ros/msg/FeatureFrame"


def frame_cdr(**over: object) -> bytes:
    fields: dict = dict(header={"stamp": (1700000000, 123456789), "frame_id": "camera_optical"}, device_id="dev-7",
                        sequence=41, model_hash=0x2F55AE31, channels=19, height=16, width=16, codec=1,
                        payload=np.arange(37, dtype=np.uint8), local_logits=np.linspace(-1, 1, 10, dtype=np.float32),
                        device_compute_us=1234)
    fields.update(over)
    return msgtypes.serialize(msgtypes.new_message(FRAME, **fields), FRAME)


def test_parse_matches_rosbags() -> None:
    for frame_id, payload_len, n_logits in (("camera_optical", 37, 10), ("", 0, 0), ("x" * 256, 1, 256)):
        data = frame_cdr(header={"stamp": (5, 6), "frame_id": frame_id}, payload=np.arange(payload_len) % 256,
                         local_logits=np.arange(n_logits, dtype=np.float32))
        f = parse_feature_frame(data + b"\0\0")  # raw samples may carry padding
        msg = msgtypes.deserialize(data, FRAME)
        assert (f.stamp_sec, f.stamp_nanosec, f.frame_id, f.device_id) == (5, 6, frame_id, "dev-7")
        assert (f.sequence, f.model_hash, f.shape, f.codec, f.device_compute_us) == (41, 0x2F55AE31, (19, 16, 16), 1, 1234)
        assert bytes(f.payload) == bytes(msg.payload)
        assert np.array_equal(f.local_logits, np.asarray(msg.local_logits))


def test_parse_big_endian() -> None:
    le = frame_cdr(device_id="abc")
    # a big-endian encoding of the same fields, written by hand
    body = struct.pack(">iI", 1700000000, 123456789) + struct.pack(">I", 15) + b"camera_optical\0" + b"\0"
    body += struct.pack(">I", 4) + b"abc\0" + struct.pack(">IIHHHB", 41, 0x2F55AE31, 19, 16, 16, 1) + b"\0"
    body += struct.pack(">I", 2) + b"\x01\x02" + b"\0\0" + struct.pack(">I", 10)
    body += np.linspace(-1, 1, 10, dtype=">f4").tobytes() + struct.pack(">I", 1234)
    f = parse_feature_frame(b"\x00\x00\x00\x00" + body)
    g = parse_feature_frame(le)
    assert (f.frame_id, f.device_id, f.sequence, f.shape, f.device_compute_us) == ("camera_optical", "abc", 41,
                                                                                   (19, 16, 16), 1234)
    assert bytes(f.payload) == b"\x01\x02" and np.array_equal(f.local_logits, g.local_logits)


@pytest.mark.parametrize("make, counter", [
    (lambda: frame_cdr(header={"stamp": (1, 2), "frame_id": "f" * 257}), "rejected_field_bounds"),
    (lambda: frame_cdr(header={"stamp": (1, 2), "frame_id": "f" * (8 << 20)}), "rejected_field_bounds"),
    (lambda: frame_cdr()[:-6], "rejected_malformed"),
    (lambda: frame_cdr()[:20], "rejected_malformed"),
    (lambda: b"\x01\x02\x00\x00" + frame_cdr()[4:], "rejected_malformed"),
    (lambda: b"", "rejected_malformed"),
])
def test_parse_rejects(make, counter: str) -> None:
    with pytest.raises(WireReject) as info:
        parse_feature_frame(make())
    assert info.value.counter == counter


def _patch_device_id(raw: bytes, new: bytes) -> bytes:
    """Replace device_id 'dev-7' in serialized CDR by ``new`` (same length field semantics)."""
    old = struct.pack("<I", 6) + b"dev-7\0"
    at = raw.index(old)
    rest = raw[at + len(old):]
    body = struct.pack("<I", len(new) + 1) + new + b"\0"
    pad_old, pad_new = -(at - 4 + len(old)) % 4, -(at - 4 + len(body)) % 4
    return raw[:at] + body + b"\0" * pad_new + rest[pad_old:]


def test_parse_rejects_device_id_bounds_and_encoding() -> None:
    raw = frame_cdr()
    assert parse_feature_frame(_patch_device_id(raw, b"d" * 32)).device_id == "d" * 32
    for bad in (b"d" * 33, b"\xff\xfe-bad-utf8", b"a\0b"):
        with pytest.raises(WireReject) as info:
            parse_feature_frame(_patch_device_id(raw, bad))
        assert info.value.counter == "rejected_field_bounds", bad
    with pytest.raises(WireReject):
        parse_feature_frame(raw, FieldLimits(frame_id_bytes=4))


def test_prediction_and_classification_match_rosbags() -> None:
    scores = np.array([0.5, -1.25, 3.0], np.float32)
    ours = prediction_cdr((17, 99), b"cam", b"dev", 7, 2, b"cat", 0.75, scores, 0.4, True, 123,
                          (1.0, 2.0, 3.0, 4.0, 5.0))
    ref = msgtypes.serialize(msgtypes.new_message(
        "agilenn_ros/msg/Prediction", header={"stamp": (17, 99), "frame_id": "cam"}, device_id="dev", sequence=7,
        class_id=2, label="cat", confidence=0.75, scores=scores, alpha=0.4, remote_used=True, payload_bytes=123,
        device_ms=1.0, decode_ms=2.0, remote_ms=3.0, edge_ms=4.0, age_ms=5.0), "agilenn_ros/msg/Prediction")
    assert ours == ref
    for label in (b"", b"ab", b"abc", b"abcdefg"):
        ours = classification_cdr((1, 2), b"frame", label, 0.625)
        ref = msgtypes.serialize(msgtypes.new_message(
            "vision_msgs/msg/Classification", header={"stamp": (1, 2), "frame_id": "frame"},
            results=[{"class_id": label.decode(), "score": 0.625}]), "vision_msgs/msg/Classification")
        assert ours == ref, label
