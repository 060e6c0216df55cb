"""ROS 2 command-line arguments and parameters for backends without rcl.

Parses ``--ros-args`` the way rcl does for the subset a node process gets from
``ros2 run`` / ``ros2 launch``: ``-r/--remap`` (including ``__node`` and ``__ns``),
``-p/--param name:=value`` (value parsed as YAML), ``--params-file`` (the
``<node pattern>: ros__parameters:`` layout, patterns ``/**``, ``*``, ``/ns/node``) and
``--log-level``. :class:`ParameterStore` mirrors rclpy's declare/get with its strict typing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import yaml

from .base import (
    ParameterAlreadyDeclaredError,
    ParameterNotDeclaredError,
    ParameterTypeError,
    TransportError,
    normalize_namespace,
)

_FLAGS = {
    "--enable-rosout-logs", "--disable-rosout-logs", "--enable-stdout-logs",
    "--disable-stdout-logs", "--enable-external-lib-logs", "--disable-external-lib-logs",
}
_WITH_VALUE = {"-r", "--remap", "-p", "--param", "--params-file", "--log-level",
               "-e", "--enclave", "--log-config-file"}


@dataclass
class RosArgs:
    """What ``--ros-args`` asked for. ``params`` keeps the order of ``-p`` and
    ``--params-file`` (later wins), each ``("param", name, value)`` or ``("file", path)``."""

    node_name: str | None = None
    namespace: str | None = None
    remaps: list[tuple[str | None, str, str]] = field(default_factory=list)
    params: list[tuple[str, Any, Any]] = field(default_factory=list)
    log_level: str | None = None
    node_log_levels: dict[str, str] = field(default_factory=dict)
    user_args: list[str] = field(default_factory=list)


def parse_yaml_value(text: str) -> Any:
    """A ``-p name:=value`` value, typed as rcl types it (YAML)."""
    try:
        return yaml.safe_load(text) if text != "" else ""
    except yaml.YAMLError:
        return text


def _split_rule(rule: str, option: str) -> tuple[str | None, str, str]:
    if ":=" not in rule:
        raise TransportError(f"{option} {rule!r}: expected 'name:=value'")
    lhs, rhs = rule.split(":=", 1)
    node = None
    if ":" in lhs:  # node-targeted rule, 'talker:__node:=x'
        node, lhs = lhs.split(":", 1)
    return node, lhs, rhs


def parse_ros_args(argv: Sequence[str] | None) -> RosArgs:
    """Split ``argv`` (``sys.argv`` style, program name included or not) into ROS
    arguments and the rest. Unknown ROS options raise, as in rcl."""
    out = RosArgs()
    args = list(argv or [])
    i, in_ros = 0, False
    while i < len(args):
        a = args[i]
        if not in_ros:
            if a == "--ros-args":
                in_ros = True
            else:
                out.user_args.append(a)
            i += 1
            continue
        if a == "--":
            in_ros = False
            i += 1
            continue
        if a == "--ros-args":
            i += 1
            continue
        if a in _FLAGS:
            i += 1
            continue
        if a not in _WITH_VALUE:
            raise TransportError(f"unknown ROS argument {a!r}")
        if i + 1 >= len(args):
            raise TransportError(f"ROS argument {a} needs a value")
        value = args[i + 1]
        i += 2
        if a in ("-r", "--remap"):
            node, lhs, rhs = _split_rule(value, a)
            if lhs == "__node" or lhs == "__name":
                if node is None:
                    out.node_name = rhs
                else:
                    out.remaps.append((node, "__node", rhs))
            elif lhs == "__ns":
                if node is None:
                    out.namespace = rhs
                else:
                    out.remaps.append((node, "__ns", rhs))
            else:
                out.remaps.append((node, lhs, rhs))
        elif a in ("-p", "--param"):
            _, name, text = _split_rule(value, a)
            out.params.append(("param", name, parse_yaml_value(text)))
        elif a == "--params-file":
            out.params.append(("file", value, None))
        elif a == "--log-level":
            if ":=" in value:
                name, level = value.split(":=", 1)
                out.node_log_levels[name] = level
            else:
                out.log_level = value
    return out


# --------------------------------------------------------------------------- params files


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    tokens = [t for t in pattern.strip("/").split("/") if t]
    parts = []
    for tok in tokens:
        if tok == "**":
            parts.append(r"(?:/[^/]+)*")
        else:
            parts.append("/" + re.escape(tok).replace(r"\*", "[^/]*"))
    return re.compile("".join(parts) + r"\Z")


def _flatten(prefix: str, value: Any, out: dict[str, Any]) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _flatten(f"{prefix}.{k}" if prefix else str(k), v, out)
    else:
        out[prefix] = value


def _collect_sections(tree: Any, path: list[str], out: list[tuple[str, dict[str, Any]]]) -> None:
    if not isinstance(tree, dict):
        return
    for key, value in tree.items():
        if key == "ros__parameters":
            flat: dict[str, Any] = {}
            _flatten("", value or {}, flat)
            out.append(("/" + "/".join(p.strip("/") for p in path), flat))
        else:
            _collect_sections(value, path + [str(key)], out)


def load_params_file(path: str | Path) -> list[tuple[str, dict[str, Any]]]:
    """``[(node pattern, {dotted name: value})]`` in file order."""
    try:
        tree = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise TransportError(f"cannot read params file {path}: {exc}") from exc
    sections: list[tuple[str, dict[str, Any]]] = []
    _collect_sections(tree or {}, [], sections)
    return sections


def node_matches(pattern: str, fqn: str) -> bool:
    return _pattern_regex(pattern).match(fqn) is not None


def overrides_for_node(ros_args: RosArgs, fqn: str) -> dict[str, Any]:
    """The parameter overrides that apply to the node ``fqn`` (e.g. ``/agilenn/edge``)."""
    out: dict[str, Any] = {}
    for kind, a, b in ros_args.params:
        if kind == "param":
            out[a] = b
        else:
            for pattern, values in load_params_file(a):
                if node_matches(pattern, fqn):
                    out.update(values)
    return out


def node_identity(ros_args: RosArgs, name: str, namespace: str) -> tuple[str, str]:
    """Name and namespace after ``__node``/``__ns`` remaps (global ones first, then the
    ones targeted at this node's original name)."""
    new_name = ros_args.node_name or name
    new_ns = ros_args.namespace if ros_args.namespace is not None else namespace
    for node, lhs, rhs in ros_args.remaps:
        if node == name and lhs == "__node":
            new_name = rhs
        elif node == name and lhs == "__ns":
            new_ns = rhs
    return new_name, normalize_namespace(new_ns)


def topic_remaps(ros_args: RosArgs, node_name: str) -> list[tuple[str, str]]:
    """Topic remap rules (unresolved from, to) that apply to ``node_name``."""
    return [(lhs, rhs) for node, lhs, rhs in ros_args.remaps
            if lhs not in ("__node", "__ns") and (node is None or node == node_name)]


# --------------------------------------------------------------------------- parameter store


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "double"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (bytes, bytearray)):
        return "byte_array"
    if isinstance(value, (list, tuple)):
        kinds = {_kind(v) for v in value}
        if not value:
            return "array"
        if len(kinds) != 1 or next(iter(kinds)).endswith("array"):
            raise ParameterTypeError(f"arrays must hold one scalar type, got {sorted(kinds)}")
        return next(iter(kinds)) + "_array"
    raise ParameterTypeError(f"unsupported parameter value {value!r} ({type(value).__name__})")


