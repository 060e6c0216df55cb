"""The device's feature extractor: two separable convolutions with BatchNorm and ReLU6."""
from __future__ import annotations

import torch
from torch import nn

from agilenn_ros.config import ModelConfig
from agilenn_ros.training.layers import SeparableConv, batch_norm


class FeatureExtractor(nn.Module):
    """image [B,3,S,S] (normalised) -> features [B,C,F,F] in [0, 6]."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.sep1 = SeparableConv(3, cfg.fe_hidden, stride=cfg.stride1, padding=0)
        self.bn1 = batch_norm(cfg.fe_hidden)
        self.sep2 = SeparableConv(cfg.fe_hidden, cfg.channels, stride=cfg.stride2, padding=1)
        self.bn2 = batch_norm(cfg.channels)
        self.act = nn.ReLU6()

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        x = self.act(self.bn1(self.sep1(image)))
        return self.act(self.bn2(self.sep2(x)))

    @torch.no_grad()
    def permute_channels(self, order: torch.Tensor) -> None:
        """Reorder output channels (channel order[i] becomes channel i): Algorithm 1's remapping.

        Permutes the last pointwise kernel and BatchNorm together so the function is unchanged
        up to the channel order.
        """
        pw = self.sep2.pointwise.weight
        pw.copy_(pw[order])
        for name in ("weight", "bias", "running_mean", "running_var"):
            t = getattr(self.bn2, name)
            t.copy_(t[order])
