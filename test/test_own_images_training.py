"""agilenn train -> export -> evaluate on users' image folders (issue 14), with a tiny profile
so every run takes seconds. Errors must be one line (or one line per bad file), exit 2."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import PYTHON, python_env
from imagegen import make_class_tree, make_split_tree, write_image

torch = pytest.importorskip("torch")

TINY_PROFILE = """\
name: tiny
dataset: image_folder
description: test profile (seconds)
data: {input_size: 24, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5], val_size: 0.25, flip: false, pad_crop: 1}
model: {channels: 8, k: 2, fe_hidden: 8, stride1: 3, stride2: 2, centroids: 4, remote: resnet,
        remote_widths: [8, 16, 16]}
importance: {preselect: true, preselect_batches: 1}
reference: {widths: [8, 16, 16], epochs: 2, lr: 0.1}
train: {epochs: 2, batch_size: 16, lr: 0.1, bf16: false, threads: 1, eval_batch_size: 64, warmup_epochs: 0}
"""


def agilenn(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    from agilenn_ros import cli
    rc = cli.main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return rc, out, err


@pytest.fixture(autouse=True)
def _cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGILENN_CACHE", str(tmp_path / "cache"))


@pytest.fixture()
def profile(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY_PROFILE)
    return path


def flat_dataset(root: Path) -> Path:
    """Flat <class>/... with a TIFF-only class, nested sub-folders, hidden files, mixed sizes."""
    make_class_tree(root, {"cat": 12}, ".jpg", 30, 40)
    for i in range(12):
        write_image(root / "dog" / ("indoor" if i % 2 else "outdoor") / f"{i}.png", "dog", i, ".png", 12, 12)
    make_class_tree(root, {"fish": 12}, ".tif", 20, 20)
    (root / "dog" / "._0.png").write_bytes(b"\x00\x05\x16\x07")
    (root / ".DS_Store").write_bytes(b"junk")
    return root


def test_train_export_evaluate_flat_folder_with_honest_splits(tmp_path: Path, profile: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    data = flat_dataset(tmp_path / "pets")
    run, bundle = tmp_path / "run", tmp_path / "bundle"
    rc, out, _ = agilenn(capsys, "train", "--profile", str(profile), "--data", str(data), "--out", str(run))
    assert rc == 0
    assert "3 classes; train 27 images, val 9 (carved from train: 0.25 of each class), no test split" in out
    assert re.search(r"\n  fish +9 +3\n", out)
    assert "skipped 1 macOS metadata" in out and "skipped 1 hidden files" in out
    ckpt = torch.load(run / "best.pt", map_location="cpu", weights_only=False)
    assert ckpt["class_names"] == ["cat", "dog", "fish"] and len(ckpt["identity"]["fingerprint"]) == 16
    assert torch.load(run / "reference.pt", map_location="cpu", weights_only=False)["complete"] is True

    threads_before = torch.get_num_threads()
    try:
        rc, out, _ = agilenn(capsys, "export", str(run / "best.pt"), "--out", str(bundle), "--calibration", "20",
                             "--threads", "1")
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(threads_before)
    assert rc == 0 and "has no test split: metrics.json scores the validation images" in out
    metrics = json.loads((bundle / "metrics.json").read_text())
    assert metrics["split"] == "val" and metrics["samples"] == 9 and "held out of training" in metrics["split_origin"]

    rc, _, err = agilenn(capsys, "evaluate", "--model", str(bundle), "--data", str(data))
    assert rc == 2 and err.count("\n") == 1 and "has no test split" in err and "--split val" in err
    result_path = tmp_path / "r.json"
    code = ("import sys; from agilenn_ros import cli; rc = cli.main(sys.argv[1:]); "
            "assert 'torch' not in sys.modules, 'evaluate imported torch'; sys.exit(rc)")
    subprocess.run([PYTHON, "-c", code, "evaluate", "--model", str(bundle), "--data", str(data), "--split", "val",
                    "--json", str(result_path)], check=True, env=python_env(), capture_output=True, timeout=300)
    result = json.loads(result_path.read_text())
    assert result["split"] == "val" and result["samples"] == 9
    assert abs(result["accuracy"] - metrics["accuracy"]) < 1e-9
    rc, out, _ = agilenn(capsys, "evaluate", "--model", str(bundle), "--data", str(data), "--split", "train")
    assert rc == 0 and json.loads(out)["split"] == "train" and "trained on" in json.loads(out)["split_origin"]
    new_images = make_class_tree(tmp_path / "new", {"cat": 2, "dog": 2, "fish": 2})
    rc, out, _ = agilenn(capsys, "evaluate", "--model", str(bundle), "--data", str(new_images), "--split", "all")
    assert rc == 0 and json.loads(out)["split"] == "all" and json.loads(out)["samples"] == 6
    rc, out, err = agilenn(capsys, "evaluate", "--model", str(bundle), "--data", str(new_images), "--split", "all",
                           "--limit", "50")
    assert rc == 0 and json.loads(out)["samples"] == 6 and "--limit 50 is not below the 6 images" in err


def test_export_and_evaluate_check_class_names(tmp_path: Path, profile: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    data = make_split_tree(tmp_path / "d", {"train": {"cat": 8, "dog": 8, "fish": 8}, "val": {"cat": 2, "dog": 2,
                                                                                            "fish": 2},
                                            "test": {"cat": 2, "dog": 2}})
    run = tmp_path / "run"
    rc, out, _ = agilenn(capsys, "train", "--profile", str(profile), "--data", str(data), "--out", str(run))
    assert rc == 0 and "val 6 (from " in out and "missing ['fish']" in out      # warned before training
    rc, _, err = agilenn(capsys, "export", str(run / "best.pt"), "--out", str(tmp_path / "b"))
    assert rc == 2 and err.count("\n") == 1 and "test split" in err and "missing ['fish']" in err
    rc, _, _ = agilenn(capsys, "export", str(run / "best.pt"), "--out", str(tmp_path / "b"), "--skip-metrics",
                       "--calibration", "10")
    assert rc == 0
    rc, _, err = agilenn(capsys, "evaluate", "--model", str(tmp_path / "b"), "--data", str(data))
    assert rc == 2 and err.count("\n") == 1 and "missing ['fish']" in err
    other = make_class_tree(tmp_path / "other", {"car": 4, "bus": 4})
    rc, _, err = agilenn(capsys, "export", str(run / "best.pt"), "--out", str(tmp_path / "b2"), "--data", str(other))
    assert rc == 2 and err.count("\n") == 1 and "classes differ from the classes of" in err
    rc, _, err = agilenn(capsys, "export", str(run / "reference.pt"), "--out", str(tmp_path / "b3"))
    assert rc == 2 and err.count("\n") == 1 and "is the reference network" in err
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    rc, _, err = agilenn(capsys, "export", str(tmp_path / "junk.pt"), "--out", str(tmp_path / "b4"))
    assert rc == 2 and err.count("\n") == 1 and "not a readable checkpoint" in err


def test_reruns_refuse_or_restart_in_one_line(tmp_path: Path, profile: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    data = make_class_tree(tmp_path / "d", {"cat": 8, "dog": 8})
    run = tmp_path / "run"
    train = ("train", "--profile", str(profile), "--data", str(data), "--out", str(run))
    assert agilenn(capsys, *train)[0] == 0

    # killed during reference pre-training: the partial reference is re-trained, not reused
    killed = tmp_path / "killed"
    killed.mkdir()
    ref = torch.load(run / "reference.pt", map_location="cpu", weights_only=False)
    torch.save({**ref, "complete": False, "epochs_done": 1}, killed / "reference.pt")
    rc, out, _ = agilenn(capsys, "train", "--profile", str(profile), "--data", str(data), "--out", str(killed))
    assert rc == 0 and "reference.pt is incomplete (stopped after epoch 1 of 2)" in out
    assert torch.load(killed / "reference.pt", map_location="cpu", weights_only=False)["complete"] is True

    # another profile's run in --out
    rc, _, err = agilenn(capsys, "train", "--profile", "digits", "--data", str(data), "--out", str(run))
    assert rc == 2 and err.count("\n") == 1 and "belongs to a run of profile 'tiny', not 'digits'" in err

    # the data changed: refused without --restart; --restart redoes the reference too
    make_class_tree(data, {"fish": 8})
    rc, _, err = agilenn(capsys, *train)
    assert rc == 2 and err.count("\n") == 1 and "was trained on classes ['cat', 'dog']" in err
    before = (run / "reference.pt").stat().st_mtime_ns
    rc, out, _ = agilenn(capsys, *train, "--restart")
    assert rc == 0 and "--restart: pre-training" in out
    assert (run / "reference.pt").stat().st_mtime_ns != before
    assert torch.load(run / "best.pt", map_location="cpu", weights_only=False)["class_names"] == ["cat", "dog", "fish"]

    # same classes, other pixels: the fingerprint catches it
    write_image(data / "cat" / "000.png", "dog", 5)
    rc, _, err = agilenn(capsys, *train)
    assert rc == 2 and "was trained on other images" in err
    # a checkpoint from a half-written file is never left behind
    assert not list(run.glob("*.tmp")) and not list(run.glob(".*.tmp"))


def test_bad_data_fails_in_one_line_per_problem(tmp_path: Path, profile: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    data = make_class_tree(tmp_path / "d", {"cat": 4, "dog": 4})
    (data / "cat" / "zero.jpg").write_bytes(b"")
    (data / "dog" / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\nbroken")
    rc, _, err = agilenn(capsys, "train", "--profile", str(profile), "--data", str(data), "--out", str(tmp_path / "r"))
    lines = err.strip().splitlines()
    assert rc == 2 and len(lines) == 3
    assert lines[0].endswith(f"{data}/cat/zero.jpg: empty file (0 bytes)") and f"{data}/dog/bad.png:" in lines[1]
    one = make_class_tree(tmp_path / "one", {"cat": 4})
    rc, _, err = agilenn(capsys, "train", "--profile", str(profile), "--data", str(one), "--out", str(tmp_path / "r"))
    assert rc == 2 and err.count("\n") == 1 and "only one class" in err
    (data / "cat" / "zero.jpg").unlink()
    (data / "dog" / "bad.png").unlink()
    (data / "empty class").mkdir()
    rc, _, err = agilenn(capsys, "train", "--profile", str(profile), "--data", str(data), "--out", str(tmp_path / "r"))
    assert rc == 2 and err.count("\n") == 1 and "empty class: class folder holds no readable image" in err


def test_cifar10_profile_on_a_small_dataset(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = make_class_tree(tmp_path / "d", {"cat": 6, "dog": 6})
    rc, out, _ = agilenn(capsys, "train", "--profile", "cifar10", "--data", str(data), "--out", str(tmp_path / "r"),
                         "--epochs", "1", "--threads", "1", "--val-size", "2")
    assert rc == 0 and "train 10 images, val 2 (carved from train: about 2 images" in out
    rc, _, err = agilenn(capsys, "train", "--profile", "cifar10", "--data", str(data), "--out", str(tmp_path / "r2"),
                         "--val-size", "12")
    assert rc == 2 and "val_size 12 >= 12 training images" in err
