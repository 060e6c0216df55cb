"""Counters and timing statistics of the edge node (for /diagnostics); no ROS here.

Accounting: every FeatureFrame a device sent ends in exactly one of these counters::

    predictions_published            (remote_predictions + local_only_fallbacks)
    rejected_malformed               not parseable as a FeatureFrame
    rejected_field_bounds            a string over its bound / not UTF-8, a sequence over its bound
    rejected_model_hash              made for another model bundle
    rejected_invalid                 local logits unusable (wrong count, NaN/Inf)
    dropped_overload                 queued frames dropped, oldest first, when the edge fell behind
    errors_internal                  an exception while handling the frame (the node carries on)
    sequence_gaps                    never arrived: missing sequence numbers between two frames of a
                                     device (lost in transport, overwritten in the DDS reader queue)
    unseen_before_first_frame        never reached this process: sequence numbers below the first one
                                     it saw from a device (sent before the edge started, while it was
                                     down, or handled by an earlier edge process; after a device
                                     restart, the numbers below its first new frame)

``frames_received`` is the sum of the counters above that are not "never arrived". Sequence
tracking (per device, bounded LRU of ``max_devices``; ``devices_evicted`` counts evictions)
is only updated by frames of this model with a valid device_id, so a spoofed or foreign frame
cannot disturb it. A sequence that goes backwards counts a ``device_restarts``; a jump larger
than ``max_sequence_gap`` (a corrupted or hostile number) counts a ``sequence_jumps`` and
re-synchronises instead of adding billions of "lost" frames. Times are medians and 99th
percentiles over the last ``window`` predictions; ages from stamps that are zero or further
than ``max_plausible_age_s`` off are left out of the age statistics and counted in
``age_unusable``.
"""
from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from dataclasses import dataclass, field

import numpy as np

REJECT_COUNTERS = ("rejected_malformed", "rejected_field_bounds", "rejected_model_hash", "rejected_invalid",
                   "dropped_overload", "errors_internal")


@dataclass
class DeviceTrack:
    last_sequence: int = -1
    frames: int = 0
    gaps: int = 0              # frames missing between consecutive sequence numbers
    rejected_ahead: set = field(default_factory=set)  # rejected sequence numbers above last_sequence


MAX_REJECTED_AHEAD = 64


