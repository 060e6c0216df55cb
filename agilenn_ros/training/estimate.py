"""``agilenn estimate-training``: how long a profile's training takes on this machine, before running it.

Times real optimiser steps of the profile's networks on random images (the same step function,
precision gate and thread setting as ``agilenn train``): the reference network's pre-training
step, AgileNN's joint step (importance included) and validation per image. Projects the run's
wall time for the profile's epochs on ``train_images`` / ``val_images`` images and, when the
profile has ``train.max_minutes``, the epochs that fit in it (the plan ``agilenn train`` would cut
to, :mod:`agilenn_ros.training.time_budget`). Seconds are medians over ``steps`` timed steps
after one warm-up step; a machine busy with other work gives longer times. Not timed but
assumed: the reference network's per-epoch validation (a forward pass, no importance) is taken
as a third of AgileNN's validation per image; data loading and channel pre-selection (about a
minute for CIFAR-10) are not included. With ``distill.cache`` the teacher's one pass over the
training images is timed per batch and counted with the reference network's pre-training.

To see another machine's instruction set on this one, restrict PyTorch and oneDNN before the
command, e.g. ``ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2`` (with ``--no-bf16``: an
AVX2-only CPU has no bf16 path).
"""
from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
import torch.nn.functional as F

from agilenn_ros.config import Profile
from agilenn_ros.data import ImageSet
from agilenn_ros.training.agilenn_model import AgileNN
from agilenn_ros.training.augment import BatchPreparer
from agilenn_ros.training.ema import ModelEMA
from agilenn_ros.training.evaluation import evaluate_agilenn
from agilenn_ros.training.importance import zero_baseline_gradients
from agilenn_ros.training.reference import ReferenceNet, freeze
from agilenn_ros.training.runtime_setup import autocast, bf16_available, setup_torch, sgd
from agilenn_ros.training.time_budget import planned_epochs
from agilenn_ros.training.train_agilenn import agilenn_step


