#!/usr/bin/env python3
"""A publishing node in its own process, for test_transport_dds.py (not a test module).

    python test/dds_peer.py features N      N FeatureFrames on /agilenn/features (reliable)
    python test/dds_peer.py latched         one String on /agilenn/label_info (latched)
    python test/dds_peer.py prediction      Predictions on /agilenn/prediction at 50 Hz

Prints "ready", the mode's progress lines, and "clean shutdown" when SIGINT/SIGTERM ended
spin() and the transport was shut down; exits 0 then.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agilenn_ros.transport import LATCHED, RELIABLE, make_transport  # noqa: E402


def frame_payload(i: int, size: int = 1500) -> bytes:
    return bytes((i * 7 + k * 13) % 256 for k in range(size))


def main(argv: list[str]) -> int:
    mode = argv[1]
    transport = make_transport("dds", argv=argv)
    node = transport.create_node("device", "/agilenn")
    print("ready", flush=True)
    try:
        if mode == "features":
            n = int(argv[2])
            pub = node.create_publisher("agilenn_ros/msg/FeatureFrame", "features", RELIABLE.with_depth(n))
            transport.spin_until(lambda: pub.get_subscription_count() > 0, 20.0)
            for i in range(n):
                pub.publish(node.message(
                    "agilenn_ros/msg/FeatureFrame", header={"stamp": node.now(), "frame_id": "cam"},
                    device_id="peer", sequence=i, model_hash=0xA1B2C3D4, channels=19, height=16,
                    width=16, codec=1, payload=frame_payload(i), local_logits=[float(i), -1.0, 0.5],
                    device_compute_us=1000 + i))
            print("published", pub.wait_for_acks(10.0), flush=True)
        elif mode == "latched":
            pub = node.create_publisher("std_msgs/msg/String", "label_info", LATCHED)
            pub.publish(node.message("std_msgs/msg/String", data="airplane,automobile,bird"))
            print("published", flush=True)
        elif mode == "prediction":
            pub = node.create_publisher("agilenn_ros/msg/Prediction", "prediction", RELIABLE)
            count = [0]

            def tick() -> None:
                pub.publish(node.message(
                    "agilenn_ros/msg/Prediction", header={"stamp": node.now(), "frame_id": "cam"},
                    device_id="peer", sequence=count[0], class_id=3, label="cat", confidence=0.75,
                    scores=[0.1, 0.2, 0.3, 2.5], alpha=0.25, remote_used=True, payload_bytes=1500))
                count[0] += 1
            node.create_timer(0.02, tick)
        transport.spin()  # until SIGINT/SIGTERM
    finally:
        transport.shutdown()
    print("clean shutdown", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
