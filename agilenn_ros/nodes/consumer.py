"""``agilenn_consumer``: the pattern users copy. Subscribes ``prediction`` and prints (or logs)
one line per result; optionally appends JSON lines to a file."""
from __future__ import annotations

import json
import time
from typing import Any

from agilenn_ros.nodes.common import DEFAULT_NAMESPACE, declare, non_negative, run_node, stamp_to_ns, watch_parameters
from agilenn_ros.transport.base import RELIABLE, Transport

PARAMETERS: dict[str, tuple[Any, str]] = {
    "print": (True, "print one line per prediction on stdout"),
    "jsonl": ("", "append one JSON line per prediction to this file"),
    "max_predictions": (0, "exit after this many predictions (0: run until stopped)"),
}
DYNAMIC = {"print", "max_predictions"}
"""Parameters ``ros2 param set`` may change while the node runs; ``jsonl`` is read-only."""
CHECKS = {"max_predictions": non_negative}


class PredictionConsumer:
    def __init__(self, transport: Transport, name: str = "agilenn_consumer", namespace: str = DEFAULT_NAMESPACE,
                 parameter_overrides: dict[str, Any] | None = None) -> None:
        self.node = transport.create_node(name, namespace, parameter_overrides=parameter_overrides)
        self.params = declare(self.node, PARAMETERS, DYNAMIC, CHECKS)
        watch_parameters(self.node, self.params, DYNAMIC, CHECKS)
        self.received = 0
        self.finished = False
        self._file = open(self.params["jsonl"], "a") if self.params["jsonl"] else None
        self.node.create_subscription("agilenn_ros/msg/Prediction", "prediction", self.on_prediction, RELIABLE)

    def on_prediction(self, msg: Any) -> None:
        self.received += 1
        e2e_ms = (time.time_ns() - stamp_to_ns(msg.header.stamp)) / 1e6
        if self.params["print"]:
            mode = "fused" if msg.remote_used else "LOCAL-ONLY"
            print(f"[{msg.device_id} #{msg.sequence:5d}] {msg.label:<12s} {msg.confidence:5.2f} {mode:<10s} "
                  f"{msg.payload_bytes:5d} B  edge {msg.edge_ms:6.2f} ms  end-to-end {e2e_ms:7.2f} ms", flush=True)
        if self._file is not None:
            self._file.write(json.dumps({
                "device_id": msg.device_id, "sequence": int(msg.sequence), "class_id": int(msg.class_id),
                "label": msg.label, "confidence": float(msg.confidence), "remote_used": bool(msg.remote_used),
                "payload_bytes": int(msg.payload_bytes), "device_ms": float(msg.device_ms),
                "decode_ms": float(msg.decode_ms), "remote_ms": float(msg.remote_ms), "edge_ms": float(msg.edge_ms),
                "age_ms": float(msg.age_ms), "e2e_ms": e2e_ms}) + "\n")
            self._file.flush()
        limit = int(self.params["max_predictions"])
        if limit and self.received >= limit:
            self.finished = True

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def main(argv: list[str] | None = None) -> int:
    return run_node(lambda transport: PredictionConsumer(transport), argv, name="agilenn_consumer")


if __name__ == "__main__":
    raise SystemExit(main())