def _median_seconds(fn: Callable[[], Any], steps: int) -> float:
    fn()  # warm-up (allocations, kernel selection)
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def estimate_training(profile: Profile, *, image_size: int, train_images: int, val_images: int,
                      classes: int = 10, steps: int = 5, allow_bf16: bool = True) -> dict[str, Any]:
    """Timings and the projected wall time of ``agilenn train --profile`` (seconds, minutes).

    image_size: side of the source images (CIFAR-10: 32; they are resized to the model input as
    in training). Raises ValueError for counts below 1.
    """
    if min(image_size, train_images, val_images, classes, steps) < 1:
        raise ValueError("image size, image counts, classes and steps must be >= 1")
    cfg = profile.train
    setup_torch(cfg)
    bf16 = allow_bf16 and cfg.bf16 and bf16_available()
    rng = np.random.default_rng(0)
    batch = cfg.batch_size
    images = rng.integers(0, 256, size=(batch, image_size, image_size, 3), dtype=np.uint8)
    labels = torch.from_numpy(rng.integers(0, classes, size=batch))
    prep = BatchPreparer(profile.data, seed=0)

    reference = ReferenceNet(profile, classes).to(memory_format=torch.channels_last)
    ref_opt = sgd(reference, cfg, profile.reference.lr)

    def reference_step() -> None:
        x = prep(images, train=True)
        with autocast(bf16):
            loss = F.cross_entropy(reference(x).float(), labels, label_smoothing=cfg.label_smoothing)
        ref_opt.zero_grad(set_to_none=True)
        loss.backward()
        ref_opt.step()

    model = AgileNN(profile, classes).to(memory_format=torch.channels_last)
    body = freeze(ReferenceNet(profile, classes).body)
    shape = (profile.model.channels, profile.feature_size, profile.feature_size)
    g0 = zero_baseline_gradients(body, shape, classes)
    opt = sgd(model, cfg, cfg.lr)
    ema = ModelEMA(model, cfg.ema_decay) if cfg.ema_decay > 0 else None

    teacher, teacher_note = _teacher_for_timing(profile, classes)
    cache_s = 0.0
    if teacher is not None and profile.distill.cache:   # scored once before training, not in the step
        def teacher_batch() -> None:
            with torch.no_grad(), autocast(bf16):
                teacher(prep(images, train=False))
        cache_s = _median_seconds(teacher_batch, max(1, steps // 2)) * train_images / batch
        teacher, teacher_note = None, f"{teacher_note}; logits cached once before training ({cache_s:.0f} s)"
    cached = torch.zeros((batch, classes)) if profile.distill.cache and profile.distill.weight > 0 else None

    def joint_step() -> None:
        agilenn_step(model, body, g0, prep(images, train=True), labels, profile, opt, ema, bf16, teacher,
                     teacher_logits=cached)

    val_set = ImageSet(np.repeat(images, 2, axis=0), np.repeat(labels.numpy(), 2), [str(c) for c in range(classes)])
    evaluated = ema.module if ema is not None else model

    def validation() -> None:
        evaluate_agilenn(evaluated, body, g0, val_set, prep, cfg.eval_batch_size, profile.importance.steps, bf16)

    ref_step_s = _median_seconds(reference_step, steps)
    step_s = _median_seconds(joint_step, steps)
    val_per_image_s = _median_seconds(validation, max(1, steps // 2)) / len(val_set)

    steps_per_epoch = max(1, train_images // batch)
    reference_s = profile.reference.epochs * (steps_per_epoch * ref_step_s + val_images * val_per_image_s / 3) + cache_s
    epoch_s = steps_per_epoch * step_s + val_images * val_per_image_s
    total_s = reference_s + cfg.epochs * epoch_s
    budget_s = cfg.max_minutes * 60.0
    fit = planned_epochs(cfg.epochs, 1, reference_s + epoch_s, epoch_s, budget_s) if budget_s > 0 else cfg.epochs
    return {
        "profile": profile.name, "threads": torch.get_num_threads(), "cpu_capability":
            torch.backends.cpu.get_cpu_capability(), "bf16": bf16, "batch_size": batch,
        "reference_step_seconds": ref_step_s, "step_seconds": step_s, "val_seconds_per_image": val_per_image_s,
        "train_images": train_images, "val_images": val_images, "steps_per_epoch": steps_per_epoch,
        "reference_minutes": reference_s / 60.0, "epoch_minutes": epoch_s / 60.0, "epochs": cfg.epochs,
        "projected_minutes": total_s / 60.0, "max_minutes": cfg.max_minutes,
        "epochs_within_budget": fit,
        "projected_minutes_within_budget": (reference_s + fit * epoch_s) / 60.0,
        "distillation": teacher_note,
    }


def _teacher_for_timing(profile: Profile, classes: int) -> tuple[torch.nn.Module | None, str]:
    """The distillation teacher's network for timing (its weights do not matter): the checkpoint's
    architecture when ``distill.teacher`` exists, else the edge network of ``distill.teacher_profile``
    or ``config/baselines/<name>.yaml``, with the mirror pass when ``distill.teacher_flip``.
    Returns (network or None, a line saying what the step includes)."""
    if profile.distill.weight <= 0:
        return None, "off"
    from agilenn_ros.baseline_config import load_baseline_profile
    from agilenn_ros.training.baselines import BaselineNetwork
    from agilenn_ros.training.checkpoints import CheckpointError
    from agilenn_ros.training.distill import frozen_teacher, load_teacher
    path = Path(profile.distill.teacher) if profile.distill.teacher else None
    if path is not None and path.is_file():
        try:
            return load_teacher(path, profile, None), f"teacher {path} timed"
        except CheckpointError:
            pass   # not a usable teacher (train says why): time the baseline profile's edge network
    source = profile.distill.teacher_profile or profile.name
    try:
        net = BaselineNetwork(load_baseline_profile(source).net("edge"), classes)
    except (ValueError, OSError, KeyError):
        return None, ("teacher not timed (no checkpoint, and no baseline profile "
                      f"{source if profile.distill.teacher_profile else 'of this name'})")
    net.flip_tta = net.flip_tta or profile.distill.teacher_flip
    where = source if profile.distill.teacher_profile else f"config/baselines/{profile.name}.yaml"
    return frozen_teacher(net), f"edge network of {where} timed{' with its mirror pass' if net.flip_tta else ''}"

