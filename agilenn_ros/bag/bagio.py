"""Opening rosbag2 bags (mcap or sqlite3 storage, metadata v8/v9) and listing their topics.

Every failure to open a bag becomes one :class:`BagError` with a message that says what is
wrong with the path, so the command line can print it and exit with status 2.
"""
from __future__ import annotations

import sqlite3
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from rosbags.rosbag2 import Reader
from rosbags.rosbag2.errors import ReaderError

IMAGE = "sensor_msgs/msg/Image"
COMPRESSED_IMAGE = "sensor_msgs/msg/CompressedImage"
FEATURE_FRAME = "agilenn_ros/msg/FeatureFrame"
PREDICTION = "agilenn_ros/msg/Prediction"
CLASSIFICATION = "vision_msgs/msg/Classification"
IMAGE_TYPES = (IMAGE, COMPRESSED_IMAGE)
STORAGE_SUFFIXES = (".mcap", ".db3")


class BagError(ValueError):
    """A bag cannot be opened or read (missing, corrupt, not a rosbag2 bag)."""


@dataclass(frozen=True)
class TopicInfo:
    name: str
    msgtype: str
    count: int


def _storage_file_in(directory: Path) -> Path | None:
    """A directory without metadata.yaml that holds exactly one storage file (metadata lost)."""
    files = [p for p in sorted(directory.iterdir()) if p.suffix in STORAGE_SUFFIXES and p.is_file()]
    return files[0] if len(files) == 1 else None


def _reader_target(path: Path) -> Path:
    if not path.exists():
        raise BagError(f"{path}: no such file or directory")
    if path.is_dir():
        if (path / "metadata.yaml").is_file():
            return path
        single = _storage_file_in(path)
        if single is None:
            raise BagError(f"{path}: not a rosbag2 bag (no metadata.yaml and no single .mcap/.db3 file)")
        return single
    if path.suffix not in STORAGE_SUFFIXES:
        if path.name == "metadata.yaml":
            return path.parent
        raise BagError(f"{path}: not a rosbag2 bag (expected a bag directory, a .mcap or a .db3 file)")
    return path


@contextmanager
def open_bag(path: str | Path) -> Iterator[Reader]:
    """An open rosbags Reader for a bag directory, a .mcap file or a .db3 file."""
    target = _reader_target(Path(path).expanduser())
    try:
        reader = Reader(target)
        reader.open()
    except BagError:
        raise
    except (ReaderError, OSError, sqlite3.Error, KeyError, ValueError, EOFError, AssertionError) as exc:
        hint = ""
        if "magic" in str(exc).lower():
            hint = "; a truncated mcap (recorder killed) can be salvaged with `mcap recover`"
        raise BagError(f"{path}: cannot open bag, corrupt or truncated ({type(exc).__name__}: {exc}){hint}") from exc
    except Exception as exc:  # noqa: BLE001 - a corrupt file can break a storage plugin anywhere
        raise BagError(f"{path}: cannot open bag, corrupt or not a rosbag2 bag ({type(exc).__name__}: {exc})") from exc
    try:
        yield reader
    finally:
        try:
            reader.close()
        except Exception:  # noqa: BLE001 - closing a broken bag must not hide the real error
            pass


def topics(reader: Reader) -> list[TopicInfo]:
    """Topics of an open bag, sorted by name."""
    result: dict[str, TopicInfo] = {}
    for conn in reader.connections:
        old = result.get(conn.topic)
        count = conn.msgcount + (old.count if old else 0)
        result[conn.topic] = TopicInfo(conn.topic, conn.msgtype, count)
    return [result[name] for name in sorted(result)]


def connections_of(reader: Reader, topic: str) -> list[Any]:
    return [conn for conn in reader.connections if conn.topic == topic]


def read_messages(reader: Reader, topic: str, limit: int = 0) -> Iterator[tuple[int, bytes, str]]:
    """(bag timestamp ns, CDR bytes, message type) of ``topic`` in storage order.

    A storage error in the middle of the bag (a truncated chunk, a corrupt page) raises
    BagError after the messages that could be read."""
    conns = connections_of(reader, topic)
    if not conns:
        return
    n = 0
    try:
        for conn, timestamp, data in reader.messages(connections=conns):
            yield int(timestamp), data, conn.msgtype
            n += 1
            if limit and n >= limit:
                return
    except BagError:
        raise
    except Exception as exc:  # noqa: BLE001 - storage plugins raise many kinds on corrupt data
        raise BagError(f"bag is corrupt: reading {topic} failed after {n} messages "
                       f"({type(exc).__name__}: {exc})") from exc
