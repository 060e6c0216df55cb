"""Integrated-gradients importance of feature elements through the frozen reference body.

Zero baseline, ``steps`` trapezoid intervals between 0 and f (steps=1 is the authors'
2-point version). The attributed quantity is the cross-entropy with the true label, as in
the authors' code. ``exact=True`` keeps the graph of the gradients (second-order, as in the
paper); ``exact=False`` treats the averaged gradient as a constant so only the ``f`` factor
carries gradient to the feature extractor (much cheaper on a CPU).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def zero_baseline_gradients(body: nn.Module, shape: tuple[int, int, int], classes: int,
                            device: torch.device | str = "cpu") -> torch.Tensor:
    """d CE(y, body(0)) / d input for every class y: [classes, C, H, W].

    With the body frozen in eval mode the gradient at the zero baseline depends on the label
    alone, so it is computed once instead of once per sample.
    """
    zeros = torch.zeros((classes, *shape), device=device, requires_grad=True)
    with torch.enable_grad():
        loss = F.cross_entropy(body(zeros).float(), torch.arange(classes, device=device), reduction="sum")
        (grad,) = torch.autograd.grad(loss, zeros)
    return grad.detach()


def element_importance(body: nn.Module, features: torch.Tensor, labels: torch.Tensor,
                       g0_table: torch.Tensor, steps: int = 1, exact: bool = False) -> torch.Tensor:
    """|f * mean-gradient| per element: [B, C, H, W] (float32)."""
    total = 0.5 * g0_table[labels].to(features.dtype)
    with torch.enable_grad():
        for i in range(1, steps + 1):
            scale = i / steps
            weight = 0.5 if i == steps else 1.0
            if exact:
                point = features * scale
            else:
                point = (features.detach() * scale).requires_grad_(True)
            loss = F.cross_entropy(body(point).float(), labels, reduction="sum")
            (grad,) = torch.autograd.grad(loss, point, create_graph=exact)
            total = total + weight * grad.to(features.dtype)
    mean_grad = total / steps
    if not exact:
        mean_grad = mean_grad.detach()
    return (features * mean_grad).abs().float()


def channel_importance(element: torch.Tensor) -> torch.Tensor:
    """Sum over space: [B, C]."""
    return element.sum(dim=(2, 3))
