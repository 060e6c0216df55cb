"""``agilenn train``: joint training of AgileNN with skewness and disorder losses.

Resumable: ``OUT/last.pt`` is written after every epoch and picked up by the next run (unless
``restart``); ``OUT/best.pt`` holds the best validation accuracy; ``OUT/metrics.jsonl`` gets
one JSON line per epoch (loss parts, accuracies, achieved skewness, disorder violation rate,
learned alpha, wall time). With ``train.ema_decay`` > 0 validation, ``best.pt`` and ``last.pt``'s
``model`` hold the exponential moving average of the weights (``last.pt`` also keeps the live
weights and the average for resuming). Every checkpoint (and ``OUT/reference.pt``) is written atomically and
records the profile, the class names and a fingerprint of the images; a rerun refuses, in one
line, to resume or reuse one that does not match (``--restart`` starts over, reference included),
and re-trains a reference network whose pre-training was interrupted.
"""
from __future__ import annotations

import dataclasses
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from agilenn_ros.config import Profile, profile_from_dict
from agilenn_ros.data import ImageSet
from agilenn_ros.training.agilenn_model import AgileNN
from agilenn_ros.data.training_data import TrainingData
from agilenn_ros.training.augment import BatchPreparer
from agilenn_ros.training.checkpoints import (CheckpointError, atomic_save, checkpoint_kind, identity_problem,
                                              read_checkpoint)
from agilenn_ros.training.distill import (cached_teacher_logits, distillation_loss, load_teacher,
                                          validation_overlap_warning)
from agilenn_ros.training.ema import ModelEMA
from agilenn_ros.training.evaluation import evaluate_agilenn
from agilenn_ros.training.importance import channel_importance, element_importance, zero_baseline_gradients
from agilenn_ros.training.losses import (disorder_loss_channel, disorder_loss_element, rate_bits,
                                         skewness, skewness_loss)
from agilenn_ros.training.preselect import topk_appearance_order
from agilenn_ros.training.pretrain_reference import load_reference, pretrain_reference
from agilenn_ros.training.reference import freeze, permute_input_channels
from agilenn_ros.training.remote_predictor import ResNetRemote
from agilenn_ros.training.run_io import load_training_data, log_record
from agilenn_ros.training.runtime_setup import apply_schedule, autocast, bf16_available, build_optimizer, setup_torch
from agilenn_ros.training.speedrun import Lookahead
from agilenn_ros.training.time_budget import replan_after_epoch, typical_epoch_seconds


def load_data(profile: Profile, data: str, verbose: bool = True) -> TrainingData:
    """Train/validation images at the profile's input size (classes and counts printed)."""
    return load_training_data(profile.dataset, data, profile.data.input_size, profile.data.val_size,
                              profile.train.max_train_samples, verbose)


def load_datasets(profile: Profile, data: str) -> tuple[ImageSet, ImageSet]:
    loaded = load_data(profile, data)
    return loaded.train, loaded.val


def build_reference_body(profile: Profile, classes: int, state: dict[str, Any]) -> ResNetRemote:
    body = ResNetRemote(profile.model.channels, classes, tuple(profile.reference.widths))
    body.load_state_dict(state)
    return freeze(body)


def load_checkpoint(path: Path) -> dict[str, Any]:
    """An AgileNN checkpoint (best.pt / last.pt); CheckpointError naming what the file is otherwise."""
    ckpt = read_checkpoint(path)
    kind = checkpoint_kind(ckpt)
    if kind == "reference":
        raise CheckpointError(f"{path} is the reference network of a run (pre-training only), not an AgileNN "
                              f"model: export {path.parent / 'best.pt'}")
    if kind == "baseline":
        raise CheckpointError(f"{path} is a {ckpt.get('kind')} baseline checkpoint: use agilenn export-baseline")
    if kind != "agilenn":
        raise CheckpointError(f"{path}: not an AgileNN checkpoint (best.pt or last.pt written by agilenn train)")
    return ckpt


