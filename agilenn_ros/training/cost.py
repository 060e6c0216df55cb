"""Device cost of a torch network, counted with forward hooks on one image.

* MACs: Conv2d ``out_elements * in_channels / groups * kh * kw``; Linear ``in * out``.
* Parameters: conv / linear weights and biases, plus one bias per output channel where a
  BatchNorm follows (it folds into the layer before it at deployment).
* SRAM estimate (int8 deployment, TFLite-Micro-style arena): the largest
  ``input + output`` activation of any conv / linear / pooling layer, plus the inputs that
  residual blocks keep alive for their shortcut. Runtime, stack and I/O buffers excluded.
* Flash estimate: int8 weights plus int32 biases.
"""
from __future__ import annotations

from typing import Any

import torch
from torch import nn

from agilenn_ros.training.layers import ResidualBlock
from agilenn_ros.training.remote_predictor import InvertedResidual

COUNTED = (nn.Conv2d, nn.Linear, nn.AdaptiveAvgPool2d, nn.AvgPool2d, nn.MaxPool2d)


@torch.no_grad()
def device_cost(module: nn.Module, example: torch.Tensor) -> dict[str, Any]:
    """Costs of running ``module`` on ``example`` (batch 1) at int8."""
    state = {"macs": 0, "peak": 0, "alive": 0, "weights": 0, "biases": 0}
    layers: list[dict[str, Any]] = []
    handles = []

    def leaf_hook(mod: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        x = inputs[0]
        in_el, out_el = int(x[0].numel()), int(output[0].numel())
        macs = 0
        if isinstance(mod, nn.Conv2d):
            kh, kw = mod.kernel_size
            macs = out_el * (mod.in_channels // mod.groups) * kh * kw
            state["weights"] += mod.weight.numel()
            state["biases"] += mod.out_channels
        elif isinstance(mod, nn.Linear):
            macs = mod.in_features * mod.out_features
            state["weights"] += mod.weight.numel()
            state["biases"] += mod.out_features
        state["macs"] += macs
        state["peak"] = max(state["peak"], in_el + out_el + state["alive"])
        layers.append({"layer": type(mod).__name__, "macs": macs, "in_bytes": in_el, "out_bytes": out_el})

    def residual_pre(mod: nn.Module, inputs: tuple[torch.Tensor, ...]) -> None:
        if getattr(mod, "residual", True):
            state["alive"] += int(inputs[0][0].numel())

    def residual_post(mod: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        if getattr(mod, "residual", True):
            state["alive"] -= int(inputs[0][0].numel())

    for mod in module.modules():
        if isinstance(mod, COUNTED):
            handles.append(mod.register_forward_hook(leaf_hook))
        elif isinstance(mod, (ResidualBlock, InvertedResidual)):
            handles.append(mod.register_forward_pre_hook(residual_pre))
            handles.append(mod.register_forward_hook(residual_post))
    was_training = module.training
    module.eval()
    try:
        module(example[:1])
    finally:
        for h in handles:
            h.remove()
        module.train(was_training)
    params = state["weights"] + state["biases"]
    return {"macs": int(state["macs"]), "params": int(params), "sram_bytes": int(state["peak"]),
            "flash_bytes": int(state["weights"] + 4 * state["biases"]), "layers": len(layers),
            "method": "forward hooks, batch 1; SRAM = max(input + output activation, int8) + residual "
                      "shortcuts alive; flash = int8 weights + int32 biases (BatchNorm folded)"}