@dataclass
class EdgeStats:
    window: int = 1000
    max_devices: int = 1024
    max_sequence_gap: int = 100_000
    max_plausible_age_s: float = 3600.0
    frames: int = 0
    predictions: int = 0
    local_only: int = 0
    rejected_malformed: int = 0
    rejected_field_bounds: int = 0
    rejected_model: int = 0
    rejected_invalid: int = 0
    dropped_overload: int = 0
    errors_internal: int = 0
    sequence_gaps: int = 0
    unseen_before_first: int = 0
    device_restarts: int = 0
    sequence_jumps: int = 0
    devices_evicted: int = 0
    age_unusable: int = 0
    batches: int = 0
    queue_depth: int = 0
    devices: "OrderedDict[str, DeviceTrack]" = field(default_factory=OrderedDict)
    last_fallback_reason: str = ""

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._times: deque = deque(maxlen=self.window)
        self._ages: deque = deque(maxlen=self.window)
        self._arrivals: deque = deque(maxlen=self.window)

    # --- receive side (the subscription callback's thread)
    def frame_arrived(self) -> None:
        """A sample arrived (whatever it holds)."""
        self.frames += 1
        self._arrivals.append(time.monotonic())

    def track_sequence(self, device_id: str, sequence: int) -> None:
        """Update the device's sequence tracking with a frame of this model."""
        track = self.devices.get(device_id)
        if track is None:
            if len(self.devices) >= self.max_devices:
                self.devices.popitem(last=False)
                self.devices_evicted += 1
            track = self.devices[device_id] = DeviceTrack()
            self._resync(sequence)
        else:
            self.devices.move_to_end(device_id)
            step = sequence - track.last_sequence
            if step > 1:
                if step - 1 > self.max_sequence_gap:
                    self.sequence_jumps += 1
                else:
                    # frames already counted as rejected are not missing
                    missing = step - 1 - sum(1 for s in track.rejected_ahead if track.last_sequence < s < sequence)
                    track.gaps += missing
                    self.sequence_gaps += missing
            elif step <= 0:
                self.device_restarts += 1
                self._resync(sequence)
            if track.rejected_ahead:
                track.rejected_ahead = {s for s in track.rejected_ahead if s > sequence}
        track.last_sequence = sequence
        track.frames += 1

    def note_rejected(self, device_id: str | None, sequence: int | None) -> None:
        """A frame of a tracked device was rejected (counted elsewhere): remember its number so
        it is not also counted as missing, without moving the device's tracking."""
        if device_id is None or sequence is None:
            return
        track = self.devices.get(device_id)
        if track is not None and sequence > track.last_sequence and len(track.rejected_ahead) < MAX_REJECTED_AHEAD:
            track.rejected_ahead.add(sequence)

    def _resync(self, sequence: int) -> None:
        if sequence > self.max_sequence_gap:
            self.sequence_jumps += 1
        else:
            self.unseen_before_first += sequence

    def reject(self, counter: str) -> int:
        """Count one rejected/dropped frame under ``counter`` (one of REJECT_COUNTERS); returns
        the new count."""
        attr = "rejected_model" if counter == "rejected_model_hash" else counter
        with self._lock:
            value = getattr(self, attr) + 1
            setattr(self, attr, value)
        return value

    # --- worker side
    def count_batch(self) -> None:
        """One network call (of one or more frames)."""
        with self._lock:
            self.batches += 1

    def record(self, payload_bytes: int, decode_ms: float, remote_ms: float, edge_ms: float,
               age_ms: float, remote_used: bool, reason: str = "") -> None:
        with self._lock:
            self.predictions += 1
            if not remote_used:
                self.local_only += 1
                self.last_fallback_reason = reason
            self._times.append((payload_bytes, decode_ms, remote_ms, edge_ms))
            if np.isfinite(age_ms) and abs(age_ms) <= self.max_plausible_age_s * 1e3:
                self._ages.append(age_ms)
            else:
                self.age_unusable += 1

    def rate_hz(self) -> float:
        arrivals = list(self._arrivals)
        if len(arrivals) < 2:
            return 0.0
        span = arrivals[-1] - arrivals[0]
        recent = time.monotonic() - arrivals[-1]
        return (len(arrivals) - 1) / span if span > 0 and recent < 5.0 else 0.0

    def accounted(self) -> int:
        """Frames that reached the edge and ended in a counter (equals ``frames`` once the
        queue is empty)."""
        return (self.predictions + self.rejected_malformed + self.rejected_field_bounds + self.rejected_model
                + self.rejected_invalid + self.dropped_overload + self.errors_internal)

    def summary(self) -> dict[str, float | int | str]:
        with self._lock:
            times = np.asarray(self._times, dtype=np.float64).reshape(-1, 4)
            ages = np.asarray(self._ages, dtype=np.float64)
            out: dict[str, float | int | str] = {
                "frames_received": self.frames, "predictions_published": self.predictions,
                "remote_predictions": self.predictions - self.local_only,
                "local_only_fallbacks": self.local_only,
                "rejected_malformed": self.rejected_malformed, "rejected_field_bounds": self.rejected_field_bounds,
                "rejected_model_hash": self.rejected_model, "rejected_invalid": self.rejected_invalid,
                "dropped_overload": self.dropped_overload, "errors_internal": self.errors_internal,
                "sequence_gaps": self.sequence_gaps, "unseen_before_first_frame": self.unseen_before_first,
                "in_queue": self.queue_depth,
                "device_restarts": self.device_restarts, "sequence_jumps": self.sequence_jumps,
                "devices": len(self.devices), "devices_evicted": self.devices_evicted,
                "age_unusable": self.age_unusable, "batches": self.batches,
                "rate_hz": round(self.rate_hz(), 2),
            }
        if len(times):
            for i, name in enumerate(("payload_bytes", "decode_ms", "remote_ms", "edge_ms")):
                p50, p99 = np.percentile(times[:, i], [50, 99])
                out[f"{name}_p50"] = round(float(p50), 3)
                out[f"{name}_p99"] = round(float(p99), 3)
        if len(ages):
            p50, p99 = np.percentile(ages, [50, 99])
            out["age_ms_p50"], out["age_ms_p99"] = round(float(p50), 3), round(float(p99), 3)
        if self.last_fallback_reason:
            out["last_fallback_reason"] = self.last_fallback_reason
        return out
