"""Reference network for importance: a feature extractor plus a classifier over its features.

Pre-trained on images (``agilenn pretrain-reference``), then frozen. Its feature extractor
initialises AgileNN's, and its body evaluates the importance of AgileNN's feature channels
(the paper feeds the feature map into a stem-less pre-trained network the same way).
"""
from __future__ import annotations

import torch
from torch import nn

from agilenn_ros.config import Profile
from agilenn_ros.training.feature_extractor import FeatureExtractor
from agilenn_ros.training.remote_predictor import ResNetRemote


class ReferenceNet(nn.Module):
    def __init__(self, profile: Profile, classes: int) -> None:
        super().__init__()
        self.fe = FeatureExtractor(profile.model)
        self.body = ResNetRemote(profile.model.channels, classes, tuple(profile.reference.widths))

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.body(self.fe(image))


def first_conv(module: nn.Module) -> nn.Conv2d:
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            return m
    raise ValueError("module has no Conv2d")


@torch.no_grad()
def permute_input_channels(module: nn.Module, order: torch.Tensor) -> None:
    """Make ``module`` accept inputs whose channel i is the old channel order[i]."""
    conv = first_conv(module)
    conv.weight.copy_(conv.weight[:, order])


def freeze(module: nn.Module) -> nn.Module:
    module.eval()
    for p in module.parameters():
        p.requires_grad_(False)
    return module
