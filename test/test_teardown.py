"""The teardown deadline of node processes (agilenn_ros.nodes.teardown): a hang while the
middleware shuts down ends the process with its status and the stacks, instead of forever."""
from __future__ import annotations

import re
import subprocess
import sys
import textwrap
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _run(code: str, timeout_s: float = 60.0) -> tuple[subprocess.CompletedProcess[str], float]:
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=REPO, capture_output=True, text=True,
                          timeout=timeout_s)
    return proc, time.monotonic() - start


def test_a_teardown_that_ends_in_time_leaves_no_trace() -> None:
    proc, _ = _run("""
        import sys
        from agilenn_ros.nodes.teardown import teardown_deadline
        with teardown_deadline("quick", 3, timeout_s=5.0):
            pass
        print("continued")
        sys.exit(0)
    """)
    assert proc.returncode == 0 and proc.stdout.strip() == "continued" and proc.stderr == "", proc


def test_a_hung_teardown_ends_the_node_with_its_status_and_the_stacks() -> None:
    # run_node with a transport whose shutdown never returns (a DDS teardown deadlock)
    proc, elapsed = _run("""
        import sys, time
        import agilenn_ros.nodes.teardown as teardown
        teardown.TEARDOWN_DEADLINE_S = 0.5
        from agilenn_ros.nodes import common

        class HangingTransport:
            def ok(self): return True
            def spin_once(self, timeout_s): pass
            def shutdown(self): time.sleep(120)

        class FinishedNode:
            finished = True

        common.make_transport = lambda kind, argv=None: HangingTransport()
        sys.exit(common.run_node(lambda transport: FinishedNode(), ["agilenn_device"], name="hangtest"))
    """)
    assert proc.returncode == 0, proc           # the status run_node would have returned
    assert elapsed < 30, elapsed
    assert re.search(r"\[ERROR\] \[\d+\.\d+\] \[hangtest\]: shutdown did not finish within 0.5 s", proc.stderr), \
        proc.stderr
    assert "in shutdown" in proc.stderr, proc.stderr   # the hung frame is named in the stacks


def test_a_hang_that_holds_the_gil_is_ended_by_the_backstop() -> None:
    # a C call that never releases the GIL: the Python timer cannot run, faulthandler's C thread can
    proc, elapsed = _run("""
        import ctypes
        from agilenn_ros.nodes.teardown import teardown_deadline
        libc = ctypes.PyDLL(None)   # PyDLL: the GIL stays held during the call
        with teardown_deadline("gilhang", 0, timeout_s=0.5):
            libc.sleep(120)
    """)
    assert proc.returncode == 1, proc
    assert elapsed < 30, elapsed
    assert "Timeout" in proc.stderr and "File" in proc.stderr, proc.stderr
