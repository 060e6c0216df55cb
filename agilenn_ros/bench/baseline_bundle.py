"""Baseline bundles (``models/baselines/<kind>/``, written by ``agilenn export-baseline``),
loaded for onnxruntime. A missing or unusable bundle is reported, never fatal."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from agilenn_ros.runtime.bundle import sha256_file
from agilenn_ros.runtime.onnx_session import make_session

FORMAT = "agilenn-baseline"

HOW_TO_MAKE = {
    "edge": "agilenn train-baseline --profile {profile} --kind edge --data {data} --out runs/baselines/edge && "
            "agilenn export-baseline runs/baselines/edge/best.pt --out {dir}/edge",
    "local": "agilenn train-baseline --profile {profile} --kind local --data {data} --out runs/baselines/local && "
             "agilenn export-baseline runs/baselines/local/best.pt --out {dir}/local",
    "split": "agilenn export-baseline runs/baselines/edge/best.pt --kind split --out {dir}/split "
             "(after training the edge baseline)",
}


class BaselineMissing(Exception):
    """No usable baseline bundle: the message says why."""


@dataclass
class BaselineBundle:
    path: Path
    manifest: dict[str, Any]

    @property
    def kind(self) -> str:
        return str(self.manifest["kind"])

    @property
    def input_hw(self) -> tuple[int, int]:
        return int(self.manifest["input"]["height"]), int(self.manifest["input"]["width"])

    def session(self, name: str, threads: int = 1) -> Any:
        return make_session(self.path / name, threads)


class ImageModel:
    """edge / local bundles: RGB image batch (model size, float 0..255, NCHW) -> logits."""

    def __init__(self, bundle: BaselineBundle, threads: int = 1) -> None:
        t = bundle.manifest["tensors"]["model"]
        self.session = bundle.session("model.onnx", threads)
        self.inp, self.out = t["inputs"]["image"], t["outputs"]["logits"]

    def logits(self, batch: np.ndarray) -> np.ndarray:
        return self.session.run([self.out], {self.inp: batch})[0]


class SplitModel:
    """split bundles: image batch -> uint8 codes [N, C, H, W]; codes -> logits."""

    def __init__(self, bundle: BaselineBundle, threads: int = 1) -> None:
        t = bundle.manifest["tensors"]
        self.device = bundle.session("device.onnx", threads)
        self.edge = bundle.session("edge.onnx", threads)
        self.d_in, self.d_out = t["device"]["inputs"]["image"], t["device"]["outputs"]["codes"]
        self.e_in, self.e_out = t["edge"]["inputs"]["codes"], t["edge"]["outputs"]["logits"]
        self.shape = tuple(int(v) for v in bundle.manifest["split"]["shape"])

    def codes(self, batch: np.ndarray) -> np.ndarray:
        return self.device.run([self.d_out], {self.d_in: batch})[0].astype(np.uint8)

    def logits(self, codes: np.ndarray) -> np.ndarray:
        return self.edge.run([self.e_out], {self.e_in: codes.astype(np.uint8)})[0]


def load_baseline(directory: Path, kind: str, class_names: list[str], input_hw: tuple[int, int]) -> BaselineBundle:
    """The ``kind`` bundle under ``directory``; raises BaselineMissing with the reason."""
    path = directory / kind
    manifest_path = path / "manifest.json"
    if not manifest_path.is_file():
        raise BaselineMissing(f"no {kind} baseline bundle at {path}")
    try:
        manifest = json.loads(manifest_path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise BaselineMissing(f"{manifest_path}: unreadable ({exc})") from exc
    if manifest.get("format") != FORMAT or manifest.get("kind") != kind:
        raise BaselineMissing(f"{path}: not a {kind} baseline bundle (format {manifest.get('format')!r}, "
                              f"kind {manifest.get('kind')!r})")
    for name, entry in manifest.get("files", {}).items():
        if not (path / name).is_file() or sha256_file(path / name) != entry.get("sha256"):
            raise BaselineMissing(f"{path}: {name} is missing or does not match its sha256")
    bundle = BaselineBundle(path, manifest)
    if list(manifest.get("class_names", [])) != list(class_names):
        raise BaselineMissing(f"{path}: classes {manifest.get('class_names')} differ from the AgileNN bundle's")
    if bundle.input_hw != tuple(input_hw):
        raise BaselineMissing(f"{path}: input {bundle.input_hw} differs from AgileNN's {tuple(input_hw)} "
                              "(the comparison needs the same resolution)")
    return bundle
