"""``agilenn pretrain-reference``: train the reference network on images and save it."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from agilenn_ros.config import Profile
from agilenn_ros.data import ImageSet
from agilenn_ros.training.augment import BatchPreparer
from agilenn_ros.training.checkpoints import CheckpointError, atomic_save, checkpoint_kind, read_checkpoint
from agilenn_ros.training.reference import ReferenceNet
from agilenn_ros.training.run_io import log_record
from agilenn_ros.training.runtime_setup import autocast, bf16_available, lr_at, setup_torch, sgd


@torch.no_grad()
def accuracy(model: torch.nn.Module, data: ImageSet, prep: BatchPreparer, batch: int, bf16: bool) -> float:
    model.eval()
    correct = 0
    for start in range(0, len(data), batch):
        x = prep(data.images[start:start + batch], train=False)
        with autocast(bf16):
            pred = model(x).float().argmax(1)
        correct += int((pred == torch.from_numpy(data.labels[start:start + batch])).sum())
    return correct / max(1, len(data))


def pretrain_reference(profile: Profile, train: ImageSet, val: ImageSet, out_path: Path,
                       log_path: Path | None = None, identity: dict[str, Any] | None = None) -> Path:
    """Train the reference network; ``out_path`` is written atomically after every epoch with
    ``complete`` False (a killed run is recognised and redone) and True at the end, holding the
    best epoch's weights, the profile, the class names and the data ``identity``."""
    cfg = profile.train
    setup_torch(cfg)
    bf16 = cfg.bf16 and bf16_available()
    classes = len(train.class_names)
    model = ReferenceNet(profile, classes).to(memory_format=torch.channels_last)
    prep = BatchPreparer(profile.data, seed=cfg.seed + 1)
    steps_per_epoch = max(1, len(train) // cfg.batch_size)
    total = steps_per_epoch * profile.reference.epochs
    opt = sgd(model, cfg, profile.reference.lr)
    rng = np.random.default_rng(cfg.seed + 2)
    best = -1.0
    best_state: dict[str, torch.Tensor] = {}
    step = 0
    t0 = time.time()
    for epoch in range(profile.reference.epochs):
        model.train()
        order = rng.permutation(len(train))
        bar = tqdm(range(steps_per_epoch), desc=f"reference {epoch + 1}/{profile.reference.epochs}",
                   unit="batch", leave=False, mininterval=2.0)
        running = 0.0
        for i in bar:
            idx = np.sort(order[i * cfg.batch_size:(i + 1) * cfg.batch_size])
            x = prep(train.images[idx], train=True)
            y = torch.from_numpy(train.labels[idx])
            for group in opt.param_groups:
                group["lr"] = lr_at(step, total, int(cfg.warmup_epochs * steps_per_epoch), profile.reference.lr)
            with autocast(bf16):
                loss = F.cross_entropy(model(x).float(), y, label_smoothing=cfg.label_smoothing)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
            running = 0.9 * running + 0.1 * float(loss.detach()) if i else float(loss.detach())
            bar.set_postfix(loss=f"{running:.3f}")
        val_acc = accuracy(model, val, prep, cfg.eval_batch_size, bf16)
        record = {"stage": "reference", "epoch": epoch + 1, "loss": running, "val_accuracy": val_acc,
                  "seconds": time.time() - t0}
        log_record(log_path, record)
        if val_acc > best:
            best = val_acc
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        done = epoch + 1 == profile.reference.epochs
        atomic_save({"state_dict": best_state, "profile": profile.to_dict(), "class_names": train.class_names,
                     "val_accuracy": best, "identity": identity or {}, "complete": done,
                     "epochs_done": epoch + 1, "epochs": profile.reference.epochs}, out_path)
    return out_path


def load_reference(path: Path, profile: Profile, classes: int) -> ReferenceNet:
    ckpt = read_checkpoint(path)
    if checkpoint_kind(ckpt) != "reference":
        raise CheckpointError(f"{path}: not a reference network checkpoint")
    model = ReferenceNet(profile, classes)
    model.load_state_dict(ckpt["state_dict"])
    return model