RESTART_HINT = "use --restart to start over (this also re-trains OUT/reference.pt) or another --out"


def _reference_path(profile: Profile, data: TrainingData, out_dir: Path, reference: Path | None,
                    restart: bool, log_path: Path) -> Path:
    """A complete reference network that matches this run, pre-training one when needed."""
    own = reference is None
    ref_path = reference or out_dir / "reference.pt"
    if own and restart and ref_path.is_file():
        print(f"--restart: pre-training {ref_path} again", flush=True)
        ref_path.unlink()
    if ref_path.is_file():
        ref = read_checkpoint(ref_path)
        if checkpoint_kind(ref) != "reference":
            raise CheckpointError(f"{ref_path}: not a reference network checkpoint")
        problem = identity_problem(ref, profile, data.identity(), ref_path, reference=True)
        if problem:
            raise CheckpointError(f"{problem}; " + (RESTART_HINT if own else "pass a matching --reference"))
        if ref.get("complete", True):
            return ref_path
        print(f"{ref_path} is incomplete (stopped after epoch {ref.get('epochs_done')} of {ref.get('epochs')}): "
              "pre-training the reference network again", flush=True)
    else:
        print(f"no reference network at {ref_path}: pre-training one", flush=True)
    pretrain_reference(profile, data.train, data.val, ref_path, log_path, data.identity())
    return ref_path


def model_from_checkpoint(ckpt: dict[str, Any]) -> tuple[Profile, AgileNN, ResNetRemote, list[str]]:
    profile = profile_from_dict(ckpt["profile"], ckpt["profile"]["name"])
    classes = len(ckpt["class_names"])
    model = AgileNN(profile, classes)
    model.load_state_dict(ckpt["model"])
    model.eval()
    body = build_reference_body(profile, classes, ckpt["reference_body"])
    return profile, model, body, list(ckpt["class_names"])


def agilenn_step(model: AgileNN, body: torch.nn.Module, g0: torch.Tensor, x: torch.Tensor, y: torch.Tensor,
                 profile: Profile, opt: torch.optim.Optimizer, ema: ModelEMA | None, bf16: bool,
                 teacher: torch.nn.Module | None = None, lookahead: Lookahead | None = None,
                 step_of: tuple[int, int] = (0, 0), teacher_logits: torch.Tensor | None = None) -> dict[str, float]:
    """One optimiser step of AgileNN's joint loss (paper Section 4: lam * prediction loss + (1 - lam) *
    (skewness + disorder losses), importance by integrated gradients through the frozen reference ``body``).

    The prediction loss is the fused logits' cross-entropy, mixed with ``distill.weight`` of
    knowledge distillation from ``teacher`` (frozen, same normalised input) when one is given,
    or towards ``teacher_logits`` [B, classes] (the teacher's cached logits of these images,
    ``distill.cache``) when those are,
    plus ``train.local_ce_weight`` times the local predictor's own cross-entropy; plus
    ``train.rate_weight`` times the estimated bits per remote element (:func:`rate_bits`, on the
    first ``train.rate_samples`` images of the batch) when that weight is > 0.
    x: normalised images [B, 3, S, S]; y: labels [B]. Returns the step's loss parts and training
    accuracy / skewness as floats (keys of the epoch record). ``lookahead`` (speedrun recipe) is
    advanced after the optimiser step as step ``step_of[0]`` of ``step_of[1]``.
    """
    imp, k, cfg, kd = profile.importance, profile.model.k, profile.train, profile.distill
    with autocast(bf16):
        out = model(x)
        element = element_importance(body, out.features.float(), y, g0, imp.steps, imp.exact)
        if teacher is not None and teacher_logits is None:
            with torch.no_grad():
                teacher_logits = teacher(x).float()
    per_channel = channel_importance(element)
    ce = F.cross_entropy(out.fused_logits, y, label_smoothing=cfg.label_smoothing)
    prediction = ce
    parts: dict[str, float] = {}
    if teacher_logits is not None and kd.weight > 0:
        kd_l = distillation_loss(out.fused_logits, teacher_logits, kd.temperature)
        prediction = (1 - kd.weight) * ce + kd.weight * kd_l
        parts["kd_loss"] = float(kd_l.detach())
    if cfg.local_ce_weight > 0:
        local_ce = F.cross_entropy(out.local_logits, y, label_smoothing=cfg.label_smoothing)
        prediction = prediction + cfg.local_ce_weight * local_ce
        parts["local_ce"] = float(local_ce.detach())
    skew_l = skewness_loss(per_channel, k, imp.rho)
    dis_l = disorder_loss_channel(per_channel, k) if imp.level == "channel" else disorder_loss_element(element, k)
    loss = imp.lam * prediction + (1 - imp.lam) * (skew_l + dis_l)
    if cfg.rate_weight > 0:
        rate = rate_bits(out.features[: cfg.rate_samples, k:], model.quantizer.centroids())
        loss = loss + cfg.rate_weight * rate
        parts["rate_bits"] = float(rate.detach())
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    if lookahead is not None:
        lookahead.step(model, *step_of)
    if ema is not None:
        ema.update(model)
    with torch.no_grad():
        return {"loss": float(loss), "ce": float(ce), "skew_loss": float(skew_l), "disorder_loss": float(dis_l),
                **parts, "train_accuracy": float((out.fused_logits.argmax(1) == y).float().mean()),
                "train_local_accuracy": float((out.local_logits.argmax(1) == y).float().mean()),
                "train_skewness": float(skewness(per_channel.detach(), k).mean())}


