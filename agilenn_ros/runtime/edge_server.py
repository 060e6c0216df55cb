"""The edge's frame handling, transport-neutral: accept serialized FeatureFrames, queue them
(bounded, oldest dropped first), decode and infer them in batches on a worker thread, and
hand serialized Prediction / Classification CDR to publish callbacks.

Threads: :meth:`EdgeServer.on_sample` runs in the transport's callback thread and only parses,
checks and queues (tens of microseconds), so the DDS reader is drained at once and never
overwrites samples under load; the worker thread runs the rANS decoder (C, GIL released) and
one onnxruntime call per batch (GIL released); with ``workers`` threads sharing one session,
batches run in parallel on all cores. No exception from
one frame stops either thread: it is counted (``errors_internal``) and logged, throttled.
"""
from __future__ import annotations

import threading
import time
from collections import deque
from typing import Any, Callable

import numpy as np

from agilenn_ros.runtime.edge_pipeline import Decoded, EdgePipeline, EdgeResult, FrameError
from agilenn_ros.runtime.edge_stats import EdgeStats
from agilenn_ros.runtime.frame_wire import (FieldLimits, WireFrame, WireReject, classification_cdr,
                                            parse_feature_frame, prediction_cdr)

Publish = Callable[[bytes], None]


class EdgeServer:
    """``publish_prediction``/``publish_classification`` get serialized CDR; ``now_ns`` is the
    node clock (ns since the epoch); ``log`` a node logger (``warning``/``error``; this class
    throttles them per kind of event). ``max_queue`` frames wait at most; ``max_batch`` go into one
    network call. Call :meth:`start` once and :meth:`stop` at shutdown."""

    def __init__(self, pipeline: EdgePipeline, stats: EdgeStats, publish_prediction: Publish,
                 publish_classification: Publish | None, now_ns: Callable[[], int], log: Any, *,
                 limits: FieldLimits = FieldLimits(), max_queue: int = 256, workers: int = 2) -> None:
        if max_queue < 1 or workers < 1:
            raise ValueError("max_queue and workers must be >= 1")
        self.workers = int(workers)
        self.pipeline, self.stats, self.limits, self.log = pipeline, stats, limits, log
        self.publish_prediction, self.publish_classification = publish_prediction, publish_classification
        self.now_ns = now_ns
        self.max_queue = int(max_queue)
        self.model_hash = pipeline.bundle.model_hash_u32
        self.alpha = float(pipeline.bundle.alpha)
        self._labels = [name.encode("utf-8") for name in pipeline.class_names]
        self._queue: deque[tuple[float, WireFrame]] = deque()
        self._cv = threading.Condition()
        self._stop = False
        self._busy = 0
        self._threads: list[threading.Thread] = []
        self._last_log: dict[str, float] = {}

    def _log(self, level: str, key: str, message: str, period_s: float = 5.0) -> None:
        """At most one line per ``key`` (kind of event) every ``period_s``: hostile input must
        not flood the log (the counters on /diagnostics have the totals)."""
        now = time.monotonic()
        last = self._last_log.get(key)
        if last is not None and now - last < period_s:
            return
        self._last_log[key] = now
        getattr(self.log, level)(message)

    # --- receive side (transport callback thread)
    def on_sample(self, sample: bytes) -> None:
        """One serialized FeatureFrame from a raw subscription. Never raises."""
        received = time.perf_counter()
        try:
            self.stats.frame_arrived()
            try:
                frame = parse_feature_frame(sample, self.limits)
            except WireReject as exc:
                n = self.stats.reject(exc.counter)
                if exc.model_hash == self.model_hash:
                    self.stats.note_rejected(exc.device_id, exc.sequence)
                self._log("warning", "wire", f"FeatureFrame rejected ({exc.counter}, {n} so far): {exc}")
                return
            if frame.model_hash != self.model_hash:
                n = self.stats.reject("rejected_model_hash")
                self.stats.note_rejected(frame.device_id, frame.sequence)
                self._log("warning", "model_hash", f"frame {frame.sequence} from {frame.device_id!r} rejected: model hash "
                                 f"{frame.model_hash:08x} differs from this edge's {self.model_hash:08x} "
                                 f"({n} so far)")
                return
            self.stats.track_sequence(frame.device_id, frame.sequence)
            with self._cv:
                self._queue.append((received, frame))
                dropped = len(self._queue) - self.max_queue
                for _ in range(max(0, dropped)):
                    self._queue.popleft()
                self.stats.queue_depth = len(self._queue)
                self._cv.notify()
            if dropped > 0:
                for _ in range(dropped):
                    n = self.stats.reject("dropped_overload")
                self._log("warning", "overload", f"edge overloaded: dropped the oldest queued frame ({n} so far; "
                                 f"max_queue {self.max_queue})")
        except Exception as exc:  # noqa: BLE001 - one frame must never stop the node
            n = self.stats.reject("errors_internal")
            self._log("error", "internal_receive", f"internal error on a frame ({n} so far): {type(exc).__name__}: {exc}")

    # --- worker
    def start(self) -> None:
        """Start the worker threads (one onnxruntime session is shared; its calls run in parallel)."""
        while len(self._threads) < self.workers:
            thread = threading.Thread(target=self._run, name=f"agilenn-edge-worker{len(self._threads)}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout_s: float = 5.0) -> None:
        with self._cv:
            self._stop = True
            self._cv.notify_all()
        for thread in self._threads:
            thread.join(timeout_s)
        self._threads = []

    def idle(self) -> bool:
        """True when nothing is queued or being processed."""
        with self._cv:
            return not self._queue and self._busy == 0

    def _take_batch(self) -> list[tuple[float, WireFrame]]:
        with self._cv:
            while not self._queue and not self._stop:
                self._cv.wait(0.5)
            if self._stop:
                return []
            n = min(len(self._queue), self.pipeline.max_batch)
            batch = [self._queue.popleft() for _ in range(n)]
            self.stats.queue_depth = len(self._queue)
            self._busy += 1
            return batch

    def _run(self) -> None:
        while True:
            batch = self._take_batch()
            if not batch:
                return
            try:
                self.process(batch)
            except Exception as exc:  # noqa: BLE001 - counted per frame in process(); never stop
                self._log("error", "internal_batch", f"internal error in a batch: {type(exc).__name__}: {exc}")
            finally:
                with self._cv:
                    self._busy -= 1

    def process(self, batch: list[tuple[float, WireFrame]]) -> None:
        """Decode, infer (one call), publish. Every frame ends in exactly one counter."""
        ready: list[tuple[float, WireFrame, Decoded]] = []
        for received, frame in batch:
            try:
                prepared = self.pipeline.prepare(frame.codec, frame.payload, frame.shape, frame.local_logits)
            except FrameError as exc:
                n = self.stats.reject("rejected_invalid")
                self._log("warning", "invalid", f"frame {frame.sequence} from {frame.device_id!r} unusable ({n} so far): {exc}")
                continue
            except Exception as exc:  # noqa: BLE001
                self._internal_error(frame, exc)
                continue
            if isinstance(prepared, EdgeResult):
                self._publish(received, frame, prepared)
            else:
                ready.append((received, frame, prepared))
        if not ready:
            return
        self.stats.count_batch()
        try:
            results = self.pipeline.run_batch([d for _, _, d in ready])
        except Exception as exc:  # noqa: BLE001 - retry one by one so one bad frame costs only itself
            if len(ready) == 1:
                self._internal_error(ready[0][1], exc)
                return
            for item in ready:
                self.process_decoded([item])
            return
        for (received, frame, _), result in zip(ready, results):
            self._publish(received, frame, result)

    def process_decoded(self, items: list[tuple[float, WireFrame, Decoded]]) -> None:
        for received, frame, decoded in items:
            try:
                result = self.pipeline.run_batch([decoded])[0]
            except Exception as exc:  # noqa: BLE001
                self._internal_error(frame, exc)
                continue
            self._publish(received, frame, result)

    def _internal_error(self, frame: WireFrame, exc: BaseException) -> None:
        n = self.stats.reject("errors_internal")
        self._log("error", "internal", f"internal error on frame {frame.sequence} from {frame.device_id!r} ({n} so far): "
                       f"{type(exc).__name__}: {exc}")

    def _publish(self, received: float, frame: WireFrame, result: EdgeResult) -> None:
        try:
            if not result.remote_used:
                self._log("warning", "local_only", f"frame {frame.sequence} from {frame.device_id!r}: local-only prediction "
                                 f"({result.fallback_reason})")
            edge_ms = (time.perf_counter() - received) * 1e3
            stamp_ns = frame.stamp_sec * 1_000_000_000 + frame.stamp_nanosec
            age_ms = (self.now_ns() - stamp_ns) / 1e6 if stamp_ns > 0 else float("nan")
            frame_id = frame.frame_id.encode("utf-8")
            label = self._labels[result.class_id]
            stamp = (frame.stamp_sec, frame.stamp_nanosec)
            self.publish_prediction(prediction_cdr(
                stamp, frame_id, frame.device_id.encode("utf-8"), frame.sequence, result.class_id, label,
                result.confidence, result.scores, self.alpha if result.remote_used else 1.0, result.remote_used,
                len(frame.payload), (frame.device_compute_us / 1e3, result.decode_s * 1e3, result.remote_s * 1e3,
                                     edge_ms, age_ms if np.isfinite(age_ms) else 0.0)))
            if self.publish_classification is not None:
                self.publish_classification(classification_cdr(stamp, frame_id, label, result.confidence))
        except Exception as exc:  # noqa: BLE001
            self._internal_error(frame, exc)
            return
        self.stats.record(len(frame.payload), result.decode_s * 1e3, result.remote_s * 1e3, edge_ms, age_ms,
                          result.remote_used, result.fallback_reason)
