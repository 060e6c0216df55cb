"""Bytes on the wire (serialized CDR messages, encapsulation header included) and the link
model that turns them into transmission time."""
from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np

from agilenn_ros.transport.msgtypes import new_message, serialize

LINKS_BPS: dict[str, float] = {"270kbps": 270e3, "2Mbps": 2e6, "6Mbps": 6e6}
"""The paper's links: Bluetooth 270 kbps and 2 Mbps, WiFi 6 Mbps (section 7.6)."""

FRAME_ID = "camera"
DEVICE_ID = "emulator0"
STAMP = (1_700_000_000, 123_456_789)


@lru_cache(maxsize=4096)
def feature_frame_bytes(payload_bytes: int, channels: int, height: int, width: int, classes: int,
                        codec: int = 1) -> int:
    """Size of a serialized agilenn_ros/FeatureFrame with this payload length and logits count
    (the content does not change the size; CDR padding depends on the length)."""
    msg = new_message("agilenn_ros/msg/FeatureFrame", header={"stamp": STAMP, "frame_id": FRAME_ID},
                      device_id=DEVICE_ID, sequence=1, model_hash=1, channels=channels, height=height, width=width,
                      codec=codec, payload=np.zeros(payload_bytes, dtype=np.uint8),
                      local_logits=np.zeros(classes, dtype=np.float32), device_compute_us=1)
    return len(serialize(msg))


def image_message_bytes(height: int, width: int, encoding: str = "rgb8") -> int:
    channels = {"rgb8": 3, "bgr8": 3, "mono8": 1, "rgba8": 4, "bgra8": 4}[encoding]
    msg = new_message("sensor_msgs/msg/Image", header={"stamp": STAMP, "frame_id": FRAME_ID}, height=height,
                      width=width, encoding=encoding, step=width * channels,
                      data=np.zeros(height * width * channels, dtype=np.uint8))
    return len(serialize(msg))


@lru_cache(maxsize=65536)
def compressed_image_bytes(data_bytes: int, fmt: str) -> int:
    msg = new_message("sensor_msgs/msg/CompressedImage", header={"stamp": STAMP, "frame_id": FRAME_ID},
                      format=fmt, data=np.zeros(data_bytes, dtype=np.uint8))
    return len(serialize(msg))


def transmit_ms(message_bytes: float, link_bps: float) -> float:
    return 1e3 * 8.0 * message_bytes / link_bps


def latency(device_ms: float | None, message_bytes: float, edge_ms: float | None) -> dict[str, dict[str, Any]]:
    """End to end per link: device + transmission of the message + edge (None when unknown)."""
    out: dict[str, dict[str, Any]] = {}
    for name, bps in LINKS_BPS.items():
        tx = transmit_ms(message_bytes, bps) if message_bytes else 0.0
        total = None if device_ms is None or edge_ms is None else device_ms + tx + edge_ms
        out[name] = {"device_ms": device_ms, "transmit_ms": tx, "edge_ms": edge_ms, "total_ms": total}
    return out
