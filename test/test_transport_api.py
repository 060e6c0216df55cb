"""The transport interface without a second process: QoS, names, ROS arguments and
parameters, discovery configuration, the rclpy message conversion (with stand-in rosidl
classes, rclpy is not installed here) and the DDS backend inside one process."""

from __future__ import annotations

import array
import random
import textwrap
from pathlib import Path

import numpy as np
import pytest

from agilenn_ros.transport import (
    LATCHED,
    RELIABLE,
    SENSOR,
    ParameterAlreadyDeclaredError,
    ParameterNotDeclaredError,
    ParameterTypeError,
    QoS,
    Stamp,
    TransportError,
    as_array,
    as_bytes,
    choose_backend,
    make_transport,
)
from agilenn_ros.transport.base import resolve_topic_name
from agilenn_ros.transport.dds_config import DiscoverySettings, cyclone_config, discovery_from_env
from agilenn_ros.transport.rclpy_backend import convert_field, new_message
from agilenn_ros.transport.rosargs import ParameterStore, node_identity, overrides_for_node, parse_ros_args


def test_qos_presets() -> None:
    assert (SENSOR.reliability, SENSOR.durability, SENSOR.depth) == ("best_effort", "volatile", 5)
    assert (RELIABLE.reliability, RELIABLE.durability, RELIABLE.depth) == ("reliable", "volatile", 10)
    assert (LATCHED.reliability, LATCHED.durability, LATCHED.depth) == ("reliable", "transient_local", 1)
    assert QoS.parse("sensor_data") is SENSOR and QoS.parse(7) == QoS(depth=7)
    assert RELIABLE.keep_all().history == "keep_all"
    with pytest.raises(ValueError):
        QoS.parse("fast")
    with pytest.raises(ValueError):
        QoS(reliability="sometimes")  # type: ignore[arg-type]


def test_topic_resolution() -> None:
    assert resolve_topic_name("features", "/agilenn", "edge") == "/agilenn/features"
    assert resolve_topic_name("features", "agilenn/", "edge") == "/agilenn/features"
    assert resolve_topic_name("/diagnostics", "/agilenn", "edge") == "/diagnostics"
    assert resolve_topic_name("features", "", "edge") == "/features"
    assert resolve_topic_name("~/debug", "/agilenn", "edge") == "/agilenn/edge/debug"
    with pytest.raises(ValueError):
        resolve_topic_name("bad name", "/", "edge")


def test_field_accessors_accept_both_backends() -> None:
    assert as_bytes(np.array([1, 2], np.uint8)) == b"\x01\x02"
    assert as_bytes(array.array("B", b"\x01\x02")) == b"\x01\x02"
    logits = array.array("f", [1.5, 2.5])
    view = as_array(logits, np.float32)
    assert view.dtype == np.float32 and view.tolist() == [1.5, 2.5]
    assert as_array(np.array([1, 2], np.float64)).dtype == np.float32
    assert Stamp.from_ns(1_500_000_000).nanoseconds == 1_500_000_000
    assert Stamp.of(Stamp(3, 4)) == (3, 4)


def test_ros_args_and_params_file(tmp_path: Path) -> None:
    params = tmp_path / "p.yaml"
    params.write_text(textwrap.dedent("""\
        /**:
          ros__parameters:
            model: cifar10
            rate_hz: 10.0
            qos_overrides:
              /agilenn/features:
                subscription: {depth: 3}
        /agilenn/edge:
          ros__parameters:
            rate_hz: 20.0
        edge:
          ros__parameters:
            model: only_for_root_edge
        /**/device:
          ros__parameters:
            model: device_model
        """))
    args = parse_ros_args(["prog", "--verbose", "--ros-args", "-r", "__ns:=/agilenn", "--params-file",
                           str(params), "-p", "threshold:=0.25", "-p", "labels:=[a, b]",
                           "-r", "features:=feats", "--log-level", "debug", "--", "--extra"])
    assert args.user_args == ["prog", "--verbose", "--extra"] and args.log_level == "debug"
    assert node_identity(args, "edge", "") == ("edge", "/agilenn")
    ov = overrides_for_node(args, "/agilenn/edge")
    assert ov["model"] == "cifar10" and ov["rate_hz"] == 20.0 and ov["threshold"] == 0.25
    assert ov["labels"] == ["a", "b"] and ov["qos_overrides./agilenn/features.subscription.depth"] == 3
    assert overrides_for_node(args, "/edge")["model"] == "only_for_root_edge"
    assert overrides_for_node(args, "/agilenn/device")["model"] == "device_model"
    with pytest.raises(TransportError):
        parse_ros_args(["--ros-args", "--bogus"])
    targeted = parse_ros_args(["--ros-args", "-r", "first:__node:=renamed"])
    assert node_identity(targeted, "first", "/") == ("renamed", "/")
    assert node_identity(targeted, "second", "/") == ("second", "/")


