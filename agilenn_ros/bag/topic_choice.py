"""Which topics of a bag eval-bag uses: the frame source (images or FeatureFrames), the
recorded predictions and the ground truth."""
from __future__ import annotations

from dataclasses import dataclass

from agilenn_ros.bag.bagio import (COMPRESSED_IMAGE, FEATURE_FRAME, IMAGE, IMAGE_TYPES, PREDICTION, BagError,
                                   TopicInfo)


@dataclass(frozen=True)
class SourceChoice:
    kind: str          # "image" or "features"
    topic: str
    msgtype: str
    count: int
    note: str = ""


def _describe(infos: list[TopicInfo]) -> str:
    return ", ".join(f"{t.name} ({t.msgtype}, {t.count})" for t in infos) or "(no topics)"


def _by_name(infos: list[TopicInfo], name: str, allowed: tuple[str, ...], what: str) -> TopicInfo:
    for info in infos:
        if info.name == name:
            if info.msgtype not in allowed:
                raise BagError(f"{what} {name} has type {info.msgtype}, expected {' or '.join(allowed)}")
            return info
    raise BagError(f"the bag has no topic {name}; topics: {_describe(infos)}")


def choose_source(infos: list[TopicInfo], image_topic: str = "", features_topic: str = "") -> SourceChoice:
    """An explicit topic wins; otherwise images (device + edge offline) are preferred over
    FeatureFrames (edge only); among several image topics, raw Image before CompressedImage,
    then the one with most messages."""
    if image_topic and features_topic:
        raise BagError("give --image-topic or --features-topic, not both")
    if image_topic:
        info = _by_name(infos, image_topic, IMAGE_TYPES, "image topic")
        return SourceChoice("image", info.name, info.msgtype, info.count)
    if features_topic:
        info = _by_name(infos, features_topic, (FEATURE_FRAME,), "features topic")
        return SourceChoice("features", info.name, info.msgtype, info.count)
    images = [t for t in infos if t.msgtype in IMAGE_TYPES and t.count > 0]
    features = [t for t in infos if t.msgtype == FEATURE_FRAME and t.count > 0]
    if images:
        images.sort(key=lambda t: (t.msgtype != IMAGE, -t.count, t.name))
        best = images[0]
        note = ""
        if len(images) > 1 or features:
            others = [t.name for t in images[1:] + features]
            note = f"chose {best.name}; also present: {', '.join(others)} (use --image-topic/--features-topic)"
        return SourceChoice("image", best.name, best.msgtype, best.count, note)
    if features:
        features.sort(key=lambda t: (-t.count, t.name))
        best = features[0]
        note = (f"chose {best.name}; also present: {', '.join(t.name for t in features[1:])}"
                if len(features) > 1 else "")
        return SourceChoice("features", best.name, best.msgtype, best.count, note)
    raise BagError(f"no sensor_msgs/Image, sensor_msgs/CompressedImage or agilenn_ros/FeatureFrame topic "
                   f"with messages in the bag; topics: {_describe(infos)}")


def choose_predictions(infos: list[TopicInfo], topic: str = "") -> str:
    """The recorded Prediction topic: the given one, else the only (or busiest) one, else ''."""
    if topic:
        return _by_name(infos, topic, (PREDICTION,), "prediction topic").name
    found = sorted((t for t in infos if t.msgtype == PREDICTION and t.count > 0), key=lambda t: (-t.count, t.name))
    return found[0].name if found else ""


def find_labels(infos: list[TopicInfo], topic: str) -> str:
    """The ground-truth topic when it is in the bag ('' otherwise)."""
    return topic if topic and any(t.name == topic for t in infos) else ""


__all__ = ["SourceChoice", "choose_source", "choose_predictions", "find_labels", "IMAGE", "COMPRESSED_IMAGE"]
