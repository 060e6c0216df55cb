"""The digits profile trains, exports and evaluates end to end; ONNX agrees with torch."""
import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

from conftest import PYTHON, python_env

torch = pytest.importorskip("torch")


def test_training_log_and_checkpoints(digits_run: Path) -> None:
    records = [json.loads(line) for line in (digits_run / "metrics.jsonl").read_text().splitlines()]
    stages = {r["stage"] for r in records}
    assert {"reference", "preselect", "agilenn"} <= stages
    epochs = [r for r in records if r["stage"] == "agilenn"]
    last = epochs[-1]
    for key in ("ce", "skew_loss", "disorder_loss", "val_accuracy", "val_skewness",
                "val_disorder_violation_rate", "val_alpha", "wall_seconds"):
        assert key in last
    assert last["val_accuracy"] > 0.6
    assert last["train_skewness"] > epochs[0]["train_skewness"]   # the skewness loss works
    assert (digits_run / "best.pt").is_file() and (digits_run / "last.pt").is_file()


def test_resume_continues_from_last(digits_run: Path, tmp_path: Path) -> None:
    import shutil
    from agilenn_ros.config import load_profile
    from agilenn_ros.training.train_agilenn import load_checkpoint, train_agilenn
    run = tmp_path / "run"
    shutil.copytree(digits_run, run)
    before = len((run / "metrics.jsonl").read_text().splitlines())
    import dataclasses
    profile = load_profile("digits")
    profile = dataclasses.replace(profile, train=dataclasses.replace(profile.train, epochs=profile.train.epochs + 1))
    train_agilenn(profile, "digits", run)
    lines = (run / "metrics.jsonl").read_text().splitlines()
    assert len(lines) == before + 1
    assert load_checkpoint(run / "last.pt")["epoch"] == profile.train.epochs


def test_bundle_contents(digits_bundle: Path) -> None:
    from agilenn_ros.runtime.bundle import load_bundle
    bundle = load_bundle(digits_bundle)
    m = bundle.manifest
    assert len(m["model_hash"]) == 8 and m["model_id"].startswith("digits-")
    assert m["features"] == {"channels": 24, "local_channels": 5, "remote_channels": 19, "height": 4, "width": 4}
    assert m["quantizer"]["centroids"] == sorted(m["quantizer"]["centroids"])
    assert 0.0 < bundle.alpha < 1.0
    assert "rans" in m["codec"]["tables"]
    for name in ("device.onnx", "edge.onnx", "fe_weights.npz", "metrics.json", "agilenn_model.h"):
        assert name in m["files"]
    metrics = json.loads((digits_bundle / "metrics.json").read_text())
    assert metrics["accuracy"] > 0.6 and 0.0 <= metrics["skewness"] <= 1.0
    assert abs(metrics["accuracy"] - metrics["torch_accuracy"]) < 0.02


def test_onnx_matches_torch_on_real_images(digits_run: Path, digits_bundle: Path) -> None:
    from agilenn_ros.data import load_split
    from agilenn_ros.runtime.bundle import load_bundle
    from agilenn_ros.runtime.device_pipeline import DevicePipeline
    from agilenn_ros.runtime.edge_pipeline import EdgePipeline
    from agilenn_ros.runtime.preprocess import model_input
    from agilenn_ros.training.agilenn_model import DeviceModel, EdgeModel
    from agilenn_ros.training.train_agilenn import load_checkpoint, model_from_checkpoint
    _, model, _, _ = model_from_checkpoint(load_checkpoint(digits_run / "best.pt"))
    model.quantizer.sort_()
    bundle = load_bundle(digits_bundle)
    images = load_split("digits", "test").images[:64]
    x = model_input(list(images), bundle.input_hw)
    local_ort, idx_ort = DevicePipeline(bundle).infer_prepared(x)
    with torch.no_grad():
        local_t, idx_t = DeviceModel(model)(torch.from_numpy(x))
        fused_t, remote_t = EdgeModel(model)(idx_t, local_t)
    assert np.allclose(local_ort, local_t.numpy(), atol=1e-4)
    assert np.mean(idx_ort == idx_t.numpy()) > 0.999   # float rounding may flip a rare tie
    fused_ort, remote_ort = EdgePipeline(bundle).infer(idx_t.numpy(), local_t.numpy())
    assert np.allclose(fused_ort, fused_t.numpy(), atol=1e-3)
    assert np.allclose(remote_ort, remote_t.numpy(), atol=1e-3)


def test_evaluate_cli_without_torch(digits_bundle: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    code = ("import sys, runpy; sys.argv=['agilenn','evaluate','--model',sys.argv[1],'--data','digits',"
            "'--json',sys.argv[2]];\n"
            "from agilenn_ros import cli\n"
            "rc = cli.main(sys.argv[1:])\n"
            "assert 'torch' not in sys.modules, 'evaluate imported torch'\n"
            "sys.exit(rc)")
    subprocess.run([PYTHON, "-c", code, str(digits_bundle), str(out)], check=True, env=python_env(),
                   capture_output=True, timeout=300)
    result = json.loads(out.read_text())
    for key in ("samples", "accuracy", "local_accuracy", "remote_accuracy", "seconds", "payload_bytes"):
        assert key in result
    assert result["samples"] == 359 and 0.6 < result["accuracy"] <= 1.0
    metrics = json.loads((digits_bundle / "metrics.json").read_text())
    assert abs(result["accuracy"] - metrics["accuracy"]) < 1e-9
    for codec in ("packed", "rans", "lzw"):
        assert set(result["payload_bytes"][codec]) >= {"mean", "median", "p95", "max"}
    assert result["payload_bytes"]["rans"]["mean"] < result["payload_bytes"]["packed"]["mean"]


def test_corrupted_bundle_is_rejected(digits_bundle: Path, tmp_path: Path) -> None:
    import shutil
    from agilenn_ros.runtime.bundle import BundleError, load_bundle
    copy = tmp_path / "b"
    shutil.copytree(digits_bundle, copy)
    data = bytearray((copy / "edge.onnx").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (copy / "edge.onnx").write_bytes(bytes(data))
    with pytest.raises(BundleError, match="sha256"):
        load_bundle(copy)
    with pytest.raises(BundleError, match="no model bundle"):
        load_bundle(tmp_path / "nothing")