def test_parameter_store_mirrors_rclpy_typing() -> None:
    store = ParameterStore({"rate": 10, "gain": 2.0, "labels": ["x"], "any": "s", "flag": True})
    with pytest.raises(ParameterTypeError, match="10.0"):
        store.declare("rate", 5.0)  # an int override of a double: rclpy raises too
    assert store.declare("gain", 1.0, "gain") == 2.0
    assert store.declare("labels", [], "names") == ["x"]
    assert store.declare("any", None) == "s"
    assert store.declare("flag", False) is True
    assert store.declare("unset", [1, 2]) == [1, 2]
    with pytest.raises(ParameterAlreadyDeclaredError):
        store.declare("gain", 3.0)
    with pytest.raises(ParameterNotDeclaredError):
        store.get("nope")
    assert store.describe("gain")["description"] == "gain"


def test_discovery_config_follows_rmw() -> None:
    s = discovery_from_env({"ROS_DOMAIN_ID": "42", "ROS_AUTOMATIC_DISCOVERY_RANGE": "localhost",
                            "ROS_STATIC_PEERS": "10.0.0.2; robot.local;"})
    assert s == DiscoverySettings(42, "LOCALHOST", ("10.0.0.2", "robot.local"))
    xml = cyclone_config(s, "file:///user.xml")
    assert "<AllowMulticast>false</AllowMulticast>" in xml and "<MaxAutoParticipantIndex>32<" in xml
    assert '<Peer address="localhost"/><Peer address="10.0.0.2"/><Peer address="robot.local"/>' in xml
    assert xml.endswith(",file:///user.xml")  # the user's configuration comes last and wins
    # LOCALHOST keeps probing (1 s, never pruned) and, with only loopback peers, uses the loopback
    # interface: what Fast DDS and later participants need (issue 9, items 6 and 19)
    assert "<SPDPInterval>1s</SPDPInterval><InitialLocatorPruneDelay>inf</InitialLocatorPruneDelay>" in xml
    assert "<NetworkInterface" not in xml  # 10.0.0.2 must stay reachable
    lo = cyclone_config(DiscoverySettings(0, "LOCALHOST", ("127.0.0.1", "::1")))
    assert '<Interfaces><NetworkInterface address="127.0.0.1"/></Interfaces>' in lo
    assert "<InitialLocatorPruneDelay>inf<" in cyclone_config(DiscoverySettings(0, "LOCALHOST", ()))
    assert "SPDPInterval" not in cyclone_config(DiscoverySettings(0, "SUBNET", ("10.0.0.2",)))
    assert cyclone_config(discovery_from_env({})) == ""  # SUBNET, no peers: Cyclone defaults
    off = cyclone_config(DiscoverySettings(0, "OFF", ("x",)), pid=9)
    assert "<Tag>ros_discovery_off_9</Tag>" in off and "Peer" not in off
    assert discovery_from_env({"ROS_LOCALHOST_ONLY": "1"}).range == "LOCALHOST"
    assert discovery_from_env({"ROS_AUTOMATIC_DISCOVERY_RANGE": "MARS"}).range == "LOCALHOST"
    with pytest.raises(TransportError):
        discovery_from_env({"ROS_DOMAIN_ID": "300"})


