"""``agilenn export-baseline``: a baseline checkpoint -> a small bundle for ``agilenn bench``.

Bundle layout (``models/baselines/<kind>/``), read by :mod:`agilenn_ros.bench.baseline_bundle`:

* ``manifest.json``: ``format: agilenn-baseline``, kind, class names, input spec (as AgileNN
  bundles), tensor names, sha256 of every file, ``device_cost`` (MACs, parameters, SRAM and
  flash estimates of what runs on the microcontroller), ``edge_cost``, training summary;
* edge / local: ``model.onnx`` (RGB image 0..255 at the model size -> logits);
* split: ``device.onnx`` (image -> uint8 activation codes ``[N, C, H, W]``) and ``edge.onnx``
  (codes -> logits), plus ``split`` in the manifest (shape, scale, rANS tables learned on
  training images, context ``channel``: 256-symbol alphabets make neighbour contexts
  impractically large).
"""
from __future__ import annotations

import json
import os
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from agilenn_ros.codec.registry import build_codec_tables
from agilenn_ros.runtime.bundle import sha256_file
from agilenn_ros.training.baselines import load_baseline_checkpoint, load_baseline_data
from agilenn_ros.training.cost import device_cost

FORMAT = "agilenn-baseline"
FORMAT_VERSION = 1
OPSET = 17
RELU6_SCALE = 6.0 / 255.0


class _Normalise(nn.Module):
    def __init__(self, mean: tuple[float, ...], std: tuple[float, ...]) -> None:
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1))

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return (image / 255.0 - self.mean) / self.std


class ImageClassifier(nn.Module):
    def __init__(self, norm: _Normalise, model: nn.Module) -> None:
        super().__init__()
        self.norm, self.model = norm, model

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.model(self.norm(image))


class SplitDevice(nn.Module):
    """image -> uint8 codes of the cut activation: round(a / scale) clamped to 0..255."""

    def __init__(self, norm: _Normalise, part: nn.Module, scale: float) -> None:
        super().__init__()
        self.norm, self.part, self.scale = norm, part, scale

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        a = self.part(self.norm(image))
        return torch.clamp(torch.round(a / self.scale), 0, 255).to(torch.uint8)


class SplitEdge(nn.Module):
    def __init__(self, part: nn.Module, scale: float) -> None:
        super().__init__()
        self.part, self.scale = part, scale

    def forward(self, codes: torch.Tensor) -> torch.Tensor:
        return self.part(codes.to(torch.float32) * self.scale)


# BaselineNet fields that make the network (a checkpoint of one kind exports as another only if
# they agree; cut, epochs and lr do not change the weights' meaning)
_ARCHITECTURE = ("fe_hidden", "channels", "stride1", "stride2", "family", "widths")


def _onnx(module: nn.Module, example: torch.Tensor, path: Path, inp: str, out: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module.eval(), (example,), str(path), input_names=[inp], output_names=[out],
                          dynamic_axes={inp: {0: "batch"}, out: {0: "batch"}}, opset_version=OPSET, dynamo=False)


@torch.no_grad()
def _cut_scale(norm: _Normalise, part: nn.Module, cut: int, images: np.ndarray, size: int) -> float:
    """Activation scale at the cut: exact 6/255 after the stem's ReLU6, else the calibrated
    99.99th percentile / 255 (ReLU outputs are unbounded)."""
    if cut == 0:
        return RELU6_SCALE
    x = torch.nn.functional.interpolate(torch.from_numpy(images).permute(0, 3, 1, 2).float(), size=(size, size),
                                        mode="bilinear", align_corners=False)
    acts = part(norm(x)).flatten()
    return max(float(torch.quantile(acts[: 1 << 24], 0.9999)), 1e-6) / 255.0


def _model_input(images: np.ndarray, size: int) -> np.ndarray:
    from agilenn_ros.runtime.preprocess import model_input
    return model_input(list(images), (size, size))


