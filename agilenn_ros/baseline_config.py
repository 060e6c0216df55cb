"""Baseline profiles for the side-by-side benchmark: ``config/baselines/<name>.yaml``.

One file per dataset holds the data and training settings shared with AgileNN's profile and
one network per baseline kind:

* ``edge``: the full network the edge runs on images (edge-only offloading);
* ``local``: a whole network small enough for the microcontroller (MCUNet's role);
* ``split``: a network cut after an early layer, the device sends its int8 activations
  (plain split computing, Neurosurgeon's role). ``cut`` counts the body modules that run on
  the device after the stem (0: cut right after the stem).

Every network is the project's stem (the AgileNN feature extractor's two separable
convolutions, same strides) followed by a remote-predictor family body. No torch here.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from agilenn_ros.config import (REMOTE_FAMILIES, DataConfig, ProfileError, TrainConfig, _build_section, check_widths,
                                check_data_section, check_pooled_widths, check_train_section,
                                config_dir)

KINDS = ("edge", "local", "split")
# TrainConfig keys that only AgileNN's trainer reads: a baseline profile that sets them to anything
# but the default is refused rather than silently ignored.
AGILENN_ONLY_TRAIN_KEYS = ("local_ce_weight", "rate_weight", "rate_samples")


@dataclass(frozen=True)
class BaselineNet:
    fe_hidden: int = 16                  # stem: separable conv 3 -> fe_hidden (stride1)
    channels: int = 24                   # stem: separable conv fe_hidden -> channels (stride2)
    stride1: int = 3
    stride2: int = 2
    family: str = "resnet"               # body: resnet | pooled | mobilenetv2 (as the remote predictor)
    widths: tuple[int, ...] = (48, 96, 192)
    cut: int = 0                         # split only: body modules on the device after the stem
    epochs: int = 0                      # 0: the profile's train.epochs
    lr: float = 0.0                      # 0: the profile's train.lr
    flip_tta: bool = False               # edge only: average the logits of the image and its mirror image
                                         # (flip test-time augmentation, twice the edge's work)


@dataclass(frozen=True)
class BaselineProfile:
    name: str
    dataset: str
    description: str = ""
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    kinds: dict[str, BaselineNet] = field(default_factory=dict)

    def net(self, kind: str) -> BaselineNet:
        if kind not in self.kinds:
            raise ProfileError(f"baseline profile {self.name} has no kind {kind!r}; it has {sorted(self.kinds)}")
        return self.kinds[kind]

    def to_dict(self) -> dict[str, Any]:
        import dataclasses
        return dataclasses.asdict(self)

    def feature_size(self, kind: str) -> int:
        net = self.net(kind)
        after1 = (self.data.input_size - 3) // net.stride1 + 1
        return (after1 + 2 - 3) // net.stride2 + 1


def baseline_profile_from_dict(raw: Any, name: str) -> BaselineProfile:
    if not isinstance(raw, dict):
        raise ProfileError(f"baseline profile {name}: top level must be a mapping")
    stem, name = name, str(raw.get("name", name))   # errors name the profile as its other messages and runs do
    where = f"baseline profile {name}: "
    unknown = sorted(set(raw) - {"name", "dataset", "description", "data", "train", "kinds"})
    if unknown:
        if {"model", "importance"} & set(unknown):
            raise ProfileError(f"profile {name} is an AgileNN profile (it has 'model'/'importance'): use it with "
                               "agilenn train; train-baseline takes a baseline profile (config/baselines/)")
        raise ProfileError(f"baseline profile {name}: unknown key(s) {unknown}")
    train_raw = raw.get("train")
    # Only a value other than the default is refused: checkpoints embed the whole train section,
    # defaults included, and must keep loading.
    agilenn_only = sorted(key for key in AGILENN_ONLY_TRAIN_KEYS if isinstance(train_raw, dict) and key in train_raw
                          and train_raw[key] != getattr(TrainConfig, key))
    if agilenn_only:
        raise ProfileError(f"baseline profile {name}: train.{', train.'.join(agilenn_only)}: AgileNN-only "
                           "(its local predictor and offloaded payload); a baseline network has neither and would "
                           "ignore the setting: remove it from the profile")
    kinds_raw = raw.get("kinds") or {}
    if not isinstance(kinds_raw, dict) or not kinds_raw:
        raise ProfileError(f"baseline profile {name}: 'kinds' must map {', '.join(KINDS)} to networks")
    bad = sorted(set(kinds_raw) - set(KINDS))
    if bad:
        raise ProfileError(f"baseline profile {name}: unknown kind(s) {bad}; known: {', '.join(KINDS)}")
    kinds = {kind: _build_section(BaselineNet, value, f"{where}kinds.{kind}") for kind, value in kinds_raw.items()}
    for kind, net in kinds.items():
        if net.family not in REMOTE_FAMILIES:
            raise ProfileError(f"{where}kinds.{kind}.family must be one of {', '.join(REMOTE_FAMILIES)}")
        check_widths(tuple(net.widths), f"{where}kinds.{kind}.widths")
        if net.cut < 0:
            raise ProfileError(f"{where}kinds.{kind}.cut must be >= 0 (body modules on the device after the "
                               f"stem), not {net.cut}")
        if net.flip_tta and kind != "edge":
            raise ProfileError(f"{where}kinds.{kind}.flip_tta: only the edge kind averages over the mirror image "
                               f"(the {kind} network runs on the device, where it would double the work)")
    profile = BaselineProfile(name=name, dataset=str(raw.get("dataset", stem)),
                              description=str(raw.get("description", "")),
                              data=_build_section(DataConfig, raw.get("data"), f"{where}data"),
                              train=_build_section(TrainConfig, raw.get("train"), f"{where}train"), kinds=kinds)
    check_data_section(profile.data, f"{where}data")
    check_train_section(profile.train, f"{where}train")
    for kind in kinds:
        if profile.feature_size(kind) < 1:
            raise ProfileError(f"{where}kinds.{kind}: input_size too small for the strides")
        net = kinds[kind]
        check_pooled_widths(net.family, tuple(net.widths), profile.feature_size(kind), f"{where}kinds.{kind}")
    return profile


def baseline_profiles_dir() -> Path:
    return config_dir() / "baselines"


def load_baseline_profile(name_or_path: str) -> BaselineProfile:
    """``config/baselines/<name>.yaml`` or a YAML path."""
    path = Path(name_or_path)
    if not path.suffix:
        path = baseline_profiles_dir() / f"{name_or_path}.yaml"
    if not path.is_file():
        known = sorted(p.stem for p in baseline_profiles_dir().glob("*.yaml"))
        raise ProfileError(f"no baseline profile {name_or_path!r}; available: {', '.join(known) or '(none)'}")
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ProfileError(f"{path}: invalid YAML: {exc}") from exc
    try:
        return baseline_profile_from_dict(raw, path.stem)
    except ProfileError as exc:   # name the file: several files may carry the same name:
        raise ProfileError(f"{path}: {exc}") from None
