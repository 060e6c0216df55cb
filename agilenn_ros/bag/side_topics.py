"""The small topics read before the frames: ground truth labels and recorded predictions,
with their header stamps and bag (receive) times; bag/pairing.py matches them to frames."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from agilenn_ros.bag.bagio import CLASSIFICATION, PREDICTION, read_messages
from agilenn_ros.transport.msgtypes import deserialize


def stamp_ns(header: Any) -> int:
    return int(header.stamp.sec) * 1_000_000_000 + int(header.stamp.nanosec)


@dataclass(frozen=True)
class Label:
    stamp_ns: int       # header stamp
    bag_ns: int         # bag (receive) time
    index: int          # class index; -1 when the class id is not one the model knows
    class_id: str       # as written in the message


@dataclass
class GroundTruth:
    topic: str
    entries: list[Label] = field(default_factory=list)           # every label message with a result
    messages: int = 0
    unknown_class_ids: Counter = field(default_factory=Counter)  # class_id strings not in the model
    errors: Counter = field(default_factory=Counter)

    @property
    def known(self) -> list[Label]:
        """Labels whose class the model knows."""
        return [e for e in self.entries if e.index >= 0]


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
    for bag_ns, data, msgtype in read_messages(reader, topic):
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
        class_id = str(msg.results[0].class_id)
        index = class_index(class_id, class_names)
        if index is None:
            truth.unknown_class_ids[class_id] += 1
        truth.entries.append(Label(stamp_ns(msg.header), int(bag_ns), -1 if index is None else index, class_id))
    return truth


@dataclass
class RecordedPredictions:
    topic: str
    class_ids: dict[int, int] = field(default_factory=dict)     # stamp ns -> class id
    stamps: list[int] = field(default_factory=list)             # every header stamp, repeats included
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
        recorded.stamps.append(stamp_ns(msg.header))
        recorded.class_ids[recorded.stamps[-1]] = int(msg.class_id)
    return recorded
