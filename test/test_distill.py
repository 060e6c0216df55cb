"""Knowledge distillation from a baseline teacher and the local predictor's own loss (training side)."""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from agilenn_ros.config import ProfileError, load_profile, profile_from_dict  # noqa: E402
from agilenn_ros.training.checkpoints import CheckpointError  # noqa: E402
from agilenn_ros.training.distill import distillation_loss, load_teacher  # noqa: E402


def test_distillation_loss_is_zero_only_when_the_distributions_agree() -> None:
    torch.manual_seed(0)
    teacher = torch.randn(16, 10)
    assert float(distillation_loss(teacher.clone(), teacher, 4.0)) == pytest.approx(0.0, abs=1e-6)
    # adding a per-row constant does not change a softmax
    assert float(distillation_loss(teacher + 3.0, teacher, 4.0)) == pytest.approx(0.0, abs=1e-5)
    student = torch.randn(16, 10, requires_grad=True)
    loss = distillation_loss(student, teacher, 4.0)
    assert float(loss.detach()) > 0
    loss.backward()
    assert student.grad is not None and float(student.grad.abs().sum()) > 0
    # T^2 scaling: at a high temperature the loss approaches the logit MSE / (2 * classes) (Hinton et al.)
    t = 100.0
    centred_s, centred_t = student.detach() - student.detach().mean(1, keepdim=True), teacher - teacher.mean(1, keepdim=True)
    approx = float(((centred_s - centred_t) ** 2).sum(1).mean() / (2 * 10))
    assert float(distillation_loss(student.detach(), teacher, t)) == pytest.approx(approx, rel=0.05)


def test_profile_checks_distillation_settings() -> None:
    raw = {"name": "p", "dataset": "digits", "distill": {"weight": 1.5}}
    with pytest.raises(ProfileError, match="distill.weight"):
        profile_from_dict(raw, "p")
    with pytest.raises(ProfileError, match="distill.temperature"):
        profile_from_dict({**raw, "distill": {"temperature": 0}}, "p")
    with pytest.raises(ProfileError, match="local_ce_weight"):
        profile_from_dict({"name": "p", "dataset": "digits", "train": {"local_ce_weight": -1}}, "p")
    with pytest.raises(ProfileError, match="unknown key"):
        profile_from_dict({**raw, "distill": {"teachr": "x"}}, "p")
    ok = profile_from_dict({"name": "p", "dataset": "digits", "distill": {"teacher": "t.pt", "weight": 0.5}}, "p")
    assert (ok.distill.teacher, ok.distill.weight, ok.distill.temperature) == ("t.pt", 0.5, 4.0)


