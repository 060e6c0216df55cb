"""``agilenn export``: checkpoint -> model bundle (DESIGN.md section 4, docs/CONTRACTS.md)."""
from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from agilenn_ros.codec.registry import build_codec_tables
from agilenn_ros.config import Profile
from agilenn_ros.data import DatasetError, class_mismatch
from agilenn_ros.data.training_data import TrainingData, load_holdout, prepare_training_data
from agilenn_ros.export.onnx_export import export_device, export_edge
from agilenn_ros.runtime.bundle import FORMAT_VERSION, Bundle, load_bundle, sha256_file
from agilenn_ros.training.agilenn_model import AgileNN
from agilenn_ros.training.augment import BatchPreparer
from agilenn_ros.training.evaluation import evaluate_agilenn
from agilenn_ros.training.importance import zero_baseline_gradients
from agilenn_ros.training.train_agilenn import load_checkpoint, model_from_checkpoint

TENSORS = {
    "device": {"inputs": {"image": "image"}, "outputs": {"local_logits": "local_logits", "indices": "indices"}},
    "edge": {"inputs": {"indices": "indices", "local_logits": "local_logits"},
             "outputs": {"fused_logits": "fused_logits", "remote_logits": "remote_logits"}},
}


def feature_extractor_arrays(model: AgileNN, profile: Profile) -> dict[str, np.ndarray]:
    """Float weights of the device half for the int8/firmware path (keys: docs/CONTRACTS.md)."""
    def a(t: torch.Tensor) -> np.ndarray:
        return t.detach().cpu().numpy().astype(np.float32)
    fe, local = model.fe, model.local
    return {
        "dw1": a(fe.sep1.depthwise.weight), "pw1": a(fe.sep1.pointwise.weight),
        "bn1_gamma": a(fe.bn1.weight), "bn1_beta": a(fe.bn1.bias),
        "bn1_mean": a(fe.bn1.running_mean), "bn1_var": a(fe.bn1.running_var),
        "dw2": a(fe.sep2.depthwise.weight), "pw2": a(fe.sep2.pointwise.weight),
        "bn2_gamma": a(fe.bn2.weight), "bn2_beta": a(fe.bn2.bias),
        "bn2_mean": a(fe.bn2.running_mean), "bn2_var": a(fe.bn2.running_var),
        "local_w": a(local.dense.weight), "local_b": a(local.dense.bias),
        "lbn_gamma": a(local.bn.weight), "lbn_beta": a(local.bn.bias),
        "lbn_mean": a(local.bn.running_mean), "lbn_var": a(local.bn.running_var),
        "centroids": a(model.quantizer.centroids()),
        "bn_eps": np.float32(fe.bn1.eps), "stride1": np.int32(profile.model.stride1),
        "stride2": np.int32(profile.model.stride2), "pad2": np.int32(1),
        "input_h": np.int32(profile.data.input_size), "input_w": np.int32(profile.data.input_size),
        "k": np.int32(profile.model.k),
        "mean": np.asarray(profile.data.mean, dtype=np.float32), "std": np.asarray(profile.data.std, dtype=np.float32),
    }


def _model_hash(out: Path, names: list[str], extra: dict[str, Any]) -> str:
    digest = hashlib.sha256()
    for name in names:
        digest.update(name.encode())
        digest.update(sha256_file(out / name).encode())
    digest.update(json.dumps(extra, sort_keys=True).encode())
    return digest.hexdigest()[:8]


def _write_manifest(out: Path, manifest: dict[str, Any]) -> None:
    manifest["files"] = {name: {"sha256": sha256_file(out / name), "bytes": (out / name).stat().st_size}
                         for name in sorted(manifest["files"])}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")


