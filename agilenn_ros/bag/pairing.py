"""Matching ground-truth labels to evaluated frames, and saying why when it fails.

Rule 1, header stamps (the ROS convention, and what ``agilenn make-bag`` writes): a label
belongs to the frame whose ``header.stamp`` is exactly its own. Used whenever the stamps can
identify frames: no frame and no label stamped 0, no two frames and no two labels with the
same stamp.

Rule 2, bag receive time (fallback when stamps are 0 or repeated, e.g. a camera without a
clock): each frame is paired with the label recorded closest to it in the bag, one to one,
at most half the median frame period away. A labeller publishes a frame's label right
after (or before) it, so the closest label is the frame's own as long as labels arrive
within half a frame period; a frame with no label that close stays unlabelled instead of
borrowing a neighbour's.

Rule 3, order (when receive times cannot separate frames either): the i-th frame with the
i-th label, only when every frame of the topic was read and decoded and there are exactly
as many labels; otherwise no pairing at all and no accuracy.

Duplicate or zero stamps never silently overwrite each other: the rule used and the reason
are reported (console, report.json ``labels.pairing``/``labels.note``).
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from agilenn_ros.bag.offline import FrameRecord
from agilenn_ros.bag.side_topics import GroundTruth, Label


@dataclass
class Pairing:
    method: str                 # "header_stamp", "receive_time", "order" or "none"
    labels: dict[int, int]      # index into records -> class index
    note: str = ""              # what was done and why (console + report)
    reason: str = ""            # why no label matched (empty when some did)


def stamp_problems(stamps: list[int], what: str) -> list[str]:
    """'N <what> stamps are 0' / 'N <what> stamps repeat another' (empty: stamps identify frames)."""
    problems = []
    zeros = sum(1 for s in stamps if s == 0)
    if zeros:
        problems.append(f"{zeros} of {len(stamps)} {what} stamps are 0")
    repeats = sum(c - 1 for s, c in Counter(stamps).items() if c > 1 and s != 0)
    if repeats:
        problems.append(f"{repeats} of {len(stamps)} {what} stamps repeat another")
    return problems


def _by_stamp(records: list[FrameRecord], labels: list[Label]) -> dict[int, int]:
    index = {label.stamp_ns: label for label in labels}
    return {i: index[r.stamp_ns].index for i, r in enumerate(records)
            if r.stamp_ns in index and index[r.stamp_ns].index >= 0}


def _by_receive_time(records: list[FrameRecord], labels: list[Label]) -> tuple[dict[int, int], float]:
    """One-to-one nearest bag time within half the median frame period; (pairs, tolerance ms)."""
    times = np.array(sorted(r.bag_ns for r in records), dtype=np.int64)
    gaps = np.diff(times)
    gaps = gaps[gaps > 0]
    tolerance = float(np.median(gaps)) / 2 if gaps.size else float("inf")
    order = sorted(range(len(labels)), key=lambda j: labels[j].bag_ns)
    label_times = np.array([labels[j].bag_ns for j in order], dtype=np.int64)
    candidates = []
    for i, r in enumerate(records):      # only labels inside the window: O(frames * labels nearby)
        lo = int(np.searchsorted(label_times, r.bag_ns - tolerance, side="left"))
        hi = int(np.searchsorted(label_times, r.bag_ns + tolerance, side="right"))
        candidates += [(abs(r.bag_ns - int(label_times[k])), i, order[k]) for k in range(lo, hi)]
    candidates.sort()
    used_frames: set[int] = set()
    used_labels: set[int] = set()
    pairs: dict[int, int] = {}
    for _, i, j in candidates:
        if i in used_frames or j in used_labels:
            continue
        used_frames.add(i)
        used_labels.add(j)
        if labels[j].index >= 0:
            pairs[i] = labels[j].index
    return pairs, tolerance / 1e6


def _why_none(records: list[FrameRecord], truth: GroundTruth, class_names: list[str]) -> str:
    """Why labels exist but none matched a frame (the likeliest causes first)."""
    n = len(truth.entries)
    if truth.entries and not truth.known:
        examples = ", ".join(repr(c) for c, _ in truth.unknown_class_ids.most_common(3))
        return (f"no label names a class the model knows (class ids {examples}; the model's classes are "
                f"{', '.join(class_names[:10])}{'...' if len(class_names) > 10 else ''}, or their indices)")
    if not records:
        return "no frame was evaluated"
    label_stamps = np.array(sorted(e.stamp_ns for e in truth.known), dtype=np.int64)
    frame_stamps = np.array([r.stamp_ns for r in records], dtype=np.int64)
    pos = np.clip(np.searchsorted(label_stamps, frame_stamps), 1, max(1, label_stamps.size - 1))
    lower = label_stamps[np.clip(pos - 1, 0, label_stamps.size - 1)]
    upper = label_stamps[np.clip(pos, 0, label_stamps.size - 1)]
    nearest = np.where(np.abs(upper - frame_stamps) < np.abs(lower - frame_stamps), upper, lower)
    offset_ms = float(np.median(nearest - frame_stamps)) / 1e6
    unknown = f" ({sum(truth.unknown_class_ids.values())} of them with class ids the model does not know)" \
        if truth.unknown_class_ids else ""
    return (f"{n} labels{unknown}, none stamped exactly like a frame: the nearest label stamp is "
            f"{offset_ms:+.3f} ms from its frame's (median over frames); a label must carry its image's "
            f"header stamp")


def pair_labels(records: list[FrameRecord], truth: GroundTruth, class_names: list[str],
                all_frames_decoded: bool) -> Pairing:
    """Labels for ``records`` (see the module docstring for the rules)."""
    labels = truth.entries
    if not labels:
        reason = (f"{truth.messages} label messages, none usable ({', '.join(f'{k}={v}' for k, v in truth.errors.items())})"
                  if truth.messages else "the labels topic has no messages")
        return Pairing("none", {}, reason=reason)
    problems = (stamp_problems([r.stamp_ns for r in records], "frame")
                + stamp_problems([e.stamp_ns for e in labels], "label"))
    if not problems:
        pairs = _by_stamp(records, labels)
        return Pairing("header_stamp", pairs, reason="" if pairs else _why_none(records, truth, class_names))
    why = "; ".join(problems)
    bag_problems = stamp_problems([r.bag_ns for r in records], "frame receive") + \
        stamp_problems([e.bag_ns for e in labels], "label receive")
    if not bag_problems:
        pairs, tolerance_ms = _by_receive_time(records, labels)
        note = (f"header stamps cannot identify frames ({why}): paired each frame with the label received "
                f"closest to it in the bag (one to one, within {tolerance_ms:.1f} ms, half the median frame "
                f"period): {len(pairs)} of {len(records)} frames labelled")
        return Pairing("receive_time", pairs, note=note,
                       reason="" if pairs else f"{len(labels)} labels, none received within {tolerance_ms:.1f} ms "
                                               f"of a frame ({why})")
    if all_frames_decoded and len(labels) == len(records):
        order_frames = sorted(range(len(records)), key=lambda i: records[i].bag_ns)
        order_labels = sorted(labels, key=lambda e: e.bag_ns)
        pairs = {i: label.index for i, label in zip(order_frames, order_labels) if label.index >= 0}
        note = (f"header stamps cannot identify frames ({why}) and neither can receive times "
                f"({'; '.join(bag_problems)}): paired frames and labels in recording order "
                f"({len(records)} frames, {len(labels)} labels, every frame decoded): {len(pairs)} frames labelled")
        return Pairing("order", pairs, note=note)
    reason = (f"{len(labels)} labels cannot be paired with {len(records)} frames: header stamps cannot identify "
              f"frames ({why}), nor can receive times ({'; '.join(bag_problems)}), and pairing in order needs "
              f"every frame decoded and as many labels as frames")
    return Pairing("none", {}, note=reason, reason=reason)
