"""The CIFAR-10 speed-run training recipe (``train.recipe: speedrun``), for small budgets.

Sources: Page, "How to train your ResNet" (2018, myrtle.ai: decoupled hyper-parameters, frozen
BatchNorm scales, higher bias learning rate, label smoothing, EMA of weights) and Jordan,
"94% on CIFAR-10 in 3.29 seconds on a single GPU" (2024, arXiv:2404.00498: the triangular
schedule, lookahead, identity initialisation of the 3x3 convolutions). What is not used: the
whitening first layer (the device's separable convolutions are the first layers here) and
test-time augmentation (it would double the edge's work per frame).

The hyper-parameters are *decoupled* (Page 2018): ``train.lr`` is the step size per 1024
examples and ``train.weight_decay`` the weight decay per 1024 examples, both independent of
the batch size and of the (Nesterov) momentum. For the mean-reduced losses used here::

    kilostep = 1024 * (1 + 1 / (1 - momentum))
    lr_sgd   = lr * batch / kilostep                 # PyTorch SGD learning rate
    decay    = weight_decay * batch / kilostep       # the weight decay term of one step (times
                                                     # the schedule factor; momentum adds up to
                                                     # 1 / (1 - momentum) times that)

BatchNorm2d layers of the network's body (the ``scale_frozen`` modules of :func:`speedrun_sgd`:
a baseline's body, AgileNN's remote body) keep their scale at 1 (the convolution before each
BatchNorm sets nothing the normalisation does not undo, so a learned scale only duplicates what
the next layer can learn) and their biases learn ``BIAS_SCALER`` times faster, with the same
absolute weight decay. ``train.warmup_epochs`` is not used (the triangle starts at 0.2).
"""
from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn

BIAS_SCALER = 64.0              # the bias learning rate multiplier (Jordan 2024)
LOOKAHEAD_EVERY = 5             # steps between lookahead updates
LOOKAHEAD_BASE = 0.95 ** LOOKAHEAD_EVERY


def triangle_factor(step: int, total_steps: int, start: float = 0.2, peak_at: float = 0.23,
                    end: float = 0.07) -> float:
    """Learning-rate factor of the triangular schedule: ``start`` at step 0, linearly up to 1 at
    ``peak_at`` of the run, linearly down to ``end`` at ``total_steps``."""
    total = max(1, total_steps)
    peak = max(1, int(peak_at * total))
    s = min(step, total)
    if s < peak:
        return start + (1.0 - start) * s / peak
    return 1.0 + (end - 1.0) * (s - peak) / max(1, total - peak)


def freeze_batchnorm_scales(modules: Iterable[nn.Module]) -> list[nn.Parameter]:
    """Fix the scale (``weight``) of every BatchNorm2d in ``modules`` at 1 (no gradient); returns
    their biases, which :func:`speedrun_sgd` trains ``BIAS_SCALER`` times faster."""
    biases: list[nn.Parameter] = []
    for module in modules:
        for layer in module.modules():
            if isinstance(layer, nn.BatchNorm2d) and layer.affine:
                with torch.no_grad():
                    layer.weight.fill_(1.0)
                layer.weight.requires_grad_(False)
                biases.append(layer.bias)
    return biases


@torch.no_grad()
def identity_init(modules: Iterable[nn.Module]) -> None:
    """Dirac-initialise the first ``in_channels`` filters of every dense 3x3 convolution with at
    least as many outputs as inputs: an implicit residual at the start of training."""
    for module in modules:
        for layer in module.modules():
            if (isinstance(layer, nn.Conv2d) and layer.groups == 1 and layer.kernel_size == (3, 3)
                    and layer.out_channels >= layer.in_channels):
                nn.init.dirac_(layer.weight[:layer.in_channels])


def kilostep(momentum: float) -> float:
    return 1024.0 * (1.0 + 1.0 / (1.0 - momentum))


