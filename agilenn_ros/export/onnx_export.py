"""ONNX export of the device and edge halves of a trained AgileNN."""
from __future__ import annotations

import warnings
from pathlib import Path

import torch

from agilenn_ros.training.agilenn_model import AgileNN, DeviceModel, EdgeModel

OPSET = 17


def _export(module: torch.nn.Module, args: tuple[torch.Tensor, ...], path: Path, inputs: list[str],
            outputs: list[str]) -> None:
    dynamic = {name: {0: "batch"} for name in inputs + outputs}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, args, str(path), input_names=inputs, output_names=outputs,
                          dynamic_axes=dynamic, opset_version=OPSET, dynamo=False)


def export_device(model: AgileNN, path: Path) -> None:
    size = model.input_size
    image = torch.rand(2, 3, size, size) * 255.0
    _export(DeviceModel(model).eval(), (image,), path, ["image"], ["local_logits", "indices"])


def export_edge(model: AgileNN, path: Path, remote_shape: tuple[int, int, int], classes: int) -> None:
    indices = torch.randint(0, model.quantizer.raw.numel(), (2, *remote_shape), dtype=torch.int64)
    local_logits = torch.randn(2, classes)
    _export(EdgeModel(model).eval(), (indices, local_logits), path, ["indices", "local_logits"],
            ["fused_logits", "remote_logits"])
