"""The edge side of a bundle: decode the payload, run the remote network, fuse."""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from agilenn_ros.codec.errors import CodecError, UnknownCodec
from agilenn_ros.codec.registry import CODEC_IDS, CODEC_NAMES, CODEC_NONE, Codec, make_codec
from agilenn_ros.runtime.bundle import Bundle, BundleError, open_session


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


@dataclass
class Decoded:
    """A frame whose payload decoded: ready for the remote network."""
    indices: np.ndarray          # uint8 [C, H, W]
    local_logits: np.ndarray     # float32 [classes], finite
    decode_s: float


class EdgePipeline:
    """Decode, run the remote network (batched), fuse. The ONNX graph is checked against the
    manifest when the pipeline is built (:func:`~agilenn_ros.runtime.bundle.open_session`) and
    every codec the bundle offers is built then, so a bundle fault stops start-up instead of
    turning every frame into a fallback."""

    def __init__(self, bundle: Bundle, threads: int = 1, max_batch: int = 32) -> None:
        from agilenn_ros.runtime.bundle_check import onnx_batch_dim

        self.bundle = bundle
        self.session = open_session(bundle, "edge", threads)
        tensors = bundle.manifest["tensors"]["edge"]
        self.indices_name = tensors["inputs"]["indices"]
        self.local_name = tensors["inputs"]["local_logits"]
        self.output_names = [tensors["outputs"]["fused_logits"], tensors["outputs"]["remote_logits"]]
        index_input = next(a for a in self.session.get_inputs() if a.name == self.indices_name)
        self._index_dtype = {"tensor(int32)": np.int32, "tensor(uint8)": np.uint8}.get(index_input.type, np.int64)
        fixed = onnx_batch_dim(self.session.get_inputs())
        self.max_batch = 1 if fixed == 1 else max(1, int(max_batch if fixed is None else min(max_batch, fixed)))
        self.class_names = bundle.class_names
        self.remote_shape = bundle.remote_shape
        self._codecs: dict[int, Codec] = {}
        n_symbols = len(bundle.centroids)
        for name, cid in CODEC_IDS.items():
            if name == "rans" and "rans" not in bundle.codec_tables:
                continue
            try:
                self._codecs[cid] = make_codec(cid, bundle.codec_tables, n_symbols=n_symbols)
            except CodecError as exc:
                raise BundleError(f"{bundle.path}/manifest.json: codec.tables ({name}): {exc}") from None

    def codec(self, codec_id: int) -> Codec:
        """The codec for a FeatureFrame codec id; UnknownCodec (a CodecError) if the bundle has none."""
        codec = self._codecs.get(codec_id)
        if codec is None:
            raise UnknownCodec(f"codec id {codec_id} is not offered by this bundle "
                               f"(offers {sorted(self._codecs)})")
        return codec

    def infer(self, indices: np.ndarray, local_logits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """indices [N, C, H, W] (any int type), local logits [N, classes] -> (fused, remote) logits,
        in chunks of at most ``max_batch`` frames."""
        fused_parts, remote_parts = [], []
        for start in range(0, len(indices), self.max_batch):
            fused, remote = self.session.run(self.output_names, {
                self.indices_name: indices[start:start + self.max_batch].astype(self._index_dtype, copy=False),
                self.local_name: local_logits[start:start + self.max_batch].astype(np.float32, copy=False)})
            fused_parts.append(fused)
            remote_parts.append(remote)
        if len(fused_parts) == 1:
            return fused_parts[0], remote_parts[0]
        return np.concatenate(fused_parts), np.concatenate(remote_parts)

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

    def prepare(self, codec_id: int, payload: bytes | memoryview, shape: tuple[int, int, int],
                local_logits: np.ndarray) -> Decoded | EdgeResult:
        """Check and decode one frame: Decoded (ready for :meth:`run_batch`) or, when the remote
        part cannot be used, the local-only EdgeResult (the paper's fallback). Invalid local
        logits raise FrameError."""
        logits = self.check_local_logits(local_logits)
        if codec_id == CODEC_NONE:
            return self._result(logits, False, 0.0, 0.0, "no remote payload (CODEC_NONE)")
        if tuple(shape) != self.remote_shape:
            return self._result(logits, False, 0.0, 0.0,
                                f"shape {tuple(shape)} differs from the model's {self.remote_shape}")
        start = time.perf_counter()
        try:
            indices = self.codec(codec_id).decode(bytes(payload), self.remote_shape)
        except CodecError as exc:
            name = CODEC_NAMES.get(codec_id, str(codec_id))
            return self._result(logits, False, time.perf_counter() - start, 0.0,
                                f"{name} payload not decodable: {exc}")
        return Decoded(indices, logits, time.perf_counter() - start)

    def run_batch(self, frames: list[Decoded]) -> list[EdgeResult]:
        """One network call (chunked by ``max_batch``) for decoded frames; a frame whose fused
        scores are not finite gets its local-only result."""
        if not frames:
            return []
        start = time.perf_counter()
        fused, _ = self.infer(np.stack([f.indices for f in frames]), np.stack([f.local_logits for f in frames]))
        remote_s = (time.perf_counter() - start) / len(frames)
        finite = np.isfinite(fused).all(axis=1)
        scores = np.where(finite[:, None], fused, np.stack([f.local_logits for f in frames])).astype(np.float32)
        probs = softmax(scores)
        class_ids = scores.argmax(axis=1)
        confidence = probs[np.arange(len(frames)), class_ids]
        results = []
        for i, frame in enumerate(frames):
            cid = int(class_ids[i])
            results.append(EdgeResult(cid, self.class_names[cid], float(confidence[i]), scores[i], bool(finite[i]),
                                      frame.decode_s, remote_s,
                                      "" if finite[i] else "remote network gave NaN or infinity"))
        return results

    def process(self, codec_id: int, payload: bytes, shape: tuple[int, int, int],
                local_logits: np.ndarray) -> EdgeResult:
        """One frame. An undecodable payload gives a local-only result (the paper's fallback);
        invalid local logits raise FrameError."""
        prepared = self.prepare(codec_id, payload, shape, local_logits)
        return prepared if isinstance(prepared, EdgeResult) else self.run_batch([prepared])[0]
