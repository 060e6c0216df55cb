"""The AgileNN pipeline run offline over a bag's frames, in batches through onnxruntime.

* Image frames: the device half (preprocess, device.onnx, encode with a codec), then the
  edge half (decode the payload, edge.onnx), exactly as the device emulator and the edge
  node do, but ``batch`` frames per onnxruntime call.
* FeatureFrames recorded from a device: the edge half only, with the edge node's checks
  (model hash, local logits); an undecodable payload is counted by kind and the frame falls
  back to the local prediction, as the edge node does.

Per-frame times: network times are the frame's share of its batch's onnxruntime call;
encoding and decoding are measured per frame. Device time of a FeatureFrame is the
``device_compute_us`` the device reported.
"""
from __future__ import annotations

import re
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator

import numpy as np
from tqdm import tqdm

from agilenn_ros.codec.errors import CodecError
from agilenn_ros.codec.registry import CODEC_NONE, CODEC_NAMES
from agilenn_ros.runtime.bundle import Bundle
from agilenn_ros.runtime.device_pipeline import DevicePipeline
from agilenn_ros.runtime.edge_pipeline import EdgePipeline, FrameError
from agilenn_ros.runtime.preprocess import ImageFormatError, model_input
from agilenn_ros.runtime.image_encodings import UnsupportedEncoding, image_msg_to_rgb
from agilenn_ros.runtime.ros_images import compressed_to_rgb
from agilenn_ros.bag.bagio import COMPRESSED_IMAGE
from agilenn_ros.bag.side_topics import stamp_ns
from agilenn_ros.transport.msgtypes import deserialize, new_message, serialize

FEATURE_FRAME = "agilenn_ros/msg/FeatureFrame"
Message = tuple[int, bytes, str]     # (bag time ns, CDR bytes, message type)


@dataclass
class FrameRecord:
    stamp_ns: int
    class_id: int                 # offline prediction (fused, or local when remote_used is False)
    local_class: int
    remote_class: int             # -1 when the remote part was not used
    remote_used: bool
    payload_bytes: int
    message_bytes: int            # serialized FeatureFrame (CDR) size
    device_ms: float
    decode_ms: float
    remote_ms: float
    label: int = -1               # ground truth index (-1: none)
    recorded: int = -1            # class id of the recorded Prediction (-1: none)
    bag_ns: int = 0               # bag (receive) time of the frame's message


@dataclass
class RunStats:
    errors: Counter = field(default_factory=Counter)
    fallbacks: Counter = field(default_factory=Counter)     # why frames were local-only
    encodings: Counter = field(default_factory=Counter)     # image encodings / codecs seen
    resolutions: Counter = field(default_factory=Counter)   # "WxH" of the source images
    frames_read: int = 0
    examples: dict[str, str] = field(default_factory=dict)  # error kind -> first message of that kind

    def error(self, kind: str, text: str = "") -> None:
        """Count one error of ``kind``; the first ``text`` of each kind is kept for the console."""
        self.errors[kind] += 1
        if text and kind not in self.examples:
            self.examples[kind] = text