def _teacher(profile: Profile, loaded: TrainingData, data: str,
             required: bool) -> tuple[Profile, torch.nn.Module | None]:
    """The distillation teacher of ``profile.distill`` and the profile the run records.

    required (the teacher was named on the command line): a missing or unfitting teacher is a
    CheckpointError. Otherwise the profile's teacher is used when it exists and fits this data;
    when not, a warning says so and the run trains without distillation (its checkpoints record
    ``distill.weight`` 0), so a profile with a teacher still trains on other images. A teacher that
    trained on some of this run's validation images is used, with a warning
    (:func:`~agilenn_ros.training.distill.validation_overlap_warning`).
    """
    kd = profile.distill
    if kd.weight <= 0:
        return profile, None
    try:
        if not kd.teacher:
            raise CheckpointError(f"profile {profile.name}: distill.weight is {kd.weight} but no teacher is given "
                                  "(distill.teacher in the profile or --teacher)")
        teacher = load_teacher(Path(kd.teacher), profile, loaded.class_names)
    except CheckpointError as exc:
        if required:
            raise
        print(f"warning: training without distillation: {exc}", file=sys.stderr, flush=True)
        return dataclasses.replace(profile, distill=dataclasses.replace(kd, weight=0.0)), None
    how = "".join([", with its mirror pass" if kd.teacher_flip else "",
                   ", logits cached once per training image" if kd.cache else ""])
    print(f"distilling from {kd.teacher} (weight {kd.weight}, temperature {kd.temperature}{how})", flush=True)
    overlap = validation_overlap_warning(Path(kd.teacher), profile, loaded, data)
    if overlap:
        print(f"warning: {overlap}", file=sys.stderr, flush=True)
    return profile, teacher


