"""Small building blocks shared by the model parts (Keras-like BatchNorm settings)."""
from __future__ import annotations

import torch
from torch import nn

BN_EPS = 1e-3          # Keras default, as in the paper's code
BN_MOMENTUM = 0.1      # PyTorch default; Keras 0.99 (=0.01 here) is too slow for short CPU runs


def batch_norm(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, eps=BN_EPS, momentum=BN_MOMENTUM)


class SeparableConv(nn.Module):
    """Depthwise k x k (stride, padding) then pointwise 1x1, no bias, nothing in between."""

    def __init__(self, in_ch: int, out_ch: int, stride: int, padding: int, kernel: int = 3) -> None:
        super().__init__()
        self.depthwise = nn.Conv2d(in_ch, in_ch, kernel, stride, padding, groups=in_ch, bias=False)
        self.pointwise = nn.Conv2d(in_ch, out_ch, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pointwise(self.depthwise(x))


class ConvBNReLU(nn.Sequential):
    def __init__(self, in_ch: int, out_ch: int, stride: int = 1) -> None:
        super().__init__(nn.Conv2d(in_ch, out_ch, 3, stride, 1, bias=False), batch_norm(out_ch),
                         nn.ReLU(inplace=True))


class ResidualBlock(nn.Module):
    """Two 3x3 conv-BN-ReLU layers with an identity shortcut."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(ConvBNReLU(channels, channels), ConvBNReLU(channels, channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)
