"""``agilenn bench-edge``: the edge node under load, measured from a separate process.

The edge node runs as its own process (``python -m agilenn_ros.nodes.edge_node``) on the DDS
transport, loopback only, on a random domain. This process is the load generator: it
publishes FeatureFrames for D simulated devices at H Hz each (real frames: the bundle's device
half on the sample images, re-stamped and re-numbered per send) from a sender thread, and
subscribes to ``prediction`` and ``/diagnostics`` in its spinning thread, so it is also the
"process that publishes and subscribes" whose receive path must never stall.

Per load point it reports: frames sent, predictions received, ``frames_per_s`` (predictions
received over the time from the first to the last of them), end-to-end latency
(prediction arrival minus the frame's stamp, which is its send time) p50/p90/p99/max,
``max_receive_gap_ms`` (longest silence between two predictions while frames were going out),
the edge's own counters for the point (deltas of its /diagnostics) and the accounting
``sent - (predicted + rejected + dropped + never arrived)`` which must be 0.

``--malformed F`` replaces a fraction F of the frames by hostile ones (invalid UTF-8 or
over-long device_id, over-long frame_id, truncated CDR, another model's hash), each expected
in its own counter on /diagnostics.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import struct
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from agilenn_ros.transport import msgtypes

FRAME = "agilenn_ros/msg/FeatureFrame"
HOSTILE_KINDS = ("device_id_utf8", "device_id_long", "frame_id_long", "frame_id_huge", "truncated", "model_hash")
SMALL_HOSTILE = tuple(k for k in HOSTILE_KINDS if k != "frame_id_huge")
HOSTILE_COUNTER = {"device_id_utf8": "rejected_field_bounds", "device_id_long": "rejected_field_bounds",
                   "frame_id_long": "rejected_field_bounds", "frame_id_huge": "rejected_field_bounds",
                   "truncated": "rejected_malformed",
                   "model_hash": "rejected_model_hash"}
EDGE_COUNTERS = ("frames_received", "predictions_published", "remote_predictions", "local_only_fallbacks",
                 "rejected_malformed", "rejected_field_bounds", "rejected_model_hash", "rejected_invalid",
                 "dropped_overload", "errors_internal", "sequence_gaps", "unseen_before_first_frame",
                 "device_restarts", "sequence_jumps")
LOSS_COUNTERS = ("predictions_published", "rejected_malformed", "rejected_field_bounds", "rejected_model_hash",
                 "rejected_invalid", "dropped_overload", "errors_internal", "sequence_gaps",
                 "unseen_before_first_frame")


# --------------------------------------------------------------------------- frames


def _aligned(n: int) -> int:
    return n + (-n % 4)


@dataclass
class FrameTemplate:
    """One serialized FeatureFrame whose stamp and sequence are patched per send."""

    data: bytearray
    seq_at: int

    def render(self, stamp_ns: int, sequence: int) -> bytes:
        struct.pack_into("<iI", self.data, 4, stamp_ns // 1_000_000_000, stamp_ns % 1_000_000_000)
        struct.pack_into("<I", self.data, self.seq_at, sequence & 0xFFFFFFFF)
        return bytes(self.data)


def _template(fields: dict[str, Any], frame_id: str, device_id: bytes) -> FrameTemplate:
    """Serialize with a placeholder device id of the same length, then put the raw id bytes in
    (so hostile ids that rosbags would refuse can be written too)."""
    placeholder = "d" * len(device_id)
    msg = msgtypes.new_message(FRAME, **{**fields, "header": {"stamp": (0, 0), "frame_id": frame_id},
                                         "device_id": placeholder})
    data = bytearray(msgtypes.typestore().serialize_cdr(msg, FRAME))
    dev_at = 4 + _aligned(8 + 4 + len(frame_id.encode()) + 1)
    data[dev_at + 4:dev_at + 4 + len(device_id)] = device_id
    seq_at = 4 + _aligned(dev_at - 4 + 4 + len(device_id) + 1)
    return FrameTemplate(data, seq_at)


def real_frames(bundle: Any, count: int = 20) -> list[dict[str, Any]]:
    """FeatureFrame fields (without header/device/sequence) from the bundle's device half on the
    packaged sample images (the emulator's computation)."""
    import itertools

    from agilenn_ros.runtime.device_pipeline import DevicePipeline
    from agilenn_ros.runtime.frame_sources import FolderSource, sample_images_dir

    device = DevicePipeline(bundle)
    frames = []
    for image in itertools.islice(FolderSource(sample_images_dir()).frames(), 0, None, 200 // count):
        r = device.process(image.rgb)
        c, h, w = r.indices.shape
        frames.append(dict(model_hash=bundle.model_hash_u32, channels=c, height=h, width=w, codec=r.codec_id,
                           payload=np.frombuffer(r.payload, np.uint8), local_logits=r.local_logits,
                           device_compute_us=int(r.compute_s * 1e6)))
    return frames


def hostile_template(kind: str, fields: dict[str, Any], device_id: str) -> FrameTemplate:
    if kind == "device_id_utf8":
        return _template(fields, "cam", b"\xff\xfe" + device_id.encode()[:20])
    if kind == "device_id_long":
        return _template(fields, "cam", (device_id + "x" * 40).encode()[:40])
    if kind == "frame_id_long":
        return _template(fields, "f" * 4096, device_id.encode())
    if kind == "frame_id_huge":  # 1 MiB: a fragmented sample (the old edge echoed it into every output)
        return _template(fields, "f" * (1 << 20), device_id.encode())
    if kind == "model_hash":
        return _template({**fields, "model_hash": fields["model_hash"] ^ 0x5A5A5A5A}, "cam", device_id.encode())
    if kind == "truncated":
        t = _template(fields, "cam", device_id.encode())
        return FrameTemplate(t.data[:t.seq_at + 12], t.seq_at)
    raise ValueError(f"unknown hostile frame kind {kind!r}")


# --------------------------------------------------------------------------- edge process


def _proc_cpu_s(pid: int) -> float | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def start_edge(model: str, env: dict[str, str], workers: int, max_batch: int, log_path: Path) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "agilenn_ros.nodes.edge_node", "--ros-args", "-p", f"model:={model}",
           "-p", "diagnostics_period_s:=0.25", "-p", f"workers:={workers}", "-p", f"max_batch:={max_batch}",
           "-p", "publish_classification:=false"]
    return subprocess.Popen(cmd, env=env, stdout=log_path.open("w"), stderr=subprocess.STDOUT)


# --------------------------------------------------------------------------- the generator


@dataclass
class PointResult:
    sent: int = 0
    sent_valid: int = 0
    sent_hostile: dict[str, int] = field(default_factory=dict)
    send_failed: int = 0
    first_send: float = 0.0
    last_send: float = 0.0
    arrivals: list[float] = field(default_factory=list)
    latencies_ms: list[float] = field(default_factory=list)


class LoadGenerator:
    """Publishes frames and collects predictions and diagnostics (see the module docstring)."""

    def __init__(self, transport: Any, frames: list[dict[str, Any]]) -> None:
        from agilenn_ros.transport import QoS

        self.transport = transport
        self.node = transport.create_node("agilenn_load", "/agilenn")
        self.pub = self.node.create_publisher(FRAME, "features", QoS("reliable", "volatile", 100))
        # hostile frames come from their own writer, as from another device: a huge sample under
        # repair holds back only its own writer's stream
        self.pub_hostile = self.node.create_publisher(FRAME, "features", QoS("reliable", "volatile", 100))
        self.node.create_subscription("agilenn_ros/msg/Prediction", "prediction", self._on_prediction,
                                      QoS("reliable", "volatile", 1000), raw=True)
        self.node.create_subscription("diagnostic_msgs/msg/DiagnosticArray", "/diagnostics", self._on_diagnostics,
                                      QoS("reliable", "volatile", 10))
        self.frames = frames
        self.diagnostics: dict[str, str] = {}
        self.diagnostics_at = 0.0
        self.prefix = ""
        self.current = PointResult()

    def _on_prediction(self, sample: bytes) -> None:
        now_ns = time.time_ns()
        sec, nanosec, n = struct.unpack_from("<iII", sample, 4)
        at = 16 + _aligned(n)
        (m,) = struct.unpack_from("<I", sample, at)
        device = sample[at + 4:at + 3 + m]
        if not device.startswith(self.prefix.encode()):
            return  # a prediction of an earlier point (or another publisher)
        self.current.arrivals.append(time.monotonic())
        self.current.latencies_ms.append((now_ns - (sec * 1_000_000_000 + nanosec)) / 1e6)

    def _on_diagnostics(self, msg: Any) -> None:
        for status in msg.status:
            if "AgileNN edge" in status.name:
                self.diagnostics = {kv.key: kv.value for kv in status.values}
                self.diagnostics_at = time.monotonic()

    def wait_for_edge(self, timeout_s: float) -> bool:
        return self.transport.spin_until(lambda: self.pub.get_subscription_count() > 0 and bool(self.diagnostics),
                                         timeout_s)

    def fresh_diagnostics(self, timeout_s: float = 5.0) -> dict[str, int]:
        since = time.monotonic()
        self.transport.spin_until(lambda: self.diagnostics_at > since, timeout_s)
        return {k: int(float(self.diagnostics.get(k, 0))) for k in EDGE_COUNTERS}

    def _send(self, devices: int, rate_hz: float, duration_s: float, malformed: float, seed: int,
              done: threading.Event) -> None:
        rng = random.Random(seed)
        res = self.current
        ids = [f"{self.prefix}{d}" for d in range(devices)]
        valid = [[_template(self.frames[(d + k) % len(self.frames)], "camera", ids[d].encode())
                  for k in range(4)] for d in range(devices)]
        hostile = {kind: hostile_template(kind, self.frames[0], ids[0]) for kind in HOSTILE_KINDS}
        seqs = [0] * devices
        total = int(devices * rate_hz * duration_s)
        interval = 1.0 / (devices * rate_hz)
        start = time.monotonic()
        res.first_send = start
        try:
            for k in range(total):
                due = start + k * interval
                delay = due - time.monotonic()
                if delay > 0.0005:
                    time.sleep(delay)
                d = k % devices
                stamp = time.time_ns()
                if malformed and rng.random() < malformed:
                    # 1 in 100 hostile frames is a 1 MiB one, the others are small
                    kind = "frame_id_huge" if rng.random() < 0.01 else rng.choice(SMALL_HOSTILE)
                    data = hostile[kind].render(stamp, rng.randrange(1 << 32))
                    try:
                        self.pub_hostile.publish(data)
                    except Exception:  # noqa: BLE001 - a frame the local DDS refuses never left the "device"
                        res.send_failed += 1
                        continue
                    res.sent_hostile[kind] = res.sent_hostile.get(kind, 0) + 1
                else:
                    data = valid[d][seqs[d] % 4].render(stamp, seqs[d])
                    self.pub.publish(data)
                    seqs[d] += 1
                    res.sent_valid += 1
                res.sent += 1
        finally:
            res.last_send = time.monotonic()
            done.set()

    def run_point(self, name: str, devices: int, rate_hz: float, duration_s: float, malformed: float = 0.0,
                  seed: int = 0, drain_s: float = 5.0, edge_pid: int | None = None) -> dict[str, Any]:
        before = self.fresh_diagnostics()
        cpu0 = _proc_cpu_s(edge_pid) if edge_pid else None
        self.prefix = f"{name}-"
        self.current = PointResult()
        done = threading.Event()
        sender = threading.Thread(target=self._send, args=(devices, rate_hz, duration_s, malformed, seed, done),
                                  daemon=True)
        sender.start()
        while not done.is_set():
            self.transport.spin_once(0.05)
        sender.join()
        res = self.current
        # drain: until every valid frame is answered or nothing arrived for a second
        deadline = time.monotonic() + drain_s
        while time.monotonic() < deadline and len(res.arrivals) < res.sent_valid:
            last = res.arrivals[-1] if res.arrivals else res.last_send
            if time.monotonic() - last > 1.0 and time.monotonic() - res.last_send > 1.0:
                break
            self.transport.spin_once(0.05)
        cpu1 = _proc_cpu_s(edge_pid) if edge_pid else None
        time.sleep(0.3)
        after = self.fresh_diagnostics()
        delta = {k: after[k] - before[k] for k in EDGE_COUNTERS}
        received = len(res.arrivals)
        span = (res.arrivals[-1] - res.arrivals[0]) if len(res.arrivals) > 1 else 0.0
        sending = [t for t in res.arrivals if t <= res.last_send]
        marks = [res.first_send, *sending, res.last_send]
        gaps = np.diff(marks) if len(marks) > 1 else np.zeros(1)
        lat = np.asarray(res.latencies_ms) if res.latencies_ms else np.zeros(1)
        accounted = sum(delta[k] for k in LOSS_COUNTERS)
        return {
            "name": name, "devices": devices, "rate_hz_per_device": rate_hz,
            "offered_frames_per_s": round(devices * rate_hz, 1), "duration_s": duration_s,
            "malformed_fraction": malformed,
            "sent": res.sent, "sent_valid": res.sent_valid, "sent_hostile": res.sent_hostile,
            "send_refused_locally": res.send_failed,
            "predictions_received": received,
            "lost_valid": res.sent_valid - received,
            "frames_per_s": round(received / span, 1) if span > 0 else 0.0,
            "latency_ms": {"p50": round(float(np.percentile(lat, 50)), 2), "p90": round(float(np.percentile(lat, 90)), 2),
                           "p99": round(float(np.percentile(lat, 99)), 2), "max": round(float(lat.max()), 2)},
            "max_receive_gap_ms": round(float(gaps.max()) * 1e3, 1),
            "edge_counters": delta,
            "accounting": {"sent": res.sent, "accounted_on_diagnostics": accounted,
                           "unaccounted": res.sent - accounted},
            "edge_cpu_s": round(cpu1 - cpu0, 2) if cpu0 is not None and cpu1 is not None else None,
            # load-independent: what one fully available core of this machine would sustain
            "edge_predictions_per_cpu_s": (round(delta["predictions_published"] / (cpu1 - cpu0), 1)
                                           if cpu0 is not None and cpu1 is not None and cpu1 > cpu0 else None),
        }


# --------------------------------------------------------------------------- command


def add_bench_edge_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", required=True, help="write the results here")
    p.add_argument("--quick", action="store_true", help="one short point (34 devices x 30 Hz, 8 s), within 60 s")
    p.add_argument("--model", default="cifar10", help="model bundle (default cifar10)")
    p.add_argument("--devices", default="10,30,100", help="device counts of the load points (default 10,30,100)")
    p.add_argument("--rate-hz", type=float, default=30.0, help="frames per second per device (default 30)")
    p.add_argument("--duration", type=float, default=20.0, help="seconds of sending per point (default 20)")
    p.add_argument("--malformed", type=float, default=0.0, help="fraction of hostile frames (default 0)")
    p.add_argument("--workers", type=int, default=0, help="edge worker threads (default 0: CPU cores + 1)")
    p.add_argument("--max-batch", type=int, default=32, help="edge max_batch (default 32)")


def bench_edge_command(args: argparse.Namespace) -> int:
    from agilenn_ros.runtime.bundle import BundleError, load_bundle
    from agilenn_ros.transport import make_transport

    started = time.monotonic()
    try:
        devices = [int(d) for d in str(args.devices).split(",") if d.strip()]
    except ValueError:
        print(f"agilenn bench-edge: error: --devices must be comma-separated integers, got {args.devices!r}",
              file=sys.stderr)
        return 2
    faults = [text for bad, text in (
        (not devices or min(devices) < 1, f"--devices must be >= 1, got {args.devices!r}"),
        (not args.rate_hz > 0, f"--rate-hz must be > 0, got {args.rate_hz}"),
        (not args.duration > 0, f"--duration must be > 0, got {args.duration}"),
        (not 0 <= args.malformed < 1, f"--malformed must be in [0, 1), got {args.malformed}")) if bad]
    for text in faults:
        print(f"agilenn bench-edge: error: {text}", file=sys.stderr)
    if faults:
        return 2
    if args.quick:
        devices, duration = [34], 8.0
    else:
        duration = float(args.duration)
    try:
        bundle = load_bundle(args.model)
    except BundleError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    domain = str(random.SystemRandom().randint(100, 232))
    os.environ.update(ROS_DOMAIN_ID=domain, ROS_AUTOMATIC_DISCOVERY_RANGE="LOCALHOST", AGILENN_TRANSPORT="dds")
    os.environ.pop("CYCLONEDDS_URI", None)
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    frames = real_frames(bundle)
    load_before = os.getloadavg()
    edge_log = Path(tempfile.gettempdir()) / f"agilenn-bench-edge-{os.getpid()}.log"  # the edge node's output
    edge = start_edge(str(bundle.path), env, args.workers, args.max_batch, edge_log)
    transport = make_transport("dds", argv=["agilenn-bench-edge"], install_signal_handlers=False)
    points: list[dict[str, Any]] = []
    try:
        gen = LoadGenerator(transport, frames)
        if not gen.wait_for_edge(60.0):
            print(f"error: the edge node did not come up within 60 s (log: {edge_log})", file=sys.stderr)
            return 1
        gen.run_point("warmup", 5, 20.0, 1.0, drain_s=3.0)
        for i, d in enumerate(devices):
            print(f"point {i + 1}/{len(devices)}: {d} devices x {args.rate_hz:g} Hz for {duration:g} s ...",
                  file=sys.stderr, flush=True)
            point = gen.run_point(f"p{i}", d, args.rate_hz, duration, args.malformed, seed=i, edge_pid=edge.pid)
            points.append(point)
            print(f"  {point['frames_per_s']} frames/s, latency p50 {point['latency_ms']['p50']} ms, "
                  f"p99 {point['latency_ms']['p99']} ms, lost valid {point['lost_valid']}, "
                  f"unaccounted {point['accounting']['unaccounted']}, max gap {point['max_receive_gap_ms']} ms",
                  file=sys.stderr, flush=True)
    finally:
        transport.shutdown()
        edge.terminate()
        try:
            edge.wait(10)
        except subprocess.TimeoutExpired:
            edge.kill()
    lossless = [p for p in points if p["lost_valid"] == 0 and p["edge_counters"]["dropped_overload"] == 0]
    result = {
        "command": "agilenn bench-edge" + (" --quick" if args.quick else ""),
        "model": bundle.model_id, "edge": {"workers": args.workers or max(2, min(8, (os.cpu_count() or 1) + 1)),
                                           "max_batch": args.max_batch,
                                           "transport": "dds (Cyclone, loopback)"},
        "machine": {"cpus": os.cpu_count(), "load_average_before": [round(x, 2) for x in load_before],
                    "load_average_after": [round(x, 2) for x in os.getloadavg()],
                    "note": "load generator and edge share this machine (separate processes)"},
        "points": points,
        "capacity": {
            "max_lossless_frames_per_s": max((p["frames_per_s"] for p in lossless), default=0.0),
            "max_frames_per_s": max((p["frames_per_s"] for p in points), default=0.0),
        },
        "frames_per_s": points[-1]["frames_per_s"] if args.quick else max((p["frames_per_s"] for p in points), default=0.0),
        "latency_ms": points[-1]["latency_ms"] if points else {},
        "all_accounted": all(p["accounting"]["unaccounted"] == 0 for p in points),
        "wall_s": round(time.monotonic() - started, 1),
    }
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out}", file=sys.stderr)
    return 0
