"""The device emulator's camera input (``source=topic``): an image subscription whose QoS
adapts to the publishers, frames taken newest-first like a busy device, and counts of the
frames it could not take.

``image_qos``:

* ``auto`` (default): reliable when every publisher of the topic offers reliable (usb_cam,
  v4l2_camera, ``ros2 bag play``), best effort as soon as one offers best effort (a reliable
  reader never matches a best-effort writer), best effort while no publisher is known yet
  (it matches any publisher). This is the rule ``ros2 topic echo`` and rosbag2 apply.
  Publishers are looked up every ``check_period_s`` (DDS builtin publication discovery on the
  Cyclone transport, ``get_publishers_info_by_topic`` on rclpy); when the wanted QoS changes a
  new subscription is created and the old one is removed once the new one has matched.
  Best-effort readers lose large images (fragmented samples) whenever a fragment is lost,
  which is why a reliable camera must get a reliable reader.
* ``reliable`` / ``best_effort``: fixed.

Frames the device could not take are counted by cause: ``busy`` (a newer frame arrived
before the device was done with the previous one; the device always takes the newest),
``lost`` (samples the middleware reported lost or rejected, or, when it reports nothing,
``missing``: frames whose header stamps are absent from an otherwise regular sequence, so a
best-effort reader losing fragmented samples is seen too; Cyclone DDS does not report those
as lost) and ``unusable`` (encoding or data the device cannot convert). A warning says so
when the count grows, with the advice to use a reliable subscription when a best-effort one
loses frames.
"""
from __future__ import annotations

import statistics
import time
from collections import deque
from dataclasses import dataclass
from typing import Any, Callable

from agilenn_ros.transport.base import QoS, Subscription

IMAGE_QOS_CHOICES = ("auto", "reliable", "best_effort")
IMAGE_DEPTH = 10                    # room for a burst; the device takes only the newest
DRAIN_PERIOD_S = 0.002              # how often the pending frame is handed to the device

PAUSE_FRAMES = 10
"""A stamp gap of this many frame periods or more is a pause of the stream, not lost frames."""


@dataclass
class ImageCounts:
    received: int = 0               # image messages delivered to the emulator
    taken: int = 0                  # handed to the device and published
    busy: int = 0                   # replaced by a newer frame before the device was free
    lost: int = 0                   # reported lost/rejected by the middleware
    missing: int = 0                # absent from the header stamp sequence (estimate)
    unusable: int = 0               # could not be converted (encoding, size)

    @property
    def lost_in_transport(self) -> int:
        """Middleware reports and stamp gaps see the same losses: the larger count."""
        return max(self.lost, self.missing)

    @property
    def not_taken(self) -> int:
        return self.busy + self.lost_in_transport + self.unusable

    def summary(self) -> str:
        return (f"{self.taken} frames taken, {self.not_taken} could not be taken (busy {self.busy}, "
                f"lost in transport {self.lost_in_transport}, unusable {self.unusable}) "
                f"of {self.received + self.lost_in_transport} offered")


def check_image_qos(value: Any) -> str | None:
    """Parameter check: None when ``value`` is a valid image_qos, else why not."""
    return None if value in IMAGE_QOS_CHOICES else f"must be one of {', '.join(IMAGE_QOS_CHOICES)}"


