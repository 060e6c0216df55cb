"""The transport interface shared by the rclpy and Cyclone DDS backends.

Node code only sees what is defined here: a :class:`Transport` (one per process, from
:func:`agilenn_ros.transport.make_transport`), its :class:`Node` objects, publishers,
subscriptions and timers, :class:`QoS` descriptions and :class:`Stamp` times.

Messages are whatever the backend uses (rosbags dataclasses on DDS, rosidl classes on
rclpy). Both support keyword construction through :meth:`Node.message` and reading fields
by attribute name; numeric array fields differ (numpy arrays vs ``array.array``), so read
them through :func:`as_bytes` / :func:`as_array`.

This module imports neither rclpy nor cyclonedds nor rosbags.
"""

from __future__ import annotations

import array
import sys
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, replace
from typing import Any, Callable, Literal, Mapping, NamedTuple

import numpy as np

Reliability = Literal["reliable", "best_effort"]
Durability = Literal["volatile", "transient_local"]
History = Literal["keep_last", "keep_all"]


# --------------------------------------------------------------------------- QoS


@dataclass(frozen=True)
class QoS:
    """A ROS 2 QoS profile as plain data (deadline, lifespan and liveliness are always the
    ROS defaults: infinite / automatic)."""

    reliability: Reliability = "reliable"
    durability: Durability = "volatile"
    depth: int = 10
    history: History = "keep_last"

    def __post_init__(self) -> None:
        if self.reliability not in ("reliable", "best_effort"):
            raise ValueError(f"reliability must be 'reliable' or 'best_effort', not {self.reliability!r}")
        if self.durability not in ("volatile", "transient_local"):
            raise ValueError(f"durability must be 'volatile' or 'transient_local', not {self.durability!r}")
        if self.history not in ("keep_last", "keep_all"):
            raise ValueError(f"history must be 'keep_last' or 'keep_all', not {self.history!r}")
        if self.history == "keep_last" and self.depth < 1:
            raise ValueError("a keep_last QoS needs depth >= 1")

    def with_depth(self, depth: int) -> "QoS":
        return replace(self, depth=int(depth), history="keep_last")

    def keep_all(self) -> "QoS":
        return replace(self, history="keep_all")

    @classmethod
    def parse(cls, value: "QoS | str | int") -> "QoS":
        """A QoS from a preset name ('sensor', 'reliable', 'latched', also 'sensor_data',
        'default'), an int (keep-last depth, reliable, volatile, as rclpy) or a QoS."""
        if isinstance(value, QoS):
            return value
        if isinstance(value, bool):
            raise TypeError("QoS depth must be an int, not bool")
        if isinstance(value, int):
            return cls(depth=value)
        key = str(value).strip().lower()
        try:
            return _PRESETS[key]
        except KeyError:
            raise ValueError(f"unknown QoS preset {value!r}; use one of {sorted(_PRESETS)}") from None


SENSOR = QoS("best_effort", "volatile", 5)
"""rclpy ``qos_profile_sensor_data``: best effort, volatile, keep last 5."""
RELIABLE = QoS("reliable", "volatile", 10)
"""The ROS default profile: reliable, volatile, keep last 10."""
LATCHED = QoS("reliable", "transient_local", 1)
"""Reliable, transient local, keep last 1: late subscribers get the last message."""

_PRESETS: dict[str, QoS] = {
    "sensor": SENSOR,
    "sensor_data": SENSOR,
    "reliable": RELIABLE,
    "default": RELIABLE,
    "latched": LATCHED,
    "transient_local": LATCHED,
}


# --------------------------------------------------------------------------- time


class Stamp(NamedTuple):
    """A ROS time (``builtin_interfaces/msg/Time`` layout)."""

    sec: int
    nanosec: int

    @classmethod
    def from_ns(cls, ns: int) -> "Stamp":
        sec, nsec = divmod(int(ns), 1_000_000_000)
        return cls(sec, nsec)

    @classmethod
    def of(cls, msg_stamp: Any) -> "Stamp":
        """From any object with ``sec`` and ``nanosec`` (either backend's Time message)."""
        return cls(int(msg_stamp.sec), int(msg_stamp.nanosec))

    @property
    def nanoseconds(self) -> int:
        return self.sec * 1_000_000_000 + self.nanosec

    def to_seconds(self) -> float:
        return self.sec + self.nanosec * 1e-9


