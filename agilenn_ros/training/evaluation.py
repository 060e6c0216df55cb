"""Evaluate an AgileNN model in torch: accuracies, achieved skewness, disorder violations."""
from __future__ import annotations

import torch

from agilenn_ros.data import ImageSet
from agilenn_ros.training.agilenn_model import AgileNN
from agilenn_ros.training.augment import BatchPreparer
from agilenn_ros.training.importance import channel_importance, element_importance
from agilenn_ros.training.losses import disorder_violations, skewness
from agilenn_ros.training.runtime_setup import autocast


def evaluate_agilenn(model: AgileNN, body: torch.nn.Module, g0: torch.Tensor, data: ImageSet,
                     prep: BatchPreparer, batch: int, steps: int, bf16: bool) -> dict[str, float]:
    """Fractions in 0..1 over ``data``; skewness/violations measured with the same IG."""
    model.eval()
    counts = {"accuracy": 0.0, "local_accuracy": 0.0, "remote_accuracy": 0.0,
              "skewness": 0.0, "disorder_violation_rate": 0.0}
    for start in range(0, len(data), batch):
        x = prep(data.images[start:start + batch], train=False)
        y = torch.from_numpy(data.labels[start:start + batch])
        with torch.no_grad(), autocast(bf16):
            out = model(x)
        with autocast(bf16):
            per_channel = channel_importance(element_importance(body, out.features.float(), y, g0, steps, False))
        counts["accuracy"] += float((out.fused_logits.argmax(1) == y).sum())
        counts["local_accuracy"] += float((out.local_logits.argmax(1) == y).sum())
        counts["remote_accuracy"] += float((out.remote_logits.argmax(1) == y).sum())
        counts["skewness"] += float(skewness(per_channel, model.k).sum())
        counts["disorder_violation_rate"] += float(disorder_violations(per_channel, model.k).sum())
    n = max(1, len(data))
    result = {key: value / n for key, value in counts.items()}
    result["alpha"] = float(model.fusion.alpha().detach())
    result["samples"] = float(len(data))
    return result
