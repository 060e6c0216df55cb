"""The edge's hot path on the wire: parse ``FeatureFrame`` CDR, write ``Prediction`` and
``vision_msgs/Classification`` CDR, without building message objects.

The edge subscribes with ``raw=True`` (both transports hand over the serialized sample) and
publishes ``bytes`` (both transports accept serialized CDR), so a frame costs a few struct
unpacks instead of a generic (de)serializer. The layout is XCDR1 (plain CDR) as ROS 2 uses it:
a 4-byte encapsulation header (``00 01`` little endian, ``00 00`` big endian), then the fields
in .msg order, each aligned to its size counted from the end of that header; strings are a
uint32 length (including the NUL), the bytes and a NUL; sequences a uint32 count and the
elements. test/test_edge_wire.py checks both directions byte for byte against rosbags.

Every string and sequence is bounded here (:class:`FieldLimits`): a frame that breaks a bound,
holds invalid UTF-8 or ends early is rejected with a :class:`WireReject` naming the counter it
belongs to, before anything is copied.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

CDR_LE = b"\x00\x01"
CDR_BE = b"\x00\x00"
MAX_DEVICE_ID_BYTES = 32           # msg/FeatureFrame.msg: string<=32 device_id
MAX_PAYLOAD_BYTES = 32768          # FeatureFrame.MAX_PAYLOAD_BYTES
MAX_CLASSES = 256                  # FeatureFrame.MAX_CLASSES


class WireReject(ValueError):
    """A FeatureFrame the edge cannot use; ``counter`` is the /diagnostics key it is counted
    under: ``rejected_malformed`` (not parseable CDR) or ``rejected_field_bounds`` (a string or
    sequence over its bound, or a string that is not UTF-8)."""

    def __init__(self, counter: str, reason: str, device_id: str | None = None, sequence: int | None = None,
                 model_hash: int | None = None) -> None:
        super().__init__(reason)
        self.counter = counter
        self.device_id, self.sequence, self.model_hash = device_id, sequence, model_hash


@dataclass(frozen=True)
class FieldLimits:
    """Bounds the edge enforces on what it accepts (and so on what it echoes)."""

    frame_id_bytes: int = 256       # header.frame_id (unbounded in std_msgs; copied into every output)
    device_id_bytes: int = MAX_DEVICE_ID_BYTES
    payload_bytes: int = MAX_PAYLOAD_BYTES
    classes: int = MAX_CLASSES


@dataclass
class WireFrame:
    """The fields of one FeatureFrame the edge uses. ``payload`` and ``local_logits`` are views
    into the received sample (no copy); ``local_logits`` is float32 in native byte order."""

    stamp_sec: int
    stamp_nanosec: int
    frame_id: str
    device_id: str
    sequence: int
    model_hash: int
    shape: tuple[int, int, int]
    codec: int
    payload: memoryview
    local_logits: np.ndarray
    device_compute_us: int


_HEAD = {True: struct.Struct("<iiI"), False: struct.Struct(">iiI")}
_U32 = {True: struct.Struct("<I"), False: struct.Struct(">I")}
_MID = {True: struct.Struct("<IIHHHB"), False: struct.Struct(">IIHHHB")}


def _string(data: memoryview, pos: int, limit: int, name: str, little: bool) -> tuple[str, int, str]:
    """Read a CDR string at aligned offset ``pos`` (counted in ``data`` without the header):
    (text, end, fault). A bound or encoding fault leaves text empty and names the fault (the
    caller keeps parsing to learn the device and sequence); a structural fault raises."""
    if pos + 4 > len(data):
        raise WireReject("rejected_malformed", f"sample ends inside {name}")
    (n,) = _U32[little].unpack_from(data, pos)
    pos += 4
    if n == 0:
        raise WireReject("rejected_malformed", f"{name} has length 0 (a CDR string holds its NUL)")
    end = pos + n
    if end > len(data):
        raise WireReject("rejected_malformed", f"sample ends inside {name}")
    if data[end - 1] != 0:
        raise WireReject("rejected_malformed", f"{name} is not NUL-terminated")
    if n - 1 > limit:
        return "", end, f"{name} has {n - 1} bytes, the limit is {limit}"
    try:
        text = bytes(data[pos:end - 1]).decode("utf-8")
    except UnicodeDecodeError:
        return "", end, f"{name} is not valid UTF-8"
    if "\x00" in text:
        return "", end, f"{name} holds a NUL character"
    return text, end, ""


def parse_feature_frame(sample: bytes, limits: FieldLimits = FieldLimits()) -> WireFrame:
    """Parse one serialized ``agilenn_ros/msg/FeatureFrame`` (4-byte header included, as a raw
    subscription delivers it; trailing padding allowed). Raises :class:`WireReject`; for a
    bound fault it carries ``device_id``/``sequence`` when those fields were readable."""
    if len(sample) < 4 or sample[0] != 0 or sample[1] not in (0, 1):
        raise WireReject("rejected_malformed", "not XCDR1 CDR (bad encapsulation header)")
    little = sample[1] == 1
    data = memoryview(sample)[4:]
    if len(data) < 12:
        raise WireReject("rejected_malformed", "sample ends inside header")
    sec, nanosec, _ = _HEAD[little].unpack_from(data, 0)
    frame_id, pos, fault = _string(data, 8, limits.frame_id_bytes, "header.frame_id", little)
    pos += -pos % 4
    device_id, pos, device_fault = _string(data, pos, limits.device_id_bytes, "device_id", little)
    pos += -pos % 4
    if pos + 15 > len(data):
        raise WireReject("rejected_malformed", "sample ends inside sequence..codec")
    sequence, model_hash, channels, height, width, codec = _MID[little].unpack_from(data, pos)
    if device_fault:
        raise WireReject("rejected_field_bounds", device_fault)
    if fault:
        raise WireReject("rejected_field_bounds", fault, device_id, sequence, model_hash)
    pos += 15
    pos += -pos % 4
    if pos + 4 > len(data):
        raise WireReject("rejected_malformed", "sample ends inside payload")
    (n_payload,) = _U32[little].unpack_from(data, pos)
    pos += 4
    if n_payload > limits.payload_bytes:
        raise WireReject("rejected_field_bounds", f"payload has {n_payload} bytes, the limit is {limits.payload_bytes}",
                         device_id, sequence, model_hash)
    if pos + n_payload > len(data):
        raise WireReject("rejected_malformed", "sample ends inside payload")
    payload = data[pos:pos + n_payload]
    pos += n_payload
    pos += -pos % 4
    if pos + 4 > len(data):
        raise WireReject("rejected_malformed", "sample ends inside local_logits")
    (n_logits,) = _U32[little].unpack_from(data, pos)
    pos += 4
    if n_logits > limits.classes:
        raise WireReject("rejected_field_bounds", f"local_logits has {n_logits} values, the limit is {limits.classes}",
                         device_id, sequence, model_hash)
    if pos + 4 * n_logits + 4 > len(data):
        raise WireReject("rejected_malformed", "sample ends inside local_logits or device_compute_us")
    logits = np.frombuffer(data, dtype="<f4" if little else ">f4", count=n_logits, offset=pos)
    pos += 4 * n_logits
    (compute_us,) = _U32[little].unpack_from(data, pos)
    if not little:
        logits = logits.astype(np.float32)
    return WireFrame(sec, nanosec, frame_id, device_id, sequence, model_hash, (channels, height, width), codec,
                     payload, logits, compute_us)


class _Writer:
    """Appends XCDR1 little-endian fields to a bytearray (alignment from the end of the header)."""

    __slots__ = ("buf",)

    def __init__(self) -> None:
        self.buf = bytearray(CDR_LE + b"\x00\x00")

    def align(self, n: int) -> None:
        pad = -(len(self.buf) - 4) % n
        if pad:
            self.buf += b"\x00" * pad

    def u32(self, value: int) -> None:
        self.align(4)
        self.buf += struct.pack("<I", value)

    def string(self, encoded: bytes) -> None:
        self.align(4)
        self.buf += struct.pack("<I", len(encoded) + 1)
        self.buf += encoded
        self.buf += b"\x00"


def prediction_cdr(stamp: tuple[int, int], frame_id: bytes, device_id: bytes, sequence: int, class_id: int,
                   label: bytes, confidence: float, scores: np.ndarray, alpha: float, remote_used: bool,
                   payload_bytes: int, times_ms: tuple[float, float, float, float, float]) -> bytes:
    """Serialized ``agilenn_ros/msg/Prediction`` (strings already UTF-8 encoded and bounded;
    ``times_ms`` = device, decode, remote, edge, age)."""
    w = _Writer()
    w.buf += struct.pack("<iI", stamp[0], stamp[1])
    w.string(frame_id)
    w.string(device_id)
    w.u32(sequence)
    w.buf += struct.pack("<i", class_id)
    w.string(label)
    w.align(4)
    w.buf += struct.pack("<fI", confidence, len(scores))
    w.buf += np.ascontiguousarray(scores, dtype="<f4").tobytes()
    w.buf += struct.pack("<f?", alpha, remote_used)
    w.align(4)
    w.buf += struct.pack("<I5f", payload_bytes, *times_ms)
    return bytes(w.buf)


def classification_cdr(stamp: tuple[int, int], frame_id: bytes, class_label: bytes, score: float) -> bytes:
    """Serialized ``vision_msgs/msg/Classification`` with one ObjectHypothesis."""
    w = _Writer()
    w.buf += struct.pack("<iI", stamp[0], stamp[1])
    w.string(frame_id)
    w.u32(1)
    w.string(class_label)
    w.align(8)
    w.buf += struct.pack("<d", score)
    return bytes(w.buf)
