"""``agilenn_edge``: decodes FeatureFrames, runs the remote network, fuses and publishes.

Publishes (relative names, under the ``agilenn`` namespace by default):
``prediction`` (agilenn_ros/Prediction), ``classification`` (vision_msgs/Classification),
``label_info`` (vision_msgs/LabelInfo, once, transient local) and ``/diagnostics``.
Without vision_msgs (a ROS install without ``ros-jazzy-vision-msgs``) it warns once and
publishes neither ``classification`` nor ``label_info``.
"""
from __future__ import annotations

import time
from typing import Any

import numpy as np

from agilenn_ros.codec.native import load_native
from agilenn_ros.nodes.common import (DEFAULT_NAMESPACE, config_errors, declare, non_negative, one_of, positive,
                                      run_node, stamp_to_ns, watch_parameters)
from agilenn_ros.runtime.bundle import BundleError, load_bundle
from agilenn_ros.runtime.edge_pipeline import EdgePipeline, FrameError
from agilenn_ros.runtime.edge_stats import EdgeStats
from agilenn_ros.transport.base import LATCHED, RELIABLE, QoS, Transport, as_array, as_bytes

PREDICTION = "agilenn_ros/msg/Prediction"
CLASSIFICATION = "vision_msgs/msg/Classification"
LABEL_INFO = "vision_msgs/msg/LabelInfo"

PARAMETERS: dict[str, tuple[Any, str]] = {
    "model": ("cifar10", "model bundle directory, or a bundle name under models/"),
    "threads": (1, "onnxruntime threads for the remote network"),
    "features_reliability": ("reliable", "QoS of the features subscription: reliable (matches micro-ROS "
                             "rclc_publisher_init_default and the emulator) or best_effort"),
    "features_depth": (50, "history depth of the features subscription"),
    "publish_classification": (True, "also publish vision_msgs/Classification on classification"),
    "diagnostics_period_s": (1.0, "period of /diagnostics messages (0 disables them)"),
    "hardware_id": ("agilenn_edge", "hardware_id field of the diagnostics status"),
    "wait_for_consumer_s": (0.0, "subscribe to features only once prediction has a subscriber, waiting up to "
                            "this long (0: at once); demo.launch.py uses it so the consumer sees the first "
                            "prediction"),
}
DYNAMIC = {"diagnostics_period_s", "hardware_id"}
"""Parameters ``ros2 param set`` may change while the node runs; all others are read-only."""
CHECKS = {
    "threads": positive,
    "features_reliability": one_of("reliable", "best_effort"),
    "features_depth": positive,
    "diagnostics_period_s": non_negative,
    "wait_for_consumer_s": non_negative,
}


class EdgeNode:
    def __init__(self, transport: Transport, name: str = "agilenn_edge", namespace: str = DEFAULT_NAMESPACE,
                 parameter_overrides: dict[str, Any] | None = None) -> None:
        self.transport = transport
        self.node = transport.create_node(name, namespace, parameter_overrides=parameter_overrides)
        self.params = declare(self.node, PARAMETERS, DYNAMIC, CHECKS)
        self.log = self.node.get_logger()
        with config_errors("model", self.node, BundleError):
            self.bundle = load_bundle(str(self.params["model"]))
        self.pipeline = EdgePipeline(self.bundle, threads=int(self.params["threads"]))
        self.stats = EdgeStats()
        self.rans_decoder = "native" if load_native() is not None else "python"
        self.finished = False
        self.features_qos = QoS(str(self.params["features_reliability"]), "volatile",
                                int(self.params["features_depth"]))
        self.pub_prediction = self.node.create_publisher(PREDICTION, "prediction", RELIABLE)
        vision_msgs = transport.has_type(CLASSIFICATION) and transport.has_type(LABEL_INFO)
        if not vision_msgs:
            self.log.warning("vision_msgs is not installed: not publishing classification and label_info "
                             "(prediction carries the same result)", once=True)
        self.pub_classification = (self.node.create_publisher(CLASSIFICATION, "classification", RELIABLE)
                                   if vision_msgs and self.params["publish_classification"] else None)
        self.pub_label_info = self.node.create_publisher(LABEL_INFO, "label_info", LATCHED) if vision_msgs else None
        self.pub_diagnostics = self.node.create_publisher("diagnostic_msgs/msg/DiagnosticArray", "/diagnostics", RELIABLE)
        self.sub_features: Any = None
        self.diagnostics_timer: Any = None
        self._set_diagnostics_period(float(self.params["diagnostics_period_s"]))
        watch_parameters(self.node, self.params, DYNAMIC, CHECKS,
                         {"diagnostics_period_s": lambda period: self._set_diagnostics_period(float(period))})
        if self.pub_label_info is not None:
            self._publish_label_info()
        wait_s = float(self.params["wait_for_consumer_s"])
        if wait_s > 0:
            self._wait_deadline = time.monotonic() + wait_s
            self._wait_timer = self.node.create_timer(0.05, self._subscribe_when_consumed)
            self.log.info(f"waiting up to {wait_s:g} s for a subscriber on {self.pub_prediction.topic_name}")
        else:
            self._subscribe_features()

    def _subscribe_when_consumed(self) -> None:
        """wait_for_consumer_s: subscribe once prediction is matched, or when the wait is over."""
        matched = self.pub_prediction.get_subscription_count() > 0
        if not matched and time.monotonic() < self._wait_deadline:
            return
        self.node.destroy_timer(self._wait_timer)
        if not matched:
            self.log.warning(f"no subscriber on {self.pub_prediction.topic_name} after "
                             f"{float(self.params['wait_for_consumer_s']):g} s; starting anyway")
        self._subscribe_features()

    def _subscribe_features(self) -> None:
        self.sub_features = self.node.create_subscription("agilenn_ros/msg/FeatureFrame", "features", self.on_frame,
                                                          self.features_qos)
        # the subscription's own name: the resolved one after remaps (-r features:=/cam1/features)
        self.log.info(f"edge node ready: model {self.bundle.model_id} ({self.bundle.num_classes} classes, "
                      f"alpha {self.bundle.alpha:.3f}), rANS decoder {self.rans_decoder}, "
                      f"listening on {self.sub_features.topic_name}")

    def _set_diagnostics_period(self, period: float) -> None:
        if self.diagnostics_timer is not None:
            self.node.destroy_timer(self.diagnostics_timer)
            self.diagnostics_timer = None
        if period > 0:
            self.diagnostics_timer = self.node.create_timer(period, self.publish_diagnostics)

    def _publish_label_info(self) -> None:
        assert self.pub_label_info is not None
        msg = self.node.message(LABEL_INFO, header={"stamp": self.node.now(), "frame_id": ""},
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
                CLASSIFICATION, header=header,
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
    return run_node(lambda transport: EdgeNode(transport), argv, name="agilenn_edge")


if __name__ == "__main__":
    raise SystemExit(main())
