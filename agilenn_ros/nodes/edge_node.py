"""``agilenn_edge``: decodes FeatureFrames, runs the remote network, fuses and publishes.

Publishes (relative names, under the ``agilenn`` namespace by default):
``prediction`` (agilenn_ros/Prediction), ``classification`` (vision_msgs/Classification),
``label_info`` (vision_msgs/LabelInfo, once, transient local) and ``/diagnostics``.
"""
from __future__ import annotations

from typing import Any

from agilenn_ros.codec.native import load_native
from agilenn_ros.nodes.common import DEFAULT_NAMESPACE, declare, run_node
from agilenn_ros.runtime.bundle import load_bundle
from agilenn_ros.runtime.edge_pipeline import EdgePipeline
from agilenn_ros.runtime.edge_server import EdgeServer
from agilenn_ros.runtime.edge_stats import EdgeStats
from agilenn_ros.runtime.frame_wire import FieldLimits
from agilenn_ros.transport.base import LATCHED, RELIABLE, QoS, Transport

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
    "workers": (2, "threads that decode and run the network, sharing one onnxruntime session (calls run "
                "in parallel; each uses `threads` intra-op threads)"),
    "max_batch": (32, "most queued frames that go into one onnxruntime call"),
    "max_queue": (256, "most frames waiting for the network; past it the oldest are dropped and counted"),
    "max_frame_id_bytes": (256, "longest header.frame_id accepted (it is echoed in every output); longer "
                           "frames are rejected and counted"),
    "max_devices": (1024, "devices whose sequence numbers are tracked (least recently seen evicted, counted)"),
    "max_sequence_gap": (100000, "a sequence jump larger than this counts as sequence_jumps, not as lost frames"),
}


def _positive(params: dict[str, Any], name: str) -> int:
    value = params[name]
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"parameter {name} must be an integer >= 1, got {value!r}")
    return int(value)


class EdgeNode:
    def __init__(self, transport: Transport, name: str = "agilenn_edge", namespace: str = DEFAULT_NAMESPACE,
                 parameter_overrides: dict[str, Any] | None = None) -> None:
        self.transport = transport
        self.node = transport.create_node(name, namespace, parameter_overrides=parameter_overrides)
        self.params = declare(self.node, PARAMETERS)
        self.log = self.node.get_logger()
        self.bundle = load_bundle(str(self.params["model"]))
        self.pipeline = EdgePipeline(self.bundle, threads=int(self.params["threads"]),
                                     max_batch=_positive(self.params, "max_batch"))
        self.stats = EdgeStats(max_devices=_positive(self.params, "max_devices"),
                               max_sequence_gap=_positive(self.params, "max_sequence_gap"))
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
        self.server = EdgeServer(
            self.pipeline, self.stats, self.pub_prediction.publish,
            self.pub_classification.publish if self.pub_classification is not None else None,
            lambda: self.node.now().nanoseconds, self.log,
            limits=FieldLimits(frame_id_bytes=_positive(self.params, "max_frame_id_bytes")),
            max_queue=_positive(self.params, "max_queue"), workers=_positive(self.params, "workers"))
        self.server.start()
        self.node.create_subscription("agilenn_ros/msg/FeatureFrame", "features", self.on_frame, features_qos,
                                      raw=True)
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

    def on_frame(self, sample: bytes) -> None:
        """One serialized FeatureFrame (raw subscription): parsed, checked and queued; never raises."""
        self.server.on_sample(sample)

    def close(self) -> None:
        """Stop the worker thread (the transport's shutdown destroys the endpoints)."""
        self.server.stop()

    def publish_diagnostics(self) -> None:
        summary = self.stats.summary()
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
    return run_node(lambda transport: EdgeNode(transport), argv)


if __name__ == "__main__":
    raise SystemExit(main())