def train_agilenn(profile: Profile, data: str, out_dir: Path, reference: Path | None = None,
                  restart: bool = False, teacher_required: bool = False) -> Path:
    """Train (or resume) AgileNN into ``out_dir``; returns OUT/best.pt. ``teacher_required``: the
    distillation teacher was named by the user (see :func:`_teacher`)."""
    cfg = profile.train
    run_start = time.time()
    log_path = out_dir / "metrics.jsonl"
    setup_torch(cfg)
    bf16 = cfg.bf16 and bf16_available()
    loaded = load_data(profile, data)
    train, val, identity = loaded.train, loaded.val, loaded.identity()
    classes = len(train.class_names)
    profile, teacher = _teacher(profile, loaded, data, teacher_required)
    cfg, imp = profile.train, profile.importance
    out_dir.mkdir(parents=True, exist_ok=True)   # after the data and teacher checks: a refused run leaves no empty OUT
    prep = BatchPreparer(profile.data, seed=cfg.seed)
    last_path, best_path = out_dir / "last.pt", out_dir / "best.pt"

    model = AgileNN(profile, classes)
    steps_per_epoch = max(1, len(train) // cfg.batch_size)
    epochs, budget_offset = cfg.epochs, 0.0   # the plan (time budget) and budget time of earlier runs
    # speedrun: the remote body's BatchNorm scales are fixed; the device's layers keep learned
    # scales (they set the ReLU6 range the quantizer works in)
    opt, lookahead = build_optimizer(model, model.remote.body, cfg, cfg.lr)
    start_epoch, step, best_val, wall = 0, 0, -1.0, 0.0
    resumed: dict[str, Any] = {}

    if last_path.is_file() and not restart:
        ckpt = resumed = load_checkpoint(last_path)
        problem = identity_problem(ckpt, profile, identity, last_path)
        if problem:
            raise CheckpointError(f"{problem}; {RESTART_HINT}")
        model.load_state_dict(ckpt.get("live_model", ckpt["model"]))
        opt.load_state_dict(ckpt["optimizer"])
        if lookahead is not None and "lookahead" in ckpt:
            lookahead.load_state_dict(ckpt["lookahead"])
        body = build_reference_body(profile, classes, ckpt["reference_body"])
        start_epoch, step, best_val, wall = ckpt["epoch"], ckpt["step"], ckpt["best_val"], ckpt["wall_seconds"]
        if ckpt.get("requested_epochs") == cfg.epochs:   # same plan: keep what the time budget cut it to
            epochs = int(ckpt.get("planned_epochs", cfg.epochs))
        budget_offset = float(ckpt.get("budget_seconds", wall))
        prep.rng = np.random.default_rng(cfg.seed + 1000 * start_epoch)
        print(f"resuming from {last_path} at epoch {start_epoch}" if start_epoch < epochs else
              f"{last_path} has finished its {epochs} epochs: nothing to train (--epochs N trains on to N)", flush=True)
    else:
        if restart:
            for stale in (log_path, last_path, best_path):
                if stale.exists():
                    stale.unlink()
        elif best_path.is_file():
            problem = identity_problem(load_checkpoint(best_path), profile, identity, best_path)
            if problem:
                raise CheckpointError(f"{problem}; {RESTART_HINT}")
        ref_path = _reference_path(profile, loaded, out_dir, reference, restart, log_path)
        ref = load_reference(ref_path, profile, classes)
        model.fe.load_state_dict(ref.fe.state_dict())
        body = freeze(ref.body)
        shape = (profile.model.channels, profile.feature_size, profile.feature_size)
        if imp.preselect:
            g0 = zero_baseline_gradients(body, shape, classes)
            order, share = topk_appearance_order(model.fe, body, g0, train, prep, profile.model.k,
                                                 imp.preselect_batches, cfg.batch_size, imp.steps, bf16, cfg.seed)
            model.fe.permute_channels(order)
            permute_input_channels(body, order)
            log_record(log_path, {"stage": "preselect", "order": order.tolist(),
                            "topk_appearance": [round(float(s), 4) for s in share]})
    model = model.to(memory_format=torch.channels_last)
    ema = ModelEMA(model, cfg.ema_decay) if cfg.ema_decay > 0 else None
    if ema is not None and "ema" in resumed:
        ema.load_state_dict(resumed["ema"])
    g0 = zero_baseline_gradients(body, (profile.model.channels, profile.feature_size, profile.feature_size), classes)
    cached_logits = None
    if teacher is not None and profile.distill.cache and start_epoch < epochs:   # once per run (again on resume)
        t_cache = time.time()
        cached_logits = cached_teacher_logits(teacher, train.images, prep.to_tensor, cfg.eval_batch_size, bf16)
        teacher = None   # its work is done: free it
        print(f"teacher logits of {len(cached_logits)} training images cached in {time.time() - t_cache:.0f} s",
              flush=True)
    rng = np.random.default_rng(cfg.seed + 7 + start_epoch)
    warmup = int(cfg.warmup_epochs * steps_per_epoch)

    total_steps = steps_per_epoch * epochs
    epoch = start_epoch
    epoch_seconds: list[float] = []   # the durations this process measured (typical_epoch_seconds)
    while epoch < epochs:
        t_epoch = time.time()
        model.train()
        order = rng.permutation(len(train))
        sums: dict[str, float] = {}
        bar = tqdm(range(steps_per_epoch), desc=f"epoch {epoch + 1}/{epochs}", unit="batch",
                   leave=False, mininterval=2.0)
        for i in bar:
            idx = np.sort(order[i * cfg.batch_size:(i + 1) * cfg.batch_size])
            x = prep(train.images[idx], train=True)
            y = torch.from_numpy(train.labels[idx])
            lr = apply_schedule(opt, cfg.recipe, step, total_steps, warmup, cfg.lr)
            parts = agilenn_step(model, body, g0, x, y, profile, opt, ema, bf16, teacher, lookahead,
                                 (step + 1, total_steps),
                                 None if cached_logits is None else cached_logits[torch.from_numpy(idx)])
            step += 1
            for key, value in parts.items():
                sums[key] = sums.get(key, 0.0) + value
            bar.set_postfix(loss=f"{sums['loss'] / (i + 1):.3f}", acc=f"{sums['train_accuracy'] / (i + 1):.3f}",
                            skew=f"{sums['train_skewness'] / (i + 1):.3f}")
        train_seconds = time.time() - t_epoch
        evaluated = ema.module if ema is not None else model   # what best.pt holds and export ships
        metrics = evaluate_agilenn(evaluated, body, g0, val, prep, cfg.eval_batch_size, imp.steps, bf16)
        wall += time.time() - t_epoch
        record = {"stage": "agilenn", "epoch": epoch + 1, "lr": lr,
                  **{key: value / steps_per_epoch for key, value in sums.items()},
                  **{f"val_{key}": value for key, value in metrics.items() if key != "samples"},
                  "epoch_train_seconds": train_seconds, "wall_seconds": wall,
                  "importance": "exact" if imp.exact else "cheap"}
        log_record(log_path, record)
        epoch_seconds.append(time.time() - t_epoch)
        budget_seconds = budget_offset + time.time() - run_start
        epochs = replan_after_epoch(log_path, epochs, cfg.epochs, epoch + 1, budget_seconds,
                                   typical_epoch_seconds(epoch_seconds), cfg.max_minutes)
        total_steps = steps_per_epoch * epochs
        ckpt = {"model": evaluated.state_dict(), "reference_body": body.state_dict(), "profile": profile.to_dict(),
                "class_names": train.class_names, "epoch": epoch + 1, "step": step, "wall_seconds": wall,
                "best_val": max(best_val, metrics["accuracy"]), "val_metrics": metrics,
                "data": str(data), "identity": identity, "val_origin": loaded.val_origin,
                "requested_epochs": cfg.epochs, "planned_epochs": epochs, "budget_seconds": budget_seconds}
        if metrics["accuracy"] > best_val:
            best_val = metrics["accuracy"]
            atomic_save(ckpt, best_path)
        resume_state: dict[str, Any] = {"optimizer": opt.state_dict()}
        if ema is not None:
            resume_state.update(live_model=model.state_dict(), ema=ema.state_dict())
        if lookahead is not None:
            resume_state["lookahead"] = lookahead.state_dict()
        atomic_save({**ckpt, **resume_state}, last_path)
        epoch += 1
    if not best_path.is_file():
        raise CheckpointError(f"{out_dir}: no epoch was trained (epochs={cfg.epochs}); nothing to export")
    return best_path
