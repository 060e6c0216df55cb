"""What every node executable shares: transport creation, spinning, clean shutdown, parameter
declaration (read-only or run-time changeable) and configuration errors."""
from __future__ import annotations

import sys
from contextlib import contextmanager
from typing import Any, Callable, Collection, Iterator, Mapping, Sequence

from agilenn_ros.nodes.teardown import teardown_deadline
from agilenn_ros.runtime.bundle import BundleError
from agilenn_ros.transport import make_transport
from agilenn_ros.transport.base import Logger, Node, ParameterTypeError, Stamp, StderrLogger, Transport

DEFAULT_NAMESPACE = "agilenn"

Check = Callable[[Any], "str | None"]
"""A parameter check: ``None`` for a good value, else the reason it is refused."""


class ConfigError(Exception):
    """A node cannot start with its configuration: ``parameter`` and the ``reason``.

    :func:`run_node` turns it into one error line (``configuration error: parameter 'x': ...``)
    and exit code ``status`` (1: a node is started by ``ros2 run``/``ros2 launch``, where any
    failure to start is status 1; command-line usage errors of the ``agilenn`` CLI exit 2 instead);
    ``logger`` is the node's logger when the node already exists."""

    def __init__(self, parameter: str, reason: str, logger: Logger | None = None, status: int = 1) -> None:
        super().__init__(f"parameter '{parameter}': {reason}")
        self.parameter = parameter
        self.reason = reason
        self.logger = logger
        self.status = status


def stamp_to_ns(stamp: object) -> int:
    return Stamp.of(stamp).nanoseconds


def run_node(factory: Callable[[Transport], object], argv: Sequence[str] | None = None,
             name: str = "agilenn") -> int:
    """Create the transport from argv (``--ros-args`` honoured), build the node, spin.

    Returns the process exit code: 0 after a normal end or Ctrl-C; after a :class:`ConfigError`
    or a broken model bundle, one log line naming the parameter and the reason (no traceback)
    and 1. The transport's shutdown runs under :func:`teardown_deadline`: a middleware hang
    there ends the process after ``TEARDOWN_DEADLINE_S`` with this status and the stacks."""
    args = list(sys.argv if argv is None else argv)
    transport = make_transport("auto", argv=args)
    status = 1   # until the node ended normally or a known error set it
    try:
        node = factory(transport)
        while transport.ok() and not getattr(node, "finished", False):
            transport.spin_once(0.2)
        close = getattr(node, "close", None)
        if callable(close):
            close()
        status = 0
    except KeyboardInterrupt:
        status = 0
    except ConfigError as exc:
        (exc.logger or StderrLogger(name)).error(f"configuration error: {exc}")
        status = exc.status
    except BundleError as exc:  # one line naming the bundle file and the fault, no traceback
        StderrLogger(name).error(f"configuration error: parameter 'model': {exc}")
        status = 1
    finally:
        with teardown_deadline(name, status):   # a DDS teardown hang must not keep the process alive
            transport.shutdown()
    return status


def declare(node: Node, params: Mapping[str, tuple[object, str]], dynamic: Collection[str] = (),
            checks: Mapping[str, Check] | None = None) -> dict[str, object]:
    """Declare ``{name: (default, description)}`` and return the values.

    Parameters named in ``dynamic`` may be changed at run time (register what applies the change
    with :func:`watch_parameters`); all others are read-only, so ``ros2 param set`` refuses them
    with a reason instead of answering "successful" and changing nothing. ``checks`` validate
    the start-up values (a failure raises :class:`ConfigError`) and, through
    :func:`watch_parameters`, the run-time ones."""
    values: dict[str, object] = {}
    logger = node.get_logger()
    for name, (default, description) in params.items():
        read_only = name not in dynamic
        text = description if read_only else f"{description} (can be changed at run time)"
        try:
            values[name] = node.declare_parameter(name, default, text, read_only=read_only)
        except ParameterTypeError as exc:
            text = str(exc)
            if isinstance(default, float) and "10.0" not in text:
                text += "; write it as a float, e.g. 10.0"
            raise ConfigError(name, text, logger) from None
        check = (checks or {}).get(name)
        reason = check(values[name]) if check is not None else None
        if reason is not None:
            raise ConfigError(name, f"{values[name]!r}: {reason}", logger)
    return values


def watch_parameters(node: Node, values: dict[str, object], dynamic: Collection[str],
                     checks: Mapping[str, Check] | None = None,
                     apply: Mapping[str, Callable[[Any], None]] | None = None) -> None:
    """Make run-time changes of the ``dynamic`` parameters take effect: each new value is
    checked (``checks``), stored in ``values`` (the dict :func:`declare` returned, which the
    node reads) and passed to ``apply[name]`` if there is one (e.g. re-arm a timer)."""
    def validate(name: str, value: Any) -> str | None:
        if name not in dynamic:
            return None
        check = (checks or {}).get(name)
        reason = check(value) if check is not None else None
        return None if reason is None else f"{name} = {value!r}: {reason}"

    def on_applied(name: str, value: Any) -> None:
        if name not in dynamic:
            return
        values[name] = value
        hook = (apply or {}).get(name)
        if hook is not None:
            hook(value)
        node.get_logger().info(f"parameter {name} set to {value!r}")

    node.on_parameter_set(validate, on_applied)


@contextmanager
def config_errors(parameter: str, node: Node, *errors: type[BaseException], status: int = 1) -> Iterator[None]:
    """Turn the given exception types raised inside the block into a :class:`ConfigError` of
    ``parameter`` (e.g. a missing model bundle for ``model``) with exit ``status``."""
    try:
        yield
    except errors as exc:
        raise ConfigError(parameter, str(exc), node.get_logger(), status) from None


def positive(value: Any) -> str | None:
    return None if value > 0 else "must be > 0"


def non_negative(value: Any) -> str | None:
    return None if value >= 0 else "must be >= 0"


def one_of(*choices: str) -> Check:
    def check(value: Any) -> str | None:
        return None if value in choices else f"must be one of {', '.join(choices)}"
    return check
