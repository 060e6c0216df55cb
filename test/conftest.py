"""Shared fixtures: a digits model trained and exported once per test session."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_CIFAR = REPO.parent / "shared" / "data" / "cifar10"


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


@pytest.fixture(scope="session")
def digits_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Train the digits profile end to end (seconds); returns the run directory."""
    pytest.importorskip("torch")
    pytest.importorskip("sklearn", reason="the digits data set comes from scikit-learn (the train extra)")
    from agilenn_ros.config import load_profile
    from agilenn_ros.training.train_agilenn import train_agilenn
    out = tmp_path_factory.mktemp("digits-run")
    train_agilenn(load_profile("digits"), "digits", out)
    return out


@pytest.fixture(scope="session")
def digits_bundle(digits_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The digits run exported to a model bundle (device.onnx, edge.onnx, header, metrics)."""
    from agilenn_ros.export.exporter import export_bundle
    out = tmp_path_factory.mktemp("digits-bundle") / "digits"
    export_bundle(digits_run / "best.pt", out, data="digits", calibration=500)
    return out


@pytest.fixture(scope="session")
def cifar_bundle() -> Path:
    path = REPO / "models" / "cifar10"
    if not (path / "manifest.json").is_file():
        pytest.skip("models/cifar10 bundle not present")
    return path


ROS_TESTS = Path(__file__).resolve().parent / "ros"


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """test/ros/ needs the ROS 2 environment that `make test-ros` builds (.venv-ros, a colcon
    install sourced): it is collected only there (AGILENN_ROS_TESTS=1), never half-run here."""
    if os.environ.get("AGILENN_ROS_TESTS") != "1" and (
            collection_path == ROS_TESTS or ROS_TESTS in collection_path.parents):
        return True
    return None


def python_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return env


PYTHON = sys.executable
