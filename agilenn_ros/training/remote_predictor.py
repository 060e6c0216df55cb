"""Remote predictors (edge side): a cheap residual network, a wide pooled network and the
paper's MobileNetV2 body."""
from __future__ import annotations

import torch
from torch import nn

from agilenn_ros.config import ModelConfig
from agilenn_ros.training.layers import BN_EPS, BN_MOMENTUM, ConvBNReLU, ResidualBlock, SeparableConv, batch_norm


class LogitsHead(nn.Sequential):
    def __init__(self, in_ch: int, classes: int) -> None:
        super().__init__(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(in_ch, classes),
                         nn.BatchNorm1d(classes, eps=BN_EPS, momentum=BN_MOMENTUM))


class ResNetRemote(nn.Module):
    """CPU-friendly family: conv stem, then per width a (stride 2) conv and a residual block."""

    def __init__(self, in_ch: int, classes: int, widths: tuple[int, ...]) -> None:
        super().__init__()
        layers: list[nn.Module] = [ConvBNReLU(in_ch, widths[0]), ResidualBlock(widths[0])]
        for prev, width in zip(widths, widths[1:]):
            layers += [ConvBNReLU(prev, width, stride=2), ResidualBlock(width)]
        self.body = nn.Sequential(*layers)
        self.head = LogitsHead(widths[-1], classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))


class PooledBlock(nn.Sequential):
    """conv 3x3 -> 2x2 max-pool -> BN -> GELU -> conv 3x3 -> BN -> GELU (the block of the
    public CIFAR-10 speed-run networks): the second conv runs at half the resolution."""

    def __init__(self, in_ch: int, out_ch: int) -> None:
        super().__init__(nn.Conv2d(in_ch, out_ch, 3, 1, 1, bias=False), nn.MaxPool2d(2), batch_norm(out_ch),
                         nn.GELU(), nn.Conv2d(out_ch, out_ch, 3, 1, 1, bias=False), batch_norm(out_ch),
                         nn.GELU())


class PooledRemote(nn.Module):
    """Plain, wide network of pooled blocks: each width halves the resolution (16x16 -> 2x2 for
    three widths). At widths 64/256/256 on 24x16x16 features it costs about as many MACs as the
    ResNet 48/96/192 body, with its width at the low resolutions."""

    def __init__(self, in_ch: int, classes: int, widths: tuple[int, ...]) -> None:
        super().__init__()
        chans = (in_ch, *widths)
        self.body = nn.Sequential(*[PooledBlock(prev, width) for prev, width in zip(chans, chans[1:])])
        self.head = LogitsHead(widths[-1], classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))


class InvertedResidual(nn.Module):
    """MobileNetV2 block: (expand 1x1) -> depthwise 3x3 -> linear 1x1 projection."""

    def __init__(self, in_ch: int, out_ch: int, stride: int, expand: int) -> None:
        super().__init__()
        hidden = in_ch * expand
        layers: list[nn.Module] = []
        if expand != 1:
            layers += [nn.Conv2d(in_ch, hidden, 1, bias=False), batch_norm(hidden), nn.ReLU6(inplace=True)]
        layers += [nn.Conv2d(hidden, hidden, 3, stride, 1, groups=hidden, bias=False), batch_norm(hidden),
                   nn.ReLU6(inplace=True), nn.Conv2d(hidden, out_ch, 1, bias=False), batch_norm(out_ch)]
        self.block = nn.Sequential(*layers)
        self.residual = stride == 1 and in_ch == out_ch

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.block(x)
        return x + out if self.residual else out


class MobileNetV2Remote(nn.Module):
    """The paper's remote network: MobileNetV2 without its stem (a separable conv adapts input)."""

    def __init__(self, in_ch: int, classes: int, stride24: int = 1) -> None:
        super().__init__()
        settings = [(1, 16, 1, 1), (6, 24, 2, stride24), (6, 32, 3, 2), (6, 64, 4, 2),
                    (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]
        layers: list[nn.Module] = [SeparableConv(in_ch, 16, stride=1, padding=1)]
        channels = 16
        for expand, out_ch, repeats, stride in settings:
            for i in range(repeats):
                layers.append(InvertedResidual(channels, out_ch, stride if i == 0 else 1, expand))
                channels = out_ch
        layers += [nn.Conv2d(channels, 1280, 1, bias=False), batch_norm(1280), nn.ReLU6(inplace=True)]
        self.body = nn.Sequential(*layers)
        self.head = LogitsHead(1280, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))


def build_remote(cfg: ModelConfig, in_ch: int, classes: int) -> nn.Module:
    if cfg.remote == "resnet":
        return ResNetRemote(in_ch, classes, tuple(cfg.remote_widths))
    if cfg.remote == "pooled":
        return PooledRemote(in_ch, classes, tuple(cfg.remote_widths))
    if cfg.remote == "mobilenetv2":
        return MobileNetV2Remote(in_ch, classes, cfg.mobilenet_first_stride24)
    raise ValueError(f"unknown remote family {cfg.remote!r}")
