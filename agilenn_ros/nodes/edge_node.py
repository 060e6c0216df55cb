"""``agilenn_edge``: decodes FeatureFrames, runs the remote network, fuses and publishes.

Publishes (relative names, under the ``agilenn`` namespace by default):
``prediction`` (agilenn_ros/Prediction), ``classification`` (vision_msgs/Classification),
``label_info`` (vision_msgs/LabelInfo, once, transient local) and ``/diagnostics``.
Without vision_msgs (a ROS install without ``ros-jazzy-vision-msgs``) it warns once and
publishes neither ``classification`` nor ``label_info``.
"""
from __future__ import annotations

import os
import time
from typing import Any

from agilenn_ros.codec.native import load_native
from agilenn_ros.nodes.common import (DEFAULT_NAMESPACE, config_errors, declare, non_negative, one_of, positive,
                                      run_node, watch_parameters)
from agilenn_ros.runtime.bundle import BundleError, load_bundle
from agilenn_ros.runtime.edge_pipeline import EdgePipeline
from agilenn_ros.runtime.edge_server import EdgeServer
from agilenn_ros.runtime.edge_stats import EdgeStats
from agilenn_ros.runtime.frame_wire import FieldLimits
from agilenn_ros.transport.base import LATCHED, RELIABLE, QoS, Transport

PREDICTION = "agilenn_ros/msg/Prediction"
CLASSIFICATION = "vision_msgs/msg/Classification"
LABEL_INFO = "vision_msgs/msg/LabelInfo"

PARAMETERS: dict[str, tuple[Any, str]] = {
    "model": ("cifar10", "model bundle directory, or a bundle name under models/"),
    "threads": (1, "onnxruntime threads for the remote network"),
    "features_reliability": ("reliable", "QoS of the features subscription: reliable (matches micro-ROS "
                             "rclc_publisher_init_default and the emulator) or best_effort"),
    "features_depth": (200, "history depth of the features subscription (the edge drains it at once; "
                       "overload drops happen in its own queue, counted)"),
    "publish_classification": (True, "also publish vision_msgs/Classification on classification"),
    "diagnostics_period_s": (1.0, "period of /diagnostics messages (0 disables them)"),
    "hardware_id": ("agilenn_edge", "hardware_id field of the diagnostics status"),
    "workers": (0, "threads that decode and run the network, sharing one onnxruntime session (calls run in "
                "parallel, each with `threads` intra-op threads); 0: CPU cores + 1, at most 8"),
    "max_batch": (32, "most queued frames that go into one onnxruntime call"),
    "max_queue": (256, "most frames waiting for the network; past it the oldest are dropped and counted"),
    "max_frame_id_bytes": (256, "longest header.frame_id accepted (it is echoed in every output); longer "
                           "frames are rejected and counted"),
    "max_devices": (1024, "devices whose sequence numbers are tracked (least recently seen evicted, counted)"),
    "max_sequence_gap": (100000, "a sequence jump larger than this counts as sequence_jumps, not as lost frames"),
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
    "workers": non_negative,
    "max_batch": positive,
    "max_queue": positive,
    "max_frame_id_bytes": positive,
    "max_devices": positive,
    "max_sequence_gap": positive,
    "wait_for_consumer_s": non_negative,
}


def _positive(params: dict[str, Any], name: str) -> int:
    value = params[name]
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"parameter {name} must be an integer >= 1, got {value!r}")
    return int(value)


def _workers(params: dict[str, Any]) -> int:
    value = params["workers"]
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"parameter workers must be an integer >= 0 (0: automatic), got {value!r}")
    return value or max(2, min(8, (os.cpu_count() or 1) + 1))


class EdgeNode:
    def __init__(self, transport: Transport, name: str = "agilenn_edge", namespace: str = DEFAULT_NAMESPACE,
                 parameter_overrides: dict[str, Any] | None = None) -> None:
        self.transport = transport
        self.node = transport.create_node(name, namespace, parameter_overrides=parameter_overrides)
        self.params = declare(self.node, PARAMETERS, DYNAMIC, CHECKS)
        self.log = self.node.get_logger()
        with config_errors("model", self.node, BundleError):
            self.bundle = load_bundle(str(self.params["model"]))
            self.pipeline = EdgePipeline(self.bundle, threads=int(self.params["threads"]),
                                         max_batch=_positive(self.params, "max_batch"))
        self.stats = EdgeStats(max_devices=_positive(self.params, "max_devices"),
                               max_sequence_gap=_positive(self.params, "max_sequence_gap"))
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
        self.server = EdgeServer(
            self.pipeline, self.stats, self.pub_prediction.publish,
            self.pub_classification.publish if self.pub_classification is not None else None,
            lambda: self.node.now().nanoseconds, self.log,
            limits=FieldLimits(frame_id_bytes=_positive(self.params, "max_frame_id_bytes")),
            max_queue=_positive(self.params, "max_queue"), workers=_workers(self.params))
        self.server.start()
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
                                                          self.features_qos, raw=True)
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

    def on_frame(self, sample: bytes) -> None:
        """One serialized FeatureFrame (raw subscription): parsed, checked and queued; never raises."""
        self.server.on_sample(sample)

    def close(self) -> None:
        """Stop the worker thread (the transport's shutdown destroys the endpoints)."""
        self.server.stop()

    def publish_diagnostics(self) -> None:
        summary = self.stats.summary()
        sample_status = getattr(self.sub_features, "sample_status", None)
        if callable(sample_status):  # DDS transport: what the middleware dropped (also in sequence_gaps)
            status = sample_status()
            summary["transport_samples_lost"] = status["lost"]
            summary["transport_samples_rejected"] = status["rejected"]
        level, text = 0, "ok"
        if self.stats.frames == 0:
            level, text = 0, "waiting for features"
        elif self.stats.dropped_overload or self.stats.errors_internal:
            level, text = 1, "overloaded or internal errors (frames dropped, see counters)"
        elif self.stats.accounted() - self.stats.predictions:
            level, text = 1, "frames rejected (see rejected_* counters)"
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