def export_bundle(checkpoint: Path, out: Path, data: str = "", calibration: int = 1000,
                  skip_metrics: bool = False, threads: int = 0) -> Path:
    if threads:
        torch.set_num_threads(threads)  # tracing and calibration
    t0 = time.time()
    ckpt = load_checkpoint(checkpoint)
    profile, model, body, class_names = model_from_checkpoint(ckpt)
    model.quantizer.sort_()
    out.mkdir(parents=True, exist_ok=True)
    classes = len(class_names)
    k, c = profile.model.k, profile.model.channels
    fsize = profile.feature_size
    remote_shape = (c - k, fsize, fsize)

    export_device(model, out / "device.onnx")
    export_edge(model, out / "edge.onnx", remote_shape, classes)
    np.savez(out / "fe_weights.npz", **feature_extractor_arrays(model, profile))

    source = data or str(ckpt.get("data") or ("digits" if profile.dataset == "digits" else ""))
    if not source:
        raise ValueError("--data is needed: the checkpoint does not record its training data")
    loaded = _checked_training_data(checkpoint, ckpt, profile, class_names, source)
    train = loaded.train
    pick = np.sort(np.random.default_rng(0).permutation(len(train))[: min(calibration, len(train))])
    calib = train.subset(pick)

    centroids = [float(v) for v in model.quantizer.centroids().detach()]
    manifest: dict[str, Any] = {
        "format_version": FORMAT_VERSION,
        "model_hash": "",
        "model_id": "",
        "profile": profile.name,
        "class_names": class_names,
        "input": {"height": profile.data.input_size, "width": profile.data.input_size, "channels": 3,
                  "color": "rgb", "mean": list(profile.data.mean), "std": list(profile.data.std),
                  "scale": 1.0 / 255.0, "resize": "bilinear", "value_range": [0, 255]},
        "features": {"channels": c, "local_channels": k, "remote_channels": c - k, "height": fsize, "width": fsize},
        "quantizer": {"centroids": centroids, "bits": int(np.ceil(np.log2(len(centroids))))},
        "fusion": {"alpha": float(model.fusion.alpha().detach()), "temperature": model.fusion.temperature,
                   "w": float(model.fusion.w.detach())},
        "codec": {"default": "rans", "tables": {}},
        "tensors": TENSORS,
        "files": {"device.onnx": {}, "edge.onnx": {}, "fe_weights.npz": {}},
        "training": {"epochs": ckpt.get("epoch"), "wall_seconds": ckpt.get("wall_seconds"),
                     "val_metrics": ckpt.get("val_metrics"), "profile": profile.to_dict(),
                     "importance": "exact" if profile.importance.exact else "cheap",
                     "data": ckpt.get("identity"), "val_origin": ckpt.get("val_origin")},
    }
    _write_manifest(out, manifest)

    # Codec tables from the training split's indices (the bundle's own device half).
    from agilenn_ros.runtime.device_pipeline import DevicePipeline
    # the bundle is not complete yet (no hash, no tables): use it unchecked, for its device half only
    device = DevicePipeline(Bundle(path=out, manifest=manifest), codec="packed", threads=threads or (os.cpu_count() or 1))
    indices = np.concatenate([device.infer(list(calib.images[i:i + 250]))[1] for i in range(0, len(calib), 250)])
    manifest["codec"]["tables"] = build_codec_tables(indices, len(centroids))
    manifest["model_hash"] = _model_hash(out, ["device.onnx", "edge.onnx", "fe_weights.npz"],
                                         {"codec": manifest["codec"], "fusion": manifest["fusion"]})
    manifest["model_id"] = f"{profile.name}-{manifest['model_hash']}"
    _write_manifest(out, manifest)

    _write_firmware_header(out, manifest, calib.images)

    if not skip_metrics:
        metrics = _holdout_metrics(out, profile, model, body, loaded, class_names, threads)
        (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
        manifest["files"]["metrics.json"] = {}
    manifest["export_seconds"] = round(time.time() - t0, 1)
    _write_manifest(out, manifest)
    return out


def _write_firmware_header(out: Path, manifest: dict[str, Any], calibration_images: np.ndarray) -> None:
    """int8 post-training quantization and the firmware's generated C header (agilenn_model.h)."""
    from agilenn_ros.export import int8
    int8.export_firmware(out, calibration_images, model_hash=int(manifest["model_hash"], 16),
                         model_id=manifest["model_id"])
    for name in ("agilenn_model.h", "int8_params.json"):
        if (out / name).is_file():
            manifest["files"][name] = {}
    _write_manifest(out, manifest)


def _checked_training_data(checkpoint: Path, ckpt: dict[str, Any], profile: Profile, class_names: list[str],
                           source: str) -> TrainingData:
    """The training data as training saw it; its classes must be the model's (one-line error)."""
    loaded = prepare_training_data(source, profile.data.input_size, profile.data.val_size)
    for line in loaded.source.notes():
        print(f"{loaded.source.location}: {line}", flush=True)
    problem = class_mismatch(loaded.class_names, class_names, loaded.source.split_where("train"),
                             f"the classes of {checkpoint}")
    if problem:
        raise DatasetError(f"{problem}: export with the data the model was trained on (--data)")
    saved = (ckpt.get("identity") or {}).get("fingerprint")
    if saved and saved != loaded.fingerprint:
        print(f"note: {source} is not the data {checkpoint} was trained on ({ckpt['identity'].get('data')}; "
              "same classes, other images): codec tables and metrics come from it", flush=True)
    return loaded


def _holdout_metrics(out: Path, profile: Profile, model: AgileNN, body: torch.nn.Module, loaded: TrainingData,
                     class_names: list[str], threads: int = 0) -> dict[str, Any]:
    """Scores on the test split, else on the validation images (never on training images);
    ``threads``: onnxruntime threads (0: all cores)."""
    from agilenn_ros.runtime.evaluate import evaluate_bundle
    source = loaded.source
    if "test" in source.splits():
        try:
            test, split, origin = load_holdout(source, "test", profile.data.input_size, profile.data.val_size)
        except DatasetError as exc:
            if "\n" in str(exc):
                raise
            raise DatasetError(f"{exc}; export with --skip-metrics to skip metrics.json") from None
    else:
        test, split = loaded.val, "val"
        origin = f"validation images ({loaded.val_origin}; held out of training, used to pick best.pt)"
        print(f"{source.location} has no test split: metrics.json scores the {origin}", flush=True)
    problem = class_mismatch(test.class_names, class_names, f"{split} split of {source.location}",
                             "the model's")
    if problem:
        raise DatasetError(f"{problem}: cannot score the model on it (export with --skip-metrics, or fix the data)")
    classes = len(class_names)
    bundle = load_bundle(out)
    runtime = evaluate_bundle(bundle, test.images, test.labels, threads=threads, progress=False)
    prep = BatchPreparer(profile.data)
    g0 = zero_baseline_gradients(body, (profile.model.channels, profile.feature_size, profile.feature_size), classes)
    torch_metrics = evaluate_agilenn(model, body, g0, test, prep, profile.train.eval_batch_size,
                                     profile.importance.steps, bf16=False)
    return {
        "split": split, "split_origin": origin, "samples": runtime["samples"],
        "accuracy": runtime["accuracy"], "local_accuracy": runtime["local_accuracy"],
        "remote_accuracy": runtime["remote_accuracy"],
        "skewness": torch_metrics["skewness"],
        "disorder_violation_rate": torch_metrics["disorder_violation_rate"],
        "alpha": torch_metrics["alpha"],
        "torch_accuracy": torch_metrics["accuracy"],
        "payload_bytes": runtime.get("payload_bytes", {}),
        "note": "accuracy fields from onnxruntime (device.onnx + edge.onnx); skewness and disorder "
                "violations from integrated gradients through the reference network (torch)",
    }
