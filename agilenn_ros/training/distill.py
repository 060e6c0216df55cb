"""Knowledge distillation of AgileNN's fused prediction from a teacher network.

The teacher is one of the project's own baseline networks (``agilenn train-baseline --kind edge``:
the edge-only network on raw images), frozen. The loss is Hinton et al.'s (2015): the
Kullback-Leibler divergence between the temperature-softened class distributions, times T^2 so
that its gradient keeps the cross-entropy's scale when T changes.
"""
from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from agilenn_ros.config import Profile
from agilenn_ros.training.checkpoints import CheckpointError, checkpoint_kind, read_checkpoint, short_list

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
    mismatch = [name for name, ours, theirs in (
        ("input_size", profile.data.input_size, data.input_size),
        ("mean", tuple(profile.data.mean), tuple(data.mean)),
        ("std", tuple(profile.data.std), tuple(data.std))) if ours != theirs]
    if mismatch:
        raise CheckpointError(f"distillation teacher {path} sees other inputs ({', '.join(mismatch)} differ "
                              f"from profile {profile.name})")
    if class_names is not None and list(ckpt["class_names"]) != list(class_names):
        raise CheckpointError(f"distillation teacher {path} was trained on classes {short_list(ckpt['class_names'])}, "
                              f"this run has {short_list(class_names)}")
    net = BaselineNetwork(teacher_profile.net(ckpt["kind"]), len(ckpt["class_names"]))
    net.load_state_dict(ckpt["state_dict"])
    return frozen_teacher(net)


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


def distillation_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor,
                      temperature: float) -> torch.Tensor:
    """T^2 * KL(softmax(teacher / T) || softmax(student / T)), mean over the batch.

    Both logits [B, classes] (float32). Returns a scalar tensor; zero when the two agree.
    """
    t = float(temperature)
    log_student = F.log_softmax(student_logits / t, dim=1)
    log_teacher = F.log_softmax(teacher_logits / t, dim=1)
    return F.kl_div(log_student, log_teacher, reduction="batchmean", log_target=True) * (t * t)
