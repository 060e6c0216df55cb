"""The Cyclone DDS backend: ROS 2 nodes without rclpy (cyclonedds==11.0.1 from PyPI).

Wire rules (see ../shared/reference/ros2-wire.md), all applied here:

* topics are ``rt`` + the resolved ROS name; ``ros_discovery_info`` is not prefixed;
* type names are ``<pkg>::msg::dds_::<Name>_``; the DDS types are built at run time from the
  same rosbags field definitions as the messages (so from the ``.msg`` text), ``@final`` and
  key-less;
* every reader and writer is XCDR1-only and has every ROS-relevant QoS policy set explicitly
  (history, reliability with infinite blocking time, durability (+ durability service for
  transient local), deadline, lifespan, liveliness automatic, writer autodispose off),
  plus USER_DATA ``typehash=RIHS01_<hex>;``;
* the participant has USER_DATA ``enclave=/;`` and publishes ``ros_discovery_info``
  (``rmw_dds_common/msg/ParticipantEntitiesInfo``, Gid = 16-byte GUID) whenever a node or an
  endpoint appears or goes, so ``ros2 node list`` / ``ros2 node info`` show our nodes;
* discovery comes from ROS_DOMAIN_ID / ROS_AUTOMATIC_DISCOVERY_RANGE / ROS_STATIC_PEERS
  (:mod:`.dds_config`).

Payloads are not (de)serialized by cyclonedds-python: rosbags produces the CDR bytes and
they go through ``cyclonedds._clayer.ddspy_write`` / ``ddspy_take`` directly (the
"raw-CDR passthrough", a private API wrapped in :class:`_RawIO` and pinned to 11.0.1).
A 32 KB ``uint8[]`` payload is then a single bytes copy instead of a list of ints.
"""

from __future__ import annotations

import heapq
import os
import signal
import sys
import threading
import time
from functools import lru_cache
from importlib import metadata
from typing import Any, Callable, Mapping, Sequence

from . import msgtypes
from .base import (
    RELIABLE,
    Logger,
    Node,
    ParameterApplier,
    ParameterValidator,
    Publisher,
    QoS,
    Stamp,
    StderrLogger,
    Subscription,
    Timer,
    Transport,
    TransportError,
    normalize_type_name,
    split_type_name,
)
from .dds_config import cyclone_config, discovery_from_env, loopback_config
from .rosargs import ParameterStore, RosArgs, node_identity, overrides_for_node, parse_ros_args, topic_remaps

try:
    from cyclonedds import _clayer
    from cyclonedds.core import DDSException, GuardCondition, InstanceState, ReadCondition, SampleState, ViewState, WaitSet
    from cyclonedds.domain import Domain, DomainParticipant
    from cyclonedds.idl import IdlStruct, make_idl_struct
    from cyclonedds.idl import types as idl
    from cyclonedds.idl.annotations import final
    from cyclonedds.pub import DataWriter
    from cyclonedds.qos import Policy, Qos
    from cyclonedds.sub import DataReader
    from cyclonedds.topic import Topic
    from rosbags.typesys.base import Nodetype
except ImportError as exc:  # pragma: no cover - exercised only without the dds extra
    raise ImportError("the DDS transport needs cyclonedds==11.0.1 (pip install 'agilenn_ros[dds]')") from exc

DISCOVERY_TOPIC = "ros_discovery_info"
DISCOVERY_TYPE = "rmw_dds_common/msg/ParticipantEntitiesInfo"
SUPPORTED_CYCLONEDDS = ("11.0.1",)
_INFINITE = -1 & 0x7FFFFFFFFFFFFFFF  # DDS_INFINITY
_MAX_WAIT_S = 0.2  # longest single block, so Python signal handlers run promptly
_TAKE_BATCH = 64


# --------------------------------------------------------------------------- raw CDR I/O


