"""Message types for the non-rclpy path, generated at run time from ``.msg`` text.

* ``agilenn_ros/msg/*`` come from the package's ``msg/`` directory (found by
  :mod:`agilenn_ros._msg_path`): the .msg files are the single source of truth.
* Standard types (std_msgs, sensor_msgs, builtin_interfaces, diagnostic_msgs,
  rmw_dds_common) come from rosbags' ROS 2 Jazzy store.
* vision_msgs is not in that store: its definitions (vision_msgs 4.1.1, comments dropped,
  which does not change the RIHS01 hash) are registered from the text below.

Messages are rosbags dataclasses. :func:`new_message` fills omitted fields with defaults
and converts values (bytes / lists / numpy to numpy arrays, dicts to nested messages,
``(sec, nanosec)`` to ``builtin_interfaces/msg/Time``). :func:`serialize` /
:func:`deserialize` are rosbags' CDR (XCDR1, little endian, 4-byte header included),
plus the bound checks rosidl does on publish.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Callable

import numpy as np
from rosbags.typesys import Stores, get_typestore, get_types_from_msg
from rosbags.typesys.base import Nodetype

from .._msg_path import PACKAGE, find_msg_file, msg_names
from .base import coerce_stamp, normalize_type_name, split_type_name

VENDORED_MSGS: dict[str, str] = {
    "vision_msgs/msg/ObjectHypothesis": "string class_id\nfloat64 score\n",
    "vision_msgs/msg/Classification": "std_msgs/Header header\nObjectHypothesis[] results\n",
    "vision_msgs/msg/VisionClass": "uint16 class_id\nstring class_name\n",
    "vision_msgs/msg/LabelInfo": "std_msgs/Header header\nVisionClass[] class_map\nfloat32 threshold\n",
}

STANDARD_TYPES: tuple[str, ...] = (
    "std_msgs/msg/Header",
    "std_msgs/msg/String",
    "sensor_msgs/msg/Image",
    "sensor_msgs/msg/CompressedImage",
    "diagnostic_msgs/msg/DiagnosticArray",
    "diagnostic_msgs/msg/DiagnosticStatus",
    "diagnostic_msgs/msg/KeyValue",
    "vision_msgs/msg/Classification",
    "vision_msgs/msg/ObjectHypothesis",
    "vision_msgs/msg/LabelInfo",
    "rmw_dds_common/msg/ParticipantEntitiesInfo",
)
"""Standard types the project uses (all registered; any other type of the store works too)."""

_NUMPY: dict[str, np.dtype] = {
    "bool": np.dtype(np.bool_), "byte": np.dtype(np.uint8), "char": np.dtype(np.uint8),
    "int8": np.dtype(np.int8), "uint8": np.dtype(np.uint8), "int16": np.dtype(np.int16),
    "uint16": np.dtype(np.uint16), "int32": np.dtype(np.int32), "uint32": np.dtype(np.uint32),
    "int64": np.dtype(np.int64), "uint64": np.dtype(np.uint64), "float32": np.dtype(np.float32),
    "float64": np.dtype(np.float64),
}
_TIME = "builtin_interfaces/msg/Time"


def package_types() -> list[str]:
    """``agilenn_ros/msg/<Name>`` for every .msg file of the package."""
    return [f"{PACKAGE}/msg/{n}" for n in msg_names()]


@lru_cache(maxsize=1)
def typestore() -> Any:
    """The rosbags typestore (ROS 2 Jazzy + vision_msgs + agilenn_ros). Share it for bags."""
    store = get_typestore(Stores.ROS2_JAZZY)
    extra: dict[str, Any] = {}
    for name, text in VENDORED_MSGS.items():
        if name not in store.fielddefs:
            extra.update(get_types_from_msg(text, name))
    for name in package_types():
        text = find_msg_file(split_type_name(name)[1]).read_text(encoding="utf-8")
        extra.update(get_types_from_msg(text, name))
    store.register(extra)
    return store


def _fielddefs(type_name: str) -> tuple[list[Any], list[tuple[str, Any]]]:
    store = typestore()
    try:
        return store.fielddefs[type_name]
    except KeyError:
        raise KeyError(f"unknown message type {type_name!r}") from None


def msg_class(type_name: str) -> type:
    """The rosbags dataclass of ``type_name`` (``pkg/msg/Name`` or ``pkg/Name``)."""
    name = normalize_type_name(type_name)
    _fielddefs(name)
    return typestore().types[name]


def dds_type_name(type_name: str) -> str:
    """``agilenn_ros/msg/Prediction`` -> ``agilenn_ros::msg::dds_::Prediction_``."""
    pkg, name = split_type_name(type_name)
    return f"{pkg}::msg::dds_::{name}_"


@lru_cache(maxsize=None)
def type_hash(type_name: str) -> str:
    """The RIHS01 type hash ROS 2 (Iron+) puts in endpoint USER_DATA."""
    return str(typestore().hash_rihs01(normalize_type_name(type_name)))


def message_definition(type_name: str) -> str:
    """The full ``ros2msg`` text (with dependencies), as rosbag2 stores it."""
    return typestore().generate_msgdef(normalize_type_name(type_name))[0]


# --------------------------------------------------------------------------- construction


@dataclass(frozen=True)
class _Field:
    name: str
    default: Callable[[], Any]
    convert: Callable[[Any], Any] | None
    check: Callable[[Any, str], None] | None


def _is_numeric(desc: Any) -> bool:
    return desc[0] == Nodetype.BASE and desc[1][0] in _NUMPY


def _numeric_array(dtype: np.dtype) -> Callable[[Any], np.ndarray]:
    def convert(value: Any) -> np.ndarray:
        if isinstance(value, np.ndarray) and value.dtype == dtype and value.ndim == 1:
            return value
        if isinstance(value, (bytes, bytearray, memoryview)) and dtype.itemsize == 1:
            return np.frombuffer(value, dtype=dtype)
        return np.asarray(value, dtype=dtype).reshape(-1)
    return convert


def _byte_value(value: Any) -> Any:
    """rclpy represents ``byte`` fields as 1-byte ``bytes``; rosbags as int: accept both."""
    if isinstance(value, (bytes, bytearray)) and len(value) == 1:
        return value[0]
    return value


def _element_converter(desc: Any) -> Callable[[Any], Any] | None:
    kind, arg = desc
    if kind == Nodetype.BASE and arg[0] == "byte":
        return _byte_value
    if kind == Nodetype.NAME:
        sub = arg

        def convert(value: Any) -> Any:
            if isinstance(value, dict):
                return new_message(sub, **value)
            if sub == _TIME and not hasattr(value, "__msgtype__"):
                st = coerce_stamp(value)
                if st is not None:
                    return msg_class(_TIME)(sec=st[0], nanosec=st[1])
            return value
        return convert
    return None


def _default(desc: Any) -> Callable[[], Any]:
    kind, arg = desc
    if kind == Nodetype.BASE:
        t = arg[0]
        if t == "string":
            return str
        if t == "bool":
            return bool
        return float if t.startswith("float") else int
    if kind == Nodetype.NAME:
        return lambda: new_message(arg)
    elem, n = arg
    if _is_numeric(elem):
        dtype = _NUMPY[elem[1][0]]
        size = n if kind == Nodetype.ARRAY else 0
        return lambda: np.zeros(size, dtype=dtype)
    if kind == Nodetype.ARRAY:
        one = _default(elem)
        return lambda: [one() for _ in range(n)]
    return list


def _bound_check(desc: Any) -> Callable[[Any, str], None] | None:
    kind, arg = desc
    if kind == Nodetype.BASE:
        if arg[0] == "string" and arg[1]:
            bound = arg[1]

            def check_str(value: Any, where: str) -> None:
                if len(value) > bound:
                    raise ValueError(f"{where}: string of {len(value)} characters exceeds its bound {bound}")
            return check_str
        return None
    if kind == Nodetype.NAME:
        if not _has_bounds(arg):
            return None
        sub = arg
        return lambda value, where: check_bounds(value, sub, where)
    elem, n = arg
    inner = _bound_check(elem)
    exact = kind == Nodetype.ARRAY

    def check_seq(value: Any, where: str) -> None:
        if exact and len(value) != n:
            raise ValueError(f"{where}: fixed array needs {n} elements, got {len(value)}")
        if not exact and n and len(value) > n:
            raise ValueError(f"{where}: sequence of {len(value)} elements exceeds its bound {n}")
        if inner is not None:
            for i, v in enumerate(value):
                inner(v, f"{where}[{i}]")
    return check_seq


@lru_cache(maxsize=None)
def _has_bounds(type_name: str) -> bool:
    for _, desc in _fielddefs(type_name)[1]:
        kind, arg = desc
        if kind == Nodetype.BASE and arg[0] == "string" and arg[1]:
            return True
        if kind == Nodetype.NAME and _has_bounds(arg):
            return True
        if kind in (Nodetype.ARRAY, Nodetype.SEQUENCE):
            elem, n = arg
            if kind == Nodetype.ARRAY or n:
                return True
            if elem[0] == Nodetype.NAME and _has_bounds(elem[1]):
                return True
            if elem[0] == Nodetype.BASE and elem[1][0] == "string" and elem[1][1]:
                return True
    return False


@lru_cache(maxsize=None)
def _plan(type_name: str) -> tuple[_Field, ...]:
    fields = []
    for fname, desc in _fielddefs(type_name)[1]:
        kind, arg = desc
        if kind in (Nodetype.ARRAY, Nodetype.SEQUENCE):
            elem = arg[0]
            if _is_numeric(elem):
                convert: Callable[[Any], Any] | None = _numeric_array(_NUMPY[elem[1][0]])
            else:
                inner = _element_converter(elem)
                convert = (lambda v, f=inner: [f(x) for x in v]) if inner else list
        else:
            convert = _element_converter(desc)
        fields.append(_Field(fname, _default(desc), convert, _bound_check(desc)))
    return tuple(fields)


def new_message(type_name: str, **fields: Any) -> Any:
    """A rosbags message of ``type_name``; omitted fields get ROS defaults (0, "", empty
    arrays, default nested messages). Unknown field names raise TypeError."""
    name = normalize_type_name(type_name)
    plan = _plan(name)
    cls = typestore().types[name]
    unknown = set(fields) - {f.name for f in plan}
    if unknown:
        raise TypeError(f"{name} has no field(s) {sorted(unknown)}; fields: {[f.name for f in plan]}")
    kwargs = {}
    for f in plan:
        if f.name in fields:
            value = fields[f.name]
            kwargs[f.name] = f.convert(value) if f.convert is not None else value
        else:
            kwargs[f.name] = f.default()
    return cls(**kwargs)


def check_bounds(msg: Any, type_name: str, where: str | None = None) -> None:
    """Raise ValueError when a bounded string/sequence or fixed array is violated."""
    prefix = where or type_name
    for f in _plan(type_name):
        if f.check is not None:
            f.check(getattr(msg, f.name), f"{prefix}.{f.name}")


# --------------------------------------------------------------------------- CDR


def serialize(msg: Any, type_name: str | None = None) -> bytes:
    """CDR bytes (encapsulation header ``00 01 00 00`` + XCDR1 little endian body)."""
    name = normalize_type_name(type_name) if type_name else msg.__msgtype__
    if _has_bounds(name):
        check_bounds(msg, name)
    return bytes(typestore().serialize_cdr(msg, name))


def deserialize(data: bytes | memoryview, type_name: str) -> Any:
    """A rosbags message from CDR bytes (trailing padding is ignored)."""
    return typestore().deserialize_cdr(data, normalize_type_name(type_name))


__all__ = [
    "VENDORED_MSGS", "STANDARD_TYPES", "package_types", "typestore", "msg_class",
    "dds_type_name", "type_hash", "message_definition", "new_message", "check_bounds",
    "serialize", "deserialize",
]