def export_baseline(checkpoint: Path, out: Path, *, kind: str = "", data: str = "",
                    calibration: int = 1000, threads: int = 0, flip_tta: bool = False) -> Path:
    """Export ``checkpoint`` (from train-baseline) as a ``kind`` bundle (default: its own kind;
    an edge checkpoint exports as ``split`` too when the profile's split network has the edge
    architecture; ValueError otherwise). ``threads``: onnxruntime threads of the split
    calibration (0: all cores). ``flip_tta``: the edge model averages the logits of the image and its
    mirror image, as the profile's ``kinds.edge.flip_tta`` does (ValueError for another kind)."""
    if threads:
        torch.set_num_threads(threads)  # tracing and calibration
    t0 = time.time()
    ckpt, profile, model = load_baseline_checkpoint(checkpoint)
    kind = kind or ckpt["kind"]
    if kind not in ("edge", "local", "split"):
        raise ValueError(f"kind must be edge, local or split, not {kind!r}")
    trained = profile.net(ckpt["kind"])
    if kind != ckpt["kind"]:
        wanted = profile.net(kind)
        differ = [f"{name} {getattr(trained, name)!r} vs {getattr(wanted, name)!r}" for name in _ARCHITECTURE
                  if getattr(wanted, name) != getattr(trained, name)]
        if differ:
            raise ValueError(f"the {ckpt['kind']} checkpoint's network differs from the {kind} network of baseline "
                             f"profile {profile.name} (checkpoint vs profile: {'; '.join(differ)}): train that kind instead, or "
                             f"train again with kinds.{kind} set to the {ckpt['kind']} network's architecture")
    if flip_tta and kind != "edge":
        raise ValueError(f"--flip-tta is for the edge kind only, not {kind} (the device would run the network twice)")
    model.flip_tta = kind == "edge" and (flip_tta or model.flip_tta)
    cut = profile.net(kind).cut if kind == "split" else 0
    if cut >= len(model.body):
        raise ValueError(f"baseline profile {profile.name}: kinds.split.cut {cut} leaves nothing of the body at the "
                         f"edge: its {trained.family} body has {len(model.body)} modules, so cut must be at most "
                         f"{len(model.body) - 1}")
    size = profile.data.input_size
    classes = list(ckpt["class_names"])
    norm = _Normalise(tuple(profile.data.mean), tuple(profile.data.std))
    out.mkdir(parents=True, exist_ok=True)
    example = torch.rand(2, 3, size, size) * 255.0
    manifest: dict[str, Any] = {
        "format": FORMAT, "format_version": FORMAT_VERSION, "kind": kind, "trained_kind": ckpt["kind"],
        "profile": profile.name, "class_names": classes,
        "input": {"height": size, "width": size, "channels": 3, "color": "rgb", "mean": list(profile.data.mean),
                  "std": list(profile.data.std), "resize": "bilinear", "value_range": [0, 255]},
        "network": {"family": trained.family, "widths": list(trained.widths), "stem_channels": trained.channels,
                    "stem_hidden": trained.fe_hidden, "strides": [trained.stride1, trained.stride2],
                    "flip_tta": bool(model.flip_tta)},
        "training": {"epochs": ckpt.get("epoch"), "val_accuracy": ckpt.get("val_accuracy"),
                     "wall_seconds": ckpt.get("wall_seconds"), "data": ckpt.get("data")},
    }
    whole = device_cost(nn.Sequential(norm, model), example)
    if kind in ("edge", "local"):
        _onnx(ImageClassifier(norm, model), example, out / "model.onnx", "image", "logits")
        manifest["tensors"] = {"model": {"inputs": {"image": "image"}, "outputs": {"logits": "logits"}}}
        manifest["device_cost"] = whole if kind == "local" else {"macs": 0, "params": 0, "sram_bytes": 0,
                                                                 "flash_bytes": 0, "method": "nothing runs on the device"}
        manifest["edge_cost"] = whole if kind == "edge" else {"macs": 0, "params": 0}
        files = ["model.onnx"]
    else:
        device_part, edge_part = model.device_part(cut), model.edge_part(cut)
        source = data or str(ckpt.get("data") or ("digits" if profile.dataset == "digits" else ""))
        if not source:
            raise ValueError("--data is needed for the split bundle's codec tables")
        train, _ = load_baseline_data(profile, source)
        pick = np.sort(np.random.default_rng(0).permutation(len(train))[: min(calibration, len(train))])
        calib = train.images[pick]
        scale = _cut_scale(norm, device_part, cut, calib[:256], size)
        _onnx(SplitDevice(norm, device_part, scale), example, out / "device.onnx", "image", "codes")
        codes_example = torch.randint(0, 256, tuple(device_part(example[:1]).shape), dtype=torch.uint8).repeat(2, 1, 1, 1)
        _onnx(SplitEdge(edge_part, scale), codes_example, out / "edge.onnx", "codes", "logits")
        from agilenn_ros.runtime.onnx_session import make_session
        session = make_session(out / "device.onnx", threads or (os.cpu_count() or 1))
        codes = np.concatenate([session.run(["codes"], {"image": _model_input(calib[i:i + 250], size)})[0]
                                for i in range(0, len(calib), 250)])
        c, h, w = codes.shape[1:]
        manifest["tensors"] = {"device": {"inputs": {"image": "image"}, "outputs": {"codes": "codes"}},
                               "edge": {"inputs": {"codes": "codes"}, "outputs": {"logits": "logits"}}}
        manifest["split"] = {"cut": cut, "shape": [int(c), int(h), int(w)], "scale": scale, "n_symbols": 256,
                             "dtype": "uint8", "codec_tables": build_codec_tables(codes, 256, context="channel"),
                             "calibration_images": int(len(calib))}
        manifest["device_cost"] = device_cost(nn.Sequential(norm, device_part), example)
        edge_example = device_part(norm(example[:1]))
        manifest["edge_cost"] = device_cost(edge_part, edge_example)
        files = ["device.onnx", "edge.onnx"]
    manifest["whole_network_cost"] = whole
    manifest["files"] = {name: {"sha256": sha256_file(out / name), "bytes": (out / name).stat().st_size}
                         for name in files}
    manifest["model_id"] = f"{profile.name}-{kind}-{manifest['files'][files[0]]['sha256'][:8]}"
    manifest["export_seconds"] = round(time.time() - t0, 1)
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return out
