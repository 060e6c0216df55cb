"""The benchmark's schemes, each measured on the same test frames at the model resolution.

Each function returns result rows (dicts, see :func:`row`): accuracy, bytes per frame (the
serialized message that would cross the link), device cost and time, edge time (measured
here with onnxruntime, one frame at a time, one thread) and end-to-end latency per link.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import cv2
import numpy as np

from agilenn_ros.bench.baseline_bundle import BaselineMissing, ImageModel, SplitModel, load_baseline
from agilenn_ros.bench.device_model import DeviceModel, agilenn_device_cost
from agilenn_ros.bench.wire import compressed_image_bytes, feature_frame_bytes, image_message_bytes, latency
from agilenn_ros.codec.registry import CODEC_IDS, build_codec_tables, make_codec
from agilenn_ros.runtime.device_float import FloatWeights, float_forward, nearest_centroid
from agilenn_ros.runtime.bundle import Bundle
from agilenn_ros.runtime.device_pipeline import DevicePipeline
from agilenn_ros.runtime.edge_pipeline import EdgePipeline
from agilenn_ros.runtime.evaluate import size_stats
from agilenn_ros.runtime.preprocess import model_input

JPEG_QUALITIES = (50, 75, 90)
BATCH = 250


@dataclass
class BenchData:
    frames: np.ndarray            # uint8 [N, H, W, 3] at the model input size (what the camera delivers)
    labels: np.ndarray
    calibration: np.ndarray       # uint8 frames for codec tables (never the evaluated ones)
    timing: np.ndarray            # indices into frames, timed one by one
    class_names: list[str]


@dataclass
class BenchContext:
    bundle: Bundle
    weights: FloatWeights
    data: BenchData
    device: DeviceModel
    threads: int
    baselines_dir: Path
    how_to_make: dict[str, str]


def time_stats(values_ms: list[float]) -> dict[str, float] | None:
    if not values_ms:
        return None
    arr = np.asarray(values_ms, dtype=np.float64)
    return {"mean": float(arr.mean()), "p50": float(np.percentile(arr, 50)), "p99": float(np.percentile(arr, 99)),
            "frames": int(arr.size)}


def timed(fn: Callable[[int], Any], indices: np.ndarray, warmup: int = 2) -> dict[str, float] | None:
    for i in indices[:warmup]:
        fn(int(i))
    times = []
    for i in indices:
        t0 = time.perf_counter()
        fn(int(i))
        times.append((time.perf_counter() - t0) * 1e3)
    return time_stats(times)


def batched(fn: Callable[[np.ndarray], np.ndarray], frames: np.ndarray, hw: tuple[int, int]) -> np.ndarray:
    return np.concatenate([fn(model_input(list(frames[i:i + BATCH]), hw)) for i in range(0, len(frames), BATCH)])


def accuracy(logits: np.ndarray, labels: np.ndarray) -> float:
    return float((np.asarray(logits).argmax(1) == labels).mean()) if len(labels) else 0.0


def row(name: str, scheme: str, role: str, variant: str, *, accuracy_value: float | None,
        message_type: str, message_sizes: list[int] | None, device: dict[str, Any],
        edge_ms: dict[str, float] | None, notes: list[str], missing: str | None = None,
        extra: dict[str, Any] | None = None) -> dict[str, Any]:
    sizes = size_stats(message_sizes) if message_sizes else {"mean": 0.0, "median": 0.0, "p95": 0.0, "max": 0.0,
                                                            "min": 0.0, "frames": 0}
    edge_mean = None if edge_ms is None else edge_ms["p50"]
    if scheme == "local-only":
        edge_mean = 0.0
    return {"name": name, "scheme": scheme, "role": role, "variant": variant, "available": missing is None,
            "missing_reason": missing, "accuracy": accuracy_value, **(extra or {}),
            "message_type": message_type, "bytes_per_frame": sizes, "device": device, "edge_ms": edge_ms,
            "latency_ms": latency(device.get("ms"), sizes["mean"], edge_mean), "notes": notes}


# --------------------------------------------------------------------------------------------- AgileNN

def agilenn_rows(ctx: BenchContext) -> tuple[list[dict[str, Any]], np.ndarray]:
    """One row per codec (rans, packed, lzw), and the device.onnx indices of every frame."""
    bundle, data, dm = ctx.bundle, ctx.data, ctx.device
    hw = bundle.input_hw
    device = DevicePipeline(bundle, codec="packed", threads=ctx.threads)
    edge = EdgePipeline(bundle, threads=ctx.threads)
    outs = [device.infer_prepared(model_input(list(data.frames[i:i + BATCH]), hw))
            for i in range(0, len(data.frames), BATCH)]
    local = np.concatenate([o[0] for o in outs])
    indices = np.concatenate([o[1] for o in outs])
    fused, remote = zip(*[edge.infer(indices[i:i + BATCH], local[i:i + BATCH]) for i in range(0, len(local), BATCH)])
    acc = {"accuracy": accuracy(np.concatenate(fused), data.labels),
           "local_accuracy": accuracy(local, data.labels), "remote_accuracy": accuracy(np.concatenate(remote), data.labels)}
    cost = agilenn_device_cost(ctx.weights)
    fw = dm.firmware
    symbols = int(np.prod(bundle.remote_shape))
    if fw is not None and fw.instructions_per_frame:
        if fw.extract_instructions:
            network_ms, network_src = dm.ms(fw.extract_instructions), "firmware (QEMU instruction count)"
        elif "rans" in fw.encode_instructions:
            network_ms = dm.ms(fw.instructions_per_frame - fw.encode_instructions["rans"])
            network_src = "firmware (QEMU instruction count)"
        else:
            network_ms = dm.firmware_frame_ms() - dm.encode_ms("rans", symbols)
            network_src = "firmware frame count minus an estimated rANS encoder"
        cost.update({"firmware_instructions_per_frame": fw.instructions_per_frame,
                     "firmware_frame_ms": dm.firmware_frame_ms(), "firmware_flash_bytes": fw.flash_bytes,
                     "firmware_ram_bytes": fw.ram_bytes})
    else:
        network_ms, network_src = dm.network_ms(cost["macs"]), "estimated from MACs"
    timing_edge = EdgePipeline(bundle, threads=1)
    c, h, w = bundle.remote_shape
    rows = []
    for name, cid in CODEC_IDS.items():
        codec = make_codec(name, bundle.codec_tables, n_symbols=len(bundle.centroids))
        timing_edge.codec(cid)
        payloads = [codec.encode(frame) for frame in indices]
        sizes = [feature_frame_bytes(len(p), c, h, w, bundle.num_classes, cid) for p in payloads]
        edge_ms = timed(lambda i: timing_edge.process(cid, payloads[i], (c, h, w), local[i]), data.timing)
        encode_ms = dm.encode_ms(name, symbols)
        encode_src = dm.codec_cycles_source[name]
        device = {**cost, "compute_ms": network_ms, "encode_ms": encode_ms, "ms": network_ms + encode_ms,
                  "source": f"network: {network_src}; encoder: {encode_src}"}
        if name == "rans" and fw is not None and fw.instructions_per_frame and "rans" in fw.encode_instructions:
            device["ms"] = dm.firmware_frame_ms()
        notes = [f"{name} payload of the {c}x{h}x{w} centroid indices ({len(bundle.centroids)} centroids) in an "
                 "agilenn_ros/FeatureFrame with the local logits"]
        if name == "lzw":
            notes.append("the paper's coder (LZW), for comparison")
        rows.append(row(f"agilenn-{name}", "agilenn", "AgileNN", name, accuracy_value=acc["accuracy"],
                        message_type="agilenn_ros/msg/FeatureFrame", message_sizes=sizes, device=device,
                        edge_ms=edge_ms, notes=notes,
                        extra={"local_accuracy": acc["local_accuracy"], "remote_accuracy": acc["remote_accuracy"],
                               "payload_bytes": size_stats([len(p) for p in payloads])}))
    return rows, indices


def _all_channel_indices(weights: FloatWeights, frames: np.ndarray) -> np.ndarray:
    out = []
    for i in range(0, len(frames), 128):
        f = float_forward(weights, frames[i:i + 128]).features
        out.append(nearest_centroid(f, weights.centroids))
    return np.concatenate(out)


def all_channels_rows(ctx: BenchContext, agilenn_onnx_indices: np.ndarray | None = None) -> list[dict[str, Any]]:
    """DeepCOD's role: all C channels quantized and coded (one row per codec); the edge runs
    the local predictor on the dequantized top-k channels and fuses as usual (no retraining)."""
    bundle, data, dm, w = ctx.bundle, ctx.data, ctx.device, ctx.weights
    k = w.k
    idx = _all_channel_indices(w, data.frames)
    calib = _all_channel_indices(w, data.calibration)
    sl, tl = w.folded_bn("lbn")

    def local_from(indices: np.ndarray) -> np.ndarray:
        pooled = w.centroids[indices[:, :k]].mean(axis=(2, 3))
        return ((pooled @ w.local_w.T + w.local_b) * sl + tl).astype(np.float32)

    edge = EdgePipeline(bundle, threads=ctx.threads)
    local = local_from(idx)
    fused = np.concatenate([edge.infer(idx[i:i + BATCH, k:], local[i:i + BATCH])[0] for i in range(0, len(idx), BATCH)])
    acc = accuracy(fused, data.labels)
    tables = build_codec_tables(calib, len(w.centroids))
    c, h, wd = idx.shape[1:]
    timing_edge = EdgePipeline(bundle, threads=1)
    cost = agilenn_device_cost(w, include_local=False)
    compute_ms = dm.network_ms(cost["macs"])
    extra: dict[str, Any] = {}
    if agilenn_onnx_indices is not None and len(agilenn_onnx_indices) == len(idx):
        extra["index_agreement_with_device_onnx"] = float((idx[:, k:] == agilenn_onnx_indices).mean())
    rows = []
    for name, cid in CODEC_IDS.items():
        codec = make_codec(name, tables if name == "rans" else None, n_symbols=len(w.centroids))
        payloads = [codec.encode(frame) for frame in idx]
        sizes = [feature_frame_bytes(len(p), c, h, wd, 0, cid) for p in payloads]

        def edge_frame(i: int, cd: Any = codec, pl: list[bytes] = payloads) -> None:
            decoded = cd.decode(pl[i], (c, h, wd))
            timing_edge.infer(decoded[None, k:], local_from(decoded[None]))

        encode_ms = dm.encode_ms(name, int(c * h * wd))
        device = {**cost, "compute_ms": compute_ms, "encode_ms": encode_ms, "ms": compute_ms + encode_ms,
                  "source": f"estimated: MACs x {dm.cycles_per_mac:.3g} cycles/MAC + {name} cycles per symbol"}
        notes = [f"DeepCOD's role: AgileNN's feature extractor with ALL {c} channels quantized "
                 f"({len(w.centroids)} centroids) and {name} coded"
                 + (" (tables learned here on calibration frames)" if name == "rans" else "")
                 + "; no local predictor on the device, no logits in the message",
                 "accuracy: the AgileNN edge network fused with a local predictor run on the edge over the "
                 "dequantized top-k channels; no retraining, so it measures what sending everything costs in bytes "
                 "and time, not DeepCOD's own accuracy"]
        rows.append(row(f"all-channels-{name}", "all-channels", "DeepCOD's role", name, accuracy_value=acc,
                        message_type="agilenn_ros/msg/FeatureFrame", message_sizes=sizes, device=device,
                        edge_ms=timed(edge_frame, data.timing), notes=notes,
                        extra={**extra, "payload_bytes": size_stats([len(p) for p in payloads])}))
    return rows


# --------------------------------------------------------------------------------------------- baselines

def _missing_device() -> dict[str, Any]:
    return {"macs": None, "params": None, "sram_bytes": None, "flash_bytes": None, "ms": None, "compute_ms": None,
            "encode_ms": None, "source": "baseline bundle missing"}


def encode_image(frame: np.ndarray, kind: str, quality: int) -> bytes:
    """PNG or JPEG bytes of a uint8 RGB frame as the bench sends them (OpenCV, BGR order; JPEG at
    this IJG quality, 4:2:0, standard Huffman tables). Raises ValueError when OpenCV fails."""
    bgr = cv2.cvtColor(frame, cv2.COLOR_RGB2BGR)
    if kind == "png":
        ok, buf = cv2.imencode(".png", bgr)
    else:
        ok, buf = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise ValueError(f"{kind} encoding failed")
    return buf.tobytes()


def _decode_image(data: bytes) -> np.ndarray:
    return cv2.cvtColor(cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def edge_only_rows(ctx: BenchContext) -> list[dict[str, Any]]:
    data, dm = ctx.data, ctx.device
    hw = data.frames.shape[1:3]
    try:
        bundle = load_baseline(ctx.baselines_dir, "edge", data.class_names, ctx.bundle.input_hw)
        model: ImageModel | None = ImageModel(bundle, ctx.threads)
        timing_model: ImageModel | None = ImageModel(bundle, 1)
        missing = None
    except BaselineMissing as exc:
        model = timing_model = None
        missing = f"{exc}; make it with: {ctx.how_to_make['edge']}"
    variants: list[tuple[str, str, int]] = [("raw", "raw", 0), ("png", "png", 0)]
    variants += [(f"jpeg-q{q}", "jpeg", q) for q in JPEG_QUALITIES]
    raw_logits = batched(model.logits, data.frames, hw) if model is not None else None
    rows = []
    for name, kind, quality in variants:
        if kind == "raw":
            encoded = None
            sizes = [image_message_bytes(hw[0], hw[1], "rgb8")] * len(data.frames)
            decoded = data.frames
            message_type = "sensor_msgs/msg/Image (rgb8)"
        else:
            encoded = [encode_image(f, kind, quality) for f in data.frames]
            fmt = "rgb8; png compressed bgr8" if kind == "png" else "rgb8; jpeg compressed bgr8"
            sizes = [compressed_image_bytes(len(e), fmt) for e in encoded]
            decoded = np.stack([_decode_image(e) for e in encoded]) if kind == "jpeg" else data.frames
            message_type = f"sensor_msgs/msg/CompressedImage ({kind})"
        acc = None
        edge_ms = None
        if model is not None and timing_model is not None:
            logits = raw_logits if decoded is data.frames else batched(model.logits, decoded, hw)
            acc = accuracy(logits, data.labels)
            tm = timing_model

            def edge_frame(i: int, enc: list[bytes] | None = encoded) -> None:
                frame = data.frames[i] if enc is None else _decode_image(enc[i])
                tm.logits(model_input(frame, hw))
            edge_ms = timed(edge_frame, data.timing)
        encode_ms, encode_src = dm.image_encode(kind, hw[0], hw[1], quality)
        device = {"macs": 0, "params": 0, "sram_bytes": int(hw[0] * hw[1] * 3), "flash_bytes": 0,
                  "compute_ms": 0.0, "encode_ms": encode_ms, "ms": encode_ms,
                  "source": f"image encoding on the device, {encode_src}"}
        if kind == "jpeg" and dm.jpeg is not None:
            device.update({"flash_bytes": dm.jpeg.flash_bytes, "encoder_heap_bytes": dm.jpeg.heap_bytes,
                           "encoder_stack_bytes": dm.jpeg.stack_bytes})
        notes = [f"the device sends the {hw[1]}x{hw[0]} image ({name}); the edge decodes it and runs the edge "
                 "baseline network (trained on images)"]
        if kind == "png":
            notes.append("PNG is lossless: accuracy equals raw")
        rows.append(row(f"edge-only-{name}", "edge-only", "edge-only", name, accuracy_value=acc,
                        message_type=message_type, message_sizes=sizes, device=device, edge_ms=edge_ms, notes=notes,
                        missing=missing))
        if kind == "jpeg":
            rows.append(camera_jpeg_row(rows[-1], quality, hw))
    return rows


def camera_jpeg_row(software: dict[str, Any], quality: int, hw: tuple[int, int]) -> dict[str, Any]:
    """The hardware-JPEG camera (OV2640-class) twin of a software-JPEG edge-only row: the camera
    encodes, the device spends no cycles and forwards the bytes. Bytes, accuracy and edge time
    are the software row's (same JPEG at the same quality: the edge decodes and classifies it
    the same way)."""
    device = {"macs": 0, "params": 0, "sram_bytes": software["device"]["sram_bytes"], "flash_bytes": 0,
              "compute_ms": 0.0, "encode_ms": 0.0, "ms": 0.0,
              "source": "modelled: JPEG encoded in the camera's hardware, 0 device cycles"}
    notes = [f"an OV2640-class camera encodes the {hw[1]}x{hw[0]} frame to JPEG in hardware; the device only "
             "forwards the bytes (0 cycles)",
             f"bytes and accuracy are those of the software JPEG at q{quality} (same bytes, same edge work); a real "
             "OV2640 uses its own tables and 4:2:2, usually more bytes at equal quality, so this favours the camera"]
    name = f"edge-only-camera-jpeg-q{quality}"
    sizes_stats = software["bytes_per_frame"]
    out = {**software, "name": name, "scheme": "edge-only-camera", "role": "edge-only, hardware-JPEG camera",
           "variant": f"camera-jpeg-q{quality}", "device": device, "notes": notes}
    edge_p50 = software["edge_ms"]["p50"] if software.get("edge_ms") else None
    out["latency_ms"] = latency(0.0, sizes_stats["mean"], edge_p50)
    return out


def local_only_row(ctx: BenchContext) -> dict[str, Any]:
    data, dm = ctx.data, ctx.device
    notes = ["MCUNet's role: a whole network small enough for the device; nothing is sent (0 bytes, no edge)"]
    try:
        bundle = load_baseline(ctx.baselines_dir, "local", data.class_names, ctx.bundle.input_hw)
    except BaselineMissing as exc:
        return row("local-only", "local-only", "MCUNet's role", "whole network on the device", accuracy_value=None,
                   message_type="(none)", message_sizes=None, device=_missing_device(), edge_ms=None, notes=notes,
                   missing=f"{exc}; make it with: {ctx.how_to_make['local']}")
    model = ImageModel(bundle, ctx.threads)
    cost = dict(bundle.manifest["device_cost"])
    compute_ms = dm.network_ms(int(cost["macs"]))
    device = {**cost, "compute_ms": compute_ms, "encode_ms": 0.0, "ms": compute_ms,
              "source": f"estimated: MACs x {dm.cycles_per_mac:.3g} cycles/MAC"}
    return row("local-only", "local-only", "MCUNet's role", "whole network on the device",
               accuracy_value=accuracy(batched(model.logits, data.frames, bundle.input_hw), data.labels),
               message_type="(none)", message_sizes=None, device=device, edge_ms=None, notes=notes)


def split_rows(ctx: BenchContext) -> list[dict[str, Any]]:
    data, dm = ctx.data, ctx.device
    role = "Neurosurgeon's role"
    try:
        bundle = load_baseline(ctx.baselines_dir, "split", data.class_names, ctx.bundle.input_hw)
    except BaselineMissing as exc:
        return [row(f"split-{name}", "split", role, name, accuracy_value=None, message_type="agilenn_ros/msg/FeatureFrame",
                    message_sizes=None, device=_missing_device(), edge_ms=None, notes=[],
                    missing=f"{exc}; make it with: {ctx.how_to_make['split']}") for name in CODEC_IDS]
    split = bundle.manifest["split"]
    model, timing_model = SplitModel(bundle, ctx.threads), SplitModel(bundle, 1)
    codes = batched(model.codes, data.frames, bundle.input_hw)
    acc = accuracy(np.concatenate([model.logits(codes[i:i + BATCH]) for i in range(0, len(codes), BATCH)]),
                   data.labels)
    c, h, w = codes.shape[1:]
    cost = dict(bundle.manifest["device_cost"])
    compute_ms = dm.network_ms(int(cost["macs"]))
    rows = []
    for name in CODEC_IDS:
        codec = make_codec(name, split["codec_tables"] if name == "rans" else None, n_symbols=256)
        payloads = [codec.encode(frame) for frame in codes]
        sizes = [feature_frame_bytes(len(p), c, h, w, 0, CODEC_IDS[name]) for p in payloads]

        def edge_frame(i: int, cd: Any = codec, pl: list[bytes] = payloads) -> None:
            timing_model.logits(cd.decode(pl[i], (c, h, w))[None])
        encode_ms = dm.encode_ms(name, int(c * h * w))
        device = {**cost, "compute_ms": compute_ms, "encode_ms": encode_ms, "ms": compute_ms + encode_ms,
                  "source": f"estimated: MACs x {dm.cycles_per_mac:.3g} cycles/MAC + {name} cycles per symbol"}
        notes = [f"the edge network cut after {'its stem' if split['cut'] == 0 else str(split['cut']) + ' body modules'}"
                 f": {c}x{h}x{w} activations as uint8 (scale {split['scale']:.4g}), "
                 + {"rans": "rANS coded (the project's coder, per-channel tables)",
                    "packed": "sent as plain bytes (packed, 8 bits per value)",
                    "lzw": "LZW coded (the paper's coder)"}[name]]
        rows.append(row(f"split-{name}", "split", role, name, accuracy_value=acc,
                        message_type="agilenn_ros/msg/FeatureFrame", message_sizes=sizes, device=device,
                        edge_ms=timed(edge_frame, data.timing), notes=notes,
                        extra={"payload_bytes": size_stats([len(p) for p in payloads])}))
    return rows
