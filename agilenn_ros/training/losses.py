"""Skewness and disorder losses (paper Eq. 1 and 2) and the matching metrics."""
from __future__ import annotations

import torch

EPS = 1e-9


def skewness(per_channel: torch.Tensor, k: int) -> torch.Tensor:
    """Share of the total importance held by the first k channels, per sample: [B]."""
    return per_channel[:, :k].sum(1) / (per_channel.sum(1) + EPS)


def skewness_loss(per_channel: torch.Tensor, k: int, rho: float) -> torch.Tensor:
    return torch.relu(rho - skewness(per_channel, k)).mean()


def disorder_loss_channel(per_channel: torch.Tensor, k: int) -> torch.Tensor:
    """max(0, max(I2) - min(I1)) on normalised channel importances (the paper)."""
    norm = per_channel / (per_channel.sum(1, keepdim=True) + EPS)
    return torch.relu(norm[:, k:].max(1).values - norm[:, :k].min(1).values).mean()


def disorder_loss_element(element: torch.Tensor, k: int) -> torch.Tensor:
    """The authors' code: min/max over individual elements, divided by the total importance."""
    b = element.shape[0]
    total = element.reshape(b, -1).sum(1) + EPS
    mins = element[:, :k].reshape(b, -1).min(1).values
    maxs = element[:, k:].reshape(b, -1).max(1).values
    return torch.relu((maxs - mins) / total).mean()


def disorder_violations(per_channel: torch.Tensor, k: int) -> torch.Tensor:
    """Per sample: 1 when some remote channel is more important than some local one."""
    return (per_channel[:, k:].max(1).values > per_channel[:, :k].min(1).values).float()
