"""agilenn compare-runs: summaries from training logs, bundles and firmware reports."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from agilenn_ros.cli import main
from agilenn_ros.training.compare_runs import RunLogError, markdown_table, summarise_run


def _write_run(run: Path) -> None:
    run.mkdir(parents=True)
    lines = [{"stage": "reference", "epoch": 1, "val_accuracy": 0.5, "seconds": 60.0},
             {"stage": "preselect", "order": [0, 1]},
             {"stage": "agilenn", "epoch": 1, "val_accuracy": 0.61, "val_local_accuracy": 0.2, "val_skewness": 0.85,
              "wall_seconds": 100.0},
             {"stage": "agilenn", "epoch": 2, "val_accuracy": 0.70, "val_local_accuracy": 0.25, "val_skewness": 0.88,
              "wall_seconds": 200.0},
             {"stage": "agilenn", "epoch": 3, "val_accuracy": 0.69, "val_local_accuracy": 0.3, "val_skewness": 0.9,
              "wall_seconds": 300.0}]
    (run / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines))


def test_summary_takes_the_best_epoch_and_adds_reference_time(tmp_path: Path) -> None:
    _write_run(tmp_path / "a")
    s = summarise_run(tmp_path / "a")
    assert (s.epochs, s.best_epoch, s.val_accuracy, s.val_local_accuracy) == (3, 2, 0.70, 0.25)
    assert s.minutes == pytest.approx(6.0)
    assert s.payload_rans_mean is None and s.device_instructions is None
    (tmp_path / "a" / "evaluate.json").write_text(json.dumps({"payload_bytes": {"rans": {"mean": 199.0}}}))
    assert summarise_run(tmp_path / "a").payload_rans_mean == 199.0
    (tmp_path / "a" / "bundle").mkdir()
    (tmp_path / "a" / "bundle" / "metrics.json").write_text(json.dumps({"payload_bytes": {"rans": {"mean": 231.5}}}))
    (tmp_path / "a" / "firmware.json").write_text(json.dumps({"instructions_per_frame": 612345}))
    s = summarise_run(tmp_path / "a")
    assert (s.payload_rans_mean, s.device_instructions) == (231.5, 612345)
    table = markdown_table([s])
    assert "| a | agilenn | 3 | 0.7000 (2) | 0.2500 | 0.880 | 232 | 612,345 | 6.0 |" in table


def test_an_exported_bundle_is_a_row(tmp_path: Path) -> None:
    _write_run(tmp_path / "run")
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    (tmp_path / "run" / "metrics.jsonl").rename(bundle / "training_log.jsonl")
    (bundle / "metrics.json").write_text(json.dumps({"payload_bytes": {"rans": {"mean": 215.2}}}))
    s = summarise_run(bundle)
    assert (s.kind, s.epochs, s.best_epoch, s.payload_rans_mean) == ("agilenn", 3, 2, 215.2)


def test_bad_run_directories_are_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(RunLogError, match="no metrics.jsonl or training_log.jsonl"):
        summarise_run(tmp_path)
    (tmp_path / "metrics.jsonl").write_text('{"stage": "reference", "epoch": 1}\n')
    with pytest.raises(RunLogError, match="no epoch has finished"):
        summarise_run(tmp_path)
    (tmp_path / "metrics.jsonl").write_text("{not json\n")
    with pytest.raises(RunLogError, match=r"metrics.jsonl:1: not a JSON line"):
        summarise_run(tmp_path)
    assert main(["compare-runs", str(tmp_path)]) == 2
    assert "not a JSON line" in capsys.readouterr().err
    # beside a real run, a directory that is not one is skipped with a warning
    good = tmp_path / "good"
    good.mkdir()
    (good / "metrics.jsonl").write_text(json.dumps({"stage": "agilenn", "epoch": 1, "val_accuracy": 0.5,
                                                    "wall_seconds": 60.0}) + "\n")
    assert main(["compare-runs", str(good), str(tmp_path / "missing")]) == 0
    captured = capsys.readouterr()
    assert "| good | agilenn | 1 | 0.5000 (1)" in captured.out and "warning: skipped" in captured.err


def test_estimate_training_projects_the_profile(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("torch")
    out = tmp_path / "est.json"
    assert main(["estimate-training", "--profile", "digits", "--image-size", "8", "--train-images", "640",
                 "--val-images", "64", "--steps", "1", "--max-minutes", "0.001", "--json", str(out)]) == 0
    est = json.loads(out.read_text())
    assert est["steps_per_epoch"] == 640 // est["batch_size"]
    assert est["step_seconds"] > 0 and est["epochs"] >= 1
    expected = est["reference_minutes"] + est["epochs"] * est["epoch_minutes"]
    assert est["projected_minutes"] == pytest.approx(expected)
    assert est["epochs_within_budget"] == 1          # a budget below one epoch keeps the first
    assert "even one epoch exceeds the cap" in capsys.readouterr().out


def test_estimate_training_takes_counts_and_classes_from_the_data(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """A digits profile is projected on the split train would make, not on CIFAR-10's 45,000 images."""
    pytest.importorskip("torch")
    from agilenn_ros.config import load_profile
    from agilenn_ros.training.train_agilenn import load_data
    loaded = load_data(load_profile("digits"), "digits", verbose=False)
    out = tmp_path / "est.json"
    assert main(["estimate-training", "--profile", "digits", "--steps", "1", "--json", str(out)]) == 0
    est = json.loads(out.read_text())
    assert (est["train_images"], est["val_images"]) == (len(loaded.train), len(loaded.val))
    assert est["steps_per_epoch"] == max(1, len(loaded.train) // est["batch_size"])
    assert f"{len(loaded.train)} training and {len(loaded.val)} validation images" in capsys.readouterr().out
    # An explicit count still wins over the data's, and only that count: the rest stays the data's.
    for args in (["--data", "digits"], []):
        assert main(["estimate-training", "--profile", "digits", *args, "--train-images", "640",
                     "--steps", "1", "--json", str(out)]) == 0
        est = json.loads(out.read_text())
        assert (est["train_images"], est["val_images"]) == (640, len(loaded.val))
        assert "--train-images as given" in capsys.readouterr().out


def test_estimate_training_says_when_it_assumes_cifar10(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("torch")
    import yaml
    raw = yaml.safe_load((Path(__file__).resolve().parents[1] / "config" / "digits.yaml").read_text())
    raw.update(name="tiny", dataset="image_folder")
    profile = tmp_path / "tiny.yaml"
    profile.write_text(yaml.safe_dump(raw))
    assert main(["estimate-training", "--profile", str(profile), "--image-size", "8", "--steps", "1",
                 "--json", str(tmp_path / "e.json")]) == 0
    out = capsys.readouterr().out
    assert "projected on 45000 training and 5000 validation images, 8x8 source images" in out
    assert "CIFAR-10's figures" in out and "--image-size as given" in out
