"""Fixtures of the ROS 2 tests (collected only by `make test-ros`, see test/conftest.py).

The test process is .venv-ros's Python with ``build-ros/install/local_setup.bash`` sourced:
rclpy 7.1.6 on Fast DDS from the ros-jazzy-* wheels, and the colcon-built agilenn_ros and
test vision_msgs. Node processes are started from the installed launchers
(``lib/agilenn_ros/<exe>``) the way ``ros2 run`` starts them. Every test gets its own
ROS_DOMAIN_ID and LOCALHOST discovery, so parallel runs on one machine do not cross-talk.
A run with any skipped test fails (the ROS part must run, not be skipped).
"""
from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Iterator

import pytest

from rosproc import RosEnv

REPO = Path(__file__).resolve().parents[2]


def _install_prefix() -> Path:
    for prefix in os.environ.get("AMENT_PREFIX_PATH", "").split(os.pathsep):
        if prefix and (Path(prefix) / "share" / "agilenn_ros" / "package.xml").is_file():
            return Path(prefix)
    raise pytest.UsageError("agilenn_ros is not in AMENT_PREFIX_PATH: run these tests with `make test-ros` "
                            "(it sources build-ros/install/local_setup.bash)")


@pytest.fixture(scope="session")
def install_prefix() -> Path:
    """The colcon install prefix of agilenn_ros (``.../install/agilenn_ros``)."""
    return _install_prefix()


@pytest.fixture(scope="session")
def dds_python() -> Path:
    """The normal .venv's Python (cyclonedds, no rclpy): the Cyclone side of interop tests."""
    path = Path(os.environ.get("AGILENN_DDS_PYTHON", REPO / ".venv" / "bin" / "python"))
    if not path.is_file():
        raise pytest.UsageError(f"AGILENN_DDS_PYTHON={path} does not exist: run `make setup` first")
    return path


_used_domains: set[int] = set()


@pytest.fixture
def ros_env(install_prefix: Path, tmp_path: Path) -> Iterator[RosEnv]:
    """A fresh ROS_DOMAIN_ID with LOCALHOST discovery; processes started through it are
    stopped (SIGINT, then SIGKILL) at the end of the test."""
    rng = random.Random(os.getpid() * 7919 + len(_used_domains))
    domain = rng.choice([d for d in range(30, 160) if d not in _used_domains])
    _used_domains.add(domain)
    env = RosEnv(install_prefix=install_prefix, domain_id=domain, workdir=tmp_path, repo=REPO)
    try:
        yield env
    finally:
        env.stop_all()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Skips are failures here: the ROS part of the suite must run (issue 9)."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = len(reporter.stats.get("skipped", [])) if reporter is not None else 0
    if skipped and session.exitstatus == 0:
        reporter.write_line(f"make test-ros: {skipped} test(s) skipped; the ROS tests must not skip", red=True)
        session.exitstatus = 1
