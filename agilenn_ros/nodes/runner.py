"""``agilenn_runner``: several nodes in one process and one executor (device emulators, edge,
consumer), e.g. ``agilenn_runner --nodes edge,consumer --ros-args -p model:=cifar10``.
Parameters given with ``-p`` apply to every node that declares them."""
from __future__ import annotations

import argparse
import sys
from typing import Any

from agilenn_ros.nodes.common import ConfigError
from agilenn_ros.nodes.consumer import PredictionConsumer
from agilenn_ros.nodes.device_node import DeviceEmulatorNode
from agilenn_ros.nodes.edge_node import EdgeNode
from agilenn_ros.nodes.teardown import teardown_deadline
from agilenn_ros.runtime.bundle import BundleError
from agilenn_ros.transport import make_transport
from agilenn_ros.transport.base import StderrLogger

FACTORIES = {"device": DeviceEmulatorNode, "edge": EdgeNode, "consumer": PredictionConsumer}


def main(argv: list[str] | None = None) -> int:
    args_all = list(sys.argv if argv is None else argv)
    ros_index = args_all.index("--ros-args") if "--ros-args" in args_all else len(args_all)
    parser = argparse.ArgumentParser(prog="agilenn_runner", description=__doc__)
    parser.add_argument("--nodes", default="edge,consumer", help="comma-separated: device, edge, consumer")
    parser.add_argument("--devices", type=int, default=1, help="number of device emulators when 'device' is listed")
    opts = parser.parse_args(args_all[1:ros_index])
    kinds = [k.strip() for k in opts.nodes.split(",") if k.strip()]
    unknown = [k for k in kinds if k not in FACTORIES]
    if unknown:
        parser.error(f"unknown node kind(s) {unknown}; choose from {sorted(FACTORIES)}")
    transport = make_transport("auto", argv=args_all)
    nodes: list[Any] = []
    status = 1   # until the nodes ended normally or a known error set it
    try:
        for kind in kinds:
            if kind == "device":
                for i in range(opts.devices):
                    nodes.append(DeviceEmulatorNode(transport, name=f"agilenn_device_{i}",
                                                    parameter_overrides={"device_id": f"emulator{i}"}))
            else:
                nodes.append(FACTORIES[kind](transport))
        while transport.ok() and not all(getattr(n, "finished", False) for n in nodes):
            transport.spin_once(0.2)
        status = 0
    except KeyboardInterrupt:
        status = 0
    except ConfigError as exc:
        (exc.logger or StderrLogger("agilenn_runner")).error(f"configuration error: {exc}")
        status = 1
    except BundleError as exc:  # one line naming the bundle file and the fault, no traceback
        sys.stderr.write(f"[ERROR] cannot start: model bundle: {exc}\n")
        status = 1
    finally:
        for n in nodes:
            close = getattr(n, "close", None)
            if callable(close):
                close()
        with teardown_deadline("agilenn_runner", status):   # a DDS teardown hang must not keep the process alive
            transport.shutdown()
    return status


if __name__ == "__main__":
    raise SystemExit(main())