@pytest.fixture(scope="module")
def digits_teacher(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from agilenn_ros.baseline_config import load_baseline_profile
    from agilenn_ros.training.baselines import train_baseline
    out = tmp_path_factory.mktemp("teacher")
    return train_baseline(load_baseline_profile("digits"), "edge", "digits", out, epochs=1)


def _distilling(teacher: str, weight: float = 0.7, local: float = 0.3):  # type: ignore[no-untyped-def]
    profile = load_profile("digits")
    return dataclasses.replace(profile, train=dataclasses.replace(profile.train, epochs=1, local_ce_weight=local),
                               distill=dataclasses.replace(profile.distill, teacher=teacher, weight=weight))


def test_training_with_a_teacher_logs_the_loss_parts(digits_teacher: Path, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    from agilenn_ros.training.train_agilenn import load_checkpoint, train_agilenn
    best = train_agilenn(_distilling(str(digits_teacher)), "digits", tmp_path / "run")
    records = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    epoch = [r for r in records if r.get("stage") == "agilenn"][0]
    assert epoch["kd_loss"] > 0 and epoch["local_ce"] > 0 and 0 <= epoch["train_local_accuracy"] <= 1
    saved = load_checkpoint(best)["profile"]
    assert saved["distill"]["weight"] == 0.7 and saved["train"]["local_ce_weight"] == 0.3
    # resuming with the teacher at another path is the same run; another weight is not
    moved = tmp_path / "moved.pt"
    moved.write_bytes(digits_teacher.read_bytes())
    capsys.readouterr()
    train_agilenn(_distilling(str(moved)), "digits", tmp_path / "run")
    assert "has finished its 1 epochs: nothing to train" in capsys.readouterr().out
    with pytest.raises(CheckpointError, match="distill.weight"):
        train_agilenn(_distilling(str(moved), weight=0.5), "digits", tmp_path / "run")


def test_bad_teachers_are_refused_in_one_line(digits_teacher: Path, tmp_path: Path) -> None:
    from agilenn_ros.training.train_agilenn import train_agilenn
    with pytest.raises(CheckpointError, match="does not exist"):
        train_agilenn(_distilling(str(tmp_path / "missing.pt")), "digits", tmp_path / "a", teacher_required=True)
    with pytest.raises(CheckpointError, match="no teacher is given"):
        train_agilenn(_distilling(""), "digits", tmp_path / "b", teacher_required=True)
    not_a_baseline = tmp_path / "agilenn.pt"
    torch.save({"model": {}, "reference_body": {}}, not_a_baseline)
    with pytest.raises(CheckpointError, match="not a baseline checkpoint"):
        train_agilenn(_distilling(str(not_a_baseline)), "digits", tmp_path / "c", teacher_required=True)
    profile = load_profile("digits")
    bigger = dataclasses.replace(profile, data=dataclasses.replace(profile.data, input_size=profile.data.input_size * 2))
    with pytest.raises(CheckpointError, match=r"other inputs than profile digits \(data.input_size: the teacher's \d+, "
                                              r"the profile's \d+\)"):
        load_teacher(digits_teacher, bigger, None)
    with pytest.raises(CheckpointError, match="classes"):
        load_teacher(digits_teacher, profile, ["a", "b"])
    teacher = load_teacher(digits_teacher, profile, None)
    assert not any(p.requires_grad for p in teacher.parameters()) and not teacher.training


def test_estimate_times_the_teacher(digits_teacher: Path) -> None:
    from agilenn_ros.training.estimate import estimate_training
    est = estimate_training(_distilling(str(digits_teacher)), image_size=8, train_images=256, val_images=64, steps=1)
    assert est["distillation"].startswith("teacher ")
    off = estimate_training(load_profile("digits"), image_size=8, train_images=256, val_images=64, steps=1)
    assert off["distillation"] == "off"


def test_cli_teacher_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import yaml

    from agilenn_ros.cli import main
    profile = tmp_path / "kd.yaml"
    profile.write_text(yaml.safe_dump({"name": "digits", "dataset": "digits", "distill": {"weight": 0.5}}))
    code = main(["train", "--profile", str(profile), "--out", str(tmp_path / "run"),
                 "--teacher", str(tmp_path / "nope.pt")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "nope.pt does not exist" in err[0] and "--out DIR" in err[0]
    assert not (tmp_path / "run").exists()   # a refused run leaves no empty output directory
    code = main(["train", "--profile", "digits", "--out", str(tmp_path / "run2"), "--epochs", "1",
                 "--max-train", "64", "--teacher", str(tmp_path / "nope.pt")])
    assert code == 0 and "--teacher is not used" in capsys.readouterr().err


def test_a_profile_teacher_that_is_not_there_trains_without_distillation(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from agilenn_ros.training.train_agilenn import load_checkpoint, train_agilenn
    best = train_agilenn(_distilling(str(tmp_path / "missing.pt")), "digits", tmp_path / "run")
    assert "training without distillation" in capsys.readouterr().err
    saved = load_checkpoint(best)["profile"]
    assert saved["distill"]["weight"] == 0.0 and saved["train"]["local_ce_weight"] == 0.3
    epoch = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()][-1]
    assert "kd_loss" not in epoch and epoch["local_ce"] > 0


def test_missing_teacher_names_a_baseline_profile_that_exists(tmp_path: Path) -> None:
    """A candidate profile (no baseline profile of its own name) is told to train the teacher
    with its dataset's baseline profile, a command that runs."""
    from agilenn_ros.baseline_config import load_baseline_profile
    candidate = load_profile(str(Path(__file__).parents[1] / "config" / "candidates" / "cifar10-f32c9.yaml"))
    missing = tmp_path / "runs" / "baselines" / "edge" / "best.pt"
    with pytest.raises(CheckpointError, match=r"train-baseline --profile cifar10 --kind edge .*--out "
                                              + str(missing.parent)) as caught:
        load_teacher(missing, candidate, None)
    assert "cifar10-f32c9" not in str(caught.value).split("train-baseline")[1]
    load_baseline_profile("cifar10")          # the suggested profile exists
    with pytest.raises(CheckpointError, match="--profile cifar10 --kind edge"):
        load_teacher(missing, load_profile("cifar10"), None)


def test_missing_teacher_names_the_profiles_own_teacher_profile(tmp_path: Path) -> None:
    """distill.teacher_profile: the hint names the baseline profile the teacher is trained with."""
    from agilenn_ros.baseline_config import load_baseline_profile
    candidate = load_profile(str(Path(__file__).parents[1] / "config" / "candidates" / "cifar10-f32speedrunkd.yaml"))
    assert candidate.distill.teacher_profile == "config/candidates/baselines/f32-speedrun.yaml"
    with pytest.raises(CheckpointError, match=r"--profile config/candidates/baselines/f32-speedrun.yaml --kind edge"):
        load_teacher(tmp_path / "edge" / "best.pt", candidate, None)
    load_baseline_profile(str(Path(__file__).parents[1] / candidate.distill.teacher_profile))


def _cached(teacher: str, flip: bool):  # type: ignore[no-untyped-def]
    profile = _distilling(teacher)
    return dataclasses.replace(profile, data=dataclasses.replace(profile.data, flip=flip),
                               distill=dataclasses.replace(profile.distill, cache=True, teacher_flip=flip))


def test_teacher_flip_needs_mirrored_training_images() -> None:
    raw = {"name": "p", "dataset": "digits", "data": {"flip": False}, "distill": {"teacher_flip": True}}
    with pytest.raises(ProfileError, match="teacher_flip needs data.flip"):
        profile_from_dict(raw, "p")
    with pytest.raises(ProfileError, match="distill.cache"):
        profile_from_dict({"name": "p", "dataset": "digits", "distill": {"cache": "yes"}}, "p")
    ok = profile_from_dict({**raw, "data": {"flip": True}, "distill": {"teacher_flip": True, "cache": True}}, "p")
    assert ok.distill.teacher_flip and ok.distill.cache


def test_teacher_flip_scores_an_image_and_its_mirror_alike(digits_teacher: Path) -> None:
    profile = _cached(str(digits_teacher), flip=True)
    teacher = load_teacher(digits_teacher, profile, None)
    plain = load_teacher(digits_teacher, _cached(str(digits_teacher), flip=False), None)
    x = torch.randn(4, 3, profile.data.input_size, profile.data.input_size)
    with torch.no_grad():
        both, mirrored = teacher(x), teacher(x.flip(-1))
        single, single_mirrored = plain(x), plain(x.flip(-1))
    torch.testing.assert_close(both, mirrored, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(both, (single + single_mirrored) / 2, rtol=1e-4, atol=1e-4)
    assert not torch.allclose(single, single_mirrored, atol=1e-4)


def test_cached_teacher_logits_are_the_teachers_row_for_row(digits_teacher: Path) -> None:
    from agilenn_ros.training.augment import BatchPreparer
    from agilenn_ros.training.distill import cached_teacher_logits
    profile = _cached(str(digits_teacher), flip=True)
    teacher = load_teacher(digits_teacher, profile, None)
    images = np.random.default_rng(0).integers(0, 256, size=(7, 8, 8, 3), dtype=np.uint8)
    prep = BatchPreparer(profile.data)
    cached = cached_teacher_logits(teacher, images, prep.to_tensor, batch=3, bf16=False)
    with torch.no_grad():
        direct = teacher(prep.to_tensor(images))
    assert cached.shape == (7, 10) and cached.dtype == torch.float32
    torch.testing.assert_close(cached, direct, rtol=1e-4, atol=1e-4)


def test_cached_distillation_trains_without_the_teacher_in_the_step(digits_teacher: Path, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from agilenn_ros.training import train_agilenn as trainer
    calls = {"cache": 0}
    real_cache = trainer.cached_teacher_logits

    def counting_cache(teacher, images, to_tensor, batch, bf16):  # type: ignore[no-untyped-def]
        calls["cache"] += 1
        logits = real_cache(teacher, images, to_tensor, batch, bf16)
        assert logits.shape[0] == len(images)
        # from here on a forward pass of the teacher would be a bug: the step must use the cache
        teacher.forward = lambda x: (_ for _ in ()).throw(AssertionError("teacher ran inside a step"))
        return logits

    monkeypatch.setattr(trainer, "cached_teacher_logits", counting_cache)
    best = trainer.train_agilenn(_cached(str(digits_teacher), flip=True), "digits", tmp_path / "run")
    assert calls["cache"] == 1
    records = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    epoch = [r for r in records if r.get("stage") == "agilenn"][0]
    assert epoch["kd_loss"] > 0
    saved = trainer.load_checkpoint(best)["profile"]["distill"]
    assert saved["cache"] is True and saved["teacher_flip"] is True


def test_estimate_counts_the_cached_teacher_once(digits_teacher: Path) -> None:
    from agilenn_ros.training.estimate import estimate_training
    est = estimate_training(_cached(str(digits_teacher), flip=True), image_size=8, train_images=256,
                            val_images=64, steps=1)
    assert "cached once" in est["distillation"]


def test_estimate_times_the_named_teacher_profile_with_its_mirror_pass(tmp_path: Path) -> None:
    from agilenn_ros.training.estimate import estimate_training
    profile = _cached(str(tmp_path / "not_trained_yet.pt"), flip=True)
    profile = dataclasses.replace(profile, name="no_baseline_of_this_name",
                                  distill=dataclasses.replace(profile.distill, teacher_profile="digits"))
    est = estimate_training(profile, image_size=8, train_images=256, val_images=64, steps=1)
    assert est["distillation"].startswith("edge network of digits timed with its mirror pass; logits cached once")
    missing = dataclasses.replace(profile, distill=dataclasses.replace(profile.distill, teacher_profile="nope"))
    est = estimate_training(missing, image_size=8, train_images=256, val_images=64, steps=1)
    assert est["distillation"] == "teacher not timed (no checkpoint, and no baseline profile nope)"


def test_carve_overlap_counts_the_validation_images_a_smaller_carve_trains_on() -> None:
    from agilenn_ros.data import ImageSet
    from agilenn_ros.data.split import carve_overlap, carve_validation
    labels = np.repeat(np.arange(3), [7, 12, 1])
    images = np.arange(len(labels), dtype=np.uint8)[:, None, None, None] * np.ones((1, 2, 2, 3), np.uint8)
    data = ImageSet(images, labels, ["a", "b", "c"])
    counts = [7, 12, 1]
    for trained_on, validated_on in ((0.1, 0.4), (2, 0.5), (0.4, 0.1), (0.25, 0.25), (5, 0.3)):
        teacher_train, _ = carve_validation(data, trained_on)[:2]
        _, student_val = carve_validation(data, validated_on)[:2]
        seen = len(set(teacher_train.images[:, 0, 0, 0]) & set(student_val.images[:, 0, 0, 0]))
        assert carve_overlap(counts, trained_on, validated_on) == seen


def test_a_teacher_that_trained_on_validation_images_is_named(digits_teacher: Path) -> None:
    from agilenn_ros.training.distill import validation_overlap_warning
    from agilenn_ros.training.train_agilenn import load_data
    student = _distilling(str(digits_teacher))
    # the digits teacher carves 300 images, this profile 0.2 of each class: more, so no overlap
    assert validation_overlap_warning(digits_teacher, student, load_data(student, "digits", verbose=False),
                                      "digits") is None
    wider = dataclasses.replace(student, data=dataclasses.replace(student.data, val_size=0.4))
    loaded = load_data(wider, "digits", verbose=False)
    warning = validation_overlap_warning(digits_teacher, wider, loaded, "digits")
    assert warning is not None and f"of this run's {len(loaded.val)} validation images" in warning
    assert "data.val_size 300" in warning and "0.4" in warning
    # a teacher trained on other data says nothing about this run's images
    assert validation_overlap_warning(digits_teacher, wider, loaded, "/elsewhere") is None


def test_the_overlap_check_knows_the_teachers_data_by_its_resolved_location(
        digits_teacher: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same folder named from two working directories is the same data; two folders with the
    same relative name are not; a checkpoint that does not record its location is not guessed at;
    a teacher trained on a random part of its split (--max-train) gets an upper bound."""
    from agilenn_ros.training.checkpoints import read_checkpoint
    from agilenn_ros.training.distill import validation_overlap_warning
    from agilenn_ros.training.run_io import data_location
    from agilenn_ros.training.train_agilenn import load_data
    student = _distilling(str(digits_teacher))
    wider = dataclasses.replace(student, data=dataclasses.replace(student.data, val_size=0.4))
    loaded = load_data(wider, "digits", verbose=False)
    ckpt = read_checkpoint(digits_teacher)
    assert ckpt["data_location"] == "digits" and ckpt["max_train"] == 0
    for name in ("a", "b"):
        (tmp_path / name / "imgs").mkdir(parents=True)

    def teacher(**fields: object) -> Path:
        path = tmp_path / f"teacher{len(list(tmp_path.glob('teacher*')))}.pt"
        torch.save({**ckpt, **fields}, path)
        return path

    monkeypatch.chdir(tmp_path / "a")
    in_a = teacher(data="imgs", data_location=data_location("imgs"))
    assert data_location("imgs") == str((tmp_path / "a" / "imgs").resolve())
    assert validation_overlap_warning(in_a, wider, loaded, str(tmp_path / "a" / "imgs")) is not None
    monkeypatch.chdir(tmp_path / "b")
    assert validation_overlap_warning(in_a, wider, loaded, "imgs") is None          # b/imgs: other images
    assert validation_overlap_warning(in_a, wider, loaded, "../a/imgs/") is not None
    unrecorded = {k: v for k, v in ckpt.items() if k != "data_location"}
    old = tmp_path / "old.pt"
    torch.save(unrecorded, old)
    assert validation_overlap_warning(old, wider, loaded, "digits") is None
    part = teacher(max_train=200)
    warning = validation_overlap_warning(part, wider, loaded, "digits")
    assert warning is not None and "trained on up to " in warning
