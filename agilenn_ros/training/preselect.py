"""Channel pre-selection (the paper's Algorithm 1, with the authors' indexing bug fixed).

For each training sample, find its top-k channels by importance; a channel's score is the
fraction of samples whose top-k include it (ties broken by mean normalised importance).
Returns the channel order, most likely top-k first.
"""
from __future__ import annotations

import numpy as np
import torch

from agilenn_ros.data import ImageSet
from agilenn_ros.training.augment import BatchPreparer
from agilenn_ros.training.importance import channel_importance, element_importance
from agilenn_ros.training.runtime_setup import autocast


def topk_appearance_order(fe: torch.nn.Module, body: torch.nn.Module, g0: torch.Tensor, data: ImageSet,
                          prep: BatchPreparer, k: int, batches: int, batch_size: int,
                          steps: int, bf16: bool, seed: int = 0) -> tuple[torch.Tensor, np.ndarray]:
    rng = np.random.default_rng(seed)
    appearances = None
    mean_share = None
    seen = 0
    fe.eval()
    for _ in range(batches):
        idx = np.sort(rng.choice(len(data), size=min(batch_size, len(data)), replace=False))
        x = prep(data.images[idx], train=False)
        y = torch.from_numpy(data.labels[idx])
        with torch.no_grad(), autocast(bf16):
            f = fe(x)
        with autocast(bf16):
            per_channel = channel_importance(element_importance(body, f.float(), y, g0, steps, exact=False))
        kth = per_channel.topk(k, dim=1).values[:, k - 1:k]          # per-sample k-th largest
        mask = (per_channel >= kth).float()                           # unsorted: channel identity kept
        share = per_channel / (per_channel.sum(1, keepdim=True) + 1e-9)
        appearances = mask.sum(0) if appearances is None else appearances + mask.sum(0)
        mean_share = share.sum(0) if mean_share is None else mean_share + share.sum(0)
        seen += len(idx)
    assert appearances is not None and mean_share is not None
    score = appearances / seen + 1e-3 * mean_share / seen
    order = torch.argsort(score, descending=True)
    return order, (appearances / seen).numpy()
