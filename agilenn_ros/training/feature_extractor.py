"""The device's feature extractor: two separable convolutions with BatchNorm and ReLU6."""
from __future__ import annotations

import torch
from torch import nn

from agilenn_ros.config import ModelConfig
from agilenn_ros.training.layers import SeparableConv, batch_norm


def _mirror_average(grad: torch.Tensor) -> torch.Tensor:
    return (grad + grad.flip(-1)) / 2


class FeatureExtractor(nn.Module):
    """image [B,3,S,S] (normalised) -> features [B,C,F,F] in [0, 6].

    With ``cfg.flip_equivariant`` both depthwise kernels are mirror-symmetric (column j equals
    column 2-j): they start symmetric and every gradient is averaged with its mirror image, so
    SGD, weight decay and weight averaging keep them exactly symmetric. On the mirror-symmetric
    sampling grid that the profile check demands, fe(mirror(x)) == mirror(fe(x)).
    """

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.sep1 = SeparableConv(3, cfg.fe_hidden, stride=cfg.stride1, padding=0)
        self.bn1 = batch_norm(cfg.fe_hidden)
        self.sep2 = SeparableConv(cfg.fe_hidden, cfg.channels, stride=cfg.stride2, padding=1)
        self.bn2 = batch_norm(cfg.channels)
        self.act = nn.ReLU6()
        self.flip_equivariant = bool(cfg.flip_equivariant)
        if self.flip_equivariant:
            self.make_mirror_symmetric()
            for conv in (self.sep1.depthwise, self.sep2.depthwise):
                conv.weight.register_hook(_mirror_average)
            # Weights loaded from elsewhere (a reference network trained without the constraint,
            # an older checkpoint) are made symmetric too, or the property would silently be lost.
            self.register_load_state_dict_post_hook(lambda module, _incompatible: module.make_mirror_symmetric())

    @torch.no_grad()
    def make_mirror_symmetric(self) -> None:
        """Average both depthwise kernels with their mirror images (a no-op when already symmetric)."""
        for conv in (self.sep1.depthwise, self.sep2.depthwise):
            conv.weight.copy_(_mirror_average(conv.weight))

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