# --------------------------------------------------------------------------- field accessors


def as_bytes(value: Any) -> bytes:
    """A ``uint8[]``/``byte[]`` field as ``bytes`` (numpy array, ``array.array``, bytes,
    memoryview or list of ints)."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, np.ndarray):
        return value.astype(np.uint8, copy=False).tobytes()
    if isinstance(value, (bytearray, memoryview, array.array)):
        return bytes(value)
    return bytes(bytearray(value))


def as_array(value: Any, dtype: Any = np.float32) -> np.ndarray:
    """A numeric array field as a 1-D numpy array of ``dtype`` (no copy when the field
    already has that dtype: a view onto a numpy array or an ``array.array``)."""
    dt = np.dtype(dtype)
    if isinstance(value, np.ndarray):
        return value.astype(dt, copy=False).reshape(-1)
    if isinstance(value, array.array) and np.dtype(value.typecode) == dt:
        return np.frombuffer(value, dtype=dt)
    if isinstance(value, (bytes, bytearray, memoryview)) and dt.itemsize == 1:
        return np.frombuffer(value, dtype=dt)
    return np.asarray(value, dtype=dt).reshape(-1)


# --------------------------------------------------------------------------- names


def normalize_namespace(namespace: str | None) -> str:
    ns = (namespace or "").strip()
    if not ns or ns == "/":
        return "/"
    if not ns.startswith("/"):
        ns = "/" + ns
    return ns.rstrip("/")


def resolve_topic_name(topic: str, namespace: str, node_name: str) -> str:
    """Resolve a ROS topic name the way rcl does: ``~`` is the node's private namespace,
    relative names go under the node namespace, absolute names stay."""
    if not topic:
        raise ValueError("empty topic name")
    ns = normalize_namespace(namespace)
    base = "" if ns == "/" else ns
    if topic == "~":
        name = f"{base}/{node_name}"
    elif topic.startswith("~/"):
        name = f"{base}/{node_name}/{topic[2:]}"
    elif topic.startswith("/"):
        name = topic
    else:
        name = f"{base}/{topic}"
    name = name.rstrip("/") or "/"
    if "//" in name or not all(c.isalnum() or c in "_/" for c in name):
        raise ValueError(f"invalid topic name {topic!r} (resolved to {name!r})")
    return name


# --------------------------------------------------------------------------- errors


class TransportError(RuntimeError):
    """A transport could not be created or used."""


class ParameterError(Exception):
    """Base class of parameter errors (mirrors rclpy's parameter exceptions)."""


class ParameterAlreadyDeclaredError(ParameterError):
    pass


class ParameterNotDeclaredError(ParameterError):
    pass


class ParameterTypeError(ParameterError, TypeError):
    """An override's type differs from the declared default's (rclpy raises
    ``InvalidParameterTypeException`` in the same case, e.g. ``10`` for a float)."""


# --------------------------------------------------------------------------- logging


class Logger(ABC):
    """What node code may call on ``node.get_logger()`` (the subset both backends have).

    No printf-style arguments: pass one string (rclpy raises on extra positionals).
    Keyword options ``once``, ``skip_first`` and ``throttle_duration_sec`` work on both."""

    @abstractmethod
    def debug(self, message: str, **kwargs: Any) -> Any: ...

    @abstractmethod
    def info(self, message: str, **kwargs: Any) -> Any: ...

    @abstractmethod
    def warning(self, message: str, **kwargs: Any) -> Any: ...

    def warn(self, message: str, **kwargs: Any) -> Any:
        return self.warning(message, **kwargs)

    @abstractmethod
    def error(self, message: str, **kwargs: Any) -> Any: ...

    @abstractmethod
    def fatal(self, message: str, **kwargs: Any) -> Any: ...


_LEVELS = {"DEBUG": 10, "INFO": 20, "WARN": 30, "ERROR": 40, "FATAL": 50}


class StderrLogger(Logger):
    """A logger that prints like rcutils' default console format, to stderr:
    ``[INFO] [1700000000.123456789] [agilenn.edge]: message``."""

    def __init__(self, name: str, level: str = "INFO") -> None:
        self.name = name
        self.level = _LEVELS.get(level.upper(), 20)
        self._once: set[tuple[str, str]] = set()
        self._seen: set[tuple[str, str]] = set()
        self._last: dict[tuple[str, str], float] = {}

    def set_level(self, level: str) -> None:
        self.level = _LEVELS[level.upper()]

    def _log(self, severity: str, message: str, once: bool = False, skip_first: bool = False,
             throttle_duration_sec: float | None = None, **_: Any) -> bool:
        if _LEVELS[severity] < self.level:
            return False
        key = (severity, str(message))
        if once:
            if key in self._once:
                return False
            self._once.add(key)
        if skip_first and key not in self._seen:
            self._seen.add(key)
            return False
        if throttle_duration_sec:
            now = time.monotonic()
            last = self._last.get(key)
            if last is not None and now - last < throttle_duration_sec:
                return False
            self._last[key] = now
        stamp = Stamp.from_ns(time.time_ns())
        sys.stderr.write(f"[{severity}] [{stamp.sec}.{stamp.nanosec:09d}] [{self.name}]: {message}\n")
        sys.stderr.flush()
        return True

    def debug(self, message: str, **kwargs: Any) -> bool:
        return self._log("DEBUG", message, **kwargs)

    def info(self, message: str, **kwargs: Any) -> bool:
        return self._log("INFO", message, **kwargs)

    def warning(self, message: str, **kwargs: Any) -> bool:
        return self._log("WARN", message, **kwargs)

    def error(self, message: str, **kwargs: Any) -> bool:
        return self._log("ERROR", message, **kwargs)

    def fatal(self, message: str, **kwargs: Any) -> bool:
        return self._log("FATAL", message, **kwargs)


# --------------------------------------------------------------------------- entities

MessageCallback = Callable[[Any], None]
ParameterValidator = Callable[[str, Any], "str | None"]
"""``validate(name, value)``: ``None`` accepts a run-time parameter change, a string refuses it."""
ParameterApplier = Callable[[str, Any], None]
"""``apply(name, value)``: called after an accepted run-time change was stored."""


class Publisher(ABC):
    topic_name: str
    """The fully qualified ROS topic name."""
    type_name: str
    """The ROS type name, e.g. ``agilenn_ros/msg/FeatureFrame``."""
    qos: QoS

    @abstractmethod
    def publish(self, msg: Any) -> None:
        """Publish a message of this backend (from :meth:`Node.message`) or ``bytes`` holding
        serialized CDR (with the 4-byte encapsulation header)."""

    @abstractmethod
    def get_subscription_count(self) -> int:
        """Number of matched subscriptions."""

    @abstractmethod
    def wait_for_acks(self, timeout_s: float) -> bool:
        """Block until reliable subscribers acknowledged everything (True) or timeout."""


class Subscription(ABC):
    topic_name: str
    type_name: str
    qos: QoS

    @abstractmethod
    def get_publisher_count(self) -> int:
        """Number of matched publishers."""

    def lost_count(self) -> int | None:
        """Samples the middleware reported lost or rejected for this subscription since it was
        created (DDS SAMPLE_LOST + SAMPLE_REJECTED, rclpy ``message_lost``); None: unknown."""
        return None


class Timer(ABC):
    period_s: float

    @abstractmethod
    def cancel(self) -> None: ...

    @abstractmethod
    def reset(self) -> None:
        """Restart a (possibly canceled) timer: next call one period from now."""

    @abstractmethod
    def is_canceled(self) -> bool: ...


class Node(ABC):
    """A ROS 2 node on some backend. Create with :meth:`Transport.create_node`."""

    transport: "Transport"

    @abstractmethod
    def get_name(self) -> str: ...

    @abstractmethod
    def get_namespace(self) -> str: ...

    def get_fully_qualified_name(self) -> str:
        ns = self.get_namespace()
        return f"{'' if ns == '/' else ns}/{self.get_name()}"

    def resolve_topic_name(self, topic: str) -> str:
        return resolve_topic_name(topic, self.get_namespace(), self.get_name())

    @abstractmethod
    def create_publisher(self, msg_type: str, topic: str, qos: QoS | str | int = RELIABLE) -> Publisher:
        """``msg_type`` is the ROS type name, e.g. ``"agilenn_ros/msg/FeatureFrame"``."""

    @abstractmethod
    def create_subscription(self, msg_type: str, topic: str, callback: MessageCallback,
                            qos: QoS | str | int = RELIABLE, *, raw: bool = False) -> Subscription:
        """``callback(msg)`` runs in the spinning thread. With ``raw=True`` it gets the
        serialized CDR ``bytes`` (4-byte header included, possibly zero-padded to 4)."""

    @abstractmethod
    def create_timer(self, period_s: float, callback: Callable[[], None]) -> Timer: ...

    @abstractmethod
    def destroy_publisher(self, publisher: Publisher) -> None: ...

    @abstractmethod
    def destroy_subscription(self, subscription: Subscription) -> None: ...

    @abstractmethod
    def destroy_timer(self, timer: Timer) -> None: ...

    @abstractmethod
    def now(self) -> Stamp:
        """The node clock (ROS time; rclpy honours use_sim_time, DDS is wall time)."""

    @abstractmethod
    def get_logger(self) -> Logger: ...

    @abstractmethod
    def declare_parameter(self, name: str, default: Any, description: str = "", *,
                          read_only: bool = False) -> Any:
        """Declare a parameter and return its value: the override (``-p``, params file,
        launch, ``parameter_overrides``) if there is one, else ``default``. The default
        fixes the type (an int override of a float default is an error on both backends:
        write ``10.0``). An empty list default means a string array."""

    @abstractmethod
    def get_parameter(self, name: str) -> Any:
        """The current value of a declared parameter."""

    @abstractmethod
    def has_parameter(self, name: str) -> bool: ...

    @abstractmethod
    def set_parameter(self, name: str, value: Any) -> str | None:
        """Set a declared parameter at run time as ``ros2 param set`` does: ``None`` when it
        was set, else the reason it was refused (read-only, wrong type, or a validator's
        reason). On rclpy this goes through the node's parameter service path, so the
        same rules apply to ``ros2 param set``."""

    @abstractmethod
    def on_parameter_set(self, validate: ParameterValidator, apply: ParameterApplier) -> None:
        """Hooks for run-time parameter changes (``ros2 param set`` on rclpy, :meth:`set_parameter`
        on both): ``validate(name, value)`` returns ``None`` to accept or a reason to refuse
        (every parameter of one request is validated before any is applied); after the new
        values are stored, ``apply(name, value)`` is called for each. Not called for the
        values given at start-up (overrides); register after declaring."""

    def publisher_reliabilities(self, topic: str) -> list[str] | None:
        """The reliability ('reliable' or 'best_effort') each publisher of ``topic`` known to
        discovery offers (empty: none yet); None when the backend cannot tell."""
        return None

    # message helpers (delegate to the transport)
    def message(self, type_name: str, **fields: Any) -> Any:
        return self.transport.message(type_name, **fields)

    def msg_class(self, type_name: str) -> type:
        return self.transport.msg_class(type_name)

    # lifetime
    def spin(self, timeout_s: float | None = None) -> None:
        """Spin this node's transport (all its nodes); see :meth:`Transport.spin`."""
        self.transport.spin(timeout_s)

    def spin_once(self, timeout_s: float = 0.1) -> None:
        self.transport.spin_once(timeout_s)

    @abstractmethod
    def close(self) -> None:
        """Destroy the node and its endpoints. Idempotent."""

    def __enter__(self) -> "Node":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class Transport(ABC):
    """One per process. Owns the middleware context (rclpy context or DDS participant)."""

    name: str
    """``"rclpy"`` or ``"dds"``."""

    @abstractmethod
    def create_node(self, name: str, namespace: str = "", *,
                    parameter_overrides: Mapping[str, Any] | None = None) -> Node:
        """A node. ``--ros-args`` given to :func:`make_transport` (``-r __ns:=``,
        ``-r __node:=``, ``-p``, ``--params-file``, remaps) apply as in rclpy;
        ``parameter_overrides`` win over them."""

    @abstractmethod
    def msg_class(self, type_name: str) -> type:
        """The backend's class for a ROS type (constants are class attributes on both)."""

    def has_type(self, type_name: str) -> bool:
        """Whether the message type is available (e.g. vision_msgs on a ROS install without it)."""
        try:
            self.msg_class(type_name)
        except (KeyError, ValueError):
            return False
        return True

    @abstractmethod
    def message(self, type_name: str, **fields: Any) -> Any:
        """A new message with omitted fields at their defaults. Values are converted:
        numpy arrays / bytes / lists for array fields, dicts for nested messages, a
        :class:`Stamp` (or ``(sec, nanosec)``) for ``builtin_interfaces/msg/Time``."""

    @abstractmethod
    def spin(self, timeout_s: float | None = None) -> None:
        """Run callbacks of all nodes until :meth:`shutdown`, SIGINT/SIGTERM (then return
        normally, ``ok()`` becomes False) or ``timeout_s``."""

    @abstractmethod
    def spin_once(self, timeout_s: float = 0.1) -> None:
        """Wait up to ``timeout_s`` for work and run what is ready."""

    def spin_until(self, predicate: Callable[[], bool], timeout_s: float) -> bool:
        """Spin until ``predicate()`` is true (returns True) or timeout / shutdown (False)."""
        deadline = time.monotonic() + timeout_s
        while not predicate():
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not self.ok():
                return predicate()
            self.spin_once(min(remaining, 0.05))
        return True

    @abstractmethod
    def stop(self) -> None:
        """Make :meth:`spin` return soon and :meth:`ok` False. Safe from callbacks and other
        threads (unlike :meth:`shutdown`, which belongs after ``spin()`` returned)."""

    @abstractmethod
    def ok(self) -> bool:
        """False after shutdown, :meth:`stop` or a SIGINT/SIGTERM."""

    @property
    @abstractmethod
    def closed(self) -> bool:
        """True once :meth:`shutdown` ran."""

    @abstractmethod
    def shutdown(self) -> None:
        """Destroy all nodes and the middleware context. Idempotent."""

    def __enter__(self) -> "Transport":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.shutdown()


def split_type_name(type_name: str) -> tuple[str, str]:
    """``'pkg/msg/Name'`` or ``'pkg/Name'`` -> ``('pkg', 'Name')``."""
    parts = type_name.strip().split("/")
    if len(parts) == 3 and parts[1] == "msg":
        return parts[0], parts[2]
    if len(parts) == 2:
        return parts[0], parts[1]
    raise ValueError(f"not a ROS message type name: {type_name!r} (want 'pkg/msg/Name')")


def normalize_type_name(type_name: str) -> str:
    pkg, name = split_type_name(type_name)
    return f"{pkg}/msg/{name}"


def coerce_stamp(value: Any) -> tuple[int, int] | None:
    """``(sec, nanosec)`` when ``value`` is a Stamp, a 2-tuple or a Time-like object."""
    if isinstance(value, tuple) and len(value) == 2:
        return int(value[0]), int(value[1])
    if hasattr(value, "sec") and hasattr(value, "nanosec"):
        return int(value.sec), int(value.nanosec)
    return None


__all__ = [
    "QoS", "SENSOR", "RELIABLE", "LATCHED", "Stamp", "as_bytes", "as_array",
    "normalize_namespace", "resolve_topic_name", "TransportError", "ParameterError",
    "ParameterAlreadyDeclaredError", "ParameterNotDeclaredError", "ParameterTypeError",
    "ParameterValidator", "ParameterApplier", "Logger", "StderrLogger", "Publisher", "Subscription", "Timer", "Node", "Transport",
    "split_type_name", "normalize_type_name", "coerce_stamp",
]
