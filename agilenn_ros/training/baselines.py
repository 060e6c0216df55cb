"""``agilenn train-baseline``: the benchmark's baseline networks, trained on images.

``BaselineNet`` = the project's stem (AgileNN's feature extractor: two separable convs with
BatchNorm and ReLU6) + a remote-predictor family body + logits head, configured per kind in
``config/baselines/<profile>.yaml`` (see :mod:`agilenn_ros.baseline_config`).

Training: SGD + Nesterov, warm-up then cosine, label smoothing, flip / pad-crop augmentation
at source size, bf16 autocast where supported: the recipe of AgileNN's reference network.
``train.ema_decay`` > 0: validation and the saved ``state_dict`` use the exponential moving
average of the weights, as AgileNN's training does. Resumable: ``OUT/last.pt`` after every epoch, ``OUT/best.pt`` at the best validation
accuracy (validation carved from the end of train), ``OUT/metrics.jsonl``.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from agilenn_ros.baseline_config import BaselineNet, BaselineProfile, baseline_profile_from_dict
from agilenn_ros.config import ModelConfig
from agilenn_ros.data import ImageSet
from agilenn_ros.training.augment import BatchPreparer
from agilenn_ros.training.checkpoints import atomic_save, baseline_resume_problem
from agilenn_ros.training.ema import ModelEMA
from agilenn_ros.training.feature_extractor import FeatureExtractor
from agilenn_ros.training.pretrain_reference import accuracy
from agilenn_ros.training.remote_predictor import build_remote
from agilenn_ros.training.run_io import data_location, load_train_val, log_record
from agilenn_ros.training.runtime_setup import apply_schedule, autocast, bf16_available, build_optimizer, setup_torch
from agilenn_ros.training.time_budget import replan_after_epoch, typical_epoch_seconds


class BaselineNetwork(nn.Module):
    """normalised image [B, 3, S, S] -> logits; ``stem`` then ``body`` (a Sequential) then ``head``.

    With ``net.flip_tta`` the eval-mode logits are the mean over the image and its mirror image
    (validation during training and the exported edge model alike); training runs one pass."""

    def __init__(self, net: BaselineNet, classes: int) -> None:
        super().__init__()
        cfg = ModelConfig(channels=net.channels, k=1, fe_hidden=net.fe_hidden, stride1=net.stride1,
                          stride2=net.stride2, remote=net.family, remote_widths=tuple(net.widths))
        self.stem = FeatureExtractor(cfg)
        remote = build_remote(cfg, net.channels, classes)
        self.body: nn.Sequential = remote.body
        self.head = remote.head
        self.flip_tta = bool(net.flip_tta)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not (self.flip_tta and not self.training):
            return self.head(self.body(self.stem(x)))
        both = self.head(self.body(self.stem(torch.cat([x, x.flip(-1)]))))   # one batch: better kernels
        return (both[: x.shape[0]] + both[x.shape[0]:]) / 2

    def device_part(self, cut: int) -> nn.Module:
        """What runs on the device in split computing: the stem and ``cut`` body modules."""
        return nn.Sequential(self.stem, *list(self.body)[:cut])

    def edge_part(self, cut: int) -> nn.Module:
        return nn.Sequential(*list(self.body)[cut:], self.head)


def load_baseline_data(profile: BaselineProfile, data: str, max_train: int = 0) -> tuple[ImageSet, ImageSet]:
    return load_train_val(profile.dataset, data, profile.data.input_size, profile.data.val_size, max_train)


def load_baseline_checkpoint(path: Path) -> tuple[dict[str, Any], BaselineProfile, BaselineNetwork]:
    ckpt = torch.load(path, map_location="cpu", weights_only=False)
    profile = baseline_profile_from_dict(ckpt["profile"], ckpt["profile"]["name"])
    model = BaselineNetwork(profile.net(ckpt["kind"]), len(ckpt["class_names"]))
    model.load_state_dict(ckpt["state_dict"])
    model.eval()
    return ckpt, profile, model


def train_baseline(profile: BaselineProfile, kind: str, data: str, out_dir: Path, *, epochs: int = 0,
                   max_train: int = 0, restart: bool = False) -> Path:
    """Train the ``kind`` network of ``profile``; returns OUT/best.pt."""
    net = profile.net(kind)
    cfg = profile.train
    run_start = time.time()
    epochs = requested = epochs or net.epochs or cfg.epochs
    budget_offset = 0.0
    peak_lr = net.lr or cfg.lr
    log_path, last_path, best_path = out_dir / "metrics.jsonl", out_dir / "last.pt", out_dir / "best.pt"
    setup_torch(cfg)
    bf16 = cfg.bf16 and bf16_available()
    train, val = load_baseline_data(profile, data, max_train)
    out_dir.mkdir(parents=True, exist_ok=True)   # after the data checks: a refused run leaves no empty OUT
    classes = len(train.class_names)
    model = BaselineNetwork(net, classes).to(memory_format=torch.channels_last)
    opt, lookahead = build_optimizer(model, model.body, cfg, peak_lr)
    prep = BatchPreparer(profile.data, seed=cfg.seed + 11)
    steps_per_epoch = max(1, len(train) // cfg.batch_size)
    total, warmup = steps_per_epoch * epochs, int(cfg.warmup_epochs * steps_per_epoch)
    start_epoch, step, best, wall = 0, 0, -1.0, 0.0
    ema = ModelEMA(model, cfg.ema_decay) if cfg.ema_decay > 0 else None
    if last_path.is_file() and not restart:
        ckpt = torch.load(last_path, map_location="cpu", weights_only=False)
        if ckpt["kind"] != kind:
            raise ValueError(f"{last_path} is a {ckpt['kind']} baseline, not {kind}; use another --out or --restart")
        was = ckpt["profile"].get("train", {}).get("recipe", "cosine")
        if was != cfg.recipe:
            raise ValueError(f"{last_path} was trained with train.recipe {was}, this profile asks for "
                             f"{cfg.recipe} (another optimiser): use another --out or --restart")
        problem = baseline_resume_problem(ckpt["profile"], profile.to_dict(), kind, last_path)
        if problem:
            raise ValueError(f"{problem}: use another --out, or --restart to train again from scratch")
        model.load_state_dict(ckpt.get("live_state_dict", ckpt["state_dict"]))
        if ema is not None and "ema" in ckpt:
            ema.load_state_dict(ckpt["ema"])
        opt.load_state_dict(ckpt["optimizer"])
        if lookahead is not None and "lookahead" in ckpt:
            lookahead.load_state_dict(ckpt["lookahead"])
        start_epoch, step, best, wall = ckpt["epoch"], ckpt["step"], ckpt["best_val"], ckpt["wall_seconds"]
        if ckpt.get("requested_epochs") == requested:   # same plan: keep what the time budget cut it to
            epochs = int(ckpt.get("planned_epochs", requested))
            total = steps_per_epoch * epochs
        budget_offset = float(ckpt.get("budget_seconds", wall))
        prep.rng = np.random.default_rng(cfg.seed + 11 + 1000 * start_epoch)
        print(f"resuming {kind} baseline from {last_path} at epoch {start_epoch}" if start_epoch < epochs else
              f"{last_path} has finished its {epochs} epochs: nothing to train (--epochs N trains on to N)", flush=True)
    elif restart and log_path.exists():
        log_path.unlink()
    rng = np.random.default_rng(cfg.seed + 3 + start_epoch)
    epoch = start_epoch
    epoch_seconds: list[float] = []   # the durations this process measured (typical_epoch_seconds)
    while epoch < epochs:
        t0 = time.time()
        model.train()
        order = rng.permutation(len(train))
        running, correct, seen = 0.0, 0, 0
        bar = tqdm(range(steps_per_epoch), desc=f"{kind} {epoch + 1}/{epochs}", unit="batch", leave=False,
                   mininterval=2.0)
        for i in bar:
            idx = np.sort(order[i * cfg.batch_size:(i + 1) * cfg.batch_size])
            x = prep(train.images[idx], train=True)
            y = torch.from_numpy(train.labels[idx])
            apply_schedule(opt, cfg.recipe, step, total, warmup, peak_lr)
            with autocast(bf16):
                logits = model(x).float()
            loss = F.cross_entropy(logits, y, label_smoothing=cfg.label_smoothing)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
            if lookahead is not None:
                lookahead.step(model, step, total)
            if ema is not None:
                ema.update(model)
            running += float(loss.detach())
            correct += int((logits.argmax(1) == y).sum())
            seen += len(y)
            bar.set_postfix(loss=f"{running / (i + 1):.3f}", acc=f"{correct / max(1, seen):.3f}")
        evaluated = ema.module if ema is not None else model
        val_acc = accuracy(evaluated, val, prep, cfg.eval_batch_size, bf16)
        wall += time.time() - t0
        log_record(log_path, {"stage": f"baseline-{kind}", "epoch": epoch + 1, "loss": running / steps_per_epoch,
                        "train_accuracy": correct / max(1, seen), "val_accuracy": val_acc,
                        "epoch_seconds": time.time() - t0, "wall_seconds": wall})
        epoch_seconds.append(time.time() - t0)
        budget_seconds = budget_offset + time.time() - run_start
        epochs = replan_after_epoch(log_path, epochs, requested, epoch + 1, budget_seconds,
                                   typical_epoch_seconds(epoch_seconds), cfg.max_minutes)
        total = steps_per_epoch * epochs
        ckpt = {"kind": kind, "profile": profile.to_dict(), "class_names": train.class_names,
                "state_dict": evaluated.state_dict(), "epoch": epoch + 1, "step": step, "wall_seconds": wall,
                "best_val": max(best, val_acc), "val_accuracy": val_acc, "data": str(data),
                "data_location": data_location(data), "max_train": max_train,
                "requested_epochs": requested, "planned_epochs": epochs, "budget_seconds": budget_seconds}
        if val_acc > best:
            best = val_acc
            atomic_save(ckpt, best_path)
        resume_state: dict[str, Any] = {"optimizer": opt.state_dict()}
        if ema is not None:
            resume_state.update(live_state_dict=model.state_dict(), ema=ema.state_dict())
        if lookahead is not None:
            resume_state["lookahead"] = lookahead.state_dict()
        atomic_save({**ckpt, **resume_state}, last_path)
        epoch += 1
    if not best_path.is_file():
        raise ValueError(f"{out_dir}: no epoch was trained (epochs={epochs}); nothing to export")
    return best_path

