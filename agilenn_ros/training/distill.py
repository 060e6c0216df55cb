"""Knowledge distillation of AgileNN's fused prediction from a teacher network.

The teacher is one of the project's own baseline networks (``agilenn train-baseline --kind edge``:
the edge-only network on raw images), frozen. The loss is Hinton et al.'s (2015): the
Kullback-Leibler divergence between the temperature-softened class distributions, times T^2 so
that its gradient keeps the cross-entropy's scale when T changes.

Two options make the teacher better or cheaper (profile section ``distill``):

* ``teacher_flip``: the teacher's logits are its mean over the image and its mirror image (flip
  test-time augmentation, the same pass ``agilenn export-baseline --flip-tta`` ships), about a
  point more accurate soft labels on CIFAR-10 for twice the teacher's forward work;
* ``cache``: the teacher scores every training image once, un-augmented, before the first epoch
  (:func:`cached_teacher_logits`), and every augmented view of an image is distilled towards
  those logits. A training step then costs what it costs without a teacher. Mild augmentation
  (pad-and-crop by a few pixels, mirroring with ``teacher_flip``) leaves the class evidence in
  place, so the fixed target stays a fair one; heavy augmentation would not.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from agilenn_ros.config import Profile
from agilenn_ros.training.checkpoints import CheckpointError, checkpoint_kind, read_checkpoint, short_list

if TYPE_CHECKING:
    from agilenn_ros.data.training_data import TrainingData

# Baseline kinds whose network sees the whole image (a teacher must): split is the edge network cut in two.
TEACHER_KINDS = ("edge", "split", "local")


def load_teacher(path: Path, profile: Profile, class_names: list[str] | None) -> nn.Module:
    """The frozen baseline network in ``path`` (a ``train-baseline`` best.pt / last.pt), in eval mode.

    Input: the normalised images AgileNN trains on, [B, 3, S, S]; output: logits [B, classes].
    Raises CheckpointError (one line) when the file is not a baseline checkpoint, or its input
    size, normalisation or classes (unless ``class_names`` is None) differ from this run's.
    """
    from agilenn_ros.baseline_config import baseline_profile_from_dict
    from agilenn_ros.training.baselines import BaselineNetwork
    if not path.is_file():
        out = str(path.parent) if path.name == "best.pt" else "DIR"
        raise CheckpointError(f"distillation teacher {path} does not exist: train it first with agilenn "
                              f"train-baseline --profile {teacher_profile_hint(profile)} --kind edge --data DATA "
                              f"--out {out} (it writes best.pt there)")
    ckpt = read_checkpoint(path)
    if checkpoint_kind(ckpt) != "baseline" or ckpt.get("kind") not in TEACHER_KINDS:
        raise CheckpointError(f"distillation teacher {path}: not a baseline checkpoint of kind "
                              f"{'/'.join(TEACHER_KINDS)} (written by agilenn train-baseline)")
    teacher_profile = baseline_profile_from_dict(ckpt["profile"], ckpt["profile"]["name"])
    data = teacher_profile.data
    mismatch = [f"data.{name}: the teacher's {_shown(theirs)}, the profile's {_shown(ours)}" for name, ours, theirs in (
        ("input_size", profile.data.input_size, data.input_size),
        ("mean", tuple(profile.data.mean), tuple(data.mean)),
        ("std", tuple(profile.data.std), tuple(data.std))) if ours != theirs]
    if mismatch:
        raise CheckpointError(f"distillation teacher {path} sees other inputs than profile {profile.name} "
                              f"({'; '.join(mismatch)})")
    if class_names is not None and list(ckpt["class_names"]) != list(class_names):
        raise CheckpointError(f"distillation teacher {path} was trained on classes {short_list(ckpt['class_names'])}, "
                              f"this run has {short_list(class_names)}")
    net = BaselineNetwork(teacher_profile.net(ckpt["kind"]), len(ckpt["class_names"]))
    net.load_state_dict(ckpt["state_dict"])
    net.flip_tta = net.flip_tta or profile.distill.teacher_flip   # eval mode: mean over the mirror pair
    return frozen_teacher(net)


def validation_overlap_warning(path: Path, profile: Profile, loaded: "TrainingData", data: str) -> str | None:
    """A warning line when the teacher in ``path`` trained on some of this run's validation images.

    Both runs carve validation from the same train split (no ``val/``) as the last images of every
    class (:func:`agilenn_ros.data.split.carve_validation`); a teacher carved with a smaller
    ``data.val_size`` kept some of this run's validation images in its training set, so the
    student's validation accuracy (and its best-epoch choice) leans optimistic. The teacher's data
    is the resolved location its checkpoint records (``data_location``); a teacher trained with
    ``--max-train`` saw a random part of its split, so the count is an upper bound ("up to").
    None when the dataset has a ``val/`` split, the teacher trained on other data or does not
    record where (checkpoints before session 14), or the carves leave no overlap. Test accuracy is
    not affected.
    """
    from agilenn_ros.data.split import carve_overlap
    from agilenn_ros.training.run_io import data_location
    if "val" in loaded.source.splits():
        return None
    ckpt = read_checkpoint(path)
    if ckpt.get("data_location") is None or ckpt["data_location"] != data_location(data):
        return None
    teacher_val, own_val = float(ckpt["profile"]["data"]["val_size"]), float(profile.data.val_size)
    if teacher_val == own_val:
        return None
    seen = carve_overlap(list(loaded.source.counts("train").values()), teacher_val, own_val)
    if not seen:
        return None
    bound = "up to " if ckpt.get("max_train") else ""
    return (f"distillation teacher {path} trained on {bound}{seen} of this run's {len(loaded.val)} validation "
            f"images (its data.val_size {teacher_val:g} carves fewer from the same train split than this "
            f"profile's {own_val:g}): validation accuracy and the best epoch lean optimistic, test accuracy "
            f"does not; train the teacher with data.val_size {own_val:g} to avoid it")


def _shown(value: object) -> str:
    """A profile value as the YAML writes it: a tuple as a list."""
    return str(list(value)) if isinstance(value, tuple) else str(value)


def teacher_profile_hint(profile: Profile) -> str:
    """The baseline profile to train a teacher with: ``distill.teacher_profile`` when the profile
    names one, else config/baselines/ of the AgileNN profile's name, else of its dataset's name
    (candidate profiles such as ``cifar10-f32c9`` have none of their own), else a placeholder."""
    from agilenn_ros.baseline_config import baseline_profiles_dir
    if profile.distill.teacher_profile:
        return profile.distill.teacher_profile
    for name in (profile.name, profile.dataset):
        if (baseline_profiles_dir() / f"{name}.yaml").is_file():
            return name
    return "BASELINE_PROFILE"


def frozen_teacher(net: nn.Module) -> nn.Module:
    """``net`` as a teacher: eval mode, no gradients, channels-last (as the student trains)."""
    net.eval()
    for p in net.parameters():
        p.requires_grad_(False)
    return net.to(memory_format=torch.channels_last)


def cached_teacher_logits(teacher: nn.Module, images: np.ndarray,
                          to_tensor: Callable[[np.ndarray], torch.Tensor], batch: int,
                          bf16: bool) -> torch.Tensor:
    """The teacher's logits for every image, un-augmented: float32 [N, classes], row i for images[i].

    images: uint8 [N, H, W, 3] (the training set); ``to_tensor`` normalises a batch of them as
    the student's input (``BatchPreparer.to_tensor``). Runs in batches of ``batch`` under bf16
    autocast when ``bf16``, with a progress bar (it takes about one epoch's worth of teacher
    forward passes, twice that with ``teacher_flip``).
    """
    from agilenn_ros.training.runtime_setup import autocast
    teacher.eval()
    rows = []
    for start in tqdm(range(0, len(images), batch), desc="teacher logits", unit="batch", leave=False,
                      mininterval=2.0):
        with torch.no_grad(), autocast(bf16):
            rows.append(teacher(to_tensor(images[start:start + batch])).float())
    if not rows:
        return torch.zeros((0, 0))
    return torch.cat(rows)


def distillation_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor,
                      temperature: float) -> torch.Tensor:
    """T^2 * KL(softmax(teacher / T) || softmax(student / T)), mean over the batch.

    Both logits [B, classes] (float32). Returns a scalar tensor; zero when the two agree.
    """
    t = float(temperature)
    log_student = F.log_softmax(student_logits / t, dim=1)
    log_teacher = F.log_softmax(teacher_logits / t, dim=1)
    return F.kl_div(log_student, log_teacher, reduction="batchmean", log_target=True) * (t * t)