class ImageInput:
    """Subscribes ``msg_type`` on ``topic`` and hands the newest message to ``handler``,
    which returns True when the frame was used and False when it was unusable."""

    def __init__(self, node: Any, msg_type: str, topic: str, handler: Callable[[Any], bool],
                 image_qos: str = "auto", check_period_s: float = 0.5) -> None:
        reason = check_image_qos(image_qos)
        if reason is not None:
            raise ValueError(f"image_qos {image_qos!r}: {reason}")
        self.node, self.msg_type, self.topic, self.handler = node, msg_type, topic, handler
        self.mode = image_qos
        self.log = node.get_logger()
        self.counts = ImageCounts()
        self.reliability = ""                      # of the current subscription
        self._subs: list[tuple[Subscription, str]] = []
        self._retired_lost = 0
        self._pending: Any = None
        self._recent: list[tuple[int, int, str, int]] = []     # duplicate filter while two readers overlap
        self._warned_at = (0, 0.0)
        self._last_stamp = 0
        self._periods: deque[int] = deque(maxlen=20)
        self._drain_timer = node.create_timer(DRAIN_PERIOD_S, self._drain)
        self._advised = False
        if image_qos == "auto":
            self._adapt()
            self._adapt_timer = node.create_timer(check_period_s, self._adapt)
        else:
            self._subscribe(image_qos)
            if image_qos == "best_effort":
                self._advice_timer = node.create_timer(check_period_s, self._advise)

    def _advise(self) -> None:
        """A fixed best-effort subscription to reliable publishers: say once what it costs
        (Cyclone DDS reports no lost sample when a fragmented one is dropped)."""
        if self._advised:
            return
        try:
            offered = self.node.publisher_reliabilities(self.topic)
        except Exception:  # noqa: BLE001
            return
        if offered and all(r == "reliable" for r in offered):
            self._advised = True
            self.log.warning(f"image_qos best_effort on {self.topic}, whose publishers offer reliable: a best-effort "
                             f"reader loses every large (fragmented) image one of whose fragments is lost; "
                             f"image_qos:=auto or reliable avoids that")

    # subscriptions ------------------------------------------------------------------------
    def _subscribe(self, reliability: str) -> None:
        qos = QoS(reliability, "volatile", IMAGE_DEPTH)
        sub = self.node.create_subscription(self.msg_type, self.topic, self._on_message, qos)
        self._subs.append((sub, reliability))
        self.reliability = reliability

    def wanted(self, offered: list[str] | None) -> str:
        """The reliability ``auto`` wants for the publishers' ``offered`` reliabilities."""
        if offered is None:                  # the backend cannot tell: best effort matches everyone
            return "best_effort"
        if not offered:                      # nobody yet: keep what we have (best effort at start)
            return self.reliability or "best_effort"
        return "reliable" if all(r == "reliable" for r in offered) else "best_effort"

    def _adapt(self) -> None:
        try:
            offered = self.node.publisher_reliabilities(self.topic)
        except Exception as exc:  # noqa: BLE001 - discovery trouble must not stop the images
            self.log.warning(f"image_qos auto: cannot list the publishers of {self.topic} ({exc})",
                             throttle_duration_sec=30.0)
            offered = None
        want = self.wanted(offered)
        if want != self.reliability:
            publishers = "no publisher yet" if not offered else \
                f"{len(offered)} publisher(s) offering {', '.join(sorted(set(offered)))}"
            self.log.info(f"image_qos auto: {publishers} on {self.topic}: subscribing {want}")
            self._subscribe(want)
        if len(self._subs) > 1:
            current = self._subs[-1][0]
            if current.get_publisher_count() >= max(1, len(offered or [])):
                self._retire_old()

    def _retire_old(self) -> None:
        for sub, _ in self._subs[:-1]:
            self._retired_lost += int(sub.lost_count() or 0)
            self.node.destroy_subscription(sub)
        self._subs = self._subs[-1:]
        self._recent.clear()

    # frames -------------------------------------------------------------------------------
    def _on_message(self, msg: Any) -> None:
        if len(self._subs) > 1:              # two readers overlap while switching QoS: drop repeats
            key = (int(msg.header.stamp.sec), int(msg.header.stamp.nanosec), str(msg.header.frame_id),
                   len(msg.data))
            if key in self._recent:
                return
            self._recent = (self._recent + [key])[-32:]
        self.counts.received += 1
        self._count_missing(int(msg.header.stamp.sec) * 1_000_000_000 + int(msg.header.stamp.nanosec))
        if self._pending is not None:
            self.counts.busy += 1
        self._pending = msg

    def _count_missing(self, stamp_ns: int) -> None:
        """Frames absent between this stamp and the previous one, judged by the median frame
        period of the last regular gaps (needs 3 of them; stamps 0 or going back are ignored).
        A gap of ``PAUSE_FRAMES`` periods or more is a pause of the stream (a camera stopped, a
        bag or publisher restarted), not a loss: it restarts the period estimate."""
        if stamp_ns <= 0:
            return
        gap, self._last_stamp = stamp_ns - self._last_stamp, stamp_ns
        if gap <= 0 or gap == stamp_ns:
            return
        if len(self._periods) >= 3:
            missing = int(round(gap / statistics.median(self._periods))) - 1
            if missing >= PAUSE_FRAMES:
                self._periods.clear()  # the stream paused or its publisher restarted: not a loss
                return
            if missing > 0:
                self.counts.missing += missing
                return
        self._periods.append(gap)

    def _drain(self) -> None:
        msg, self._pending = self._pending, None
        if msg is not None:
            if self.handler(msg):
                self.counts.taken += 1
            else:
                self.counts.unusable += 1
        self.counts.lost = self._retired_lost + sum(int(sub.lost_count() or 0) for sub, _ in self._subs)
        self._warn()

    def _warn(self) -> None:
        missed, since = self._warned_at
        now = time.monotonic()
        if self.counts.not_taken > missed and now - since >= 10.0:
            hint = ""
            if self.counts.lost_in_transport and self.reliability == "best_effort":
                hint = ("; large images need a reliable subscription: set image_qos:=reliable if the camera "
                        "offers reliable")
            self.log.warning(f"images on {self.topic}: {self.counts.summary()}{hint}")
            self._warned_at = (self.counts.not_taken, now)
