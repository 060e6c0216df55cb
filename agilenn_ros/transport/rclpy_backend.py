"""The rclpy (ROS 2 Jazzy) backend: a thin mapping of the transport interface onto rclpy.

Message classes are the rosidl-generated ones (``agilenn_ros.msg``, ``sensor_msgs.msg``,
...), imported with importlib (``pkg/msg/Name`` -> ``pkg.msg.Name``). :meth:`message` converts
values the way rclpy is fast with: numpy arrays and bytes for unbounded/bounded numeric
sequences become ``array.array`` (assigning a numpy array to ``uint8[]`` costs ~16 ms per
200 KB in rclpy; ``array.array`` is stored without a copy even with field checks on).

Every rclpy import is inside a function, so this module imports (and its conversion
helpers can be tested) without ROS. Written against the Jazzy API (rclpy 7.1):
``rclpy.init(args=, signal_handler_options=)``, ``Node(name, namespace=,
parameter_overrides=)``, ``declare_parameter(name, value, ParameterDescriptor)``,
``SingleThreadedExecutor``, ``ExternalShutdownException`` from ``rclpy.executors``,
``rclpy.try_shutdown()``.
"""

from __future__ import annotations

import array
import importlib
import re
import signal
import time
from functools import lru_cache
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from .base import (
    RELIABLE,
    Logger,
    Node,
    ParameterAlreadyDeclaredError,
    ParameterApplier,
    ParameterNotDeclaredError,
    ParameterTypeError,
    ParameterValidator,
    Publisher,
    QoS,
    Stamp,
    Subscription,
    Timer,
    Transport,
    TransportError,
    coerce_stamp,
    normalize_namespace,
    normalize_type_name,
)

# rosidl field type strings (Class.get_fields_and_field_types()) -> array.array typecode
_TYPECODES = {
    "uint8": "B", "octet": "B", "int8": "b", "uint16": "H", "int16": "h", "uint32": "I",
    "int32": "i", "uint64": "Q", "int64": "q", "float": "f", "double": "d",
}
_SEQ = re.compile(r"^sequence<\s*([^,>]+?)\s*(?:,\s*\d+\s*)?>$")
_ARR = re.compile(r"^(.+?)\[(\d+)\]$")


# --------------------------------------------------------------------------- messages


@lru_cache(maxsize=None)
def msg_class(type_name: str) -> type:
    """The rosidl-generated class of ``pkg/msg/Name``, imported as ``pkg.msg.Name`` (what
    rosidl_runtime_py's ``get_message`` does; that package is not needed). Raises KeyError
    naming the type when its package is not built or not sourced."""
    name = normalize_type_name(type_name)
    pkg, _, short = name.split("/")
    try:
        cls = getattr(importlib.import_module(f"{pkg}.msg"), short)
    except (AttributeError, ImportError) as exc:
        raise KeyError(f"message type {name!r} is not available to rclpy "
                       f"(is its package built and sourced?): {exc}") from exc
    if not hasattr(cls, "get_fields_and_field_types"):
        raise KeyError(f"{pkg}.msg.{short} is not a rosidl-generated message class")
    return cls


def _nested_class(rosidl_type: str) -> type | None:
    """'std_msgs/Header' -> class (None for primitive types)."""
    if "/" not in rosidl_type:
        return None
    return msg_class(rosidl_type)


def convert_field(rosidl_type: str, value: Any, lookup: Callable[[str], type | None] = _nested_class) -> Any:
    """Convert a value for a field of rosidl type string ``rosidl_type``."""
    if isinstance(value, np.generic):
        return value.item()
    m = _SEQ.match(rosidl_type)
    if m:
        elem = m.group(1)
        code = _TYPECODES.get(elem)
        if code is not None:
            if isinstance(value, array.array) and value.typecode == code:
                return value
            if isinstance(value, (bytes, bytearray, memoryview)) and code in ("B", "b"):
                return array.array(code, bytes(value))
            if isinstance(value, np.ndarray):
                return array.array(code, value.astype(np.dtype(code), copy=False).tobytes())
            return array.array(code, value)
        if "/" in elem:
            return [convert_field(elem, v, lookup) for v in value]
        return list(value)
    m = _ARR.match(rosidl_type)
    if m:
        elem = m.group(1)
        if "/" in elem:
            return [convert_field(elem, v, lookup) for v in value]
        if isinstance(value, (bytes, bytearray, memoryview)):
            return np.frombuffer(bytes(value), dtype=np.uint8)
        return value
    if rosidl_type == "octet" and isinstance(value, int):
        return bytes([value])
    cls = lookup(rosidl_type) if "/" in rosidl_type else None
    if cls is not None:
        if isinstance(value, dict):
            return new_message(cls, value, lookup)
        if rosidl_type.endswith("/Time") and rosidl_type.startswith("builtin_interfaces"):
            st = coerce_stamp(value)
            if st is not None and not isinstance(value, cls):
                return cls(sec=st[0], nanosec=st[1])
    return value


