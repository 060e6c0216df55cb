"""Thread, precision and schedule settings shared by the training commands."""
from __future__ import annotations

import contextlib
import math
import os
import random
from typing import TYPE_CHECKING

import numpy as np
import torch

from agilenn_ros.config import TrainConfig

if TYPE_CHECKING:
    from agilenn_ros.training.speedrun import Lookahead


def setup_torch(cfg: TrainConfig) -> None:
    threads = cfg.threads or (os.cpu_count() or 1)
    torch.set_num_threads(threads)
    torch.manual_seed(cfg.seed)
    np.random.seed(cfg.seed)
    random.seed(cfg.seed)


def bf16_available() -> bool:
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except Exception:  # noqa: BLE001 - older builds without the op
        return False


def autocast(enabled: bool) -> contextlib.AbstractContextManager:
    if enabled:
        return torch.autocast("cpu", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def lr_at(step: int, total_steps: int, warmup_steps: int, peak: float) -> float:
    """Linear warm-up from peak/10, then cosine decay to zero."""
    if warmup_steps > 0 and step < warmup_steps:
        return peak * (0.1 + 0.9 * step / warmup_steps)
    progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
    return peak * 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))


def sgd(model: torch.nn.Module, cfg: TrainConfig, lr: float) -> torch.optim.SGD:
    """SGD with Nesterov momentum; weight decay on conv/dense weights only."""
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        (decay if p.ndim >= 2 else no_decay).append(p)
    return torch.optim.SGD([{"params": decay, "weight_decay": cfg.weight_decay},
                            {"params": no_decay, "weight_decay": 0.0}],
                           lr=lr, momentum=cfg.momentum, nesterov=True)


def build_optimizer(model: torch.nn.Module, body: torch.nn.Module, cfg: TrainConfig,
                    lr: float) -> tuple[torch.optim.Optimizer, "Lookahead | None"]:
    """The optimiser of ``cfg.recipe`` for ``model`` and, for the speedrun recipe, its lookahead.

    speedrun (:mod:`agilenn_ros.training.speedrun`): ``body``'s 3x3 convolutions start as
    identities and its BatchNorm scales are fixed; cosine: :func:`sgd`. ``lr``: the peak learning
    rate in the recipe's units.
    """
    from agilenn_ros.training.speedrun import Lookahead, identity_init, speedrun_sgd
    if cfg.recipe != "speedrun":
        return sgd(model, cfg, lr), None
    identity_init([body])
    return speedrun_sgd(model, [body], lr, cfg.weight_decay, cfg.momentum, cfg.batch_size), Lookahead()


def apply_schedule(opt: torch.optim.Optimizer, recipe: str, step: int, total_steps: int, warmup_steps: int,
                   peak: float) -> float:
    """Set every group's learning rate for ``step`` of ``total_steps`` under ``recipe``; returns the
    learning rate in the profile's units (``peak`` times the schedule factor), for the logs."""
    from agilenn_ros.training.speedrun import set_schedule, triangle_factor
    if recipe == "speedrun":
        factor = triangle_factor(step, total_steps)
        set_schedule(opt, factor)
        return peak * factor
    lr = lr_at(step, total_steps, warmup_steps, peak)
    for group in opt.param_groups:
        group["lr"] = lr
    return lr
