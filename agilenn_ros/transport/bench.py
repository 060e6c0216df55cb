"""Round-trip latency and throughput of FeatureFrame between two processes.

    python -m agilenn_ros.transport.bench --out results/transport_bench.json

Starts an echo node in a child process (same backend), then measures, on loopback unless
the ROS_* variables say otherwise:

* RTT: publish a FeatureFrame on ``ping``, the echo node's callback republishes the decoded
  message on ``pong`` (so one decode + one encode on each side), receive it: median, p90, p99;
  ``rtt_raw``: the same with raw-bytes subscriptions (transport only, no (de)serialization);
* throughput: publish frames back to back, count at the receiver (reliable keep-all, and
  sensor QoS = best effort keep-last 5 where drops are expected and reported);
* the Python-side cost per message of rosbags (what the DDS backend uses) against
  cyclonedds-python's own serializer for the same type (the stock path), side by side.

Writes JSON and a Markdown table next to it. Machines are noisy: compare ratios within a run.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from . import RELIABLE, SENSOR, make_transport

FF = "agilenn_ros/msg/FeatureFrame"
STR = "std_msgs/msg/String"
NS = "/agilenn_bench"
RELIABLE_ALL = RELIABLE.keep_all()


def _frame(node: Any, payload_bytes: int, tag: str = "bench") -> Any:
    rng = np.random.default_rng(0)
    return node.message(FF, header={"stamp": node.now(), "frame_id": tag}, device_id="bench",
                        model_hash=0xA1B2C3D4, channels=19, height=16, width=16, codec=1,
                        payload=rng.integers(0, 256, payload_bytes, dtype=np.uint8),
                        local_logits=rng.standard_normal(10).astype(np.float32), device_compute_us=14000)


def run_echo(backend: str) -> int:
    transport = make_transport(backend)
    node = transport.create_node("bench_echo", NS)
    pong = node.create_publisher(FF, "pong", RELIABLE_ALL)
    pong_raw = node.create_publisher(FF, "pong_raw", RELIABLE_ALL)
    stats_pub = node.create_publisher(STR, "stats", RELIABLE_ALL)
    node.create_subscription(FF, "ping", pong.publish, RELIABLE_ALL)
    node.create_subscription(FF, "ping_raw", pong_raw.publish, RELIABLE_ALL, raw=True)
    stats: dict[str, list[float]] = {}

    def on_flood(msg: Any) -> None:
        now = time.perf_counter()
        s = stats.setdefault(msg.header.frame_id, [0, now, now])
        s[0] += 1
        s[2] = now

    def on_ctl(msg: Any) -> None:
        tag = msg.data.split(":", 1)[1]
        count, first, last = stats.get(tag, [0, 0.0, 0.0])
        stats_pub.publish(node.message(STR, data=json.dumps({"tag": tag, "count": count, "span_s": last - first})))

    node.create_subscription(FF, "flood_reliable", on_flood, RELIABLE_ALL)
    node.create_subscription(FF, "flood_sensor", on_flood, SENSOR)
    node.create_subscription(STR, "ctl", on_ctl, RELIABLE_ALL)
    try:
        transport.spin()
    finally:
        transport.shutdown()
    return 0


def _percentiles(values_s: list[float]) -> dict[str, float]:
    ms = np.array(values_s) * 1e3
    return {"n": len(ms), "median_ms": float(np.median(ms)), "p90_ms": float(np.percentile(ms, 90)),
            "p99_ms": float(np.percentile(ms, 99)), "min_ms": float(ms.min()), "mean_ms": float(ms.mean())}


def _codec_costs(frame: Any, repeats: int) -> dict[str, Any]:
    """Per-message encode/decode cost: rosbags vs cyclonedds-python's own serializer."""
    from . import msgtypes

    def per_call(fn: Any) -> float:
        best = float("inf")
        for _ in range(5):
            t0 = time.perf_counter()
            for _ in range(repeats):
                fn()
            best = min(best, (time.perf_counter() - t0) / repeats)
        return best * 1e6

    data = msgtypes.serialize(frame, FF)
    out: dict[str, Any] = {"bytes": len(data),
                           "rosbags_serialize_us": per_call(lambda: msgtypes.serialize(frame, FF)),
                           "rosbags_deserialize_us": per_call(lambda: msgtypes.deserialize(data, FF))}
    try:
        from .dds import idl_struct
    except ImportError:
        return out
    cls = idl_struct(FF)
    sample = cls.deserialize(data)
    out["cyclonedds_serialize_us"] = per_call(lambda: sample.serialize(use_version_2=False))
    out["cyclonedds_deserialize_us"] = per_call(lambda: cls.deserialize(data))
    out["serialize_ratio_cyclonedds_over_rosbags"] = out["cyclonedds_serialize_us"] / out["rosbags_serialize_us"]
    out["deserialize_ratio_cyclonedds_over_rosbags"] = out["cyclonedds_deserialize_us"] / out["rosbags_deserialize_us"]
    return out


