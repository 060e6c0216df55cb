"""``agilenn_edge``: decodes FeatureFrames, runs the remote network, fuses and publishes.

Publishes (relative names, under the ``agilenn`` namespace by default):
``prediction`` (agilenn_ros/Prediction), ``classification`` (vision_msgs/Classification),
``label_info`` (vision_msgs/LabelInfo, once, transient local) and ``/diagnostics``.
"""
from __future__ import annotations

import time
from typing import Any

import numpy as np

from agilenn_ros.codec.native import load_native
from agilenn_ros.nodes.common import DEFAULT_NAMESPACE, declare, run_node, stamp_to_ns
from agilenn_ros.runtime.bundle import load_bundle
from agilenn_ros.runtime.edge_pipeline import EdgePipeline, FrameError
from agilenn_ros.runtime.edge_stats import EdgeStats
from agilenn_ros.transport.base import LATCHED, RELIABLE, QoS, Transport, as_array, as_bytes

PREDICTION = "agilenn_ros/msg/Prediction"

PARAMETERS: dict[str, tuple[Any, str]] = {
    "model": ("cifar10", "model bundle directory, or a bundle name under models/"),
    "threads": (1, "onnxruntime threads for the remote network"),
    "features_reliability": ("reliable", "QoS of the features subscription: reliable (matches micro-ROS "
                             "rclc_publisher_init_default and the emulator) or best_effort"),
    "features_depth": (50, "history depth of the features subscription"),
    "publish_classification": (True, "also publish vision_msgs/Classification on classification"),
    "diagnostics_period_s": (1.0, "period of /diagnostics messages (0 disables them)"),
    "hardware_id": ("agilenn_edge", "hardware_id field of the diagnostics status"),
}


