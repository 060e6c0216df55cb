"""Transport layer: one small node interface over rclpy or Cyclone DDS.

    from agilenn_ros.transport import make_transport, SENSOR, as_bytes

    transport = make_transport(argv=sys.argv)          # "rclpy" if importable, else "dds"
    node = transport.create_node("edge", "/agilenn")
    sub = node.create_subscription("agilenn_ros/msg/FeatureFrame", "features", on_frame, SENSOR)
    try:
        transport.spin()                                # returns on SIGINT/SIGTERM
    finally:
        transport.shutdown()

The backend is chosen once per process: ``backend`` argument, else the environment variable
``AGILENN_TRANSPORT`` (``rclpy`` | ``dds`` | ``auto``), else ``auto``: rclpy when
``import rclpy`` works (a sourced ROS 2 install, or the ros-jazzy-* wheels), else dds when
cyclonedds is installed, else an error naming both ways to get a transport. So a ROS 2 install
without cyclonedds uses rclpy, and where both are importable rclpy wins (ask for dds with
``AGILENN_TRANSPORT=dds``). The backends are imported lazily and never both.
"""

from __future__ import annotations

import importlib.util
import os
import threading
from typing import Any, Mapping, Sequence

from .base import (
    LATCHED,
    RELIABLE,
    SENSOR,
    Logger,
    Node,
    ParameterAlreadyDeclaredError,
    ParameterError,
    ParameterNotDeclaredError,
    ParameterTypeError,
    Publisher,
    QoS,
    Stamp,
    Subscription,
    Timer,
    Transport,
    TransportError,
    as_array,
    as_bytes,
)

BACKENDS = ("rclpy", "dds")
ENV_VAR = "AGILENN_TRANSPORT"

_lock = threading.Lock()
_chosen: str | None = None
_active: Transport | None = None


def rclpy_available() -> bool:
    """Whether ``import rclpy`` works in this process (imports it)."""
    try:
        import rclpy  # noqa: F401
    except Exception:
        return False
    return True


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


NO_BACKEND = ("no ROS 2 transport here: neither rclpy (source a ROS 2 Jazzy install) nor cyclonedds "
              "(pip install 'agilenn_ros[dds]') is installed")


def auto_backend(env: Mapping[str, str] | None = None) -> str:
    """What ``auto`` resolves to, without importing either backend (for a process that only
    starts node processes, such as ``agilenn demo``): ``AGILENN_TRANSPORT`` if it names a
    backend, else rclpy when it is importable, else dds when cyclonedds is. Raises
    TransportError when neither is installed or the variable is invalid."""
    env = os.environ if env is None else env
    want = (env.get(ENV_VAR, "") or "auto").strip().lower()
    if want in BACKENDS:
        return want
    if want != "auto":
        raise TransportError(f"{ENV_VAR}={want!r}: use one of {BACKENDS} or 'auto'")
    if _importable("rclpy"):
        return "rclpy"
    if _importable("cyclonedds"):
        return "dds"
    raise TransportError(NO_BACKEND)


def choose_backend(backend: str = "auto") -> str:
    """The backend this process uses (fixed by the first call that creates a transport)."""
    want = (backend or "auto").strip().lower()
    if want == "auto":
        want = os.environ.get(ENV_VAR, "auto").strip().lower() or "auto"
    if want == "auto":
        if _chosen is not None:
            return _chosen
        if rclpy_available():
            want = "rclpy"
        elif _importable("cyclonedds"):
            want = "dds"
        else:
            raise TransportError(NO_BACKEND)
    if want not in BACKENDS:
        raise TransportError(f"unknown transport backend {want!r}; use one of {BACKENDS} or 'auto'")
    if _chosen is not None and want != _chosen:
        raise TransportError(f"this process already uses the {_chosen!r} transport; "
                             f"rclpy and Cyclone DDS must not be mixed in one process")
    return want


def make_transport(backend: str = "auto", *, argv: Sequence[str] | None = None,
                   install_signal_handlers: bool = True, **kwargs: Any) -> Transport:
    """Create the process's transport.

    ``argv``: the process arguments (``sys.argv``); ``--ros-args`` in it apply as in rclpy.
    ``install_signal_handlers``: SIGINT/SIGTERM make ``spin()`` return (and ``ok()`` False).
    Only one live transport per process: shut the previous one down first.
    """
    global _chosen, _active
    with _lock:
        name = choose_backend(backend)
        if _active is not None and not _active.closed:
            raise TransportError("a transport is already active in this process; "
                                 "use it, or shut it down first")
        if name == "rclpy":
            from .rclpy_backend import RclpyTransport

            transport: Transport = RclpyTransport(argv, install_signal_handlers=install_signal_handlers, **kwargs)
        else:
            from .dds import DdsTransport

            transport = DdsTransport(argv, install_signal_handlers=install_signal_handlers, **kwargs)
        _chosen, _active = name, transport
        return transport


def chosen_backend() -> str | None:
    """The backend already in use by this process, if any."""
    return _chosen


__all__ = [
    "make_transport", "choose_backend", "chosen_backend", "rclpy_available", "auto_backend", "BACKENDS", "ENV_VAR",
    "QoS", "SENSOR", "RELIABLE", "LATCHED", "Stamp", "as_bytes", "as_array",
    "Transport", "Node", "Publisher", "Subscription", "Timer", "Logger",
    "TransportError", "ParameterError", "ParameterAlreadyDeclaredError",
    "ParameterNotDeclaredError", "ParameterTypeError",
]
