"""Training profiles: YAML files in config/ loaded (safe_load) into typed dataclasses.

No torch here: the runtime never reads a profile (bundles are self-describing), but the
CLI validates profiles without importing the training stack.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

CONFIG_DIR_ENV = "AGILENN_CONFIG_DIR"


class ProfileError(ValueError):
    """A profile file is missing, malformed or holds an invalid value."""


@dataclass(frozen=True)
class DataConfig:
    input_size: int = 96                 # square model input (pixels)
    mean: tuple[float, float, float] = (0.4914, 0.4822, 0.4465)
    std: tuple[float, float, float] = (0.2023, 0.1994, 0.2010)
    val_size: float = 0.1                # validation carved from train when there is no val/:
                                         # a fraction of every class (< 1) or a total image count (>= 1)
    flip: bool = True                    # random horizontal flip
    pad_crop: int = 4                    # pad-and-crop augmentation at source resolution (0: off)
    cutout: int = 0                      # side of a square filled with the mean colour, at source
                                         # resolution, random centre (DeVries & Taylor 2017; 0: off)


REMOTE_FAMILIES = ("resnet", "pooled", "mobilenetv2")


@dataclass(frozen=True)
class ModelConfig:
    channels: int = 24                   # C: feature channels
    k: int = 5                           # local (important) channels
    fe_hidden: int = 16                  # width of the first separable conv
    stride1: int = 3                     # first depthwise conv stride (kernel 3, no padding)
    stride2: int = 2                     # second depthwise conv stride (kernel 3, padding 1)
    centroids: int = 8                   # quantizer centroids (3 bits)
    remote: str = "resnet"               # remote predictor family: resnet | pooled | mobilenetv2
    remote_widths: tuple[int, ...] = (64, 128, 256)
    mobilenet_first_stride24: int = 1    # MobileNetV2 24-channel stage stride (CIFAR style: 1)
    fusion_temperature: float = 6.0      # alpha = sigmoid(w / T)
    quantizer_gradient: str = "ste"      # ste: straight-through (fast) | soft: soft-to-hard softmax (paper)
    flip_equivariant: bool = False       # mirror-symmetric depthwise kernels on a centred stride grid, so the
                                         # features of a mirrored image are the mirrored features: the edge
                                         # averages the remote network over the map and its mirror image


@dataclass(frozen=True)
class ImportanceConfig:
    steps: int = 1                       # integrated-gradients steps (1 = 2-point trapezoid)
    exact: bool = False                  # True: second-order gradients (paper); False: cheap
    level: str = "channel"               # disorder loss level: channel (paper) | element (code)
    rho: float = 0.9                     # skewness target
    lam: float = 0.3                     # lambda: weight of the prediction loss
    preselect: bool = True               # Algorithm 1 channel pre-selection before training
    preselect_batches: int = 20


@dataclass(frozen=True)
class ReferenceConfig:
    widths: tuple[int, ...] = (48, 96, 192)
    epochs: int = 8
    lr: float = 0.2


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 20
    batch_size: int = 256
    lr: float = 0.2
    momentum: float = 0.9
    weight_decay: float = 5e-4
    label_smoothing: float = 0.1
    warmup_epochs: float = 1.0
    bf16: bool = True                    # bfloat16 autocast on CPUs that support it
    threads: int = 0                     # 0: all cores
    seed: int = 0
    eval_batch_size: int = 500
    max_train_samples: int = 0           # 0: all (for quick experiments)
    ema_decay: float = 0.0               # > 0: evaluate and export an EMA of the weights (e.g. 0.998)
    max_minutes: float = 0.0             # > 0: wall-time cap of the run; a slower machine trains fewer epochs
    recipe: str = "cosine"               # cosine: warm-up then cosine (lr, weight_decay as in SGD);
                                         # speedrun: agilenn_ros.training.speedrun (lr, weight_decay
                                         # per 1024 examples, decoupled; triangle schedule, lookahead)
    local_ce_weight: float = 0.0         # > 0: extra cross-entropy on the local predictor alone (the
                                         # fallback when the link is down), times this weight
    rate_weight: float = 0.0             # > 0: adds this times the estimated bits per remote element
                                         # (losses.rate_bits) to the loss: a smaller payload
    rate_samples: int = 64               # images of each batch the rate is estimated on


@dataclass(frozen=True)
class DistillConfig:
    """Knowledge distillation (Hinton et al. 2015) of the fused prediction from a teacher network."""
    teacher: str = ""                    # baseline checkpoint (agilenn train-baseline --kind edge): best.pt
    weight: float = 0.0                  # share of the prediction loss taken from the teacher (0: off)
    temperature: float = 4.0             # softmax temperature of both teacher and student
    teacher_profile: str = ""            # the baseline profile that trains the teacher (named in the
                                         # hint when the teacher is missing); "" : looked up by name
    teacher_flip: bool = False           # the teacher's logits are its mean over the image and its
                                         # mirror image (needs data.flip)
    cache: bool = False                  # score every training image once, un-augmented, before the
                                         # first epoch and distill every view of it towards that


@dataclass(frozen=True)
class Profile:
    name: str
    dataset: str                         # cifar10 | digits | image_folder
    description: str = ""
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    importance: ImportanceConfig = field(default_factory=ImportanceConfig)
    reference: ReferenceConfig = field(default_factory=ReferenceConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    distill: DistillConfig = field(default_factory=DistillConfig)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @property
    def feature_size(self) -> int:
        """Spatial size of the feature map for this profile's input size and strides."""
        after1 = (self.data.input_size - 3) // self.model.stride1 + 1
        return (after1 + 2 - 3) // self.model.stride2 + 1


