"""A deadline on a node process's teardown (destroying its nodes and shutting the middleware down).

DDS implementations have known, rare deadlocks while a participant or its writers are deleted
(e.g. eProsima/Fast-DDS#6193, #4026: ``ResourceEvent::unregister_timer`` never returns). A node
that has finished its work (``max_frames`` sent, Ctrl-C, a configuration error) must still end:
a robot's launch file, a recording script or a test waits for it. So the teardown runs under a
deadline; when it passes, the process writes one error line and the stack of every thread to
stderr (so the hang can be reported) and exits with the status it would have had.

Two mechanisms, because a hang inside a C extension may or may not hold the GIL:

* a Python timer thread writes the line, the stacks and ends the process with ``os._exit(status)``
  (it needs the GIL, so it runs only if the hung call released it);
* :func:`faulthandler.dump_traceback_later` a few seconds later, from a C thread that needs no
  GIL, as a backstop (its exit status is 1).
"""
from __future__ import annotations

import faulthandler
import os
import sys
import threading
import time
from contextlib import contextmanager
from typing import Iterator

TEARDOWN_DEADLINE_S = 10.0
"""Seconds a node process may spend shutting down after its work ended."""

BACKSTOP_DELAY_S = 5.0
"""Seconds after the deadline at which the GIL-free backstop ends the process."""


@contextmanager
def teardown_deadline(name: str, exit_status: int, timeout_s: float | None = None) -> Iterator[None]:
    """Run the enclosed teardown with a deadline of ``timeout_s`` seconds (None: the module's
    ``TEARDOWN_DEADLINE_S``, read at the call).

    name: the process's logger name (for the error line); exit_status: the status the process
    exits with if the deadline passes (the one it would have returned). When the block ends in
    time nothing is written and the process continues normally."""
    deadline_s = TEARDOWN_DEADLINE_S if timeout_s is None else timeout_s

    def expire() -> None:
        sys.stderr.write(f"[ERROR] [{time.time():.9f}] [{name}]: shutdown did not finish within {deadline_s:g} s (a hang inside the "
                         f"middleware's teardown); exiting with status {exit_status}. Stacks of all threads:\n")
        sys.stderr.flush()
        faulthandler.dump_traceback(file=sys.stderr, all_threads=True)
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        os._exit(exit_status)

    timer = threading.Timer(deadline_s, expire)
    timer.daemon = True
    timer.start()
    backstop = _stderr_fileno() is not None
    if backstop:
        faulthandler.dump_traceback_later(deadline_s + BACKSTOP_DELAY_S, exit=True)
    try:
        yield
    finally:
        timer.cancel()
        if backstop:
            faulthandler.cancel_dump_traceback_later()


def _stderr_fileno() -> int | None:
    """stderr's file descriptor (faulthandler writes to it), or None where stderr has none
    (e.g. replaced by a StringIO in a test)."""
    try:
        return sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):
        return None
