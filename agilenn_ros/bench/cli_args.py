"""Command-line arguments of ``agilenn bench`` (light: no onnxruntime import)."""
from __future__ import annotations

import argparse
from agilenn_ros.cli_types import count, positive_float


def add_bench_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--quick", action="store_true",
                   help="500 test images, few timing frames (finishes within a minute); same JSON shape")
    p.add_argument("--json", required=True, help="write the results here (JSON)")
    p.add_argument("--markdown", default="", help="also write a Markdown report (e.g. BENCHMARKS.md)")
    p.add_argument("--plots", default="", help="directory for the Figure 16/17-style PNG plots")
    p.add_argument("--model", default="cifar10", help="AgileNN bundle directory or name")
    p.add_argument("--data", default="", help="test data (default: digits for a digits bundle, else "
                   "../shared/data/cifar10 or $AGILENN_CIFAR10)")
    p.add_argument("--baselines", default="", help="directory with edge/, local/, split/ baseline bundles "
                   "(default: models/baselines next to the AgileNN bundle)")
    p.add_argument("--firmware", default="", help="firmware report (default: results/firmware.json when present)")
    p.add_argument("--jpeg-encoder", default="", help="measured JPEG encoder report for the edge-only device times "
                   "(default: results/jpeg_m7.json; `make jpeg-report`); without one they are assumed")
    p.add_argument("--limit", type=count, default=0, help="test images (default: all; --quick: 500)")
    p.add_argument("--timing-frames", type=count, default=0, help="frames timed one by one on the edge "
                   "(default 200; --quick: 30)")
    p.add_argument("--calibration", type=count, default=0, help="images for the all-channels codec tables "
                   "(default 1000; --quick: 300)")
    p.add_argument("--clock-mhz", type=positive_float, default=216.0, help="device clock for device times")
    p.add_argument("--threads", type=count, default=0, help="onnxruntime threads for the accuracy passes")
