"""Opening rosbag2 bags (mcap or sqlite3 storage, metadata v8/v9) and listing their topics.

Every failure to open a bag becomes one :class:`BagError` with a message that says what is
wrong with the path, so the command line can print it and exit with status 2.
"""
from __future__ import annotations

import sqlite3
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from rosbags.rosbag2 import Reader
from rosbags.rosbag2.errors import ReaderError

if sys.version_info >= (3, 14):
    from compression import zstd
else:
    from backports import zstd     # a dependency of rosbags

ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"   # a zstd frame; CDR starts with 00 00/01 ..

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


def _listed_in_metadata(storage_file: Path) -> list[str] | None:
    """The storage files named by the metadata.yaml beside ``storage_file`` when it names this
    file (a bag directory given by one of its files), else None."""
    metadata = storage_file.parent / "metadata.yaml"
    if not metadata.is_file():
        return None
    try:
        from ruamel.yaml import YAML
        info = YAML(typ="safe").load(metadata.read_text())["rosbag2_bagfile_information"]
        files = [Path(str(f)).name for f in info.get("relative_file_paths", [])]
    except Exception:  # noqa: BLE001 - a broken metadata.yaml: read the file on its own
        return None
    return files if storage_file.name in files else None


def _reader_target(path: Path, notes: list[str]) -> Path:
    if not path.exists():
        raise BagError(f"{path}: no such file or directory")
    if path.is_dir():
        if (path / "metadata.yaml").is_file():
            return path
        single = _storage_file_in(path)
        if single is None:
            raise BagError(f"{path}: not a rosbag2 bag (no metadata.yaml and no single .mcap/.db3 file)")
        notes.append(f"{path} has no metadata.yaml: reading {single.name} on its own")
        return single
    if path.suffix not in STORAGE_SUFFIXES:
        if path.name == "metadata.yaml":
            return path.parent
        raise BagError(f"{path}: not a rosbag2 bag (expected a bag directory, a .mcap or a .db3 file)")
    listed = _listed_in_metadata(path)
    if listed is not None:
        # the metadata says how messages are compressed and which QoS were offered: use it
        more = f" (the bag has {len(listed)} files; all are read)" if len(listed) > 1 else ""
        notes.append(f"{path.name}: using the metadata.yaml beside it{more}")
        return path.parent
    return path


@contextmanager
def open_bag(path: str | Path) -> Iterator[Reader]:
    """An open rosbags Reader for a bag directory, a .mcap file or a .db3 file."""
    notes: list[str] = []
    target = _reader_target(Path(path).expanduser(), notes)
    try:
        reader = Reader(target)
        reader.open()
        reader.agilenn_notes = notes      # console notes for the caller (eval-bag prints them)
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


def _note(reader: Reader, text: str) -> None:
    notes = getattr(reader, "agilenn_notes", None)
    if notes is not None and text not in notes:
        notes.append(text)


def _plain(reader: Reader, topic: str, data: bytes) -> bytes:
    """A message as CDR: a zstd frame (a bag recorded with ``compression_mode: message`` read
    without its metadata.yaml) is decompressed; anything else is returned as it is."""
    if bytes(data[:4]) != ZSTD_MAGIC:
        return data
    try:
        plain = zstd.decompress(data)
    except Exception:  # noqa: BLE001 - not a zstd frame after all: the caller counts it as undecodable
        return data
    _note(reader, f"{topic}: messages are zstd-compressed (compression_mode: message) and no metadata says so: "
                  f"decompressed them")
    return plain


def _messages_by_topic(reader: Reader, topic: str) -> Iterator[tuple[Any, int, bytes]]:
    """Messages of ``topic`` matched by topic name only, straight from the storage files.

    rosbags matches a storage's connections to metadata.yaml's by topic, type *and* offered
    QoS; a metadata.yaml edited (or written by another tool) with other QoS strings then yields
    no message at all although the storage holds them."""
    storage = reader.storage
    compressed = getattr(storage.metadata, "compression_mode", None) == "message"
    for part in getattr(storage, "storages", None) or [storage]:
        conns = [c for c in part.connections if c.topic == topic]
        if not conns:
            continue
        for conn, timestamp, data in part.messages(conns):
            yield conn, timestamp, zstd.decompress(data) if compressed else data


def read_messages(reader: Reader, topic: str, limit: int = 0) -> Iterator[tuple[int, bytes, str]]:
    """(bag timestamp ns, CDR bytes, message type) of ``topic`` in storage order.

    When the bag declares messages on ``topic`` but none comes out (metadata.yaml's QoS no
    longer matches the storage's), the storage files are read by topic name instead and a note
    is added for the console. A storage error in the middle of the bag (a truncated chunk, a
    corrupt page) raises BagError after the messages that could be read."""
    conns = connections_of(reader, topic)
    if not conns:
        return
    declared = sum(int(c.msgcount) for c in conns)
    n = 0
    try:
        for conn, timestamp, data in reader.messages(connections=conns):
            yield int(timestamp), _plain(reader, topic, data), conn.msgtype
            n += 1
            if limit and n >= limit:
                return
        if n == 0 and declared > 0:
            for conn, timestamp, data in _messages_by_topic(reader, topic):
                if n == 0:
                    _note(reader, f"{topic}: metadata declares {declared} messages but none matched its topic "
                                  f"description (offered QoS / type hash differ from the storage's); "
                                  f"read them by topic name from the storage files")
                yield int(timestamp), _plain(reader, topic, data), conn.msgtype
                n += 1
                if limit and n >= limit:
                    return
    except BagError:
        raise
    except Exception as exc:  # noqa: BLE001 - storage plugins raise many kinds on corrupt data
        raise BagError(f"bag is corrupt: reading {topic} failed after {n} messages "
                       f"({type(exc).__name__}: {exc})") from exc
