from pathlib import Path

import pytest
import yaml

from agilenn_ros.config import ProfileError, available_profiles, config_dir, load_profile, profile_from_dict


def test_shipped_profiles_load() -> None:
    names = available_profiles()
    assert {"cifar10", "cifar10-paper", "digits"} <= set(names)
    assert not {"device", "edge"} & set(names)   # node parameter files, not training profiles
    cifar = load_profile("cifar10")
    assert (cifar.data.input_size, cifar.model.channels, cifar.model.k, cifar.model.centroids) == (96, 24, 5, 8)
    assert cifar.feature_size == 16
    assert load_profile("cifar10-paper").feature_size == 32
    assert load_profile("digits").feature_size == 4


def test_unknown_profile_lists_available() -> None:
    with pytest.raises(ProfileError, match="available"):
        load_profile("no-such-profile")


@pytest.mark.parametrize("raw, message", [
    ({"dataset": "cifar10", "model": {"k": 30}}, "k < channels"),
    ({"dataset": "cifar10", "model": {"kk": 3}}, "unknown key"),
    ({"dataset": "cifar10", "kinds": {"edge": {}}}, "is a baseline profile .* use it with agilenn train-baseline"),
    ({"dataset": "cifar10", "train": {"epochs": "ten"}}, "expected a number"),
    ({"dataset": "mnist"}, "dataset must be"),
    ({"dataset": "cifar10", "importance": {"level": "pixel"}}, "importance.level"),
    ({"dataset": "cifar10", "model": {"quantizer_gradient": "gumbel"}}, "quantizer_gradient"),
    ({"dataset": "cifar10", "train": {"ema_decay": 1.0}}, "ema_decay"),
    ({"dataset": "cifar10", "data": {"cutout": -2}}, "data.cutout must be a whole number of pixels >= 0"),
    ({"dataset": "cifar10", "data": {"pad_crop": -1}}, "data.pad_crop must be a whole number of pixels >= 0"),
    ({"dataset": "cifar10", "data": {"cutout": 1.5}}, "data.cutout: expected a whole number, got 1.5"),
    ({"dataset": "cifar10", "train": {"epochs": 10.5}}, "train.epochs: expected a whole number"),
    ({"dataset": "cifar10", "model": {"remote": "vgg"}}, "remote must be one of resnet, pooled, mobilenetv2"),
    ({"dataset": "cifar10", "model": {"remote": "pooled", "remote_widths": [8, 8, 8, 8, 8]}},
     "needs features of at least 32x32, these are 16x16"),
])
def test_invalid_profiles_raise(raw: dict, message: str) -> None:
    with pytest.raises(ProfileError, match=message):
        profile_from_dict(raw, "bad")


def test_profile_yaml_syntax_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("dataset: [unclosed")
    with pytest.raises(ProfileError, match="invalid YAML"):
        load_profile(str(bad))


def test_errors_name_the_file_not_only_the_profile_name(tmp_path: Path) -> None:
    candidate = tmp_path / "cifar10-wide.yaml"
    candidate.write_text("name: cifar10\ndataset: cifar10\nimportance: {rho: 1.5}\n")
    with pytest.raises(ProfileError) as caught:
        load_profile(str(candidate))
    assert str(caught.value).startswith(f"{candidate}: profile cifar10:")


def test_committed_candidate_profiles_load() -> None:
    from agilenn_ros.baseline_config import load_baseline_profile
    candidates = config_dir() / "candidates"
    agilenn = sorted(candidates.glob("*.yaml"))
    edge = sorted((candidates / "baselines").glob("*.yaml"))
    assert agilenn and edge
    for path in agilenn:
        assert load_profile(str(path)).dataset == "cifar10"
    for path in edge:
        assert load_baseline_profile(str(path)).net("edge").widths


def test_exponent_numbers_without_a_dot_are_numbers() -> None:
    # PyYAML (YAML 1.1) loads 5e-4 and 1e9 as strings; a profile means numbers there
    profile = profile_from_dict(yaml.safe_load("name: p\ndataset: digits\ntrain: {weight_decay: 5e-4, max_minutes: 1e2}\n"), "p")
    assert (profile.train.weight_decay, profile.train.max_minutes) == (5e-4, 100.0)
    assert profile_from_dict({"name": "p", "dataset": "digits", "train": {"epochs": "2e1"}}, "p").train.epochs == 20
    with pytest.raises(ProfileError, match="expected a whole number"):
        profile_from_dict({"name": "p", "dataset": "digits", "train": {"epochs": "2.5e0"}}, "p")
    for text in ("abc", "e5", "1e", "ten"):
        with pytest.raises(ProfileError, match="expected a number"):
            profile_from_dict({"name": "p", "dataset": "digits", "train": {"lr": text}}, "p")


@pytest.mark.parametrize("key,value", [("rate_weight", 0.02), ("local_ce_weight", 0.3), ("rate_samples", 32)])
def test_baseline_profiles_refuse_agilenn_only_training_keys(key: str, value: float) -> None:
    from agilenn_ros.baseline_config import baseline_profile_from_dict, load_baseline_profile
    raw = yaml.safe_load((config_dir() / "baselines" / "cifar10.yaml").read_text())
    baseline_profile_from_dict(raw, "cifar10")
    raw["train"][key] = value
    with pytest.raises(ProfileError, match=f"train.{key}: AgileNN-only.*remove it from the profile"):
        baseline_profile_from_dict(raw, "cifar10")
    assert load_baseline_profile("cifar10").train.rate_weight == 0.0
    # the default value is accepted: checkpoints embed the whole train section, defaults included
    raw["train"][key] = {"rate_weight": 0.0, "local_ce_weight": 0.0, "rate_samples": 64}[key]
    baseline_profile_from_dict(raw, "cifar10")


