"""Soft-to-hard scalar quantizer with learned centroids (Agustsson et al. 2017).

Centroids c = 6 * sigmoid(raw) stay in the ReLU6 range (0, 6). Forward value: the nearest
centroid; gradient: that of the soft assignment (straight-through).
"""
from __future__ import annotations

import torch
from torch import nn


class SoftHardQuantizer(nn.Module):
    def __init__(self, centroids: int) -> None:
        super().__init__()
        # Spread the initial centroids over (0, 6) (the paper's code draws them at random).
        init = torch.linspace(0.3, 5.7, centroids) / 6.0
        self.raw = nn.Parameter(torch.log(init / (1 - init)))

    def centroids(self) -> torch.Tensor:
        return 6.0 * torch.sigmoid(self.raw)

    def indices(self, x: torch.Tensor) -> torch.Tensor:
        """Nearest-centroid index per element (ties: lower index), int64, same shape as x."""
        c = self.centroids().to(x.dtype)
        return torch.argmin((x.unsqueeze(-1) - c).abs(), dim=-1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Returns (quantized values with straight-through gradient, indices)."""
        c = self.centroids().to(x.dtype)
        dist = (x.unsqueeze(-1) - c) ** 2
        soft = (torch.softmax(-dist, dim=-1) * c).sum(-1)
        idx = torch.argmin(dist, dim=-1)
        hard = c[idx]
        return soft + (hard - soft).detach(), idx

    @torch.no_grad()
    def sort_(self) -> torch.Tensor:
        """Sort centroids ascending in place; returns the permutation applied."""
        order = torch.argsort(self.raw)
        self.raw.copy_(self.raw[order])
        return order
