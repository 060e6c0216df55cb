#!/usr/bin/env python3
"""Regenerate the golden CDR vectors of the wire messages (msg/*.msg).

    python test/data/cdr_golden/make_golden.py          # writes <name>.bin next to this file

The bytes pin the wire format: if a .msg file changes, these change, the test fails, and
the firmware (micro-ROS) and any recorded bags must be reviewed before regenerating.
SAMPLES is also imported by test/test_transport_cdr.py, so both use the same messages.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]

STAMP = {"sec": 1700000000, "nanosec": 123456789}

# 1500-byte payload from a fixed LCG (deterministic, no numpy RNG version dependence)
_state = 12345
_payload = bytearray()
for _ in range(1500):
    _state = (1103515245 * _state + 12345) & 0x7FFFFFFF
    _payload.append(_state >> 23)
PAYLOAD = bytes(_payload)

LOGITS = [1.5, -0.25, 3.0, 0.0, -7.75, 2.125, 0.5, -1.0, 4.0, 0.0625]

SAMPLES: dict[str, tuple[str, dict[str, Any]]] = {
    "feature_frame": ("agilenn_ros/msg/FeatureFrame", {
        "header": {"stamp": STAMP, "frame_id": "camera_optical"},
        "device_id": "stm32f746-01",
        "sequence": 42,
        "model_hash": 0xA1B2C3D4,
        "channels": 19, "height": 16, "width": 16,
        "codec": 1,  # CODEC_RANS
        "payload": PAYLOAD,
        "local_logits": LOGITS,
        "device_compute_us": 14000,
    }),
    # no payload, odd string lengths: checks the alignment paths and the empty sequences
    "feature_frame_empty": ("agilenn_ros/msg/FeatureFrame", {
        "header": {"stamp": {"sec": 1, "nanosec": 2}, "frame_id": "c"},
        "device_id": "dev",
        "sequence": 4294967295,
        "codec": 255,  # CODEC_NONE
        "payload": b"",
        "local_logits": [0.5, -0.5, 0.25],
        "device_compute_us": 1,
    }),
    "prediction": ("agilenn_ros/msg/Prediction", {
        "header": {"stamp": STAMP, "frame_id": "camera_optical"},
        "device_id": "stm32f746-01",
        "sequence": 42,
        "class_id": 4,
        "label": "deer",
        "confidence": 0.875,
        "scores": LOGITS,
        "alpha": 0.3125,
        "remote_used": True,
        "payload_bytes": 1500,
        "device_ms": 14.0, "decode_ms": 1.5, "remote_ms": 0.75, "edge_ms": 2.5,
        "age_ms": 21.75,
    }),
    "prediction_defaults": ("agilenn_ros/msg/Prediction", {}),
}


def build(name: str) -> tuple[str, Any]:
    """(type name, rosbags message) of a sample."""
    from agilenn_ros.transport import msgtypes

    type_name, fields = SAMPLES[name]
    return type_name, msgtypes.new_message(type_name, **fields)


def golden_path(name: str) -> Path:
    return HERE / f"{name}.bin"


def main() -> int:
    sys.path.insert(0, str(ROOT))
    from agilenn_ros.transport import msgtypes

    for name in SAMPLES:
        type_name, msg = build(name)
        data = msgtypes.serialize(msg, type_name)
        golden_path(name).write_bytes(data)
        print(f"{golden_path(name).relative_to(ROOT)}: {type_name}, {len(data)} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