class EdgeNode:
    def __init__(self, transport: Transport, name: str = "agilenn_edge", namespace: str = DEFAULT_NAMESPACE,
                 parameter_overrides: dict[str, Any] | None = None) -> None:
        self.transport = transport
        self.node = transport.create_node(name, namespace, parameter_overrides=parameter_overrides)
        self.params = declare(self.node, PARAMETERS)
        self.log = self.node.get_logger()
        self.bundle = load_bundle(str(self.params["model"]))
        self.pipeline = EdgePipeline(self.bundle, threads=int(self.params["threads"]))
        self.stats = EdgeStats()
        self.rans_decoder = "native" if load_native() is not None else "python"
        self.finished = False
        reliability = str(self.params["features_reliability"])
        if reliability not in ("reliable", "best_effort"):
            raise ValueError("features_reliability must be reliable or best_effort")
        features_qos = QoS(reliability, "volatile", int(self.params["features_depth"]))
        self.pub_prediction = self.node.create_publisher(PREDICTION, "prediction", RELIABLE)
        self.pub_classification = (self.node.create_publisher("vision_msgs/msg/Classification", "classification", RELIABLE)
                                   if self.params["publish_classification"] else None)
        self.pub_label_info = self.node.create_publisher("vision_msgs/msg/LabelInfo", "label_info", LATCHED)
        self.pub_diagnostics = self.node.create_publisher("diagnostic_msgs/msg/DiagnosticArray", "/diagnostics", RELIABLE)
        self.node.create_subscription("agilenn_ros/msg/FeatureFrame", "features", self.on_frame, features_qos)
        self._publish_label_info()
        period = float(self.params["diagnostics_period_s"])
        if period > 0:
            self.node.create_timer(period, self.publish_diagnostics)
        self.log.info(f"edge node ready: model {self.bundle.model_id} ({self.bundle.num_classes} classes, "
                      f"alpha {self.bundle.alpha:.3f}), rANS decoder {self.rans_decoder}, "
                      f"listening on {self.node.resolve_topic_name('features')}")

    def _publish_label_info(self) -> None:
        msg = self.node.message("vision_msgs/msg/LabelInfo", header={"stamp": self.node.now(), "frame_id": ""},
                                class_map=[{"class_id": i, "class_name": n} for i, n in enumerate(self.bundle.class_names)],
                                threshold=0.0)
        self.pub_label_info.publish(msg)

    def on_frame(self, frame: Any) -> None:
        received = time.perf_counter()
        device_id, sequence = str(frame.device_id), int(frame.sequence)
        self.stats.frame_arrived(device_id, sequence)
        if int(frame.model_hash) != self.bundle.model_hash_u32:
            self.stats.rejected_model += 1
            if self.stats.rejected_model <= 3 or self.stats.rejected_model % 100 == 0:
                self.log.warning(f"frame {sequence} from {device_id!r} rejected: model hash {int(frame.model_hash):08x} "
                                 f"differs from this edge's {self.bundle.model_hash} ({self.stats.rejected_model} so far)")
            return
        payload = as_bytes(frame.payload)
        try:
            result = self.pipeline.process(int(frame.codec), payload,
                                           (int(frame.channels), int(frame.height), int(frame.width)),
                                           as_array(frame.local_logits, np.float32))
        except FrameError as exc:
            self.stats.rejected_invalid += 1
            if self.stats.rejected_invalid <= 3 or self.stats.rejected_invalid % 100 == 0:
                self.log.warning(f"frame {sequence} from {device_id!r} unusable: {exc}")
            return
        if not result.remote_used and (self.stats.local_only < 3 or self.stats.local_only % 100 == 0):
            self.log.warning(f"frame {sequence} from {device_id!r}: local-only prediction ({result.fallback_reason})")
        edge_ms = (time.perf_counter() - received) * 1e3
        now = self.node.now()
        age_ms = (now.nanoseconds - stamp_to_ns(frame.header.stamp)) / 1e6
        header = {"stamp": frame.header.stamp, "frame_id": frame.header.frame_id}
        self.pub_prediction.publish(self.node.message(
            PREDICTION, header=header, device_id=device_id, sequence=sequence, class_id=result.class_id,
            label=result.label, confidence=result.confidence, scores=result.scores,
            alpha=self.bundle.alpha if result.remote_used else 1.0, remote_used=result.remote_used,
            payload_bytes=len(payload), device_ms=int(frame.device_compute_us) / 1e3,
            decode_ms=result.decode_s * 1e3, remote_ms=result.remote_s * 1e3, edge_ms=edge_ms, age_ms=age_ms))
        if self.pub_classification is not None:
            self.pub_classification.publish(self.node.message(
                "vision_msgs/msg/Classification", header=header,
                results=[{"class_id": result.label, "score": result.confidence}]))
        self.stats.record(len(payload), result.decode_s * 1e3, result.remote_s * 1e3, edge_ms, age_ms,
                          result.remote_used, result.fallback_reason)

    def publish_diagnostics(self) -> None:
        summary = self.stats.summary()
        level, text = 0, "ok"
        if self.stats.frames == 0:
            level, text = 0, "waiting for features"
        elif self.stats.rejected_model or self.stats.rejected_invalid:
            level, text = 1, "frames rejected (model hash or invalid)"
        elif self.stats.local_only:
            level, text = 1, "local-only fallbacks"
        status = {"level": level, "name": f"{self.node.get_fully_qualified_name()}: AgileNN edge",
                  "message": text, "hardware_id": str(self.params["hardware_id"]),
                  "values": [{"key": k, "value": str(v)} for k, v in
                             [("model", self.bundle.model_id), ("rans_decoder", self.rans_decoder),
                              *summary.items()]]}
        self.pub_diagnostics.publish(self.node.message("diagnostic_msgs/msg/DiagnosticArray",
                                                       header={"stamp": self.node.now(), "frame_id": ""},
                                                       status=[status]))


def main(argv: list[str] | None = None) -> int:
    return run_node(lambda transport: EdgeNode(transport), argv)


if __name__ == "__main__":
    raise SystemExit(main())
