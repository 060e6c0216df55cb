"""What every node executable shares: transport creation, spinning, clean shutdown."""
from __future__ import annotations

import sys
from typing import Callable, Sequence

from agilenn_ros.runtime.bundle import BundleError
from agilenn_ros.transport import make_transport
from agilenn_ros.transport.base import Node, Stamp, Transport

DEFAULT_NAMESPACE = "agilenn"


def stamp_to_ns(stamp: object) -> int:
    return Stamp.of(stamp).nanoseconds


def run_node(factory: Callable[[Transport], object], argv: Sequence[str] | None = None) -> int:
    """Create the transport from argv (``--ros-args`` honoured), build the node, spin."""
    args = list(sys.argv if argv is None else argv)
    transport = make_transport("auto", argv=args)
    try:
        node = factory(transport)
        while transport.ok() and not getattr(node, "finished", False):
            transport.spin_once(0.2)
        close = getattr(node, "close", None)
        if callable(close):
            close()
    except KeyboardInterrupt:
        pass
    except BundleError as exc:  # one line naming the bundle file and the fault, no traceback
        sys.stderr.write(f"[ERROR] cannot start: model bundle: {exc}\n")
        return 1
    finally:
        transport.shutdown()
    return 0


def declare(node: Node, params: dict[str, tuple[object, str]]) -> dict[str, object]:
    """Declare ``{name: (default, description)}`` and return the values."""
    return {name: node.declare_parameter(name, default, description) for name, (default, description) in params.items()}
