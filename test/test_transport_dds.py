"""The Cyclone DDS transport between processes on loopback.

Each test gets its own ROS_DOMAIN_ID (random, 100..232) and
ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST, so parallel runs do not cross-talk. The publishing
node runs in a separate process (test/dds_peer.py); the subscriber is this process.
"""

from __future__ import annotations

import os
import queue
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("cyclonedds")

from agilenn_ros.transport import LATCHED, RELIABLE, as_array, as_bytes, make_transport  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PEER = Path(__file__).resolve().parent / "dds_peer.py"
sys.path.insert(0, str(PEER.parent))
from dds_peer import frame_payload  # noqa: E402


@pytest.fixture
def dds_env(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    domain = str(random.SystemRandom().randint(100, 232))
    monkeypatch.setenv("ROS_DOMAIN_ID", domain)
    monkeypatch.setenv("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
    for var in ("CYCLONEDDS_URI", "ROS_STATIC_PEERS", "ROS_LOCALHOST_ONLY", "AGILENN_TRANSPORT"):
        monkeypatch.delenv(var, raising=False)
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env["PYTHONUNBUFFERED"] = "1"
    return env


class Peer:
    """A dds_peer.py process with line-wise access to its stdout."""

    def __init__(self, env: dict[str, str], *args: str) -> None:
        self.proc = subprocess.Popen([sys.executable, str(PEER), *args], env=env, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True, cwd=ROOT)
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))

    def wait_line(self, prefix: str, timeout: float = 20.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                break
            self.seen.append(line)
            if line.startswith(prefix):
                return line
        raise AssertionError(f"peer never printed {prefix!r}; output: {self.seen}")

    def stop(self, sig: int, times: int = 1) -> int:
        """Send ``sig`` (``times`` times, 5 ms apart, as a Ctrl-C under ros2 launch does) and
        return the exit code; the peer must have said 'clean shutdown'."""
        for _ in range(times):
            if self.proc.poll() is None:
                self.proc.send_signal(sig)
                time.sleep(0.005)
        try:
            rc = self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise
        self.wait_line("clean shutdown", timeout=2)
        return rc

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def test_feature_frames_reliable_between_processes(dds_env: dict[str, str]) -> None:
    n = 60
    peer = Peer(dds_env, "features", str(n))
    transport = make_transport("dds", install_signal_handlers=False)
    try:
        node = transport.create_node("edge", "/agilenn")
        got: list = []
        sub = node.create_subscription("agilenn_ros/msg/FeatureFrame", "features", got.append,
                                       RELIABLE.with_depth(n))
        assert sub.topic_name == "/agilenn/features"
        assert transport.spin_until(lambda: len(got) >= n, 30.0), f"received {len(got)} of {n}"
        assert [m.sequence for m in got] == list(range(n))
        for m in got:
            i = m.sequence
            assert as_bytes(m.payload) == frame_payload(i)
            assert np.array_equal(as_array(m.local_logits), np.array([i, -1.0, 0.5], np.float32))
            assert (m.device_id, m.model_hash, m.codec, m.device_compute_us) == ("peer", 0xA1B2C3D4, 1, 1000 + i)
            assert (m.channels, m.height, m.width, m.header.frame_id) == (19, 16, 16, "cam")
            assert abs(m.header.stamp.sec - time.time()) < 60
        assert peer.wait_line("published") == "published True"  # all acknowledged
    finally:
        transport.shutdown()
        try:
            assert peer.stop(signal.SIGTERM) == 0
        finally:
            peer.kill()


def test_latched_topic_reaches_late_subscriber(dds_env: dict[str, str]) -> None:
    peer = Peer(dds_env, "latched")
    try:
        peer.wait_line("published")
        transport = make_transport("dds", install_signal_handlers=False)  # joins after the publish
        try:
            node = transport.create_node("consumer", "/agilenn")
            latched: list = []
            node.create_subscription("std_msgs/msg/String", "label_info", latched.append, LATCHED)
            assert transport.spin_until(lambda: len(latched) >= 1, 20.0)
            transport.spin(0.3)
            assert [m.data for m in latched] == ["airplane,automobile,bird"]  # once, not repeated
        finally:
            transport.shutdown()
        assert peer.stop(signal.SIGINT, times=2) == 0
    finally:
        peer.kill()


# ---------------------------------------------------------------- an independent subscriber
# Deliberately does not use agilenn_ros.transport: the DDS type is built here from
# msg/Prediction.msg and the ROS 2 naming rules alone, with stock cyclonedds (its own
# deserializer) and the rmw_cyclonedds LOCALHOST discovery configuration.

# rmw_cyclonedds' LOCALHOST settings plus the loopback interface, which is what such a node needs to
# talk with this package's LOCALHOST nodes in any start order (docs/transport.md)
LOCALHOST_XML = ("<CycloneDDS><Domain><General><Interfaces><NetworkInterface address=\"127.0.0.1\"/></Interfaces>"
                 "<AllowMulticast>false</AllowMulticast></General>"
                 "<Discovery><ParticipantIndex>auto</ParticipantIndex><MaxAutoParticipantIndex>32"
                 "</MaxAutoParticipantIndex><Peers><Peer address=\"localhost\"/></Peers></Discovery>"
                 "</Domain></CycloneDDS>")


def _independent_types():
    from cyclonedds.idl import make_idl_struct
    from cyclonedds.idl import types as t
    from rosbags.typesys import Stores, get_types_from_msg, get_typestore
    from rosbags.typesys.base import Nodetype

    store = get_typestore(Stores.ROS2_JAZZY)
    store.register(get_types_from_msg((ROOT / "msg" / "Prediction.msg").read_text(), "agilenn_ros/msg/Prediction"))
    prims = {"bool": bool, "uint8": t.uint8, "char": t.uint8, "int32": t.int32, "uint32": t.uint32,
             "float32": t.float32, "float64": t.float64}
    built: dict = {}

    def struct(name: str):
        if name not in built:
            pkg, _, short = name.split("/")

            def conv(desc):
                kind, arg = desc
                if kind == Nodetype.BASE:
                    return (t.bounded_str[arg[1]] if arg[1] else str) if arg[0] == "string" else prims[arg[0]]
                if kind == Nodetype.NAME:
                    return struct(arg)
                if kind == Nodetype.ARRAY:
                    return t.array[conv(arg[0]), arg[1]]
                return t.sequence[conv(arg[0]), arg[1]] if arg[1] else t.sequence[conv(arg[0])]
            fields = {f: conv(d) for f, d in store.fielddefs[name][1]}
            built[name] = make_idl_struct(f"{pkg}_{short}", f"{pkg}::msg::dds_::{short}_", fields)
        return built[name]
    return struct("agilenn_ros/msg/Prediction"), struct("rmw_dds_common/msg/ParticipantEntitiesInfo")


def test_independent_subscriber_and_ros_graph(dds_env: dict[str, str]) -> None:
    from cyclonedds.builtin import BuiltinDataReader, BuiltinTopicDcpsParticipant
    from cyclonedds.domain import Domain, DomainParticipant
    from cyclonedds.qos import Policy, Qos
    from cyclonedds.sub import DataReader
    from cyclonedds.topic import Topic
    from cyclonedds.util import duration

    prediction_t, entities_t = _independent_types()
    assert prediction_t.__idl_typename__ == "agilenn_ros::msg::dds_::Prediction_"
    peer = Peer(dds_env, "prediction")
    did = int(dds_env["ROS_DOMAIN_ID"])
    domain = Domain(did, LOCALHOST_XML)
    dp = DomainParticipant(did)
    try:
        xcdr1 = Policy.DataRepresentation(use_cdrv0_representation=True)
        reader = DataReader(dp, Topic(dp, "rt/agilenn/prediction", prediction_t), Qos(
            Policy.Reliability.Reliable(duration(seconds=1)), Policy.Durability.Volatile,
            Policy.History.KeepLast(10), xcdr1))
        graph = DataReader(dp, Topic(dp, "ros_discovery_info", entities_t), Qos(
            Policy.Reliability.Reliable(duration(seconds=1)), Policy.Durability.TransientLocal,
            Policy.History.KeepAll, xcdr1))
        participants = BuiltinDataReader(dp, BuiltinTopicDcpsParticipant)

        samples: list = []
        deadline = time.monotonic() + 30
        while len(samples) < 5 and time.monotonic() < deadline:
            samples += reader.take(N=10)
            time.sleep(0.02)
        assert len(samples) >= 5, "the independent subscriber received nothing"
        for s in samples:
            assert (s.device_id, s.class_id, s.label, s.remote_used, s.payload_bytes) == ("peer", 3, "cat", True, 1500)
            assert s.scores == pytest.approx([0.1, 0.2, 0.3, 2.5]) and s.header.frame_id == "cam"
            assert s.confidence == 0.75 and s.alpha == 0.25
        seqs = [s.sequence for s in samples]
        assert seqs == sorted(seqs)

        # the writer's QoS as a ROS node would see it
        (handle,) = reader.get_matched_publications()
        pub = reader.get_matched_publication_data(handle)
        assert pub.type_name == "agilenn_ros::msg::dds_::Prediction_"
        assert pub.qos[Policy.DataRepresentation] == Policy.DataRepresentation(use_cdrv0_representation=True)
        assert pub.qos[Policy.Durability] == Policy.Durability.Volatile
        assert isinstance(pub.qos[Policy.Reliability], Policy.Reliability.Reliable)
        assert pub.qos[Policy.WriterDataLifecycle] == Policy.WriterDataLifecycle(autodispose=False)
        assert pub.qos[Policy.Userdata].data.startswith(b"typehash=RIHS01_")

        # the participant says enclave=/; and lists node /agilenn/device with that writer
        deadline = time.monotonic() + 10
        info = None
        while info is None and time.monotonic() < deadline:
            for s in graph.take(N=20):
                if bytes(s.gid.data) == pub.participant_key.bytes:
                    info = s
            time.sleep(0.02)
        assert info is not None, "no ros_discovery_info from the publisher's participant"
        nodes = {(n.node_namespace, n.node_name): n for n in info.node_entities_info_seq}
        assert ("/agilenn", "device") in nodes
        writers = [bytes(g.data) for g in nodes[("/agilenn", "device")].writer_gid_seq]
        assert pub.key.bytes in writers
        enclaves = [p.qos[Policy.Userdata] for p in participants.take(N=50) if p.key == pub.participant_key]
        assert enclaves and enclaves[0].data == b"enclave=/;"
    finally:
        del dp, domain
        try:
            assert peer.stop(signal.SIGTERM) == 0
        finally:
            peer.kill()