def new_message(cls: type, fields: Mapping[str, Any], lookup: Callable[[str], type | None] = _nested_class) -> Any:
    """An instance of the rosidl class ``cls`` with ``fields`` converted."""
    types = cls.get_fields_and_field_types()
    unknown = set(fields) - set(types)
    if unknown:
        raise TypeError(f"{cls.__name__} has no field(s) {sorted(unknown)}; fields: {list(types)}")
    return cls(**{k: convert_field(types[k], v, lookup) for k, v in fields.items()})


def qos_profile(qos: QoS) -> Any:
    from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy

    return QoSProfile(
        history=HistoryPolicy.KEEP_ALL if qos.history == "keep_all" else HistoryPolicy.KEEP_LAST,
        depth=max(1, qos.depth),
        reliability=ReliabilityPolicy.RELIABLE if qos.reliability == "reliable" else ReliabilityPolicy.BEST_EFFORT,
        durability=DurabilityPolicy.TRANSIENT_LOCAL if qos.durability == "transient_local" else DurabilityPolicy.VOLATILE,
    )


# --------------------------------------------------------------------------- entities


class RclpyPublisher(Publisher):
    def __init__(self, pub: Any, type_name: str, qos: QoS) -> None:
        self._pub, self.type_name, self.qos = pub, type_name, qos
        self.topic_name = pub.topic_name

    def publish(self, msg: Any) -> None:
        if isinstance(msg, (bytearray, memoryview)):
            msg = bytes(msg)  # rclpy accepts only bytes for serialized messages
        self._pub.publish(msg)

    def get_subscription_count(self) -> int:
        return int(self._pub.get_subscription_count())

    def wait_for_acks(self, timeout_s: float) -> bool:
        from rclpy.duration import Duration

        return bool(self._pub.wait_for_all_acked(Duration(nanoseconds=int(timeout_s * 1e9))))


class RclpySubscription(Subscription):
    def __init__(self, node: Any, sub: Any, type_name: str, qos: QoS, lost: list[int] | None = None) -> None:
        self._node, self._sub, self.type_name, self.qos = node, sub, type_name, qos
        self.topic_name = sub.topic_name
        self._lost = lost          # [total] updated by the message_lost event; None: not supported

    def get_publisher_count(self) -> int:
        return int(self._node.count_publishers(self.topic_name))

    def lost_count(self) -> int | None:
        return self._lost[0] if self._lost is not None else None


class RclpyTimer(Timer):
    def __init__(self, timer: Any, period_s: float) -> None:
        self._timer, self.period_s = timer, period_s

    def cancel(self) -> None:
        self._timer.cancel()

    def reset(self) -> None:
        self._timer.reset()

    def is_canceled(self) -> bool:
        return bool(self._timer.is_canceled())


def _plain(value: Any) -> Any:
    """A parameter value as plain Python (arrays as lists)."""
    return list(value) if isinstance(value, (tuple, array.array)) else value


