"""Node processes and an rclpy probe for the ROS 2 tests (helpers, not a test module).

:class:`RosEnv` starts the installed launchers (``<install>/lib/agilenn_ros/<exe>``) as
``ros2 run`` does (the file itself, its shebang picks ``python3`` from PATH, which is
.venv-ros's), or a Cyclone DDS backend process on the normal .venv's Python, each with the
test's ROS_DOMAIN_ID and LOCALHOST discovery. :class:`Probe` is an rclpy node in the test
process (its own context) that records what arrives on topics.
"""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

# variables a sourced ROS install sets; the Cyclone side must not see them
_ROS_VARS = ("AMENT_PREFIX_PATH", "CMAKE_PREFIX_PATH", "COLCON_PREFIX_PATH", "PYTHONPATH", "LD_LIBRARY_PATH",
             "ROS_DISTRO", "ROS_PYTHON_VERSION", "ROS_VERSION", "RMW_IMPLEMENTATION")


@dataclass
class Proc:
    """A started process whose stdout/stderr go to files (read with :meth:`out`/:meth:`err`)."""

    name: str
    popen: subprocess.Popen
    stdout_path: Path
    stderr_path: Path

    def out(self) -> str:
        return self.stdout_path.read_text(encoding="utf-8", errors="replace")

    def err(self) -> str:
        return self.stderr_path.read_text(encoding="utf-8", errors="replace")

    def logs(self) -> str:
        return f"--- {self.name} stdout\n{self.out()}\n--- {self.name} stderr\n{self.err()}"

    def alive(self) -> bool:
        return self.popen.poll() is None

    def wait_for(self, pattern: str, timeout_s: float, stream: str = "both") -> re.Match[str]:
        """Wait until ``pattern`` (regex) shows in the output; raises AssertionError with the
        logs when the time is up or the process ended without it."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout_s
        while True:
            text = self.out() if stream == "stdout" else self.err() if stream == "stderr" else self.out() + self.err()
            m = rx.search(text)
            if m:
                return m
            if time.monotonic() > deadline or not self.alive():
                raise AssertionError(f"{self.name}: {pattern!r} not seen "
                                     f"({'exited ' + str(self.popen.returncode) if not self.alive() else 'timeout'})\n"
                                     + self.logs())
            time.sleep(0.1)

    def interrupt(self, timeout_s: float = 20.0) -> int:
        """SIGINT (Ctrl-C) and wait; returns the exit code (AssertionError with the stacks if it hangs)."""
        if self.alive():
            self.popen.send_signal(signal.SIGINT)
        try:
            return self.popen.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self._abort_with_stacks()
            raise AssertionError(f"{self.name} did not exit within {timeout_s} s of SIGINT\n{self.logs()}") from None

    def wait(self, timeout_s: float) -> int:
        try:
            return self.popen.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self._abort_with_stacks()
            raise AssertionError(f"{self.name} still running after {timeout_s} s\n{self.logs()}") from None

    def _abort_with_stacks(self) -> None:
        """End a hung process so that its logs show where it hung: SIGABRT makes Python's
        faulthandler (PYTHONFAULTHANDLER=1, set by :meth:`RosEnv.base_env`) write the stack of
        every thread to stderr; SIGKILL if even that does not end it."""
        self.popen.send_signal(signal.SIGABRT)
        try:
            self.popen.wait(10)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait(5)


@dataclass
class RosEnv:
    install_prefix: Path
    domain_id: int
    workdir: Path
    repo: Path
    procs: list[Proc] = field(default_factory=list)

    def base_env(self, discovery_range: str = "LOCALHOST") -> dict[str, str]:
        env = dict(os.environ)
        env.pop("AGILENN_TRANSPORT", None)
        env.update(ROS_DOMAIN_ID=str(self.domain_id), ROS_AUTOMATIC_DISCOVERY_RANGE=discovery_range,
                   PYTHONUNBUFFERED="1", ROS_PYTHON_CHECK_FIELDS="1",
                   PYTHONFAULTHANDLER="1")  # a hung node's stacks on SIGABRT (Proc._abort_with_stacks)
        env.pop("ROS_LOCALHOST_ONLY", None)
        return env

    def rclpy_env(self, discovery_range: str = "LOCALHOST", **extra: str) -> dict[str, str]:
        """Environment of a node started like `ros2 run`: the sourced install, .venv-ros's
        python3 first on PATH."""
        env = self.base_env(discovery_range)
        env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
        env.update(extra)
        return env

    def dds_env(self, discovery_range: str = "LOCALHOST", **extra: str) -> dict[str, str]:
        """Environment of a Cyclone DDS backend process (no ROS variables at all)."""
        env = self.base_env(discovery_range)
        for var in _ROS_VARS:
            env.pop(var, None)
        env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep)
                                      if not p.startswith(str(Path(sys.executable).parent)))
        env["AGILENN_TRANSPORT"] = "dds"
        env.update(extra)
        return env

    def launcher(self, exe: str) -> Path:
        path = self.install_prefix / "lib" / "agilenn_ros" / exe
        assert path.is_file() and os.access(path, os.X_OK), f"{path} is not an installed executable"
        return path

    def start(self, name: str, cmd: Sequence[str | os.PathLike[str]], env: dict[str, str]) -> Proc:
        out, err = self.workdir / f"{name}.out", self.workdir / f"{name}.err"
        popen = subprocess.Popen([str(c) for c in cmd], env=env, cwd=self.workdir, stdin=subprocess.DEVNULL,
                                 stdout=out.open("w"), stderr=err.open("w"),
                                 preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        proc = Proc(name, popen, out, err)
        self.procs.append(proc)
        return proc

    def run_node(self, exe: str, *args: str, name: str | None = None, discovery_range: str = "LOCALHOST",
                 **extra_env: str) -> Proc:
        """``ros2 run agilenn_ros <exe> <args>``: the installed launcher itself."""
        return self.start(name or exe, [self.launcher(exe), *args], self.rclpy_env(discovery_range, **extra_env))

    def run_dds(self, dds_python: Path, module_args: Sequence[str], name: str,
                discovery_range: str = "LOCALHOST", **extra_env: str) -> Proc:
        """``<.venv>/bin/python -m <module args>`` on the Cyclone DDS backend (source checkout)."""
        env = self.dds_env(discovery_range, **extra_env)
        env["PYTHONPATH"] = str(self.repo)
        return self.start(name, [dds_python, "-m", *module_args], env)

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.alive():
                proc.popen.send_signal(signal.SIGINT)
        for proc in self.procs:
            try:
                proc.popen.wait(10)
            except subprocess.TimeoutExpired:
                proc.popen.kill()
                proc.popen.wait(5)


def assert_clean_exit(proc: Proc, code: int) -> None:
    """Exit code 0 and no Python traceback on stderr."""
    assert code == 0, f"{proc.name} exited {code}\n{proc.logs()}"
    assert "Traceback" not in proc.err(), f"{proc.name} printed a traceback\n{proc.logs()}"


class Probe:
    """An rclpy node in the test process, in its own context on ``domain_id``."""

    def __init__(self, domain_id: int, name: str = "probe", discovery_range: str = "LOCALHOST") -> None:
        os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = discovery_range
        import rclpy
        from rclpy.executors import SingleThreadedExecutor
        from rclpy.node import Node

        self.context = rclpy.Context()
        rclpy.init(context=self.context, domain_id=domain_id)
        self.node = Node(name, context=self.context)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)

    @staticmethod
    def qos(reliable: bool = True, latched: bool = False, depth: int = 10) -> Any:
        from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy

        return QoSProfile(depth=depth,
                          reliability=ReliabilityPolicy.RELIABLE if reliable else ReliabilityPolicy.BEST_EFFORT,
                          durability=DurabilityPolicy.TRANSIENT_LOCAL if latched else DurabilityPolicy.VOLATILE)

    def subscribe(self, type_name: str, topic: str, qos: Any = None) -> list[Any]:
        """Messages arriving on ``topic`` are appended to the returned list."""
        import importlib

        pkg, _, short = type_name.split("/")
        cls = getattr(importlib.import_module(f"{pkg}.msg"), short)
        received: list[Any] = []
        self.node.create_subscription(cls, topic, received.append, qos if qos is not None else self.qos())
        return received

    def spin_until(self, predicate: Callable[[], bool], timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while not predicate():
            if time.monotonic() > deadline:
                return False
            self.executor.spin_once(timeout_sec=0.05)
        return True

    def close(self) -> None:
        import rclpy

        self.executor.shutdown()
        self.node.destroy_node()
        rclpy.try_shutdown(context=self.context)