_SECTIONS: dict[str, type] = {
    "data": DataConfig, "model": ModelConfig, "importance": ImportanceConfig,
    "reference": ReferenceConfig, "train": TrainConfig, "distill": DistillConfig,
}


def _yaml_float(text: str) -> float | str:
    """A number YAML 1.1 (PyYAML) loads as a string, as a float: exponent form without a dot
    (``5e-4``, ``1e9``) and a signed fraction without a leading digit (``-.5``, ``+.5``); any other
    text unchanged (refused by the caller)."""
    stripped = text.strip()
    if stripped and stripped[0] in "+-.0123456789" and ("e" in stripped.lower() or stripped[:2] in ("-.", "+.")):
        try:
            return float(stripped)
        except ValueError:
            return text
    return text


def _build_section(cls: type, raw: Any, where: str) -> Any:
    if raw is None:
        return cls()
    if not isinstance(raw, dict):
        raise ProfileError(f"{where}: expected a mapping, got {type(raw).__name__}")
    known = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(raw) - set(known))
    if unknown:
        raise ProfileError(f"{where}: unknown key(s) {unknown}; known: {sorted(known)}")
    values: dict[str, Any] = {}
    for key, value in raw.items():
        default = getattr(cls(), key)
        if isinstance(default, tuple):
            if not isinstance(value, (list, tuple)):
                raise ProfileError(f"{where}.{key}: expected a list")
            value = tuple(value)
        elif isinstance(default, bool):
            if not isinstance(value, bool):
                raise ProfileError(f"{where}.{key}: expected true/false, got {value!r}")
        elif isinstance(default, (int, float)) and not isinstance(default, bool):
            if isinstance(value, str):
                value = _yaml_float(value)   # YAML 1.1 reads 5e-4 and 1e9 (no dot) as text
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                raise ProfileError(f"{where}.{key}: expected a number, got {value!r}")
            if not math.isfinite(value):   # .inf / .nan in YAML: no setting means that
                raise ProfileError(f"{where}.{key}: expected a finite number, got {value!r}")
            if isinstance(default, int) and value != int(value):
                raise ProfileError(f"{where}.{key}: expected a whole number, got {value!r}")
            value = type(default)(value)
        elif isinstance(default, str) and not isinstance(value, str):
            raise ProfileError(f"{where}.{key}: expected a string, got {value!r}")
        values[key] = value
    return cls(**values)


