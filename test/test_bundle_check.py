"""A broken bundle of each kind stops the edge at start-up with one line naming the file and the
fault (no traceback); the shipped bundle passes every check."""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Callable

import pytest

from conftest import PYTHON, python_env

from agilenn_ros.runtime.bundle import BundleError, load_bundle
from agilenn_ros.runtime.edge_pipeline import EdgePipeline

Edit = Callable[[Path, dict], None]


def _manifest(edit: Callable[[dict], None]) -> Edit:
    def apply(path: Path, manifest: dict) -> None:
        edit(manifest)
    return apply


def _rans_off_by_one(m: dict) -> None:
    row = m["codec"]["tables"]["rans"]["freqs"][3]
    row[row.index(max(row))] -= 1      # the largest frequency: every entry stays >= 1 whatever the bundle


def _rans_row_missing(m: dict) -> None:
    m["codec"]["tables"]["rans"]["freqs"].pop()


def _tables_other_channels(m: dict) -> None:
    rans = m["codec"]["tables"]["rans"]
    per_channel = len(rans["freqs"]) // rans["channels"]
    rans["freqs"] = rans["freqs"][:-per_channel]
    rans["channels"] -= 1
    rans["n_tables"] = len(rans["freqs"])


def _corrupt_edge_onnx(path: Path, m: dict) -> None:
    data = bytearray((path / "edge.onnx").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (path / "edge.onnx").write_bytes(bytes(data))


def _edge_onnx_not_a_model(path: Path, m: dict) -> None:
    (path / "edge.onnx").write_bytes(b"not an onnx model")
    m["files"]["edge.onnx"]["sha256"] = __import__("hashlib").sha256(b"not an onnx model").hexdigest()


CASES: dict[str, tuple[Edit, str, str]] = {
    # kind: (edit, file named in the message, text of the fault)
    "rans table off by one": (_manifest(_rans_off_by_one), "manifest.json", "frequencies sum to 4095"),
    "rans table missing": (_manifest(_rans_row_missing), "manifest.json", "tables"),
    "tables for other channels": (_manifest(_tables_other_channels), "manifest.json", "remote_channels is"),
    "centroids vs tables": (_manifest(lambda m: m["quantizer"]["centroids"].pop()), "manifest.json",
                            "codec.tables.n_symbols"),
    "class names cut to 5": (_manifest(lambda m: m.__setitem__("class_names", m["class_names"][:5])), "edge.onnx",
                             "shape"),
    "onnx input name": (_manifest(lambda m: m["tensors"]["edge"]["inputs"].__setitem__("indices", "idx")),
                        "edge.onnx", "has no input 'idx'"),
    "onnx output name": (_manifest(lambda m: m["tensors"]["edge"]["outputs"].__setitem__("fused_logits", "out")),
                         "edge.onnx", "has no output 'out'"),
    "feature shape": (_manifest(lambda m: m["features"].__setitem__("height", m["features"]["height"] - 1)),
                      "edge.onnx", "shape"),
    "channel split": (_manifest(lambda m: m["features"].__setitem__("local_channels",
                                                                    m["features"]["local_channels"] + 1)),
                      "manifest.json", "local_channels"),
    "edge.onnx hash": (_corrupt_edge_onnx, "edge.onnx", "sha256"),
    "edge.onnx not a model": (_edge_onnx_not_a_model, "edge.onnx", "onnxruntime cannot load it"),
    "missing file": (lambda p, m: (p / "fe_weights.npz").unlink(), "fe_weights.npz", "missing"),
    "model hash": (_manifest(lambda m: m.__setitem__("model_hash", "xyz")), "manifest.json", "model_hash"),
    "alpha": (_manifest(lambda m: m["fusion"].__setitem__("alpha", 1.5)), "manifest.json", "fusion.alpha"),
    "unknown default codec": (_manifest(lambda m: m["codec"].__setitem__("default", "zip")), "manifest.json",
                              "codec.default"),
}


def broken_copy(src: Path, dst: Path, edit: Edit) -> Path:
    shutil.copytree(src, dst)
    manifest = json.loads((dst / "manifest.json").read_text())
    edit(dst, manifest)
    (dst / "manifest.json").write_text(json.dumps(manifest))
    return dst


def test_shipped_bundle_passes(cifar_bundle: Path) -> None:
    pipeline = EdgePipeline(load_bundle(cifar_bundle))
    assert pipeline.max_batch > 1  # edge.onnx has a dynamic batch dimension


@pytest.mark.parametrize("kind", sorted(CASES))
def test_broken_bundle_refused_at_load(kind: str, cifar_bundle: Path, tmp_path: Path) -> None:
    edit, file, fault = CASES[kind]
    path = broken_copy(cifar_bundle, tmp_path / "b", edit)
    with pytest.raises(BundleError) as info:
        EdgePipeline(load_bundle(path))
    message = str(info.value)
    assert "\n" not in message and file in message and fault in message, message


@pytest.mark.parametrize("kind", ["rans table off by one", "class names cut to 5", "edge.onnx hash"])
def test_edge_node_refuses_to_start(kind: str, cifar_bundle: Path, tmp_path: Path) -> None:
    edit, file, fault = CASES[kind]
    path = broken_copy(cifar_bundle, tmp_path / "b", edit)
    env = python_env()
    env.update(ROS_DOMAIN_ID="199", ROS_AUTOMATIC_DISCOVERY_RANGE="LOCALHOST", AGILENN_TRANSPORT="dds")
    proc = subprocess.run([PYTHON, "-m", "agilenn_ros.nodes.edge_node", "--ros-args", "-p", f"model:={path}"],
                          env=env, capture_output=True, text=True, timeout=120)
    lines = [line for line in (proc.stdout + proc.stderr).splitlines() if line.strip()]
    assert proc.returncode != 0, lines
    assert "Traceback" not in proc.stderr, proc.stderr
    errors = [line for line in lines if "ERROR" in line or "FATAL" in line]
    assert len(errors) == 1 and file in errors[0] and fault in errors[0], lines


def test_baseline_bundle_is_named_as_such(tmp_path: Path) -> None:
    """`agilenn evaluate --model <a baseline bundle>` says what it is, not which keys it lacks."""
    (tmp_path / "manifest.json").write_text(json.dumps({"format": "agilenn-baseline", "format_version": 1,
                                                         "kind": "edge"}))
    with pytest.raises(BundleError, match=r"is a baseline bundle \(kind edge: .*not an AgileNN model bundle"):
        load_bundle(str(tmp_path))
