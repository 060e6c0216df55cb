"""Counters and timing statistics of the edge node (for /diagnostics); no ROS here."""
from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field

import numpy as np


@dataclass
class DeviceTrack:
    last_sequence: int = -1
    frames: int = 0
    gaps: int = 0              # frames missing between consecutive sequence numbers
    reordered: int = 0         # sequence numbers that went backwards (device restart or reordering)


@dataclass
class EdgeStats:
    window: int = 500
    frames: int = 0
    predictions: int = 0
    rejected_model: int = 0
    rejected_invalid: int = 0
    local_only: int = 0
    devices: dict[str, DeviceTrack] = field(default_factory=dict)
    _times: deque = field(default_factory=lambda: deque(maxlen=500))
    _arrivals: deque = field(default_factory=lambda: deque(maxlen=500))
    last_fallback_reason: str = ""

    def frame_arrived(self, device_id: str, sequence: int) -> None:
        self.frames += 1
        self._arrivals.append(time.monotonic())
        track = self.devices.setdefault(device_id, DeviceTrack())
        if track.last_sequence >= 0:
            if sequence > track.last_sequence + 1:
                track.gaps += sequence - track.last_sequence - 1
            elif sequence <= track.last_sequence:
                track.reordered += 1
        track.last_sequence = sequence
        track.frames += 1

    def record(self, payload_bytes: int, decode_ms: float, remote_ms: float, edge_ms: float,
               age_ms: float, remote_used: bool, reason: str = "") -> None:
        self.predictions += 1
        if not remote_used:
            self.local_only += 1
            self.last_fallback_reason = reason
        self._times.append((payload_bytes, decode_ms, remote_ms, edge_ms, age_ms))

    def rate_hz(self) -> float:
        if len(self._arrivals) < 2:
            return 0.0
        span = self._arrivals[-1] - self._arrivals[0]
        recent = time.monotonic() - self._arrivals[-1]
        return (len(self._arrivals) - 1) / span if span > 0 and recent < 5.0 else 0.0

    def summary(self) -> dict[str, float | int | str]:
        out: dict[str, float | int | str] = {
            "frames_received": self.frames, "predictions_published": self.predictions,
            "rejected_model_hash": self.rejected_model, "rejected_invalid": self.rejected_invalid,
            "local_only_fallbacks": self.local_only, "rate_hz": round(self.rate_hz(), 2),
            "devices": len(self.devices),
            "sequence_gaps": sum(t.gaps for t in self.devices.values()),
            "sequence_reordered": sum(t.reordered for t in self.devices.values()),
        }
        if self._times:
            arr = np.asarray(self._times, dtype=np.float64)
            names = ("payload_bytes", "decode_ms", "remote_ms", "edge_ms", "age_ms")
            for i, name in enumerate(names):
                out[f"{name}_mean"] = round(float(arr[:, i].mean()), 3)
            out["edge_ms_p99"] = round(float(np.percentile(arr[:, 3], 99)), 3)
        if self.last_fallback_reason:
            out["last_fallback_reason"] = self.last_fallback_reason
        return out