def speedrun_sgd(model: nn.Module, scale_frozen: Iterable[nn.Module], lr: float, weight_decay: float,
                 momentum: float, batch_size: int) -> torch.optim.SGD:
    """Nesterov SGD with decoupled hyper-parameters (see the module docstring).

    Groups (each with ``initial_lr`` for the schedule): BatchNorm biases of ``scale_frozen``
    (bias_scaler x lr, the same absolute decay), weights with >= 2 dimensions (lr, decay) and the
    remaining parameters (lr, no decay: learned BatchNorm scales and biases, quantizer centroids,
    the fusion weight).
    Raises ValueError for momentum outside [0, 1) or a non-positive lr / batch size.
    """
    if not 0.0 <= momentum < 1.0 or lr <= 0 or batch_size < 1:
        raise ValueError(f"speedrun recipe: need 0 <= momentum < 1, lr > 0, batch_size >= 1 "
                         f"(momentum {momentum}, lr {lr}, batch {batch_size})")
    sgd_lr = lr * batch_size / kilostep(momentum)
    decay = weight_decay * batch_size / kilostep(momentum)
    biases = freeze_batchnorm_scales(scale_frozen)
    bias_ids = {id(p) for p in biases}
    weights, others = [], []
    for p in model.parameters():
        if not p.requires_grad or id(p) in bias_ids:
            continue
        if p.ndim >= 2:
            weights.append(p)
        else:
            others.append(p)
    bias_lr = sgd_lr * BIAS_SCALER
    groups = [dict(params=biases, lr=bias_lr, weight_decay=decay / bias_lr),
              dict(params=weights, lr=sgd_lr, weight_decay=decay / sgd_lr),
              dict(params=others, lr=sgd_lr, weight_decay=0.0)]
    groups = [g for g in groups if g["params"]]
    for g in groups:
        g["initial_lr"] = g["lr"]
    return torch.optim.SGD(groups, lr=sgd_lr, momentum=momentum, nesterov=True)


def set_schedule(opt: torch.optim.Optimizer, factor: float) -> None:
    """Every group's learning rate = its ``initial_lr`` x ``factor``."""
    for group in opt.param_groups:
        group["lr"] = group["initial_lr"] * factor


class Lookahead:
    """Lookahead on an EMA of the weights (Zhang et al. 2019; Jordan 2024's form): from
    ``start_fraction`` of the planned steps on, every ``LOOKAHEAD_EVERY`` steps the average moves towards the live
    weights with decay ``0.95**5 * (step / total)**3`` and is copied back into the network; at
    the last step (after that update when it falls on one) the network takes the average (decay
    1). A run that the time budget ends early stops on its last lookahead update instead. Float entries of the state dict only."""

    def __init__(self, start_fraction: float = 0.3) -> None:
        self.start_fraction = float(start_fraction)
        self.average: dict[str, torch.Tensor] | None = None

    @torch.no_grad()
    def step(self, model: nn.Module, step: int, total_steps: int) -> None:
        """Call after optimiser step number ``step`` (1-based) of ``total_steps``."""
        if self.average is None and step < self.start_fraction * total_steps:
            return
        live = model.state_dict()
        if self.average is None:
            self.average = {k: v.detach().clone() for k, v in live.items() if v.dtype.is_floating_point}
            return
        decays = []
        if step % LOOKAHEAD_EVERY == 0:
            decays.append(LOOKAHEAD_BASE * (min(step, total_steps) / max(1, total_steps)) ** 3)
        if step >= total_steps:
            decays.append(1.0)          # the last step: the network takes the average as it stands
        for decay in decays:
            for name, avg in self.average.items():
                avg.lerp_(live[name], 1.0 - decay)
                live[name].copy_(avg)

    def state_dict(self) -> dict[str, object]:
        return {"start_fraction": self.start_fraction, "average": self.average}

    def load_state_dict(self, state: dict[str, object]) -> None:
        self.start_fraction = float(state["start_fraction"])   # type: ignore[arg-type]
        self.average = state["average"]               # type: ignore[assignment]
