"""Thread, precision and schedule settings shared by the training commands."""
from __future__ import annotations

import contextlib
import math
import os
import random

import numpy as np
import torch

from agilenn_ros.config import TrainConfig


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
