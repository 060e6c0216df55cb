"""Checkpoint files of a training run: atomic writes, readable errors, and the identity check
that keeps a run from being resumed, reused or exported with another profile or other data.

Every checkpoint written by ``agilenn train`` (``reference.pt``, ``last.pt``, ``best.pt``) records
the profile, the class names and a fingerprint of the training and validation images
(:meth:`agilenn_ros.data.training_data.TrainingData.identity`).
"""
from __future__ import annotations

import dataclasses
import os
import pickle
import zipfile
from pathlib import Path
from typing import Any

import torch

from agilenn_ros.config import DataConfig, DistillConfig, ImportanceConfig, ModelConfig, Profile, ReferenceConfig, TrainConfig

# Settings that may change when a run is resumed (more epochs, other thread count).
RESUMABLE_TRAIN_KEYS = ("epochs", "threads", "eval_batch_size", "max_minutes")
REFERENCE_MODEL_KEYS = ("channels", "fe_hidden", "stride1", "stride2")


class CheckpointError(ValueError):
    """A checkpoint is unreadable, of the wrong kind, or does not match this run."""


def short_list(items: Any, shown: int = 6) -> str:
    """``[a, b, ...] (N)`` for messages: the first ``shown`` items, and the count when cut."""
    items = list(items)
    head = ", ".join(repr(item) for item in items[:shown])
    return f"[{head}]" if len(items) <= shown else f"[{head}, ...] ({len(items)})"


def atomic_save(obj: Any, path: Path) -> None:
    """torch.save to a temporary file beside ``path``, then rename: a kill never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        torch.save(obj, tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def read_checkpoint(path: Path) -> dict[str, Any]:
    """The dict stored in ``path``; CheckpointError (one line) for anything else."""
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=False)
    except (pickle.UnpicklingError, RuntimeError, EOFError, zipfile.BadZipFile, OSError, ValueError,
            AttributeError, ModuleNotFoundError, TypeError) as exc:
        raise CheckpointError(f"{path}: not a readable checkpoint ({str(exc).splitlines()[0][:120]})") from None
    if not isinstance(ckpt, dict):
        raise CheckpointError(f"{path}: not a checkpoint written by agilenn")
    return ckpt


def checkpoint_kind(ckpt: dict[str, Any]) -> str:
    """"agilenn" (best.pt/last.pt), "reference" (reference.pt), "baseline" or "unknown"."""
    if "model" in ckpt and "reference_body" in ckpt:
        return "agilenn"
    if "state_dict" in ckpt and "kind" in ckpt:
        return "baseline"
    if "state_dict" in ckpt and "class_names" in ckpt:
        return "reference"
    return "unknown"


def _profile_view(profile: dict[str, Any], reference: bool) -> dict[str, Any]:
    if reference:
        return {"name": profile.get("name"), "data": profile.get("data"), "reference": profile.get("reference"),
                "model": {k: (profile.get("model") or {}).get(k) for k in REFERENCE_MODEL_KEYS}}
    view = {k: v for k, v in profile.items() if k not in ("description",)}
    # settings added after a checkpoint was written compare at their defaults (e.g. a run started
    # before model.flip_equivariant existed resumes under a profile that leaves it off)
    for section, cls in (("data", DataConfig), ("model", ModelConfig), ("importance", ImportanceConfig),
                         ("reference", ReferenceConfig)):
        if isinstance(profile.get(section), dict):
            view[section] = {**dataclasses.asdict(cls()), **profile[section]}
    train = {**dataclasses.asdict(TrainConfig()), **(profile.get("train") or {})}
    view["train"] = {k: v for k, v in train.items() if k not in RESUMABLE_TRAIN_KEYS}
    # the teacher's path (and the hint naming its profile) may move between runs; its weight and
    # temperature may not
    distill = {**dataclasses.asdict(DistillConfig()), **(profile.get("distill") or {})}
    view["distill"] = {k: v for k, v in distill.items() if k not in ("teacher", "teacher_profile")}
    return view


def baseline_resume_problem(saved: dict[str, Any], profile: dict[str, Any], kind: str, path: Path) -> str | None:
    """One line saying why a baseline checkpoint's embedded profile ``saved`` cannot be resumed
    under ``profile`` (both ``BaselineProfile.to_dict()`` form) for ``kind``; None when it can.

    Compared: the data section, the train section except the keys a resume may change
    (RESUMABLE_TRAIN_KEYS) and the kind's network except its ``epochs`` and ``flip_tta`` (an
    evaluation-time pass: it changes which epoch validates best, not the training), each with settings added
    after the checkpoint was written at their defaults. The profile's name and the other kinds
    may change.
    """
    from agilenn_ros.baseline_config import BaselineNet

    def view(p: dict[str, Any]) -> dict[str, Any]:
        train = {**dataclasses.asdict(TrainConfig()), **(p.get("train") or {})}
        net = {**dataclasses.asdict(BaselineNet()), **((p.get("kinds") or {}).get(kind) or {})}
        return {"data": {**dataclasses.asdict(DataConfig()), **(p.get("data") or {})},
                "train": {k: v for k, v in train.items() if k not in RESUMABLE_TRAIN_KEYS},
                f"kinds.{kind}": {k: v for k, v in net.items() if k not in ("epochs", "flip_tta")}}

    diff = _differences(view(saved), view(profile))
    if diff:
        return f"{path} was made with other profile settings ({_listed(diff)})"
    return None


def _listed(keys: list[str], shown: int = 4) -> str:
    """The first ``shown`` keys, and how many more there are."""
    more = f" and {len(keys) - shown} more" if len(keys) > shown else ""
    return ", ".join(keys[:shown]) + more


def _differences(a: Any, b: Any, prefix: str = "") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        keys = sorted(set(a) | set(b))
        out: list[str] = []
        for key in keys:
            out += _differences(a.get(key), b.get(key), f"{prefix}{key}.")
        return out
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        a, b = list(a), list(b)
    return [] if a == b else [prefix.rstrip(".")]


def identity_problem(ckpt: dict[str, Any], profile: Profile, identity: dict[str, Any], path: Path,
                     reference: bool = False) -> str | None:
    """One line saying why ``ckpt`` does not belong to this run (None when it does)."""
    saved = ckpt.get("profile") or {}
    if saved.get("name") != profile.name:
        return f"{path} belongs to a run of profile {saved.get('name')!r}, not {profile.name!r}"
    diff = _differences(_profile_view(saved, reference), _profile_view(profile.to_dict(), reference))
    if diff:
        return f"{path} was made with other profile settings ({_listed(diff)})"
    classes = list(ckpt.get("class_names") or [])
    if classes != list(identity["classes"]):
        return f"{path} was trained on classes {short_list(classes)} but the data has {short_list(identity['classes'])}"
    saved_id = ckpt.get("identity") or {}
    if saved_id.get("fingerprint") and saved_id["fingerprint"] != identity["fingerprint"]:
        return (f"{path} was trained on other images ({saved_id.get('train_images')} train / "
                f"{saved_id.get('val_images')} val from {saved_id.get('data')}; now {identity['train_images']} / "
                f"{identity['val_images']} from {identity['data']})")
    return None
