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


def rate_bits(features: torch.Tensor, centroids: torch.Tensor) -> torch.Tensor:
    """Differentiable estimate of the payload rate: bits per remote element (scalar).

    features: the remote channels before quantization [B, C, H, W]; centroids: [K] (the
    quantizer's, any order). Per channel, the batch's histogram of nearest-centroid symbols
    (add-1/2 smoothed) gives each symbol its ideal code length -log2 p. An element's cost is
    that code length interpolated linearly between the two centroids around its value (at a
    centroid: the code length of its symbol; clamped outside the outermost centroids), so the
    value is close to the batch's symbol entropy (the same up to the smoothing when every
    element sits on a centroid) and the gradient moves every element towards the neighbouring
    centroid with the shorter code: frequent symbols grow more frequent and the entropy coder
    (codec 1) spends fewer bytes. Code lengths and centroids are constants of the
    estimate (no gradient); the coder's context of neighbouring symbols is ignored, so this is
    the order-0 rate, an upper bound of what the context coder needs, not its byte count.
    (Rate terms in the loss: Balle et al. 2017, Agustsson et al. 2017; the interpolated code
    length is this project's cheap surrogate of their soft histograms.)
    """
    x = features.float()
    k = centroids.numel()
    values = torch.sort(centroids.detach().float()).values
    channel = torch.arange(x.shape[1]).view(1, -1, 1, 1).expand_as(x)
    with torch.no_grad():
        symbol = torch.bucketize(x.contiguous(), (values[1:] + values[:-1]) * 0.5)   # sorted index
        counts = torch.bincount((channel * k + symbol).reshape(-1), minlength=x.shape[1] * k)
        counts = counts.view(x.shape[1], k).float()
        code = -torch.log2((counts + 0.5) / (counts.sum(1, keepdim=True) + 0.5 * k))   # [C, K] bits
        segment = torch.bucketize(x.contiguous(), values[1:-1])       # x in [values[j], values[j + 1]]
    lo, hi = values[segment], values[segment + 1]
    t = ((x - lo) / (hi - lo).clamp_min(1e-6)).clamp(0.0, 1.0)
    return ((1.0 - t) * code[channel, segment] + t * code[channel, segment + 1]).mean()