class _RawIO:
    """The two private cyclonedds-python calls the raw-CDR path uses, in one place.

    ``ddspy_write(writer, cdr)`` takes the serialized sample (4-byte header included, padded
    to 4); ``ddspy_take`` returns ``[(bytes, sample_info)]``. Its signature is
    ``(reader, mask, n)`` in 11.x and ``(reader, n)`` in 0.10.x."""

    version = metadata.version("cyclonedds")
    _legacy_take = version.startswith("0.")
    _mask = SampleState.Any | ViewState.Any | InstanceState.Any

    @classmethod
    def write(cls, writer_ref: int, cdr: bytes) -> None:
        pad = -len(cdr) % 4
        ret = _clayer.ddspy_write(writer_ref, cdr + b"\0" * pad if pad else cdr)
        if ret < 0:
            raise TransportError(f"dds write failed: {DDSException(ret)}")

    @classmethod
    def take(cls, reader_ref: int, n: int = _TAKE_BATCH) -> list[tuple[bytes, Any]]:
        ret = _clayer.ddspy_take(reader_ref, n) if cls._legacy_take else _clayer.ddspy_take(reader_ref, cls._mask, n)
        if isinstance(ret, int):
            raise TransportError(f"dds take failed: {DDSException(ret)}")
        return ret


# --------------------------------------------------------------------------- DDS types


_IDL_BASE: dict[str, Any] = {
    "bool": bool, "byte": idl.byte, "char": idl.uint8, "int8": idl.int8, "uint8": idl.uint8,
    "int16": idl.int16, "uint16": idl.uint16, "int32": idl.int32, "uint32": idl.uint32,
    "int64": idl.int64, "uint64": idl.uint64, "float32": idl.float32, "float64": idl.float64,
}


def _idl_field(desc: Any) -> Any:
    kind, arg = desc
    if kind == Nodetype.BASE:
        name, bound = arg
        if name == "string":
            return idl.bounded_str[bound] if bound else str
        if name not in _IDL_BASE:
            raise TransportError(f"field type {name!r} is not supported on the DDS transport (no wstring)")
        return _IDL_BASE[name]
    if kind == Nodetype.NAME:
        return idl_struct(arg)
    elem, n = arg
    if kind == Nodetype.ARRAY:
        return idl.array[_idl_field(elem), n]
    # cyclonedds-python only represents bounds up to 65535; larger bounds are carried as
    # unbounded (same bytes on the wire, bounds are enforced before publishing anyway)
    return idl.sequence[_idl_field(elem), n] if 0 < n <= 65535 else idl.sequence[_idl_field(elem)]


@lru_cache(maxsize=None)
def idl_struct(type_name: str) -> type[IdlStruct]:
    """The cyclonedds IdlStruct for a ROS type, named ``pkg::msg::dds_::Name_``, @final.
    Only used for type support (discovery, matching); samples travel as raw CDR."""
    name = normalize_type_name(type_name)
    fields = msgtypes.typestore().fielddefs[name][1]
    pkg, short = split_type_name(name)
    members = {fname: _idl_field(desc) for fname, desc in fields}
    if not members:  # rosidl gives empty messages one uint8 member
        members = {"structure_needs_at_least_one_member": idl.uint8}
    cls = make_idl_struct(f"{pkg}__msg__{short}", msgtypes.dds_type_name(name), members)
    return final(cls)


def dds_qos(qos: QoS, type_name: str | None, *, writer: bool) -> Qos:
    """The DDS QoS rmw_cyclonedds would put on this endpoint."""
    history = Policy.History.KeepAll if qos.history == "keep_all" else Policy.History.KeepLast(qos.depth)
    policies: list[Any] = [
        history,
        Policy.Reliability.Reliable(max_blocking_time=_INFINITE) if qos.reliability == "reliable"
        else Policy.Reliability.BestEffort,
        Policy.Durability.TransientLocal if qos.durability == "transient_local" else Policy.Durability.Volatile,
        Policy.Deadline(deadline=_INFINITE),
        Policy.Lifespan(lifespan=_INFINITE),
        Policy.Liveliness.Automatic(lease_duration=_INFINITE),
        Policy.DataRepresentation(use_cdrv0_representation=True, use_xcdrv2_representation=False),
    ]
    if qos.durability == "transient_local":
        policies.append(Policy.DurabilityService(cleanup_delay=0, history=history, max_samples=-1,
                                                 max_instances=-1, max_samples_per_instance=-1))
    if writer:
        policies.append(Policy.WriterDataLifecycle(autodispose=False))
    if type_name is not None:
        policies.append(Policy.Userdata(data=f"typehash={msgtypes.type_hash(type_name)};".encode()))
    return Qos(*policies)


