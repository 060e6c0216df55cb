"""``agilenn_device``: the device emulator. Runs the device half of a bundle on camera images
and publishes ``features`` (agilenn_ros/FeatureFrame), exactly what the microcontroller sends.

Image sources (parameter ``source``): ``topic`` (sensor_msgs/Image, or CompressedImage with
``image_transport:=compressed``), ``folder`` (image folder or archive; default: the bundled
samples), ``video`` (a file) and ``camera`` (an OpenCV camera index).
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from agilenn_ros.codec.errors import CodecError
from agilenn_ros.data.datasets import DatasetError
from agilenn_ros.nodes.common import (DEFAULT_NAMESPACE, config_errors, declare, non_negative, one_of, positive,
                                      run_node, watch_parameters)
from agilenn_ros.nodes.image_input import ImageInput
from agilenn_ros.runtime.bundle import BundleError, load_bundle
from agilenn_ros.runtime.device_pipeline import DevicePipeline
from agilenn_ros.runtime.frame_sources import Frame, open_source
from agilenn_ros.runtime.preprocess import ImageFormatError
from agilenn_ros.runtime.image_encodings import image_msg_to_rgb
from agilenn_ros.runtime.ros_images import compressed_to_rgb
from agilenn_ros.transport.base import RELIABLE, Stamp, Transport

FEATURE_FRAME = "agilenn_ros/msg/FeatureFrame"
MATCH_SETTLE_S = 0.5
"""Seconds between the first match with a subscriber and the first frame (finite sources). DDS
discovery is not symmetric: the writer can match the edge's reader before that reader has matched
the writer, and a volatile reader drops samples of a writer it does not know yet, so a frame sent
at once could be lost (seen under load: 39 of 40 frames)."""

PARAMETERS: dict[str, tuple[Any, str]] = {
    "model": ("cifar10", "model bundle directory, or a bundle name under models/"),
    "codec": ("rans", "payload codec: rans (entropy coder), packed or lzw"),
    "device_id": ("emulator0", "id written into every FeatureFrame (several devices may share an edge)"),
    "source": ("topic", "image source: topic, folder, video or camera"),
    "image_topic": ("image_raw", "image topic for source=topic (relative names follow the namespace)"),
    "image_transport": ("raw", "raw (sensor_msgs/Image) or compressed (<image_topic>/compressed)"),
    "image_qos": ("auto", "image subscription reliability: auto (reliable when every publisher offers reliable, "
                          "else best effort), reliable or best_effort"),
    "path": ("", "image folder/archive (source=folder; empty: bundled samples) or video file"),
    "camera_index": (0, "OpenCV camera index for source=camera"),
    "rate_hz": (10.0, "frames per second for folder, video and camera sources"),
    "loop": (False, "restart the folder or video at its end"),
    "max_frames": (0, "stop after this many frames (0: no limit)"),
    "frame_id": ("camera", "header.frame_id for frames from folder, video and camera sources"),
    "threads": (1, "onnxruntime threads"),
    "wait_for_edge_s": (10.0, "folder/video/camera: wait up to this long for a subscriber before sending"),
    "sent_log": ("", "append one JSON line per published frame to this file (evaluation)"),
}
DYNAMIC = {"rate_hz", "max_frames", "frame_id", "wait_for_edge_s"}
"""Parameters ``ros2 param set`` may change while the node runs; all others are read-only."""
CHECKS = {
    "codec": one_of("rans", "packed", "lzw"),
    "source": one_of("topic", "folder", "video", "camera"),
    "image_transport": one_of("raw", "compressed"),
    "image_qos": one_of("auto", "reliable", "best_effort"),
    "camera_index": non_negative,
    "rate_hz": positive,
    "max_frames": non_negative,
    "threads": positive,
    "wait_for_edge_s": non_negative,
}


class DeviceEmulatorNode:
    def __init__(self, transport: Transport, name: str = "agilenn_device", namespace: str = DEFAULT_NAMESPACE,
                 parameter_overrides: dict[str, Any] | None = None) -> None:
        self.transport = transport
        self.node = transport.create_node(name, namespace, parameter_overrides=parameter_overrides)
        self.params = declare(self.node, PARAMETERS, DYNAMIC, CHECKS)
        self.log = self.node.get_logger()
        with config_errors("model", self.node, BundleError):
            self.bundle = load_bundle(str(self.params["model"]))
        with config_errors("codec", self.node, CodecError):
            self.pipeline = DevicePipeline(self.bundle, codec=str(self.params["codec"]),
                                           threads=int(self.params["threads"]))
        self.publisher = self.node.create_publisher(FEATURE_FRAME, "features", RELIABLE)
        self.sequence = 0
        self.errors = 0
        self.finished = False
        self._sent_log = open(self.params["sent_log"], "a") if self.params["sent_log"] else None
        self._frames: Iterator[Frame] | None = None
        self._waiting_since = time.monotonic()
        self._matched_since: float | None = None
        source = str(self.params["source"])
        self.images: ImageInput | None = None
        if source == "topic":
            topic = str(self.params["image_topic"])
            if self.params["image_transport"] == "compressed":
                self.images = ImageInput(self.node, "sensor_msgs/msg/CompressedImage", f"{topic}/compressed",
                                         self._on_compressed, str(self.params["image_qos"]))
            else:
                self.images = ImageInput(self.node, "sensor_msgs/msg/Image", topic, self._on_image,
                                         str(self.params["image_qos"]))
            self.log.info(f"device emulator {self.params['device_id']}: images from {topic} "
                          f"({self.params['image_transport']}, image_qos {self.params['image_qos']}), "
                          f"model {self.bundle.model_id}")
        else:
            with config_errors("camera_index" if source == "camera" else "path", self.node, DatasetError, OSError):
                self._frames = open_source(source, str(self.params["path"]), int(self.params["camera_index"]),
                                           bool(self.params["loop"])).frames()
            rate = float(self.params["rate_hz"])
            self.timer = self.node.create_timer(1.0 / rate, self._on_timer)
            self.log.info(f"device emulator {self.params['device_id']}: {source} source at {rate} Hz, "
                          f"model {self.bundle.model_id}, codec {self.pipeline.codec.name}")

        watch_parameters(self.node, self.params, DYNAMIC, CHECKS, {"rate_hz": self._set_rate})

    def _set_rate(self, rate_hz: float) -> None:
        """rate_hz changed at run time: re-arm the frame timer (sources with a timer only)."""
        timer = getattr(self, "timer", None)
        if timer is not None:
            self.node.destroy_timer(timer)
            self.timer = self.node.create_timer(1.0 / float(rate_hz), self._on_timer)

    # image callbacks ---------------------------------------------------------------------
    def _on_image(self, msg: Any) -> bool:
        try:
            rgb = image_msg_to_rgb(msg)
        except ImageFormatError as exc:
            self._count_error(f"image dropped: {exc}")
            return False
        self.publish(rgb, msg.header.stamp, msg.header.frame_id)
        return True

    def _on_compressed(self, msg: Any) -> bool:
        try:
            rgb = compressed_to_rgb(msg.format, msg.data)
        except ImageFormatError as exc:
            self._count_error(f"compressed image dropped: {exc}")
            return False
        self.publish(rgb, msg.header.stamp, msg.header.frame_id)
        return True

    def _on_timer(self) -> None:
        if self.finished or self._frames is None:
            return
        now = time.monotonic()
        if self.publisher.get_subscription_count() == 0:
            self._matched_since = None
            if now - self._waiting_since < float(self.params["wait_for_edge_s"]):
                return  # let discovery match the edge node before the first frame
        elif self.sequence == 0:
            self._matched_since = self._matched_since or now
            if now - self._matched_since < MATCH_SETTLE_S:
                return  # let the edge's reader match this writer too (see MATCH_SETTLE_S)
        frame = next(self._frames, None)
        if frame is None:
            self._finish("source exhausted")
            return
        self.publish(frame.rgb, self.node.now(), str(self.params["frame_id"]), frame.label)

    def _count_error(self, text: str) -> None:
        self.errors += 1
        if self.errors <= 5 or self.errors % 100 == 0:
            self.log.warning(f"{text} ({self.errors} so far)")

    # publishing --------------------------------------------------------------------------
    def publish(self, rgb: np.ndarray, stamp: Any, frame_id: str, label: int = -1) -> None:
        result = self.pipeline.process(rgb)
        c, h, w = result.indices.shape
        msg = self.node.message(
            FEATURE_FRAME, header={"stamp": Stamp.of(stamp), "frame_id": frame_id},
            device_id=str(self.params["device_id"]), sequence=self.sequence,
            model_hash=self.bundle.model_hash_u32, channels=c, height=h, width=w,
            codec=result.codec_id, payload=np.frombuffer(result.payload, dtype=np.uint8),
            local_logits=result.local_logits, device_compute_us=int(result.compute_s * 1e6))
        self.publisher.publish(msg)
        if self._sent_log is not None:
            self._sent_log.write(json.dumps({
                "device_id": self.params["device_id"], "sequence": self.sequence, "label": label,
                "stamp_ns": Stamp.of(stamp).nanoseconds, "payload_bytes": len(result.payload),
                "device_ms": result.compute_s * 1e3}) + "\n")
            self._sent_log.flush()
        self.sequence += 1
        max_frames = int(self.params["max_frames"])
        if max_frames and self.sequence >= max_frames:
            self._finish(f"{self.sequence} frames sent")

    def _finish(self, why: str) -> None:
        if self.finished:
            return
        self.publisher.wait_for_acks(5.0)
        counts = f" ({self.images.counts.summary()})" if self.images is not None else ""
        self.log.info(f"device emulator {self.params['device_id']}: {why}{counts}; stopping")
        self.finished = True

    def close(self) -> None:
        if self._sent_log is not None:
            self._sent_log.close()
            self._sent_log = None


def main(argv: list[str] | None = None) -> int:
    return run_node(lambda transport: DeviceEmulatorNode(transport), argv, name="agilenn_device")


if __name__ == "__main__":
    raise SystemExit(main())