def error_kind(exc: Exception) -> str:
    """CamelCase exception class -> snake_case error kind (TruncatedPayload -> truncated_payload)."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", type(exc).__name__).lower()


def _progress(messages: Iterable[Message], total: int, progress: bool, desc: str) -> Iterator[Message]:
    return iter(tqdm(messages, total=total or None, desc=desc, unit="frame", disable=not progress,
                     mininterval=0.5, leave=False))


def _feature_frame_size(bundle: Bundle, stamp: int, frame_id: str, payload: bytes, codec: int,
                        local_logits: np.ndarray, shape: tuple[int, int, int]) -> int:
    msg = new_message(FEATURE_FRAME, header={"stamp": divmod(stamp, 1_000_000_000), "frame_id": frame_id},
                      device_id="emulator0", sequence=0, model_hash=bundle.model_hash_u32,
                      channels=shape[0], height=shape[1], width=shape[2], codec=codec,
                      payload=np.frombuffer(payload, dtype=np.uint8), local_logits=local_logits,
                      device_compute_us=0)
    return len(serialize(msg))


class ImageEvaluator:
    """Device + edge offline on sensor_msgs/Image or CompressedImage messages."""

    def __init__(self, bundle: Bundle, codec: str | None = None, threads: int = 1, batch: int = 64) -> None:
        self.bundle = bundle
        self.device = DevicePipeline(bundle, codec=codec, threads=threads)
        self.edge = EdgePipeline(bundle, threads=threads)
        self.edge.codec(self.device.codec_id)      # build the decoder's tables before timing
        self.batch = max(1, int(batch))

    def decode(self, data: bytes, msgtype: str, stats: RunStats) -> tuple[int, str, np.ndarray, float] | None:
        """(stamp ns, frame_id, model input float32 [3, H, W], resize ms) or None (counted in ``stats``)."""
        try:
            msg = deserialize(data, msgtype)
        except Exception as exc:  # noqa: BLE001 - corrupt CDR is counted, never fatal
            stats.error("undecodable_message", f"a message cannot be deserialized as {msgtype} ({exc})")
            return None
        try:
            if msgtype == COMPRESSED_IMAGE:
                stats.encodings[str(msg.format).split(";")[-1].strip() or "compressed"] += 1
                rgb = compressed_to_rgb(msg.format, msg.data)
            else:
                stats.encodings[str(msg.encoding)] += 1
                rgb = image_msg_to_rgb(msg)
        except UnsupportedEncoding as exc:
            stats.error("unsupported_encoding", str(exc))
            return None
        except ImageFormatError as exc:
            stats.error("undecodable_image", str(exc))
            return None
        stats.resolutions[f"{rgb.shape[1]}x{rgb.shape[0]}"] += 1
        # resized at once: a batch holds model-size inputs, not camera-size frames
        t0 = time.perf_counter()
        x = model_input(rgb, self.bundle.input_hw)[0]
        return stamp_ns(msg.header), str(msg.header.frame_id), x, (time.perf_counter() - t0) * 1e3

    def run(self, messages: Iterable[Message], stats: RunStats, total: int = 0,
            progress: bool = True) -> list[FrameRecord]:
        records: list[FrameRecord] = []
        pending: list[tuple[int, str, np.ndarray, float, int]] = []
        for bag_ns, data, msgtype in _progress(messages, total, progress, "eval-bag images"):
            stats.frames_read += 1
            frame = self.decode(data, msgtype, stats)
            if frame is not None:
                pending.append((*frame, bag_ns))
            if len(pending) >= self.batch:
                records += self._flush(pending, stats)
                pending = []
        if pending:
            records += self._flush(pending, stats)
        return records

    def _flush(self, frames: list[tuple[int, str, np.ndarray, float, int]], stats: RunStats) -> list[FrameRecord]:
        n = len(frames)
        start = time.perf_counter()      # device time: resize + network share + encoding of the frame
        local, indices = self.device.infer_prepared(np.stack([f[2] for f in frames]))
        net_ms = (time.perf_counter() - start) * 1e3 / n
        codec = self.device.codec
        shape = self.bundle.remote_shape
        payloads, enc_ms, dec_ms, decoded, ok = [], [], [], [], []
        for i in range(n):
            t0 = time.perf_counter()
            payload = codec.encode(indices[i])
            t1 = time.perf_counter()
            try:
                decoded.append(self.edge.codec(self.device.codec_id).decode(payload, shape))
                ok.append(i)
            except CodecError as exc:      # cannot happen with the bundle's own codecs; counted anyway
                stats.error(error_kind(exc), str(exc))
                stats.fallbacks["undecodable payload"] += 1
            t2 = time.perf_counter()
            payloads.append(payload)
            enc_ms.append((t1 - t0) * 1e3)
            dec_ms.append((t2 - t1) * 1e3)
        fused = np.zeros_like(local)
        remote = np.zeros_like(local)
        remote_ms = 0.0
        if ok:
            t0 = time.perf_counter()
            f, r = self.edge.infer(np.stack(decoded), local[ok])
            remote_ms = (time.perf_counter() - t0) * 1e3 / len(ok)
            fused[ok], remote[ok] = f, r
        used = set(ok)
        records = []
        for i, (stamp, frame_id, _, resize_ms, bag_ns) in enumerate(frames):
            remote_used = i in used
            scores = fused[i] if remote_used else local[i]
            records.append(FrameRecord(
                stamp, int(np.argmax(scores)), int(np.argmax(local[i])),
                int(np.argmax(remote[i])) if remote_used else -1, remote_used, len(payloads[i]),
                _feature_frame_size(self.bundle, stamp, frame_id, payloads[i], self.device.codec_id, local[i], shape),
                resize_ms + net_ms + enc_ms[i], dec_ms[i], remote_ms if remote_used else 0.0, bag_ns=bag_ns))
        return records


class FeatureEvaluator:
    """The edge half offline on agilenn_ros/FeatureFrame messages recorded from a device."""

    def __init__(self, bundle: Bundle, threads: int = 1, batch: int = 64) -> None:
        self.bundle = bundle
        self.edge = EdgePipeline(bundle, threads=threads)
        for cid in CODEC_NAMES:                    # build the decoders' tables before timing
            try:
                self.edge.codec(cid)
            except CodecError:
                pass
        self.batch = max(1, int(batch))

    def run(self, messages: Iterable[Message], stats: RunStats, total: int = 0,
            progress: bool = True) -> list[FrameRecord]:
        records: list[FrameRecord] = []
        pending: list[dict[str, Any]] = []
        for ts, data, msgtype in _progress(messages, total, progress, "eval-bag features"):
            stats.frames_read += 1
            item = self._prepare(data, msgtype, stats)
            if item is not None:
                item["bag_ns"] = ts
                pending.append(item)
            if len(pending) >= self.batch:
                records += self._flush(pending)
                pending = []
        if pending:
            records += self._flush(pending)
        return records

    def _prepare(self, data: bytes, msgtype: str, stats: RunStats) -> dict[str, Any] | None:
        try:
            msg = deserialize(data, msgtype)
        except Exception as exc:  # noqa: BLE001
            stats.error("undecodable_message", f"a message cannot be deserialized as {msgtype} ({exc})")
            return None
        if int(msg.model_hash) != self.bundle.model_hash_u32:
            stats.error("model_hash_mismatch", f"FeatureFrame model hash {int(msg.model_hash):08x} is not the "
                                               f"bundle's {self.bundle.model_hash_u32:08x}")
            return None
        try:
            logits = self.edge.check_local_logits(np.asarray(msg.local_logits, dtype=np.float32))
        except FrameError as exc:
            stats.error("invalid_local_logits", str(exc))
            return None
        codec_id = int(msg.codec)
        stats.encodings[f"codec {CODEC_NAMES.get(codec_id, codec_id)}"] += 1
        payload = np.asarray(msg.payload, dtype=np.uint8).tobytes()
        item: dict[str, Any] = {"stamp": stamp_ns(msg.header), "logits": logits, "payload_bytes": len(payload),
                                "message_bytes": len(data), "device_ms": int(msg.device_compute_us) / 1e3,
                                "indices": None, "decode_ms": 0.0}
        shape = (int(msg.channels), int(msg.height), int(msg.width))
        if codec_id == CODEC_NONE:
            stats.fallbacks["no remote payload (CODEC_NONE)"] += 1
            return item
        if shape != self.bundle.remote_shape:
            stats.error("shape_mismatch", f"FeatureFrame shape {shape} is not the bundle's {self.bundle.remote_shape}")
            stats.fallbacks["shape mismatch"] += 1
            return item
        t0 = time.perf_counter()
        try:
            item["indices"] = self.edge.codec(codec_id).decode(payload, shape)
        except CodecError as exc:
            stats.error(error_kind(exc), str(exc))
            stats.fallbacks["undecodable payload"] += 1
        item["decode_ms"] = (time.perf_counter() - t0) * 1e3
        return item

    def _flush(self, items: list[dict[str, Any]]) -> list[FrameRecord]:
        ok = [i for i, item in enumerate(items) if item["indices"] is not None]
        fused: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        remote_ms = 0.0
        if ok:
            t0 = time.perf_counter()
            f, r = self.edge.infer(np.stack([items[i]["indices"] for i in ok]),
                                   np.stack([items[i]["logits"] for i in ok]))
            remote_ms = (time.perf_counter() - t0) * 1e3 / len(ok)
            fused = {i: (f[j], r[j]) for j, i in enumerate(ok)}
        records = []
        for i, item in enumerate(items):
            local_class = int(np.argmax(item["logits"]))
            if i in fused:
                scores, remote = fused[i]
                records.append(FrameRecord(item["stamp"], int(np.argmax(scores)), local_class, int(np.argmax(remote)),
                                           True, item["payload_bytes"], item["message_bytes"], item["device_ms"],
                                           item["decode_ms"], remote_ms, bag_ns=item["bag_ns"]))
            else:
                records.append(FrameRecord(item["stamp"], local_class, local_class, -1, False, item["payload_bytes"],
                                           item["message_bytes"], item["device_ms"], item["decode_ms"], 0.0,
                                           bag_ns=item["bag_ns"]))
        return records