def test_type_and_range_errors_name_the_profile_alike(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import pytest

    from agilenn_ros.baseline_config import load_baseline_profile
    from agilenn_ros.config import ProfileError, load_profile
    typed, ranged = tmp_path / "file_a.yaml", tmp_path / "file_b.yaml"
    typed.write_text("name: mine\ndataset: digits\ntrain:\n  rate_samples: 2.5\n")
    ranged.write_text("name: mine\ndataset: digits\ntrain:\n  rate_weight: -1\n")
    for path, key in ((typed, "train.rate_samples"), (ranged, "train.rate_weight")):
        with pytest.raises(ProfileError) as info:
            load_profile(str(path))
        assert str(info.value).startswith(f"{path}: profile mine: {key}")
    base = tmp_path / "file_c.yaml"
    base.write_text("name: bmine\ndataset: digits\ntrain:\n  epochs: 1.5\nkinds:\n  edge: {}\n")
    with pytest.raises(ProfileError, match=r"baseline profile bmine: train.epochs: expected a whole number"):
        load_baseline_profile(str(base))
    base.write_text("name: bmine\ndataset: digits\nkinds:\n  local: {flip_tta: true}\n")
    with pytest.raises(ProfileError, match=r"baseline profile bmine: kinds.local.flip_tta"):
        load_baseline_profile(str(base))


def test_values_that_would_crash_training_are_refused_at_load() -> None:
    import pytest

    from agilenn_ros.baseline_config import baseline_profile_from_dict
    from agilenn_ros.config import ProfileError, profile_from_dict
    base = {"name": "p", "dataset": "digits"}
    cases = [
        ({"data": {"mean": [0.5, 0.5]}}, r"profile p: data.mean must have 3 values"),
        ({"data": {"std": [0.2, 0.0, 0.2]}}, r"profile p: data.std must be > 0"),
        ({"data": {"val_size": -3}}, r"profile p: data.val_size must be a fraction"),
        ({"data": {"input_size": 2}}, r"profile p: data.input_size 2 is too small for the strides"),
        ({"train": {"label_smoothing": 1.5}}, r"profile p: train.label_smoothing must be in \[0, 1\)"),
        ({"train": {"weight_decay": -1}}, r"profile p: train.weight_decay must be >= 0"),
        ({"train": {"epochs": 0}}, r"profile p: train.epochs must be >= 1"),
        ({"model": {"remote": "vgg"}}, r"profile p: model.remote must be one of .*not 'vgg'"),
        ({"model": {"remote_widths": [8, -16, 32]}}, r"profile p: model.remote_widths must be a non-empty list"),
        ({"distill": {"weight": -0.5}}, r"profile p: distill.weight must be in \[0, 1\] \(0: off\), not -0.5"),
        ({"distill": {"temperature": 0}}, r"profile p: distill.temperature must be > 0, not 0"),
        ({"foo": 1}, r"profile p: unknown key\(s\) \['foo'\]"),
    ]
    for extra, message in cases:
        with pytest.raises(ProfileError, match=message):
            profile_from_dict({**base, **extra}, "file_stem")
    kinds = {"kinds": {"local": {"widths": [8, -16, 32]}}}
    with pytest.raises(ProfileError, match=r"baseline profile p: kinds.local.widths must be a non-empty list"):
        baseline_profile_from_dict({**base, **kinds}, "p")
    for extra, message in (({"data": {"mean": [0.5]}}, r"baseline profile p: data.mean must have 3 values"),
                           ({"data": {"val_size": -3}}, r"baseline profile p: data.val_size"),
                           ({"train": {"label_smoothing": 1.5}}, r"baseline profile p: train.label_smoothing")):
        with pytest.raises(ProfileError, match=message):
            baseline_profile_from_dict({**base, **extra, "kinds": {"edge": {}}}, "p")


def test_range_errors_show_numbers_as_written() -> None:
    from agilenn_ros.config import shown_number
    assert [shown_number(v) for v in (-1.0, 0.0, 1.0000001, -0.1234567, -0.001, 5)] == \
        ["-1", "0", "1.0000001", "-0.1234567", "-0.001", "5"]


def test_signed_fractions_without_a_leading_digit_are_numbers() -> None:
    # PyYAML loads -.5 and +.5 as strings (.5 as a float): the range check, not a type error, speaks
    raw = yaml.safe_load("name: p\ndataset: digits\ntrain: {max_minutes: -.5}\n")
    assert raw["train"]["max_minutes"] == "-.5"
    with pytest.raises(ProfileError, match=r"train.max_minutes must be >= 0 \(0: no cap\), not -0.5$"):
        profile_from_dict(raw, "p")
    plus = yaml.safe_load("name: p\ndataset: digits\ntrain: {ema_decay: +.5}\n")
    assert profile_from_dict(plus, "p").train.ema_decay == 0.5
    with pytest.raises(ProfileError, match="expected a number"):
        profile_from_dict({"name": "p", "dataset": "digits", "train": {"lr": "-.x"}}, "p")