# --------------------------------------------------------------- rclpy conversions (no ROS)


class _Fake:
    """Stands in for a rosidl class: keyword constructor + get_fields_and_field_types()."""

    TYPES: dict[str, str] = {}

    def __init__(self, **kw):
        self.__dict__.update(kw)

    @classmethod
    def get_fields_and_field_types(cls):
        return cls.TYPES


class _Time(_Fake):
    TYPES = {"sec": "int32", "nanosec": "uint32"}


class _Header(_Fake):
    TYPES = {"stamp": "builtin_interfaces/Time", "frame_id": "string"}


class _Hyp(_Fake):
    TYPES = {"class_id": "string", "score": "double"}


class _Frame(_Fake):
    TYPES = {"header": "std_msgs/Header", "device_id": "string<32>", "payload": "sequence<uint8, 32768>",
             "local_logits": "sequence<float, 256>", "level": "octet", "results": "sequence<vision_msgs/ObjectHypothesis>",
             "gid": "uint8[16]", "sequence": "uint32"}


_LOOKUP = {"std_msgs/Header": _Header, "builtin_interfaces/Time": _Time, "vision_msgs/ObjectHypothesis": _Hyp}


def test_rclpy_message_conversion() -> None:
    m = new_message(_Frame, {
        "header": {"stamp": Stamp(5, 6), "frame_id": "cam"}, "payload": np.arange(4, dtype=np.uint8),
        "local_logits": np.array([0.5, 1.5]), "level": 2, "results": [{"class_id": "1", "score": 0.5}],
        "gid": b"\x00" * 16, "sequence": np.uint32(7)}, _LOOKUP.get)
    assert isinstance(m.header, _Header) and (m.header.stamp.sec, m.header.stamp.nanosec) == (5, 6)
    assert m.payload == array.array("B", [0, 1, 2, 3])
    assert m.local_logits.typecode == "f" and list(m.local_logits) == [0.5, 1.5]
    assert m.level == b"\x02" and isinstance(m.results[0], _Hyp) and m.gid.shape == (16,)
    assert type(m.sequence) is int
    assert convert_field("sequence<uint8>", b"ab") == array.array("B", b"ab")
    with pytest.raises(TypeError):
        new_message(_Frame, {"payloadd": b""}, _LOOKUP.get)


# --------------------------------------------------------------- DDS backend in one process