def profile_from_dict(raw: dict[str, Any], name: str) -> Profile:
    if not isinstance(raw, dict):
        raise ProfileError(f"profile {name}: top level must be a mapping")
    allowed = {"name", "dataset", "description", *_SECTIONS}
    unknown = sorted(set(raw) - allowed)
    if "kinds" in unknown:
        raise ProfileError(f"profile {name} is a baseline profile (it has 'kinds'): use it with agilenn "
                           "train-baseline, not with the AgileNN commands")
    if unknown:
        raise ProfileError(f"profile {raw.get('name', name)}: unknown key(s) {unknown}; known: {sorted(allowed)}")
    dataset = raw.get("dataset")
    if dataset not in ("cifar10", "digits", "image_folder"):
        raise ProfileError(f"profile {name}: dataset must be cifar10, digits or image_folder")
    shown = str(raw.get("name", name))   # type errors name the profile as the range checks do
    sections = {key: _build_section(cls, raw.get(key), f"profile {shown}: {key}") for key, cls in _SECTIONS.items()}
    profile = Profile(name=str(raw.get("name", name)), dataset=dataset,
                      description=str(raw.get("description", "")), **sections)
    _validate(profile)
    return profile


def _validate(p: Profile) -> None:
    m, imp = p.model, p.importance
    if not 0 < m.k < m.channels:
        raise ProfileError(f"profile {p.name}: need 0 < k < channels (k={m.k}, channels={m.channels})")
    if not 2 <= m.centroids <= 256:
        raise ProfileError(f"profile {p.name}: centroids must be in 2..256")
    if m.remote not in REMOTE_FAMILIES:
        raise ProfileError(f"profile {p.name}: model.remote must be one of {', '.join(REMOTE_FAMILIES)}, not {m.remote!r}")
    check_widths(m.remote_widths, f"profile {p.name}: model.remote_widths")
    if m.quantizer_gradient not in ("ste", "soft"):
        raise ProfileError(f"profile {p.name}: model.quantizer_gradient must be ste or soft")
    if imp.level not in ("channel", "element"):
        raise ProfileError(f"profile {p.name}: importance.level must be channel or element")
    if not 0.0 < imp.lam <= 1.0 or not 0.0 < imp.rho <= 1.0 or imp.steps < 1:
        raise ProfileError(f"profile {p.name}: need 0 < lam <= 1, 0 < rho <= 1, steps >= 1")
    if not p.train.max_minutes >= 0.0:
        raise ProfileError(f"profile {p.name}: train.max_minutes must be >= 0 (0: no cap), not {shown_number(p.train.max_minutes)}")
    check_train_section(p.train, f"profile {p.name}: train")
    if not 0.0 <= p.train.ema_decay < 1.0:
        raise ProfileError(f"profile {p.name}: train.ema_decay must be in [0, 1) (0: off), not {shown_number(p.train.ema_decay)}")
    if not p.train.local_ce_weight >= 0.0:
        raise ProfileError(f"profile {p.name}: train.local_ce_weight must be >= 0, not {shown_number(p.train.local_ce_weight)}")
    if not p.train.rate_weight >= 0.0:
        raise ProfileError(f"profile {p.name}: train.rate_weight must be >= 0 (0: off), not {shown_number(p.train.rate_weight)}")
    if p.train.rate_samples < 1:
        raise ProfileError(f"profile {p.name}: train.rate_samples must be >= 1, not {p.train.rate_samples}")
    if not 0.0 <= p.distill.weight <= 1.0:
        raise ProfileError(f"profile {p.name}: distill.weight must be in [0, 1] (0: off), not {shown_number(p.distill.weight)}")
    if not p.distill.temperature > 0.0:
        raise ProfileError(f"profile {p.name}: distill.temperature must be > 0, not {shown_number(p.distill.temperature)}")
    if p.distill.teacher_flip and not p.data.flip:
        raise ProfileError(f"profile {p.name}: distill.teacher_flip needs data.flip: true (the teacher's mirror "
                           "image must be the same class, and the student must see mirrored images)")
    check_data_section(p.data, f"profile {p.name}: data")
    if p.feature_size < 1:
        raise ProfileError(f"profile {p.name}: data.input_size {p.data.input_size} is too small for the strides "
                           f"({m.stride1}, {m.stride2})")
    check_pooled_widths(m.remote, m.remote_widths, p.feature_size, f"profile {p.name}: model")
    if m.flip_equivariant:
        needs_flip = "" if p.data.flip else (
            "data.flip: true (the edge scores every frame's mirror image too: the classes must not depend on left "
            "and right, and the network must have seen mirrored images)")
        try:
            check_mirror_grid(p.data.input_size, m.stride1, m.stride2, f"profile {p.name}: model.flip_equivariant")
        except ProfileError as exc:   # both problems in one line
            raise ProfileError(f"{exc}{'; it also needs ' + needs_flip if needs_flip else ''}") from None
        if needs_flip:
            raise ProfileError(f"profile {p.name}: model.flip_equivariant needs {needs_flip}")


