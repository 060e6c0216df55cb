"""The rate term of the training loss (train.rate_weight, losses.rate_bits): a differentiable
estimate of the payload's bits per remote element, and training that spends fewer of them."""
from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from agilenn_ros.config import ProfileError, load_profile, profile_from_dict  # noqa: E402
from agilenn_ros.training.losses import rate_bits  # noqa: E402

CENTROIDS = torch.tensor([0.5, 2.0, 3.5, 5.0])


def test_rate_is_the_entropy_of_the_symbol_histogram() -> None:
    one_symbol = torch.full((4, 3, 8, 8), 2.0)
    assert float(rate_bits(one_symbol, CENTROIDS)) == pytest.approx(0.0, abs=0.02)  # add-1/2 smoothing: ~0.008
    # every centroid equally often in every channel: log2(4) = 2 bits
    uniform = CENTROIDS.repeat(4 * 3 * 16).reshape(4, 3, 8, 8)
    assert float(rate_bits(uniform, CENTROIDS)) == pytest.approx(2.0, abs=0.02)
    # channels are averaged: one channel at 2 bits, one at 0 -> 1
    mixed = torch.stack([uniform[:, 0], one_symbol[:, 0]], dim=1)
    assert float(rate_bits(mixed, CENTROIDS)) == pytest.approx(1.0, abs=0.02)
    # a half/half channel: 1 bit
    half = torch.cat([torch.full((2, 1, 8, 8), 0.5), torch.full((2, 1, 8, 8), 5.0)])
    assert float(rate_bits(half, CENTROIDS)) == pytest.approx(1.0, abs=0.02)
    assert math.isfinite(float(rate_bits(torch.rand(2, 2, 4, 4) * 6, CENTROIDS)))
    # the centroids' order does not matter
    assert float(rate_bits(mixed, CENTROIDS.flip(0))) == pytest.approx(float(rate_bits(mixed, CENTROIDS)))


def test_the_rate_gradient_moves_rare_symbols_towards_frequent_ones() -> None:
    features = torch.full((1, 1, 8, 8), 0.6)
    features[0, 0, 0, :3] = 1.9                       # 3 of 64 elements near the second centroid
    features.requires_grad_(True)
    rate = rate_bits(features, CENTROIDS)
    rate.backward()
    grad = features.grad[0, 0]
    assert float(grad[0, 0]) > 0                      # descent lowers the rare elements towards 0.5
    with torch.no_grad():
        stepped = features - 0.5 * features.grad / features.grad.abs().max()
    assert float(rate_bits(stepped, CENTROIDS)) < float(rate.detach())


def test_profile_checks_the_rate_settings() -> None:
    with pytest.raises(ProfileError, match="rate_weight"):
        profile_from_dict({"name": "p", "dataset": "digits", "train": {"rate_weight": -0.1}}, "p")
    with pytest.raises(ProfileError, match="rate_samples"):
        profile_from_dict({"name": "p", "dataset": "digits", "train": {"rate_samples": 0}}, "p")
    for key, value in (("rate_weight", float("inf")), ("rate_weight", float("nan")), ("rate_samples", float("inf")),
                       ("rate_samples", float("nan")), ("local_ce_weight", float("inf"))):
        with pytest.raises(ProfileError, match=f"train.{key}: expected a finite number"):
            profile_from_dict({"name": "p", "dataset": "digits", "train": {key: value}}, "p")
    ok = profile_from_dict({"name": "p", "dataset": "digits", "train": {"rate_weight": 0.3}}, "p")
    assert (ok.train.rate_weight, ok.train.rate_samples) == (0.3, 64)


def _symbol_entropy(best: Path) -> float:
    """Marginal entropy (bits per element) of the trained model's centroid indices on digits val."""
    from agilenn_ros.training.augment import BatchPreparer
    from agilenn_ros.training.train_agilenn import load_checkpoint, load_datasets, model_from_checkpoint
    profile, model, _body, _names = model_from_checkpoint(load_checkpoint(best))
    _train, val = load_datasets(profile, "digits")
    with torch.no_grad():
        idx = model(BatchPreparer(profile.data)(val.images[:200], train=False)).indices
    bits = []
    for c in range(idx.shape[1]):
        p = torch.bincount(idx[:, c].reshape(-1), minlength=profile.model.centroids).float()
        p = p[p > 0] / p.sum()
        bits.append(float(-(p * torch.log2(p)).sum()))
    return sum(bits) / len(bits)


def test_training_with_the_rate_term_spends_fewer_bits(tmp_path: Path) -> None:
    from agilenn_ros.training.train_agilenn import train_agilenn
    profile = load_profile("digits")
    entropy = {}
    for weight in (0.0, 2.0):
        run = dataclasses.replace(profile, train=dataclasses.replace(profile.train, epochs=2, rate_weight=weight))
        best = train_agilenn(run, "digits", tmp_path / f"w{weight}")
        records = [json.loads(line) for line in (tmp_path / f"w{weight}" / "metrics.jsonl").read_text().splitlines()]
        epochs = [r for r in records if r.get("stage") == "agilenn"]
        assert ("rate_bits" in epochs[-1]) == (weight > 0), epochs[-1]
        entropy[weight] = _symbol_entropy(best)
    assert entropy[2.0] < 0.8 * entropy[0.0], entropy