def _gid(entity: Any) -> bytes:
    return entity.guid.bytes


def _delete(entity: Any) -> None:
    """Delete a cyclonedds entity now (instead of at garbage collection)."""
    if entity is None:
        return
    ref = getattr(entity, "_ref", None)
    if ref is not None and type(entity)._entities.pop(ref, None) is not None:
        entity._delete(ref)


# --------------------------------------------------------------------------- entities


class DdsPublisher(Publisher):
    def __init__(self, node: "DdsNode", type_name: str, topic: str, qos: QoS) -> None:
        self.node, self.type_name, self.topic_name, self.qos = node, type_name, topic, qos
        t = node.transport._topic(topic, type_name)
        self._writer = DataWriter(node.transport._participant, t, dds_qos(qos, type_name, writer=True))
        self._ref = self._writer._ref
        self.gid = _gid(self._writer)

    def publish(self, msg: Any) -> None:
        if self._writer is None:
            raise TransportError(f"publisher on {self.topic_name} was destroyed")
        if isinstance(msg, (bytes, bytearray, memoryview)):
            data = bytes(msg)
            if len(data) < 4 or data[0] != 0 or data[1] not in (0, 1):
                raise ValueError("publish(bytes) needs XCDR1 CDR with its 4-byte header (00 00|01 ..)")
        else:
            got = getattr(msg, "__msgtype__", None)
            if got != self.type_name:
                raise TypeError(f"expected {self.type_name}, got {got or type(msg).__name__}")
            data = msgtypes.serialize(msg, self.type_name)
        _RawIO.write(self._ref, data)

    def get_subscription_count(self) -> int:
        return int(self._writer.get_publication_matched_status().current_count) if self._writer else 0

    def wait_for_acks(self, timeout_s: float) -> bool:
        return bool(self._writer.wait_for_acks(int(timeout_s * 1e9))) if self._writer else False

    def _destroy(self) -> None:
        _delete(self._writer)
        self._writer = None


class DdsSubscription(Subscription):
    def __init__(self, node: "DdsNode", type_name: str, topic: str, callback: Callable[[Any], None],
                 qos: QoS, raw: bool) -> None:
        self.node, self.type_name, self.topic_name, self.qos = node, type_name, topic, qos
        self.callback, self.raw = callback, raw
        tr = node.transport
        self._reader = DataReader(tr._participant, tr._topic(topic, type_name), dds_qos(qos, type_name, writer=False))
        self._ref = self._reader._ref
        # InstanceState.Any: samples of a writer that already left must still be taken
        self.condition = ReadCondition(self._reader, SampleState.NotRead | ViewState.Any | InstanceState.Any)
        self.gid = _gid(self._reader)

    def get_publisher_count(self) -> int:
        return int(self._reader.get_subscription_matched_status().current_count) if self._reader else 0

    def sample_status(self) -> dict[str, int]:
        """DDS SAMPLE_LOST and SAMPLE_REJECTED totals of this reader: samples the middleware
        dropped before any callback saw them (DDS-specific; rclpy has its own events)."""
        if self._reader is None:
            return {"lost": 0, "rejected": 0}
        return {"lost": int(self._reader.get_sample_lost_status().total_count),
                "rejected": int(self._reader.get_sample_rejected_status().total_count)}

    def lost_count(self) -> int | None:
        if self._reader is None:
            return None
        return int(self._reader.get_sample_lost_status().total_count) + \
            int(self._reader.get_sample_rejected_status().total_count)

    def _dispatch(self) -> int:
        """Take what is there and run the callback per valid sample; returns the count."""
        if self._reader is None:
            return 0
        count = 0
        for data, info in _RawIO.take(self._ref):
            if self._reader is None:  # a callback destroyed this subscription
                break
            if not info.valid_data:
                continue
            count += 1
            if self.raw:
                self.callback(data)
                continue
            try:
                msg = msgtypes.deserialize(data, self.type_name)
            except Exception as exc:  # never trust the wire: drop undecodable samples
                self.node.get_logger().error(
                    f"dropped an undecodable {self.type_name} on {self.topic_name}: {exc}",
                    throttle_duration_sec=5.0)
                continue
            self.callback(msg)
        return count

    def _destroy(self) -> None:
        _delete(self.condition)
        _delete(self._reader)
        self._reader = None