def run_client(args: argparse.Namespace) -> dict[str, Any]:
    env = dict(os.environ)
    env.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
    env.setdefault("ROS_DOMAIN_ID", str(random.SystemRandom().randint(100, 232)))
    os.environ.update({k: env[k] for k in ("ROS_AUTOMATIC_DISCOVERY_RANGE", "ROS_DOMAIN_ID")})
    pkg_parent = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = pkg_parent + os.pathsep + env.get("PYTHONPATH", "")
    child = subprocess.Popen([sys.executable, "-m", "agilenn_ros.transport.bench", "--echo",
                              "--backend", args.backend], env=env)
    transport = make_transport(args.backend, install_signal_handlers=False)
    try:
        node = transport.create_node("bench_client", NS)
        replies: dict[str, int] = {"pong": -1, "pong_raw": -1}
        stats: dict[str, dict[str, Any]] = {}

        def on_pong(msg: Any) -> None:
            replies["pong"] = msg.sequence

        def on_pong_raw(data: bytes) -> None:
            replies["pong_raw"] = int.from_bytes(data[4:8], "little")  # 4-byte probe, see below

        node.create_subscription(FF, "pong", on_pong, RELIABLE_ALL)
        node.create_subscription(FF, "pong_raw", on_pong_raw, RELIABLE_ALL, raw=True)
        node.create_subscription(STR, "stats", lambda m: stats.__setitem__(json.loads(m.data)["tag"], json.loads(m.data)), RELIABLE_ALL)
        ping = node.create_publisher(FF, "ping", RELIABLE_ALL)
        ping_raw = node.create_publisher(FF, "ping_raw", RELIABLE_ALL)
        flood = {"reliable": node.create_publisher(FF, "flood_reliable", RELIABLE_ALL),
                 "sensor": node.create_publisher(FF, "flood_sensor", SENSOR)}
        ctl = node.create_publisher(STR, "ctl", RELIABLE_ALL)
        pubs = [ping, ping_raw, ctl, *flood.values()]
        if not transport.spin_until(lambda: all(p.get_subscription_count() > 0 for p in pubs), 30.0):
            raise RuntimeError("echo node did not match within 30 s")
        transport.spin(0.5)
        frame = _frame(node, args.payload)
        from . import msgtypes

        wire_bytes = len(msgtypes.serialize(frame, FF)) if args.backend == "dds" else None

        def rtt(pub: Any, key: str, raw: bool) -> list[float]:
            out = []
            for i in range(args.warmup + args.n_rtt):
                frame.header.stamp.sec = i  # raw probe reads the stamp's sec (first body word)
                frame.sequence = i
                payload = msgtypes.serialize(frame, FF) if raw else frame
                t0 = time.perf_counter()
                pub.publish(payload)
                if not transport.spin_until(lambda: replies[key] == i, 5.0):
                    raise RuntimeError(f"no {key} for {i}")
                if i >= args.warmup:
                    out.append(time.perf_counter() - t0)
            return out

        result: dict[str, Any] = {"rtt": _percentiles(rtt(ping, "pong", False)),
                                  "rtt_raw": _percentiles(rtt(ping_raw, "pong_raw", True) if args.backend == "dds" else [0.0])}
        if args.backend != "dds":
            result.pop("rtt_raw")
        tput = {}
        for name, pub in flood.items():
            frame.header.frame_id = name
            t0 = time.perf_counter()
            for i in range(args.n_tput):
                frame.sequence = i
                pub.publish(frame)
            send_s = time.perf_counter() - t0
            if name == "reliable":
                pub.wait_for_acks(30.0)
            transport.spin(1.0)
            ctl.publish(node.message(STR, data=f"report:{name}"))
            transport.spin_until(lambda: name in stats, 10.0)
            s = stats.get(name, {"count": 0, "span_s": 0.0})
            rate = (s["count"] - 1) / s["span_s"] if s["span_s"] > 0 else float("nan")
            tput[name] = {"sent": args.n_tput, "received": s["count"], "send_rate_msg_s": args.n_tput / send_s,
                          "recv_rate_msg_s": rate,
                          "recv_MB_s": rate * (wire_bytes or 0) / 1e6 if wire_bytes else None}
        result["throughput"] = tput
        result["codec_cost"] = _codec_costs(frame, 300)
        result["setup"] = {"backend": args.backend, "payload_bytes": args.payload, "wire_bytes": wire_bytes,
                           "n_rtt": args.n_rtt, "n_tput": args.n_tput, "python": sys.version.split()[0],
                           "cpus": os.cpu_count(), "loadavg_1m": os.getloadavg()[0],
                           "ROS_AUTOMATIC_DISCOVERY_RANGE": env["ROS_AUTOMATIC_DISCOVERY_RANGE"],
                           "time": time.strftime("%Y-%m-%dT%H:%M:%S")}
        if args.backend == "dds":
            from importlib.metadata import version
            result["setup"]["cyclonedds"] = version("cyclonedds")
            result["setup"]["rosbags"] = version("rosbags")
        return result
    finally:
        transport.shutdown()
        child.terminate()
        try:
            child.wait(10)
        except subprocess.TimeoutExpired:
            child.kill()


