"""Which topics of a bag eval-bag uses: the frame source (images or FeatureFrames), the
recorded predictions and the ground truth."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

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


@dataclass(frozen=True)
class Probe:
    """What a topic's first message says: ``problem`` is '' when it can be evaluated, else why
    not (one line); ``grey`` marks usable images without colour (mono8, mono16, 8UC1)."""
    problem: str = ""
    grey: bool = False


Prober = Callable[[TopicInfo], Probe]


def choose_source(infos: list[TopicInfo], image_topic: str = "", features_topic: str = "",
                  probe: Prober | None = None) -> SourceChoice:
    """An explicit topic wins; otherwise only topics whose first message is usable (``probe``:
    a depth or float image, an unknown encoding or an undecodable first message rules a topic
    out) are candidates, images (device + edge offline) before FeatureFrames (edge only);
    among several image topics, colour before grey (an infrared or mono camera), raw Image
    before CompressedImage, then the one with most messages. The choice's ``note`` says which topic was chosen, why, and what the others are."""
    if image_topic and features_topic:
        raise BagError("give --image-topic or --features-topic, not both")
    if image_topic:
        info = _by_name(infos, image_topic, IMAGE_TYPES, "image topic")
        return SourceChoice("image", info.name, info.msgtype, info.count)
    if features_topic:
        info = _by_name(infos, features_topic, (FEATURE_FRAME,), "features topic")
        return SourceChoice("features", info.name, info.msgtype, info.count)
    candidates = [t for t in infos if t.msgtype in IMAGE_TYPES + (FEATURE_FRAME,) and t.count > 0]
    probes = {t.name: (probe(t) if probe is not None else Probe()) for t in candidates}
    unusable = {name: p.problem for name, p in probes.items()}
    usable = [t for t in candidates if not unusable[t.name]]
    # colour images first (grey ones lose the colour the model was trained on), raw before
    # compressed (no compression loss), then FeatureFrames; busiest first
    rank = {IMAGE: 0, COMPRESSED_IMAGE: 1, FEATURE_FRAME: 2}
    usable.sort(key=lambda t: (t.msgtype == FEATURE_FRAME, probes[t.name].grey, rank[t.msgtype], -t.count, t.name))
    if not usable:
        if candidates:
            reasons = "; ".join(f"{t.name} ({t.msgtype}, {t.count}): {unusable[t.name]}" for t in candidates)
            raise BagError(f"no usable image or FeatureFrame topic in the bag: {reasons}")
        raise BagError(f"no sensor_msgs/Image, sensor_msgs/CompressedImage or agilenn_ros/FeatureFrame topic "
                       f"with messages in the bag; topics: {_describe(infos)}")
    best = usable[0]
    why = {IMAGE: "raw images (device and edge offline, no compression loss)",
           COMPRESSED_IMAGE: "compressed images (device and edge offline)",
           FEATURE_FRAME: "FeatureFrames recorded from a device (edge only)"}[best.msgtype]
    if best.msgtype != FEATURE_FRAME:
        why = ("grey " if probes[best.name].grey else "colour ") + why
    note = ""
    if len(candidates) > 1:
        def ranked_lower(t: TopicInfo) -> str:
            return "usable, grey: ranked lower" if probes[t.name].grey and not probes[best.name].grey \
                else "usable, ranked lower"
        rest = [f"{t.name} ({t.msgtype}, {t.count} msgs: {unusable[t.name] or ranked_lower(t)})"
                for t in candidates if t is not best]
        note = (f"chose {best.name} ({best.count} msgs): {why}, first message usable"
                f"{', most messages' if any(t.msgtype == best.msgtype for t in usable[1:]) else ''}; "
                f"also present: {'; '.join(rest)} (use --image-topic/--features-topic)")
    kind = "features" if best.msgtype == FEATURE_FRAME else "image"
    return SourceChoice(kind, best.name, best.msgtype, best.count, note)


def choose_predictions(infos: list[TopicInfo], topic: str = "") -> str:
    """The recorded Prediction topic: the given one, else the only (or busiest) one, else ''."""
    if topic:
        return _by_name(infos, topic, (PREDICTION,), "prediction topic").name
    found = sorted((t for t in infos if t.msgtype == PREDICTION and t.count > 0), key=lambda t: (-t.count, t.name))
    return found[0].name if found else ""


def find_labels(infos: list[TopicInfo], topic: str) -> str:
    """The ground-truth topic when it is in the bag ('' otherwise)."""
    return topic if topic and any(t.name == topic for t in infos) else ""


__all__ = ["Probe", "SourceChoice", "choose_source", "choose_predictions", "find_labels", "IMAGE", "COMPRESSED_IMAGE"]
