"""The device side of a bundle: image -> local logits, centroid indices, coded payload."""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from agilenn_ros.codec.registry import Codec, codec_id, make_codec
from agilenn_ros.runtime.bundle import Bundle, open_session
from agilenn_ros.runtime.preprocess import model_input


@dataclass
class DeviceResult:
    local_logits: np.ndarray     # float32 [classes]
    indices: np.ndarray          # uint8 [C-k, H, W] centroid indices of the remote channels
    payload: bytes               # coded indices
    codec_id: int                # msg FeatureFrame.CODEC_*
    compute_s: float             # preprocessing + network + encoding time


class DevicePipeline:
    """What the microcontroller computes, on numpy + onnxruntime (the device emulator)."""

    def __init__(self, bundle: Bundle, codec: str | int | None = None, threads: int = 1) -> None:
        self.bundle = bundle
        self.session = open_session(bundle, "device", threads)
        tensors = bundle.manifest["tensors"]["device"]
        self.input_name = tensors["inputs"]["image"]
        self.output_names = [tensors["outputs"]["local_logits"], tensors["outputs"]["indices"]]
        self.codec: Codec = make_codec(codec if codec is not None else bundle.default_codec, bundle.codec_tables,
                                       n_symbols=len(bundle.centroids))
        self.codec_id = codec_id(self.codec.name)

    def infer(self, images: np.ndarray | list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """RGB uint8 image(s) of any size -> (local logits [N, classes], indices uint8 [N, C, H, W])."""
        batch = model_input(images, self.bundle.input_hw)
        local_logits, indices = self.session.run(self.output_names, {self.input_name: batch})
        return local_logits.astype(np.float32, copy=False), indices.astype(np.uint8)

    def infer_prepared(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Model-size float32 [N, 3, H, W] (0..255) -> (local logits, indices)."""
        local_logits, indices = self.session.run(self.output_names, {self.input_name: batch})
        return local_logits.astype(np.float32, copy=False), indices.astype(np.uint8)

    def process(self, image: np.ndarray) -> DeviceResult:
        start = time.perf_counter()
        local_logits, indices = self.infer(image)
        payload = self.codec.encode(indices[0])
        return DeviceResult(local_logits[0], indices[0], payload, self.codec_id, time.perf_counter() - start)