class RclpyNode(Node):
    def __init__(self, transport: "RclpyTransport", name: str, namespace: str,
                 parameter_overrides: Mapping[str, Any] | None) -> None:
        from rclpy.node import Node as RosNode
        from rclpy.parameter import Parameter

        self.transport = transport
        overrides = [Parameter(k, value=list(v) if isinstance(v, tuple) else v)
                     for k, v in (parameter_overrides or {}).items()]
        ns = normalize_namespace(namespace)
        self._node = RosNode(name, namespace=None if ns == "/" else ns,
                             parameter_overrides=overrides or None)
        self._closed = False

    @property
    def rclpy_node(self) -> Any:
        """The underlying ``rclpy.node.Node`` (for rclpy-only extras such as diagnostic_updater)."""
        return self._node

    def get_name(self) -> str:
        return self._node.get_name()

    def get_namespace(self) -> str:
        return self._node.get_namespace()

    def create_publisher(self, msg_type: str, topic: str, qos: QoS | str | int = RELIABLE) -> RclpyPublisher:
        q = QoS.parse(qos)
        name = normalize_type_name(msg_type)
        return RclpyPublisher(self._node.create_publisher(msg_class(name), topic, qos_profile(q)), name, q)

    def create_subscription(self, msg_type: str, topic: str, callback: Callable[[Any], None],
                            qos: QoS | str | int = RELIABLE, *, raw: bool = False) -> RclpySubscription:
        q = QoS.parse(qos)
        name = normalize_type_name(msg_type)
        lost = [0]
        try:
            from rclpy.event_handler import SubscriptionEventCallbacks

            events = SubscriptionEventCallbacks(message_lost=lambda info: lost.__setitem__(0, int(info.total_count)))
            sub = self._node.create_subscription(msg_class(name), topic, callback, qos_profile(q), raw=raw,
                                                 event_callbacks=events)
        except Exception:  # noqa: BLE001 - an rmw without the message_lost event: no count
            sub = self._node.create_subscription(msg_class(name), topic, callback, qos_profile(q), raw=raw)
            lost = None
        return RclpySubscription(self._node, sub, name, q, lost)

    def publisher_reliabilities(self, topic: str) -> list[str]:
        """From ``get_publishers_info_by_topic`` (the offered QoS of each publisher)."""
        from rclpy.qos import ReliabilityPolicy

        infos = self._node.get_publishers_info_by_topic(self._node.resolve_topic_name(topic))
        return ["best_effort" if i.qos_profile.reliability == ReliabilityPolicy.BEST_EFFORT else "reliable"
                for i in infos]

    def create_timer(self, period_s: float, callback: Callable[[], None]) -> RclpyTimer:
        return RclpyTimer(self._node.create_timer(float(period_s), callback), float(period_s))

    def destroy_publisher(self, publisher: Publisher) -> None:
        self._node.destroy_publisher(publisher._pub)  # type: ignore[attr-defined]

    def destroy_subscription(self, subscription: Subscription) -> None:
        self._node.destroy_subscription(subscription._sub)  # type: ignore[attr-defined]

    def destroy_timer(self, timer: Timer) -> None:
        self._node.destroy_timer(timer._timer)  # type: ignore[attr-defined]

    def now(self) -> Stamp:
        sec, nsec = self._node.get_clock().now().seconds_nanoseconds()
        return Stamp(int(sec), int(nsec))

    def get_logger(self) -> Logger:
        return self._node.get_logger()  # RcutilsLogger has the same methods and kwargs

    def declare_parameter(self, name: str, default: Any, description: str = "", *,
                          read_only: bool = False) -> Any:
        from rcl_interfaces.msg import ParameterDescriptor
        from rclpy.exceptions import InvalidParameterTypeException, ParameterAlreadyDeclaredException
        from rclpy.parameter import Parameter

        if isinstance(default, tuple):
            default = list(default)
        descriptor = ParameterDescriptor(description=description, read_only=read_only,
                                         dynamic_typing=default is None)
        value: Any = default
        if isinstance(default, list) and not default:
            value = Parameter.Type.STRING_ARRAY  # [] alone would be BYTE_ARRAY
        try:
            self._node.declare_parameter(name, value, descriptor)
        except ParameterAlreadyDeclaredException as exc:
            raise ParameterAlreadyDeclaredError(str(exc)) from exc
        except InvalidParameterTypeException as exc:
            raise ParameterTypeError(str(exc)) from exc
        return self.get_parameter(name)

    def get_parameter(self, name: str) -> Any:
        from rclpy.exceptions import ParameterNotDeclaredException, ParameterUninitializedException

        try:
            value = self._node.get_parameter(name).value
        except ParameterNotDeclaredException as exc:
            raise ParameterNotDeclaredError(str(exc)) from exc
        except ParameterUninitializedException:
            return []  # a string array declared with an empty default and no override
        return list(value) if isinstance(value, (tuple, array.array)) else value

    def has_parameter(self, name: str) -> bool:
        return bool(self._node.has_parameter(name))

    def set_parameter(self, name: str, value: Any) -> str | None:
        from rclpy.exceptions import ParameterNotDeclaredException
        from rclpy.parameter import Parameter

        try:
            result = self._node.set_parameters([Parameter(name, value=list(value) if isinstance(value, tuple)
                                                          else value)])[0]
        except ParameterNotDeclaredException as exc:
            return str(exc)
        return None if result.successful else str(result.reason)

    def on_parameter_set(self, validate: ParameterValidator, apply: ParameterApplier) -> None:
        from rcl_interfaces.msg import SetParametersResult

        def on_set(params: list) -> Any:
            # runs for `ros2 param set` after rclpy's own read-only and type checks passed
            for param in params:
                reason = validate(param.name, _plain(param.value))
                if reason is not None:
                    return SetParametersResult(successful=False, reason=reason)
            return SetParametersResult(successful=True)

        def post_set(params: list) -> None:
            for param in params:
                apply(param.name, _plain(param.value))

        self._node.add_on_set_parameters_callback(on_set)
        self._node.add_post_set_parameters_callback(post_set)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.transport._forget(self)
        self._node.destroy_node()


