"""Model bundles by name after a pip install: the wheel ships the cifar10 bundle under
<prefix>/share/agilenn_ros/models, the lookup finds it there, and a missing name says where
it looked (existing directories only) and how to add one ($AGILENN_MODEL_PATH)."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from conftest import REPO

from agilenn_ros.runtime import bundle as bundle_module
from agilenn_ros.runtime.bundle import BundleError, load_bundle, resolve_model


def test_wheel_ships_the_cifar10_bundle(tmp_path: Path, cifar_bundle: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "setup.py", "README.md"):
        shutil.copy(REPO / name, src / name)
    for name in ("agilenn_ros", "msg"):
        shutil.copytree(REPO / name, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.so"))
    shutil.copytree(cifar_bundle, src / "models" / "cifar10")
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                           "-w", str(tmp_path / "dist"), str(src)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    wheel = next((tmp_path / "dist").glob("agilenn_ros-*.whl"))
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
    data = "agilenn_ros-0.1.0.data/data/share/agilenn_ros/models/cifar10/"
    manifest = json.loads((cifar_bundle / "manifest.json").read_text())
    missing = [f for f in ["manifest.json", *manifest["files"]] if data + f not in names]
    assert not missing, f"the wheel lacks {missing}"


def test_bundle_found_under_the_install_prefix(tmp_path: Path, cifar_bundle: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    models = tmp_path / "prefix" / "share" / "agilenn_ros" / "models"
    shutil.copytree(cifar_bundle, models / "installed_only")
    monkeypatch.delenv(bundle_module.MODEL_PATH_ENV, raising=False)
    monkeypatch.setattr(sys, "prefix", str(tmp_path / "prefix"))
    assert resolve_model("installed_only") == models / "installed_only"
    assert load_bundle("installed_only").model_id == load_bundle(cifar_bundle).model_id


def test_missing_bundle_names_existing_places_and_the_variable(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    extra = tmp_path / "my-models"
    extra.mkdir()
    monkeypatch.setenv(bundle_module.MODEL_PATH_ENV, f"{extra}:{tmp_path / 'does-not-exist'}")
    monkeypatch.setattr(sys, "prefix", str(tmp_path / "empty-prefix"))
    with pytest.raises(BundleError) as info:
        resolve_model("nonexistent_model")
    text = str(info.value)
    assert "AGILENN_MODEL_PATH" in text and str(extra) in text
    assert "does-not-exist" not in text and "empty-prefix" not in text


def test_a_name_with_folders_is_looked_up_too(tmp_path: Path, cifar_bundle: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """`--model baselines/edge` finds models/baselines/edge as `--model cifar10` finds models/cifar10;
    a path that leaves the search roots (..) or is absolute is only taken as a path."""
    extra = tmp_path / "my-models"
    shutil.copytree(cifar_bundle, extra / "robots" / "arm")
    monkeypatch.setenv(bundle_module.MODEL_PATH_ENV, str(extra))
    monkeypatch.chdir(tmp_path)
    assert resolve_model("robots/arm") == extra / "robots" / "arm"
    assert resolve_model("baselines/edge") == REPO / "models" / "baselines" / "edge"
    with pytest.raises(BundleError):
        resolve_model("robots/../robots/arm")
    with pytest.raises(BundleError):
        resolve_model("/robots/arm")
