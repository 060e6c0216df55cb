"""Writing rosbag2 bags that ROS 2 Jazzy reads and plays (``ros2 bag info`` / ``play``).

rosbags' Writer with ``version=9`` (Jazzy's metadata format), the project's typestore
(ROS 2 Jazzy types + vision_msgs + agilenn_ros), full message definitions and RIHS01 hashes
stored per topic (so ``ros2 bag play`` can publish types it has never seen), and an offered
QoS profile of reliable / volatile / keep last, which every subscriber QoS accepts.
"""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from rosbags.interfaces import Qos, QosDurability, QosHistory, QosLiveliness, QosReliability, QosTime
from rosbags.rosbag2 import StoragePlugin, Writer
from rosbags.rosbag2.enums import CompressionFormat, CompressionMode
from rosbags.rosbag2.errors import WriterError

from agilenn_ros.bag.bagio import BagError
from agilenn_ros.transport.msgtypes import serialize, typestore

BAG_VERSION = 9                      # rosbag2 metadata version written by Jazzy
STORAGES = {"mcap": StoragePlugin.MCAP, "sqlite3": StoragePlugin.SQLITE3}
COMPRESSION_MODES = {"": None, "none": None, "message": CompressionMode.MESSAGE, "file": CompressionMode.FILE}
INFINITE = QosTime(9223372036, 854775807)   # rosbag2's "infinite" duration


def offered_qos(depth: int = 10) -> Qos:
    """Reliable, volatile, keep last ``depth``: what a default rclcpp/rclpy publisher offers."""
    return Qos(QosHistory.KEEP_LAST, depth, QosReliability.RELIABLE, QosDurability.VOLATILE,
               INFINITE, INFINITE, QosLiveliness.AUTOMATIC, INFINITE, False)


def remove_existing_bag(path: Path) -> None:
    """Delete ``path`` only when it is a rosbag2 bag directory (``--force``)."""
    if not path.exists():
        return
    if path.is_dir() and (path / "metadata.yaml").is_file():
        shutil.rmtree(path)
        return
    raise BagError(f"{path} exists and is not a bag directory; not removing it")


class BagWriter:
    """A thin wrapper: one connection per topic, messages given as rosbags objects."""

    def __init__(self, path: str | Path, storage: str = "mcap", force: bool = False, version: int = BAG_VERSION,
                 compression: str = "") -> None:
        """``compression``: '' (none), 'message' or 'file' (zstd, as ``ros2 bag record --compression-mode``)."""
        if storage not in STORAGES:
            raise BagError(f"storage must be one of {sorted(STORAGES)}, not {storage!r}")
        self.path = Path(path)
        if force:
            remove_existing_bag(self.path)
        if self.path.exists():
            raise BagError(f"{self.path} exists already (rosbag2 never overwrites; use --force for a bag directory)")
        if version not in (8, 9):
            raise BagError(f"rosbag2 metadata version must be 8 (Iron) or 9 (Jazzy), not {version}")
        if compression not in COMPRESSION_MODES:
            raise BagError(f"compression must be message, file or empty, not {compression!r}")
        self.writer = Writer(self.path, version=version, storage_plugin=STORAGES[storage])  # type: ignore[arg-type]
        if COMPRESSION_MODES[compression] is not None:
            self.writer.set_compression(COMPRESSION_MODES[compression], CompressionFormat.ZSTD)
        self.connections: dict[str, Any] = {}
        self.counts: dict[str, int] = {}

    def __enter__(self) -> "BagWriter":
        try:
            self.writer.open()
        except (WriterError, OSError) as exc:
            raise BagError(f"{self.path}: cannot create bag ({exc})") from exc
        return self

    def __exit__(self, *exc: object) -> None:
        self.writer.close()

    def add_topic(self, topic: str, msgtype: str) -> None:
        if topic in self.connections:
            return
        self.connections[topic] = self.writer.add_connection(
            topic, msgtype, typestore=typestore(), offered_qos_profiles=[offered_qos()])
        self.counts[topic] = 0

    def write(self, topic: str, msg: Any, timestamp_ns: int) -> int:
        """Serialize and write ``msg`` (its type names the topic's type); returns its CDR size."""
        self.add_topic(topic, msg.__msgtype__)
        data = serialize(msg)
        self.writer.write(self.connections[topic], int(timestamp_ns), data)
        self.counts[topic] += 1
        return len(data)

    def write_raw(self, topic: str, msgtype: str, data: bytes, timestamp_ns: int) -> None:
        """Write already serialized CDR bytes (for tests that need a corrupt message)."""
        self.add_topic(topic, msgtype)
        self.writer.write(self.connections[topic], int(timestamp_ns), data)
        self.counts[topic] += 1
