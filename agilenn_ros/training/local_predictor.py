"""The device's local predictor: global average pooling, one dense layer, BatchNorm on logits."""
from __future__ import annotations

import torch
from torch import nn

from agilenn_ros.training.layers import BN_EPS, BN_MOMENTUM


class LocalPredictor(nn.Module):
    def __init__(self, k: int, classes: int) -> None:
        super().__init__()
        self.dense = nn.Linear(k, classes)
        self.bn = nn.BatchNorm1d(classes, eps=BN_EPS, momentum=BN_MOMENTUM)

    def forward(self, local_features: torch.Tensor) -> torch.Tensor:
        return self.bn(self.dense(local_features.mean(dim=(2, 3))))
