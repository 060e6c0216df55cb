"""The small topics read before the frames: ground truth labels and recorded predictions,
both keyed by header stamp (nanoseconds)."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from agilenn_ros.bag.bagio import CLASSIFICATION, PREDICTION, read_messages
from agilenn_ros.transport.msgtypes import deserialize


def stamp_ns(header: Any) -> int:
    return int(header.stamp.sec) * 1_000_000_000 + int(header.stamp.nanosec)


@dataclass
class GroundTruth:
    topic: str
    labels: dict[int, int] = field(default_factory=dict)        # stamp ns -> class index
    messages: int = 0
    unknown_class_ids: Counter = field(default_factory=Counter)  # class_id strings not in the model
    errors: Counter = field(default_factory=Counter)


def class_index(class_id: str, class_names: list[str]) -> int | None:
    """A Classification's class_id as an index: a class name first, then an integer index."""
    text = str(class_id).strip()
    if text in class_names:
        return class_names.index(text)
    lowered = [n.lower() for n in class_names]
    if text.lower() in lowered:
        return lowered.index(text.lower())
    try:
        value = int(text)
    except ValueError:
        return None
    return value if 0 <= value < len(class_names) else None


def read_ground_truth(reader: Any, topic: str, class_names: list[str]) -> GroundTruth:
    """vision_msgs/Classification on ``topic``: first result's class_id, keyed by stamp."""
    truth = GroundTruth(topic)
    for _, data, msgtype in read_messages(reader, topic):
        truth.messages += 1
        if msgtype != CLASSIFICATION:
            truth.errors["labels_wrong_type"] += 1
            continue
        try:
            msg = deserialize(data, msgtype)
        except Exception:  # noqa: BLE001 - a corrupt message is counted, never fatal
            truth.errors["undecodable_label"] += 1
            continue
        if not msg.results:
            truth.errors["label_without_results"] += 1
            continue
        index = class_index(msg.results[0].class_id, class_names)
        if index is None:
            truth.unknown_class_ids[str(msg.results[0].class_id)] += 1
            continue
        truth.labels[stamp_ns(msg.header)] = index
    return truth


@dataclass
class RecordedPredictions:
    topic: str
    class_ids: dict[int, int] = field(default_factory=dict)     # stamp ns -> class id
    messages: int = 0
    errors: Counter = field(default_factory=Counter)


def read_predictions(reader: Any, topic: str) -> RecordedPredictions:
    """agilenn_ros/Prediction messages recorded from an edge node, keyed by stamp."""
    recorded = RecordedPredictions(topic)
    for _, data, msgtype in read_messages(reader, topic):
        recorded.messages += 1
        if msgtype != PREDICTION:
            recorded.errors["predictions_wrong_type"] += 1
            continue
        try:
            msg = deserialize(data, msgtype)
        except Exception:  # noqa: BLE001
            recorded.errors["undecodable_prediction"] += 1
            continue
        recorded.class_ids[stamp_ns(msg.header)] = int(msg.class_id)
    return recorded
