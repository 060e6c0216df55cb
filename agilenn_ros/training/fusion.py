"""Learned fusion of local and remote logits: alpha = sigmoid(w / T)."""
from __future__ import annotations

import torch
from torch import nn


class Fusion(nn.Module):
    def __init__(self, temperature: float) -> None:
        super().__init__()
        self.temperature = float(temperature)
        self.w = nn.Parameter(torch.zeros(()))

    def alpha(self) -> torch.Tensor:
        return torch.sigmoid(self.w / self.temperature)

    def forward(self, local_logits: torch.Tensor, remote_logits: torch.Tensor) -> torch.Tensor:
        a = self.alpha()
        return a * local_logits + (1 - a) * remote_logits
