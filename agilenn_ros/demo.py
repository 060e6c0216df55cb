"""``agilenn demo``: device emulator(s), the edge node and a consumer as separate processes
talking ROS 2's wire protocol (Cyclone DDS, or rclpy where installed) on this machine.

Streams the bundled sample images, prints predictions as they arrive and ends with a summary
(frames, accuracy on the labelled samples, bytes per frame, per-stage and end-to-end latency).
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from agilenn_ros.runtime.bundle import load_bundle
from agilenn_ros.runtime.frame_sources import sample_images_dir


def _node_cmd(module: str, name: str, params: dict[str, Any]) -> list[str]:
    cmd = [sys.executable, "-m", module, "--ros-args", "-r", f"__node:={name}", "-r", "__ns:=/agilenn"]
    for key, value in params.items():
        text = ("true" if value else "false") if isinstance(value, bool) else str(value)
        cmd += ["-p", f"{key}:={text}"]
    return cmd


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    rows = []
    for line in path.read_text().splitlines():
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            pass  # a line being written right now
    return rows


def _stop(procs: list[subprocess.Popen]) -> None:
    # SIGTERM: a node that is running shuts down cleanly (its transport handles it); one still
    # importing ends silently, where SIGINT would print a KeyboardInterrupt traceback
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 5
    for p in procs:
        try:
            p.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            p.kill()


def _node_name(proc: subprocess.Popen) -> str:
    args = [str(a) for a in proc.args] if isinstance(proc.args, (list, tuple)) else [str(proc.args)]
    return next((a.split(":=", 1)[1] for a in args if a.startswith("__node:=")), "node")


def summarize(sent: list[dict[str, Any]], received: list[dict[str, Any]], class_names: list[str]) -> dict[str, Any]:
    labels = {(r["device_id"], r["sequence"]): r["label"] for r in sent}
    scored = [(labels[(p["device_id"], p["sequence"])], p["class_id"]) for p in received
              if labels.get((p["device_id"], p["sequence"]), -1) >= 0]
    def pct(values: list[float]) -> dict[str, float | None]:
        if not values:
            return {"p50": None, "p99": None, "mean": None}
        arr = np.asarray(values)
        return {"p50": round(float(np.percentile(arr, 50)), 3), "p99": round(float(np.percentile(arr, 99)), 3),
                "mean": round(float(arr.mean()), 3)}
    return {
        "frames_sent": len(sent),
        "predictions_received": len(received),
        "accuracy": (sum(int(a == b) for a, b in scored) / len(scored)) if scored else None,
        "labelled_predictions": len(scored),
        "remote_used": sum(int(p["remote_used"]) for p in received),
        "payload_bytes_median": float(np.median([p["payload_bytes"] for p in received])) if received else None,
        "payload_bytes_mean": float(np.mean([p["payload_bytes"] for p in received])) if received else None,
        "latency_ms": pct([p["e2e_ms"] for p in received]),
        "stage_ms": {stage: pct([p[f"{stage}_ms"] for p in received]) for stage in ("device", "decode", "remote", "edge")},
        "classes": class_names,
    }


def usage_errors(args: argparse.Namespace, env: dict[str, str]) -> list[str]:
    """Every problem with the arguments and the environment, one line each, found before any
    process starts (exit status 2)."""
    errors = []
    if args.frames < 1:
        errors.append(f"--frames must be at least 1, not {args.frames}")
    if args.devices < 1:
        errors.append(f"--devices must be at least 1, not {args.devices}")
    if not args.rate > 0 or args.rate != args.rate or args.rate == float("inf"):
        errors.append(f"--rate must be a positive number of frames per second, not {args.rate}")
    if not args.timeout > 0 or args.timeout != args.timeout:
        errors.append(f"--timeout must be a positive number of seconds, not {args.timeout}")
    from agilenn_ros.transport.base import TransportError
    from agilenn_ros.transport.dds_config import discovery_from_env
    try:
        discovery_from_env(env)
    except TransportError as exc:
        errors.append(f"{exc} (ROS 2 domain ids are integers 0..232)")
    if args.images and args.images != "digits" and not Path(args.images).expanduser().exists():
        errors.append(f"--images {args.images}: no such file or directory")
    if args.json and Path(args.json).expanduser().is_dir():
        errors.append(f"--json {args.json} is a directory; give a file name")
    return errors


def runtime_error(transport: str) -> str:
    """Why the demo cannot run here (exit status 1), or ''."""
    import importlib.util
    if transport == "rclpy" and importlib.util.find_spec("rclpy") is None:
        return "--transport rclpy: rclpy is not installed (source a ROS 2 setup or use --transport dds)"
    if transport == "dds" and importlib.util.find_spec("cyclonedds") is None:
        return "--transport dds: the cyclonedds package is not installed (pip install cyclonedds==11.0.1)"
    return ""


def run_demo(args: argparse.Namespace) -> int:
    """Exit status: 0 when every frame got a prediction, 1 otherwise or on a runtime error,
    2 for bad arguments (each reported on its own line before any process starts)."""
    problems = usage_errors(args, dict(os.environ))
    for line in problems:
        print(f"agilenn demo: error: {line}", file=sys.stderr)
    if problems:
        return 2
    from agilenn_ros.data.datasets import DatasetError, load_split
    from agilenn_ros.runtime.bundle import BundleError
    try:
        bundle = load_bundle(args.model)
    except (BundleError, OSError) as exc:
        print(f"agilenn demo: error: --model {args.model}: {exc}", file=sys.stderr)
        return 2
    images = Path(args.images).expanduser() if args.images else sample_images_dir()
    try:
        labelled = load_split(args.images if args.images == "digits" else images, "test")
    except (DatasetError, OSError, ValueError) as exc:
        print(f"agilenn demo: error: --images {images}: {exc}", file=sys.stderr)
        return 2
    if len(labelled) == 0:
        print(f"agilenn demo: error: --images {images}: no images", file=sys.stderr)
        return 2
    from agilenn_ros.transport import TransportError, auto_backend
    try:  # auto: rclpy where it is importable (a ROS 2 install), else Cyclone DDS
        requested = auto_backend() if args.transport == "auto" else args.transport
    except TransportError as exc:
        print(f"agilenn demo: error: {exc}", file=sys.stderr)
        return 1
    problem = runtime_error(requested)
    if problem:
        print(f"agilenn demo: error: {problem}", file=sys.stderr)
        return 1
    devices = max(1, args.devices)
    per_device = [args.frames // devices + (1 if i < args.frames % devices else 0) for i in range(devices)]
    env = dict(os.environ)
    env["AGILENN_TRANSPORT"] = requested
    env["PYTHONUNBUFFERED"] = "1"
    workdir = Path(tempfile.mkdtemp(prefix="agilenn-demo-"))
    sent_logs = [workdir / f"sent-{i}.jsonl" for i in range(devices)]
    predictions = workdir / "predictions.jsonl"
    procs: list[subprocess.Popen] = []
    failed = ""
    start = time.monotonic()
    print(f"agilenn demo: model {bundle.model_id}, {args.frames} frames from {images}, {devices} device(s) "
          f"at {args.rate} Hz each, codec {args.codec}, transport {env['AGILENN_TRANSPORT']}", flush=True)
    try:
        procs.append(subprocess.Popen(_node_cmd("agilenn_ros.nodes.edge_node", "agilenn_edge",
                                                {"model": str(bundle.path)}), env=env))
        procs.append(subprocess.Popen(_node_cmd("agilenn_ros.nodes.consumer", "agilenn_consumer",
                                                {"jsonl": str(predictions), "print": not args.quiet}), env=env))
        for i in range(devices):
            if per_device[i] == 0:
                continue
            procs.append(subprocess.Popen(_node_cmd("agilenn_ros.nodes.device_node", f"agilenn_device_{i}", {
                "model": str(bundle.path), "source": "folder", "path": str(images), "loop": True,
                "rate_hz": float(args.rate), "max_frames": per_device[i], "device_id": f"emulator{i}",
                "codec": args.codec, "sent_log": str(sent_logs[i]), "wait_for_edge_s": 20.0}), env=env))
        deadline = start + args.timeout
        while time.monotonic() < deadline:
            got = len(_read_jsonl(predictions))
            sent = sum(len(_read_jsonl(p)) for p in sent_logs)
            if got >= args.frames and sent >= args.frames:
                break
            crashed = [p for p in procs if p.poll() not in (None, 0)]
            if crashed:
                names = ", ".join(f"{_node_name(p)} (exit status {p.returncode})" for p in crashed)
                failed = f"a node exited with an error: {names}; its message is above"
                break
            time.sleep(0.2)
        else:
            failed = f"timed out after {args.timeout:g} s (--timeout)"
        time.sleep(0.3)
    except KeyboardInterrupt:
        failed = "interrupted"
    finally:
        _stop(procs)
    sent = [r for p in sent_logs for r in _read_jsonl(p)]
    received = _read_jsonl(predictions)
    summary = summarize(sent, received, bundle.class_names)
    summary.update({"model": bundle.model_id, "devices": devices, "rate_hz": args.rate, "codec": args.codec,
                    "transport": env["AGILENN_TRANSPORT"], "wall_seconds": round(time.monotonic() - start, 2),
                    "latency_note": "end-to-end = consumer receive time - image stamp at the emulated device, "
                                    "same host clock; device time is the emulator's (x86), not the MCU's"})
    print("\n== summary ==")
    print(f"frames sent {summary['frames_sent']}, predictions received {summary['predictions_received']}, "
          f"accuracy {summary['accuracy'] if summary['accuracy'] is None else round(summary['accuracy'], 4)}")
    if received:
        print(f"payload bytes median {summary['payload_bytes_median']}, end-to-end latency ms {summary['latency_ms']}")
        for stage, stats in summary["stage_ms"].items():
            print(f"  {stage:<7s} ms {stats}")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(summary, indent=2) + "\n")
    ok = summary["frames_sent"] == args.frames and summary["predictions_received"] == args.frames
    if not ok:
        why = failed or (f"{summary['predictions_received']} of {args.frames} frames got a prediction "
                         f"({summary['frames_sent']} sent)")
        print(f"agilenn demo: error: {why}", file=sys.stderr)
    return 0 if ok else 1


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", default="cifar10", help="bundle directory or name")
    p.add_argument("--images", default="", help="labelled image folder/archive (default: bundled samples)")
    p.add_argument("--frames", type=int, default=200, help="frames to send in total")
    p.add_argument("--devices", type=int, default=1, help="device emulator processes")
    p.add_argument("--rate", type=float, default=25.0, help="frames per second per device")
    p.add_argument("--codec", default="rans", choices=["rans", "packed", "lzw"])
    p.add_argument("--transport", default="auto", choices=["auto", "dds", "rclpy"],
                   help="auto: AGILENN_TRANSPORT if set, else rclpy where it is importable (a ROS 2 "
                        "install), else Cyclone DDS")
    p.add_argument("--timeout", type=float, default=50.0, help="give up after this many seconds")
    p.add_argument("--quiet", action="store_true", help="do not print each prediction")
    p.add_argument("--json", default="", help="write the summary as JSON here")