class DdsTimer(Timer):
    def __init__(self, node: "DdsNode", period_s: float, callback: Callable[[], None]) -> None:
        if period_s <= 0:
            raise ValueError("timer period must be > 0")
        self.node, self.period_s, self.callback = node, float(period_s), callback
        self._canceled = False
        self.due = time.monotonic() + self.period_s

    def cancel(self) -> None:
        self._canceled = True

    def reset(self) -> None:
        self._canceled = False
        self.due = time.monotonic() + self.period_s
        self.node.transport._wake()

    def is_canceled(self) -> bool:
        return self._canceled


class DdsNode(Node):
    def __init__(self, transport: "DdsTransport", name: str, namespace: str,
                 parameter_overrides: Mapping[str, Any] | None) -> None:
        self.transport = transport
        self._name, self._ns = node_identity(transport.ros_args, name, namespace)
        if not self._name or not all(c.isalnum() or c == "_" for c in self._name) or self._name[0].isdigit():
            raise ValueError(f"invalid node name {self._name!r}")
        fqn = self.get_fully_qualified_name()
        overrides = overrides_for_node(transport.ros_args, fqn)
        overrides.update(parameter_overrides or {})
        self._params = ParameterStore(overrides)
        self._param_hooks: list[tuple[ParameterValidator, ParameterApplier]] = []
        logger_name = fqn.strip("/").replace("/", ".")
        level = transport.ros_args.node_log_levels.get(self._name) or transport.ros_args.log_level or "INFO"
        self._logger = StderrLogger(logger_name, level)
        if self._params.declare("use_sim_time", False, "rclpy declares it on every node"):
            self._logger.warning("use_sim_time is not supported on the DDS transport: using wall time")
        self._remaps = [(self.resolve_topic_name(a), self.resolve_topic_name(b))
                        for a, b in topic_remaps(transport.ros_args, name)]
        self.publishers: list[DdsPublisher] = []
        self.subscriptions: list[DdsSubscription] = []
        self.timers: list[DdsTimer] = []
        self._closed = False

    def get_name(self) -> str:
        return self._name

    def get_namespace(self) -> str:
        return self._ns

    def _topic_name(self, topic: str) -> str:
        resolved = self.resolve_topic_name(topic)
        for src, dst in self._remaps:
            if src == resolved:
                return dst
        return resolved

    def _check_open(self) -> None:
        if self._closed:
            raise TransportError(f"node {self.get_fully_qualified_name()} is closed")

    def create_publisher(self, msg_type: str, topic: str, qos: QoS | str | int = RELIABLE) -> DdsPublisher:
        self._check_open()
        pub = DdsPublisher(self, normalize_type_name(msg_type), self._topic_name(topic), QoS.parse(qos))
        self.publishers.append(pub)
        self.transport._graph_changed()
        return pub

    def create_subscription(self, msg_type: str, topic: str, callback: Callable[[Any], None],
                            qos: QoS | str | int = RELIABLE, *, raw: bool = False) -> DdsSubscription:
        self._check_open()
        sub = DdsSubscription(self, normalize_type_name(msg_type), self._topic_name(topic), callback,
                              QoS.parse(qos), raw)
        self.subscriptions.append(sub)
        self.transport._attach(sub)
        self.transport._graph_changed()
        return sub

    def publisher_reliabilities(self, topic: str) -> list[str]:
        """From DDS builtin publication discovery (DCPSPublication) of ``rt<topic>``."""
        self._check_open()
        return self.transport._publication_reliabilities("rt" + self._topic_name(topic))

    def create_timer(self, period_s: float, callback: Callable[[], None]) -> DdsTimer:
        self._check_open()
        timer = DdsTimer(self, period_s, callback)
        self.timers.append(timer)
        self.transport._wake()
        return timer

    def destroy_publisher(self, publisher: Publisher) -> None:
        if publisher in self.publishers:
            self.publishers.remove(publisher)  # type: ignore[arg-type]
            publisher._destroy()  # type: ignore[attr-defined]
            self.transport._graph_changed()

    def destroy_subscription(self, subscription: Subscription) -> None:
        if subscription in self.subscriptions:
            self.subscriptions.remove(subscription)  # type: ignore[arg-type]
            self.transport._detach(subscription)  # type: ignore[arg-type]
            subscription._destroy()  # type: ignore[attr-defined]
            self.transport._graph_changed()

    def destroy_timer(self, timer: Timer) -> None:
        if timer in self.timers:
            timer.cancel()
            self.timers.remove(timer)  # type: ignore[arg-type]

    def now(self) -> Stamp:
        return Stamp.from_ns(time.time_ns())

    def get_logger(self) -> Logger:
        return self._logger

    def declare_parameter(self, name: str, default: Any, description: str = "", *,
                          read_only: bool = False) -> Any:
        return self._params.declare(name, default, description, read_only)

    def get_parameter(self, name: str) -> Any:
        return self._params.get(name)

    def has_parameter(self, name: str) -> bool:
        return self._params.has(name)

    def describe_parameter(self, name: str) -> dict[str, Any]:
        return self._params.describe(name)

    def set_parameter(self, name: str, value: Any) -> str | None:
        # The DDS transport serves no parameter services (no `ros2 param set` from outside):
        # this is the in-process path, with rclpy's rules (read-only, type, validators).
        if self._params.has(name) and not self._params.describe(name)["read_only"]:
            for validate, _ in self._param_hooks:
                reason = validate(name, value)
                if reason is not None:
                    return reason
        reason = self._params.set(name, value)
        if reason is None:
            for _, apply in self._param_hooks:
                apply(name, self._params.get(name))
        return reason

    def on_parameter_set(self, validate: ParameterValidator, apply: ParameterApplier) -> None:
        self._param_hooks.append((validate, apply))

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for t in self.timers:
            t.cancel()
        for s in self.subscriptions:
            self.transport._detach(s)
            s._destroy()
        for p in self.publishers:
            p._destroy()
        self.timers, self.subscriptions, self.publishers = [], [], []
        self.transport._forget(self)


