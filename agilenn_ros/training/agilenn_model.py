"""The whole AgileNN network and the two halves that are exported (device, edge)."""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from agilenn_ros.config import Profile
from agilenn_ros.training.feature_extractor import FeatureExtractor
from agilenn_ros.training.fusion import Fusion
from agilenn_ros.training.local_predictor import LocalPredictor
from agilenn_ros.training.quantizer import SoftHardQuantizer
from agilenn_ros.training.remote_predictor import build_remote


@dataclass
class AgileOutput:
    features: torch.Tensor       # [B, C, F, F] feature map
    local_logits: torch.Tensor   # [B, classes]
    remote_logits: torch.Tensor  # [B, classes]
    fused_logits: torch.Tensor   # [B, classes]
    indices: torch.Tensor        # [B, C-k, F, F] centroid indices


class AgileNN(nn.Module):
    def __init__(self, profile: Profile, classes: int) -> None:
        super().__init__()
        m = profile.model
        self.k = m.k
        self.input_size = profile.data.input_size
        self.fe = FeatureExtractor(m)
        self.local = LocalPredictor(m.k, classes)
        self.quantizer = SoftHardQuantizer(m.centroids, soft=m.quantizer_gradient == "soft")
        self.remote = build_remote(m, m.channels - m.k, classes)
        self.flip_equivariant = bool(m.flip_equivariant)
        self.fusion = Fusion(m.fusion_temperature)
        self.register_buffer("mean", torch.tensor(profile.data.mean).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(profile.data.std).view(1, 3, 1, 1))

    def forward(self, image: torch.Tensor) -> AgileOutput:
        """image: normalised [B, 3, S, S] at the model's input size."""
        f = self.fe(image)
        local_logits = self.local(f[:, : self.k])
        quantized, idx = self.quantizer(f[:, self.k:])
        remote_logits = self.remote_predict(quantized)
        fused = self.fusion(local_logits.float(), remote_logits.float())
        return AgileOutput(f, local_logits.float(), remote_logits.float(), fused, idx)

    def remote_predict(self, quantized: torch.Tensor) -> torch.Tensor:
        """Remote logits [B, classes] of quantized features [B, C-k, F, F].

        A flip-equivariant model in eval mode averages the logits of the map and of its mirror
        image (flip test-time augmentation: the features of the mirrored frame, at no device or
        payload cost; twice the remote network's work). Training runs one pass: the random flips
        of the data augmentation already show the network both orientations."""
        if not (self.flip_equivariant and not self.training):
            return self.remote(quantized)
        both = self.remote(torch.cat([quantized, quantized.flip(-1)]))   # one batch: better kernels
        return (both[: quantized.shape[0]] + both[quantized.shape[0]:]) / 2


class DeviceModel(nn.Module):
    """Exported device half: RGB image (0..255, model size) -> local logits, indices."""

    def __init__(self, model: AgileNN) -> None:
        super().__init__()
        self.model = model

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = (image / 255.0 - self.model.mean) / self.model.std
        f = self.model.fe(x)
        local_logits = self.model.local(f[:, : self.model.k])
        indices = self.model.quantizer.indices(f[:, self.model.k:])
        return local_logits, indices


class EdgeModel(nn.Module):
    """Exported edge half: centroid indices + local logits -> fused logits, remote logits."""

    def __init__(self, model: AgileNN) -> None:
        super().__init__()
        self.model = model

    def forward(self, indices: torch.Tensor, local_logits: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        centroids = self.model.quantizer.centroids()
        remote_logits = self.model.remote_predict(F.embedding(indices, centroids.unsqueeze(1)).squeeze(-1))
        fused = self.model.fusion(local_logits, remote_logits)
        return fused, remote_logits