@pytest.fixture
def dds(monkeypatch: pytest.MonkeyPatch):
    pytest.importorskip("cyclonedds")
    monkeypatch.setenv("ROS_DOMAIN_ID", str(random.SystemRandom().randint(100, 232)))
    monkeypatch.setenv("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
    monkeypatch.delenv("CYCLONEDDS_URI", raising=False)
    monkeypatch.delenv("AGILENN_TRANSPORT", raising=False)
    return monkeypatch


def test_dds_in_process(dds, tmp_path: Path) -> None:
    params = tmp_path / "params.yaml"
    params.write_text("/**:\n  ros__parameters:\n    model: cifar10\n    rate_hz: 20.0\n")
    argv = ["prog", "--ros-args", "--params-file", str(params), "-p", "threshold:=0.5",
            "-r", "camera:=/cam/image_raw"]
    with make_transport("dds", argv=argv, install_signal_handlers=False) as t:
        assert choose_backend("auto") == "dds"
        with pytest.raises(TransportError):
            choose_backend("rclpy")  # never both in one process
        with pytest.raises(TransportError):
            make_transport("dds")  # one live transport per process
        dev = t.create_node("device", "/agilenn")
        edge = t.create_node("edge", "agilenn", parameter_overrides={"threshold": 0.75})
        assert dev.declare_parameter("model", "none", "bundle") == "cifar10"
        assert dev.declare_parameter("rate_hz", 5.0) == 20.0
        assert dev.declare_parameter("threshold", 0.1) == 0.5
        assert edge.declare_parameter("threshold", 0.1) == 0.75  # explicit overrides win
        assert dev.create_subscription("sensor_msgs/msg/Image", "camera", print, SENSOR).topic_name == "/cam/image_raw"

        got, raw, ticks = [], [], []
        edge.create_subscription("agilenn_ros/msg/Prediction", "prediction", got.append, LATCHED)
        edge.create_subscription("agilenn_ros/msg/Prediction", "prediction", raw.append, LATCHED, raw=True)
        pub = dev.create_publisher("agilenn_ros/msg/Prediction", "prediction", LATCHED)
        assert pub.topic_name == "/agilenn/prediction"
        timer = dev.create_timer(0.02, lambda: ticks.append(1))
        assert t.spin_until(lambda: pub.get_subscription_count() == 2, 5)
        msg = dev.message("agilenn_ros/msg/Prediction", header={"stamp": dev.now()}, label="cat", scores=[1, 2])
        pub.publish(msg)
        with pytest.raises(TypeError):
            pub.publish(dev.message("std_msgs/msg/String", data="x"))
        assert t.spin_until(lambda: len(got) == 1 and len(raw) == 1, 5)
        assert got[0].label == "cat" and as_array(got[0].scores).tolist() == [1.0, 2.0]
        assert isinstance(raw[0], bytes) and raw[0][:4] == b"\x00\x01\x00\x00"
        pub.publish(raw[0])  # serialized bytes publish too
        assert t.spin_until(lambda: len(got) == 2, 5) and got[1].label == "cat"
        assert t.spin_until(lambda: len(ticks) >= 3, 5)
        timer.cancel()
        n = len(ticks)
        t.spin(0.1)
        assert len(ticks) == n
        timer.reset()
        assert t.spin_until(lambda: len(ticks) > n, 5)
        edge.close()
        edge.close()  # idempotent
        assert t.ok()
        dev.create_timer(0.01, t.stop)  # stop() from a callback ends spin()
        t.spin(10.0)
        assert not t.ok() and not t.closed
    assert not t.ok() and t.closed
    t.shutdown()  # idempotent


def test_dds_falls_back_to_loopback(dds, capfd) -> None:
    dds.setenv("CYCLONEDDS_URI", '<CycloneDDS><Domain><General><Interfaces>'
               '<NetworkInterface name="no_such_if0"/></Interfaces></General></Domain></CycloneDDS>')
    with make_transport("dds", install_signal_handlers=False) as t:
        node = t.create_node("n")
        got = []
        node.create_subscription("std_msgs/msg/String", "/chatter", got.append)
        pub = node.create_publisher("std_msgs/msg/String", "/chatter")
        pub.publish(node.message("std_msgs/msg/String", data="hi"))
        assert t.spin_until(lambda: got, 5)
    assert "falling back to loopback" in capfd.readouterr().err


def test_auto_backend_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    """auto: AGILENN_TRANSPORT if it names a backend, else rclpy where importable (a ROS 2
    install without cyclonedds must not end in 'needs cyclonedds'), else dds, else one error."""
    import agilenn_ros.transport as transport

    def installed(*names: str):
        return lambda module: module in names

    monkeypatch.setattr(transport, "_importable", installed("rclpy"))
    assert transport.auto_backend({}) == "rclpy"
    monkeypatch.setattr(transport, "_importable", installed("rclpy", "cyclonedds"))
    assert transport.auto_backend({}) == "rclpy"
    assert transport.auto_backend({"AGILENN_TRANSPORT": "dds"}) == "dds"
    monkeypatch.setattr(transport, "_importable", installed("cyclonedds"))
    assert transport.auto_backend({"AGILENN_TRANSPORT": "auto"}) == "dds"
    monkeypatch.setattr(transport, "_importable", installed())
    with pytest.raises(TransportError, match="neither rclpy .* nor cyclonedds"):
        transport.auto_backend({})
    with pytest.raises(TransportError, match="AGILENN_TRANSPORT='zenoh'"):
        transport.auto_backend({"AGILENN_TRANSPORT": "zenoh"})