# --------------------------------------------------------------------------- transport


class DdsTransport(Transport):
    """One DDS participant for the whole process (like rmw since Foxy); nodes are
    entries in its ``ros_discovery_info``."""

    name = "dds"

    def __init__(self, argv: Sequence[str] | None = None, *, install_signal_handlers: bool = True,
                 env: Mapping[str, str] | None = None) -> None:
        if _RawIO.version not in SUPPORTED_CYCLONEDDS:
            sys.stderr.write(f"[WARN] cyclonedds {_RawIO.version} is untested; the raw-CDR path "
                             f"is pinned to {SUPPORTED_CYCLONEDDS}\n")
        if "rclpy" in sys.modules:
            sys.stderr.write("[WARN] rclpy is loaded in this process; do not mix it with the DDS "
                             "transport (two Cyclone libraries in one process)\n")
        # like rclpy.init(args=None): the process arguments carry the --ros-args
        self.ros_args: RosArgs = parse_ros_args(sys.argv if argv is None else argv)
        env = os.environ if env is None else env
        self.discovery = discovery_from_env(env)
        self._lock = threading.RLock()
        self._nodes: list[DdsNode] = []
        self._subs: list[DdsSubscription] = []
        self._topics: dict[str, Any] = {}
        self._closed = False
        self._signal: int | None = None
        self._stopped = False
        self._spinning = False
        self._old_handlers: dict[int, Any] = {}
        self._domain, self._participant = self._start(env.get("CYCLONEDDS_URI"))
        self.gid = _gid(self._participant)
        self._guard = GuardCondition(self._participant)
        self._waitset = WaitSet(self._participant)
        self._waitset.attach(self._guard)
        self._discovery_writer = DataWriter(
            self._participant, self._topic(DISCOVERY_TOPIC, DISCOVERY_TYPE, prefix=""),
            dds_qos(QoS("reliable", "transient_local", 1), DISCOVERY_TYPE, writer=True))
        self._graph_changed()
        if install_signal_handlers and threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._old_handlers[sig] = signal.signal(sig, self._on_signal)

    # --- participant
    def _start(self, user_uri: str | None) -> tuple[Any, Any]:
        did = self.discovery.domain_id
        qos = Qos(Policy.Userdata(data=b"enclave=/;"))
        config = cyclone_config(self.discovery, user_uri)
        errors = []
        for attempt in (config or None, loopback_config()):
            domain = None
            try:
                domain = Domain(did, attempt)
                return domain, DomainParticipant(did, qos=qos)
            except DDSException as exc:
                _delete(domain)
                errors.append(str(exc))
                if attempt != loopback_config():
                    sys.stderr.write(f"[WARN] Cyclone DDS could not start with the configured discovery "
                                     f"({exc}); falling back to loopback only\n")
        raise TransportError(f"cannot create a DDS participant on domain {did}: {errors}")

    def _topic(self, ros_name: str, type_name: str, prefix: str = "rt") -> Any:
        dds_name = prefix + ros_name
        with self._lock:
            entry = self._topics.get(dds_name)
            if entry is None:
                entry = (type_name, Topic(self._participant, dds_name, idl_struct(type_name)))
                self._topics[dds_name] = entry
            elif entry[0] != type_name:
                raise TransportError(f"topic {ros_name} already has type {entry[0]}, not {type_name}")
            return entry[1]

    def _graph_changed(self) -> None:
        """Publish this participant's full ParticipantEntitiesInfo (rmw_dds_common)."""
        with self._lock:
            if self._closed:
                return
            nodes = [{
                "node_namespace": n.get_namespace(), "node_name": n.get_name(),
                "reader_gid_seq": [{"data": s.gid} for s in n.subscriptions],
                "writer_gid_seq": [{"data": p.gid} for p in n.publishers],
            } for n in self._nodes]
            info = msgtypes.new_message(DISCOVERY_TYPE, gid={"data": self.gid}, node_entities_info_seq=nodes)
            _RawIO.write(self._discovery_writer._ref, msgtypes.serialize(info, DISCOVERY_TYPE))

    def _publication_reliabilities(self, dds_topic: str) -> list[str]:
        """Reliability of every live DDS writer on ``dds_topic`` that discovery knows."""
        from cyclonedds.builtin import BuiltinDataReader, BuiltinTopicDcpsPublication
        from cyclonedds.qos import Policy
        with self._lock:
            if getattr(self, "_publications", None) is None:
                self._publications = BuiltinDataReader(self._participant, BuiltinTopicDcpsPublication)
                self._publications_alive = ReadCondition(
                    self._publications, SampleState.Any | ViewState.Any | InstanceState.Alive)
            samples = self._publications.read(N=100_000, condition=self._publications_alive)
        found = []
        for sample in samples:
            if sample.topic_name != dds_topic:
                continue
            try:
                reliability = sample.qos[Policy.Reliability]
            except (KeyError, TypeError):
                reliability = None     # not sent: the DDS default for writers is reliable
            found.append("best_effort" if reliability == Policy.Reliability.BestEffort else "reliable")
        return found

    # --- executor plumbing
    def _attach(self, sub: DdsSubscription) -> None:
        with self._lock:
            self._waitset.attach(sub.condition)
            self._subs.append(sub)
        self._wake()

    def _detach(self, sub: DdsSubscription) -> None:
        with self._lock:
            if sub in self._subs:
                self._subs.remove(sub)
                self._waitset.detach(sub.condition)

    def _forget(self, node: DdsNode) -> None:
        with self._lock:
            if node in self._nodes:
                self._nodes.remove(node)
        self._graph_changed()

    def _wake(self) -> None:
        if not self._closed:
            self._guard.set(True)

    def _on_signal(self, signum: int, frame: Any) -> None:
        self._signal = signum
        # a terminal Ctrl-C under launch delivers SIGINT twice: ignore the second one
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        self._wake()
        if not self._spinning:
            raise KeyboardInterrupt(f"signal {signum}")

    def _timers(self) -> list[DdsTimer]:
        return [t for n in self._nodes for t in n.timers if not t.is_canceled()]

    def _run_ready(self) -> bool:
        did = False
        self._guard.set(False)
        for sub in list(self._subs):
            if sub.condition.is_triggered() and sub._dispatch():
                did = True
            if not self.ok():
                return did
        now = time.monotonic()
        due = [(t.due, i, t) for i, t in enumerate(self._timers()) if t.due <= now]
        heapq.heapify(due)
        while due and self.ok():
            _, _, t = heapq.heappop(due)
            if t.is_canceled():
                continue
            t.due += t.period_s
            if t.due <= now:  # fell behind: skip the missed periods
                t.due = now + t.period_s
            t.callback()
            did = True
        return did

    def _until_next_timer(self, now: float) -> float:
        dues = [t.due for t in self._timers()]
        return max(0.0, min(dues) - now) if dues else float("inf")

    # --- public
    def create_node(self, name: str, namespace: str = "", *,
                    parameter_overrides: Mapping[str, Any] | None = None) -> DdsNode:
        if self._closed:
            raise TransportError("transport is shut down")
        node = DdsNode(self, name, namespace, parameter_overrides)
        with self._lock:
            self._nodes.append(node)
        self._graph_changed()
        return node

    def msg_class(self, type_name: str) -> type:
        return msgtypes.msg_class(type_name)

    def message(self, type_name: str, **fields: Any) -> Any:
        return msgtypes.new_message(type_name, **fields)

    def ok(self) -> bool:
        return not self._closed and self._signal is None and not self._stopped

    def stop(self) -> None:
        self._stopped = True
        self._wake()

    @property
    def closed(self) -> bool:
        return self._closed

    def spin_once(self, timeout_s: float = 0.1) -> None:
        if not self.ok():
            return
        was, self._spinning = self._spinning, True
        try:
            deadline = time.monotonic() + max(0.0, timeout_s)
            while self.ok():
                if self._run_ready():
                    return
                now = time.monotonic()
                if now >= deadline:
                    return
                wait = min(deadline - now, self._until_next_timer(now), _MAX_WAIT_S)
                if wait > 0:
                    self._waitset.wait(int(wait * 1e9))
        finally:
            self._spinning = was

    def spin(self, timeout_s: float | None = None) -> None:
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        was, self._spinning = self._spinning, True
        try:
            while self.ok():
                remaining = _MAX_WAIT_S if deadline is None else deadline - time.monotonic()
                if remaining <= 0:
                    return
                self.spin_once(min(remaining, _MAX_WAIT_S))
        finally:
            self._spinning = was

    @property
    def signal_received(self) -> int | None:
        """The signal number that stopped spinning, if any."""
        return self._signal

    def shutdown(self) -> None:
        if self._closed:
            return
        for node in list(self._nodes):
            node.close()
        self._closed = True
        for sig, old in self._old_handlers.items():
            if sig == signal.SIGINT and self._signal is not None:
                continue  # stays ignored: a second Ctrl-C must not interrupt the cleanup
            try:
                signal.signal(sig, old)
            except (ValueError, TypeError):
                pass
        self._old_handlers.clear()
        _delete(getattr(self, "_publications", None))
        _delete(self._discovery_writer)
        for _, topic in self._topics.values():
            _delete(topic)
        self._topics.clear()
        self._waitset.attached = []  # its __del__ would detach from a deleted waitset
        _delete(self._waitset)
        _delete(self._guard)
        _delete(self._participant)
        _delete(self._domain)