def _markdown(r: dict[str, Any]) -> str:
    s = r["setup"]
    lines = [f"# Transport benchmark ({s['backend']}, FeatureFrame {s['payload_bytes']} B payload, "
             f"{s['wire_bytes']} B on the wire, {s['time']}, load {s['loadavg_1m']:.1f} on {s['cpus']} CPUs)", "",
             "| RTT path | median ms | p90 ms | p99 ms | n |", "|---|---|---|---|---|"]
    for key in ("rtt", "rtt_raw"):
        if key in r:
            v = r[key]
            lines.append(f"| {key} | {v['median_ms']:.3f} | {v['p90_ms']:.3f} | {v['p99_ms']:.3f} | {v['n']} |")
    lines += ["", "| throughput QoS | sent | received | send msg/s | recv msg/s | recv MB/s |", "|---|---|---|---|---|---|"]
    for name, v in r["throughput"].items():
        mb = f"{v['recv_MB_s']:.1f}" if v["recv_MB_s"] else "-"
        lines.append(f"| {name} | {v['sent']} | {v['received']} | {v['send_rate_msg_s']:.0f} | {v['recv_rate_msg_s']:.0f} | {mb} |")
    c = r["codec_cost"]
    lines += ["", "| per message (µs) | serialize | deserialize |", "|---|---|---|",
              f"| rosbags (used) | {c['rosbags_serialize_us']:.1f} | {c['rosbags_deserialize_us']:.1f} |"]
    if "cyclonedds_serialize_us" in c:
        lines.append(f"| cyclonedds-python stock | {c['cyclonedds_serialize_us']:.1f} | {c['cyclonedds_deserialize_us']:.1f} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--backend", default="dds", choices=["dds", "rclpy"])
    ap.add_argument("--out", type=Path, default=Path("results/transport_bench.json"))
    ap.add_argument("--payload", type=int, default=1500, help="FeatureFrame payload bytes")
    ap.add_argument("--n-rtt", type=int, default=1000)
    ap.add_argument("--warmup", type=int, default=50)
    ap.add_argument("--n-tput", type=int, default=5000)
    ap.add_argument("--echo", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.echo:
        return run_echo(args.backend)
    result = run_client(args)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    md = _markdown(result)
    args.out.with_suffix(".md").write_text(md)
    print(md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