class RclpyTransport(Transport):
    name = "rclpy"

    def __init__(self, argv: Sequence[str] | None = None, *, install_signal_handlers: bool = True) -> None:
        import rclpy
        from rclpy.executors import SingleThreadedExecutor
        from rclpy.signals import SignalHandlerOptions

        self._rclpy = rclpy
        self._owns_context = not rclpy.ok()
        if self._owns_context:
            rclpy.init(args=list(argv) if argv is not None else None,
                       signal_handler_options=SignalHandlerOptions.ALL if install_signal_handlers
                       else SignalHandlerOptions.NO)
        self._executor = SingleThreadedExecutor()
        self._nodes: list[RclpyNode] = []
        self._interrupted = False
        self._closed = False

    def create_node(self, name: str, namespace: str = "", *,
                    parameter_overrides: Mapping[str, Any] | None = None) -> RclpyNode:
        if self._closed:
            raise TransportError("transport is shut down")
        node = RclpyNode(self, name, namespace, parameter_overrides)
        self._executor.add_node(node.rclpy_node)
        self._nodes.append(node)
        return node

    def _forget(self, node: RclpyNode) -> None:
        if node in self._nodes:
            self._nodes.remove(node)
            self._executor.remove_node(node.rclpy_node)

    def msg_class(self, type_name: str) -> type:
        return msg_class(type_name)

    def message(self, type_name: str, **fields: Any) -> Any:
        return new_message(msg_class(type_name), fields)

    def ok(self) -> bool:
        return not self._closed and not self._interrupted and self._rclpy.ok()

    def stop(self) -> None:
        self._interrupted = True  # spin() polls ok() between spin_once calls

    @property
    def closed(self) -> bool:
        return self._closed

    def _guarded(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` (executor work); a shutdown while it runs ends spinning instead of raising.

        Three forms of the same event: Ctrl-C (``KeyboardInterrupt``), rclpy's own
        ``ExternalShutdownException``, and the race where rclpy's SIGINT/SIGTERM handler
        invalidates the context after ``ok()`` was checked but before the executor builds its
        wait set (``RCLError: failed to initialize wait set: the given context is not valid``).
        An ``RCLError`` while the context is still valid is a real fault and is raised."""
        from rclpy.executors import ExternalShutdownException

        try:
            fn()
        except (KeyboardInterrupt, ExternalShutdownException):
            self._on_shutdown()
        except RuntimeError:  # rclpy's RCLError derives from RuntimeError
            if self._rclpy.ok():
                raise
            self._on_shutdown()

    def _on_shutdown(self) -> None:
        self._interrupted = True
        # launch sends a second SIGINT right after the first: ignore it during cleanup
        signal.signal(signal.SIGINT, signal.SIG_IGN)

    def spin_once(self, timeout_s: float = 0.1) -> None:
        if self.ok():
            self._guarded(lambda: self._executor.spin_once(timeout_sec=timeout_s))

    def spin(self, timeout_s: float | None = None) -> None:
        deadline = None if timeout_s is None else time.monotonic() + timeout_s

        def loop() -> None:
            # spin_once in slices rather than Executor.spin(), so stop() is honoured
            while self.ok():
                remaining = 0.1 if deadline is None else deadline - time.monotonic()
                if remaining <= 0:
                    return
                self._executor.spin_once(timeout_sec=min(remaining, 0.1))
        self._guarded(loop)

    def shutdown(self) -> None:
        if self._closed:
            return
        try:
            for node in list(self._nodes):
                node.close()
            self._executor.shutdown()
        finally:
            self._closed = True
            if self._owns_context:
                self._rclpy.try_shutdown()  # never raises, also after SIGINT/SIGTERM