def check_mirror_grid(input_size: int, stride1: int, stride2: int, where: str) -> None:
    """Both depthwise layers must sample a grid that is its own mirror image: a kernel-3 layer
    (padding p) on n columns with stride s does when (n + 2p - 3) is a multiple of s (its last
    window ends on the last column). Otherwise mirroring the image shifts the grid and the
    features of a mirrored image are not the mirrored features."""
    after1 = (input_size - 3) // stride1 + 1
    problems = []
    if (input_size - 3) % stride1:
        problems.append(f"layer 1 (stride {stride1}, no padding) on {input_size} columns")
    if (after1 + 2 - 3) % stride2:
        problems.append(f"layer 2 (stride {stride2}, padding 1) on {after1} columns")
    if problems:
        fixes = []
        if (input_size - 3) % stride1:
            fixes.append(f"an input_size n with n - 3 a multiple of stride1 (e.g. {input_size - (input_size - 3) % stride1})")
        if (after1 + 2 - 3) % stride2:
            fixes.append("stride2: 1")
        raise ProfileError(f"{where} needs mirror-symmetric sampling grids; not so for "
                           f"{' and '.join(problems)}: use {' and '.join(fixes)}")


def shown_number(value: float | int) -> str:
    """A profile number as its YAML most likely wrote it, for error messages: whole numbers without
    ``.0`` (the profile converts ``-1`` to ``-1.0``), others in Python's shortest exact form."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return repr(value) if isinstance(value, float) else str(value)


def check_widths(widths: tuple[int, ...], where: str) -> None:
    """A network's stage widths: at least one, each a channel count >= 1."""
    if not widths or any(w < 1 for w in widths):
        raise ProfileError(f"{where} must be a non-empty list of channel counts >= 1, not {list(widths)}")


def check_train_section(train: TrainConfig, where: str) -> None:
    """The training recipe is one of RECIPES; the speed-run recipe needs momentum in [0, 1);
    epochs >= 1, label smoothing in [0, 1), weight decay >= 0."""
    recipes = ("cosine", "speedrun")
    if train.epochs < 1:
        raise ProfileError(f"{where}.epochs must be >= 1, not {train.epochs}")
    if not 0.0 <= train.label_smoothing < 1.0:
        raise ProfileError(f"{where}.label_smoothing must be in [0, 1) (0: off), not {shown_number(train.label_smoothing)}")
    if not train.weight_decay >= 0.0:
        raise ProfileError(f"{where}.weight_decay must be >= 0, not {shown_number(train.weight_decay)}")
    if not train.lr > 0.0:
        raise ProfileError(f"{where}.lr must be > 0, not {shown_number(train.lr)}")
    if train.batch_size < 1:
        raise ProfileError(f"{where}.batch_size must be >= 1, not {train.batch_size}")
    if train.recipe not in recipes:
        raise ProfileError(f"{where}.recipe must be one of {', '.join(recipes)}, not {train.recipe!r}")
    if train.recipe == "speedrun" and not 0.0 <= train.momentum < 1.0:
        raise ProfileError(f"{where}.momentum must be in [0, 1) for the speedrun recipe, not {shown_number(train.momentum)}")