@dataclass
class _Param:
    value: Any
    kind: str | None
    description: str
    read_only: bool


class ParameterStore:
    """rclpy-like parameters: declared once, the override's type must match the default's
    (``None`` default: any type; empty list default: a string array)."""

    def __init__(self, overrides: Mapping[str, Any] | None = None) -> None:
        self._overrides = dict(overrides or {})
        self._params: dict[str, _Param] = {}

    def declare(self, name: str, default: Any, description: str = "", read_only: bool = False) -> Any:
        if name in self._params:
            raise ParameterAlreadyDeclaredError(f"parameter {name!r} already declared")
        if isinstance(default, tuple):
            default = list(default)
        kind = None if default is None else _kind(default)
        if kind == "array":
            kind = "string_array"
        value = default
        if name in self._overrides:
            value = self._overrides[name]
            if isinstance(value, tuple):
                value = list(value)
            got = None if value is None else _kind(value)
            if got == "array" and kind is not None and kind.endswith("array"):
                got = kind
            if kind is not None and got != kind:
                raise ParameterTypeError(
                    f"parameter {name!r}: declared {kind.upper()} (default {default!r}) but the "
                    f"override {value!r} is {str(got).upper()}"
                    + ("; write it as a float, e.g. 10.0" if kind == "double" and got == "integer" else ""))
        self._params[name] = _Param(value, kind, description, read_only)
        return value

    def set(self, name: str, value: Any) -> str | None:
        """A run-time change: ``None`` when stored, else why not (rclpy's reasons)."""
        param = self._params.get(name)
        if param is None:
            return f"parameter {name!r} is not declared"
        if param.read_only:
            return f"Trying to set a read-only parameter: {name}."
        if isinstance(value, tuple):
            value = list(value)
        try:
            got = None if value is None else _kind(value)
        except ParameterTypeError as exc:
            return str(exc)
        if got == "array" and param.kind is not None and param.kind.endswith("array"):
            got = param.kind
        if param.kind is not None and got != param.kind:
            return f"Wrong parameter type, expected '{param.kind.upper()}' got '{str(got).upper()}'"
        param.value = value
        return None

    def get(self, name: str) -> Any:
        try:
            return self._params[name].value
        except KeyError:
            raise ParameterNotDeclaredError(f"parameter {name!r} is not declared") from None

    def has(self, name: str) -> bool:
        return name in self._params

    def describe(self, name: str) -> dict[str, Any]:
        p = self._params[name]
        return {"name": name, "type": p.kind, "description": p.description, "read_only": p.read_only}

    def names(self) -> list[str]:
        return sorted(self._params)
