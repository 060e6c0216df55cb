"""The edge side of a bundle: decode the payload, run the remote network, fuse."""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from agilenn_ros.codec.errors import CodecError
from agilenn_ros.codec.registry import CODEC_NONE, Codec, codec_name, make_codec
from agilenn_ros.runtime.bundle import Bundle
from agilenn_ros.runtime.onnx_session import make_session


class FrameError(ValueError):
    """A frame cannot be used at all (not even for a local-only prediction)."""


@dataclass
class EdgeResult:
    class_id: int
    label: str
    confidence: float
    scores: np.ndarray           # float32 [classes]: fused logits, or local logits when remote_used is False
    remote_used: bool
    decode_s: float
    remote_s: float
    fallback_reason: str = ""    # why the remote part was not used (empty when it was)


def softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


class EdgePipeline:
    def __init__(self, bundle: Bundle, threads: int = 1) -> None:
        self.bundle = bundle
        self.session = make_session(bundle.file("edge.onnx"), threads)
        tensors = bundle.manifest["tensors"]["edge"]
        self.indices_name = tensors["inputs"]["indices"]
        self.local_name = tensors["inputs"]["local_logits"]
        self.output_names = [tensors["outputs"]["fused_logits"], tensors["outputs"]["remote_logits"]]
        self._codecs: dict[int, Codec] = {}
        self.class_names = bundle.class_names
        self.remote_shape = bundle.remote_shape

    def codec(self, codec_id: int) -> Codec:
        if codec_id not in self._codecs:
            self._codecs[codec_id] = make_codec(codec_id, self.bundle.codec_tables,
                                                n_symbols=len(self.bundle.centroids))
        return self._codecs[codec_id]

    def infer(self, indices: np.ndarray, local_logits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """indices [N, C, H, W] (any int type), local logits [N, classes] -> (fused, remote) logits."""
        fused, remote = self.session.run(self.output_names, {
            self.indices_name: indices.astype(np.int64, copy=False),
            self.local_name: local_logits.astype(np.float32, copy=False)})
        return fused, remote

    def check_local_logits(self, local_logits: np.ndarray) -> np.ndarray:
        logits = np.asarray(local_logits, dtype=np.float32).reshape(-1)
        if logits.shape[0] != self.bundle.num_classes:
            raise FrameError(f"local_logits has {logits.shape[0]} values, the model has "
                             f"{self.bundle.num_classes} classes")
        if not np.all(np.isfinite(logits)):
            raise FrameError("local_logits holds NaN or infinity")
        return logits

    def _result(self, scores: np.ndarray, remote_used: bool, decode_s: float, remote_s: float,
                reason: str = "") -> EdgeResult:
        probs = softmax(scores)
        class_id = int(np.argmax(scores))
        return EdgeResult(class_id, self.class_names[class_id], float(probs[class_id]),
                          scores.astype(np.float32), remote_used, decode_s, remote_s, reason)

    def process(self, codec_id: int, payload: bytes, shape: tuple[int, int, int],
                local_logits: np.ndarray) -> EdgeResult:
        """One frame. An undecodable payload gives a local-only result (the paper's fallback);
        invalid local logits raise FrameError."""
        logits = self.check_local_logits(local_logits)
        start = time.perf_counter()
        if codec_id == CODEC_NONE:
            return self._result(logits, False, 0.0, 0.0, "no remote payload (CODEC_NONE)")
        if tuple(shape) != self.remote_shape:
            return self._result(logits, False, 0.0, 0.0,
                                f"shape {tuple(shape)} differs from the model's {self.remote_shape}")
        try:
            indices = self.codec(codec_id).decode(bytes(payload), self.remote_shape)
        except CodecError as exc:
            name = codec_name(codec_id) if codec_id in (0, 1, 2) else str(codec_id)
            return self._result(logits, False, time.perf_counter() - start, 0.0,
                                f"{name} payload not decodable: {exc}")
        decoded = time.perf_counter()
        fused, _ = self.infer(indices[None], logits[None])
        return self._result(fused[0], True, decoded - start, time.perf_counter() - decoded)