def check_data_section(data: DataConfig, where: str) -> None:
    """Normalisation and augmentation: mean and std have one value per colour channel (RGB), std
    > 0; val_size is a fraction or an image count; pad_crop and cutout are pixel counts at source
    resolution, >= 0 (0: off); input_size >= 1."""
    for name in ("mean", "std"):
        values = getattr(data, name)
        if len(values) != 3:
            raise ProfileError(f"{where}.{name} must have 3 values (R, G, B), not {list(values)}")
    if any(not v > 0 for v in data.std):
        raise ProfileError(f"{where}.std must be > 0 in every channel, not {list(data.std)}")
    if data.input_size < 1:
        raise ProfileError(f"{where}.input_size must be >= 1, not {data.input_size}")
    v = data.val_size
    if not v > 0 or (v >= 1 and v != int(v)):
        raise ProfileError(f"{where}.val_size must be a fraction (0 < v < 1) or a whole number of images "
                           f"(>= 1), not {shown_number(v)}")
    for name in ("pad_crop", "cutout"):
        value = getattr(data, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ProfileError(f"{where}.{name} must be a whole number of pixels >= 0 (0: off), not {value!r}")


def check_pooled_widths(family: str, widths: tuple[int, ...], feature_size: int, where: str) -> None:
    """A pooled body halves the feature map once per width: it needs 2**len(widths) <= size."""
    if family == "pooled" and 2 ** len(widths) > feature_size:
        raise ProfileError(f"{where}: a pooled remote with {len(widths)} widths needs features of at least "
                           f"{2 ** len(widths)}x{2 ** len(widths)}, these are {feature_size}x{feature_size}")


def config_dir() -> Path:
    """config/ of a source checkout, or the installed share/agilenn_ros/config."""
    import os
    env = os.environ.get(CONFIG_DIR_ENV)
    if env:
        return Path(env)
    here = Path(__file__).resolve().parent
    for candidate in (here.parent / "config", here / "config"):
        if candidate.is_dir():
            return candidate
    try:  # installed ROS 2 package
        from ament_index_python.packages import get_package_share_directory  # type: ignore
        return Path(get_package_share_directory("agilenn_ros")) / "config"
    except Exception:  # noqa: BLE001 - ament_index missing or package not installed
        return here.parent / "config"


def available_profiles() -> list[str]:
    """Training profiles in the config folder (node parameter files, which hold
    ``ros__parameters``, are not profiles)."""
    return sorted(p.name[: -len(".yaml")] for p in config_dir().glob("*.yaml")
                  if not p.name.startswith("params") and "ros__parameters" not in p.read_text(encoding="utf-8"))


def load_profile(name_or_path: str) -> Profile:
    """Load a profile by name (config/<name>.yaml) or by path to a YAML file."""
    path = Path(name_or_path)
    if not path.suffix:
        path = config_dir() / f"{name_or_path}.yaml"
    if not path.is_file():
        raise ProfileError(f"no profile {name_or_path!r}; available: {', '.join(available_profiles())}")
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ProfileError(f"{path}: invalid YAML: {exc}") from exc
    try:
        return profile_from_dict(raw, path.stem)
    except ProfileError as exc:   # name the file: several files may carry the same name:
        raise ProfileError(f"{path}: {exc}") from None
