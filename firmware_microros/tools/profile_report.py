#!/usr/bin/env python3
"""Per-function instruction counts of a QEMU run profiled by bench/insncount.c
(profile=FILE): which code of the firmware core the instructions are spent in.

    python tools/profile_report.py build/m7/bench.elf build/profile.txt [--frames N]
"""
from __future__ import annotations

import argparse
import bisect
import subprocess
import sys
from collections import Counter


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("elf")
    ap.add_argument("profile")
    ap.add_argument("--nm", default="arm-none-eabi-nm")
    ap.add_argument("--frames", type=int, default=1, help="divide counts by this many frames")
    ap.add_argument("--top", type=int, default=25)
    args = ap.parse_args(argv)
    syms = []
    for line in subprocess.run([args.nm, "-n", args.elf], capture_output=True, text=True,
                               check=True).stdout.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1].lower() == "t":
            syms.append((int(parts[0], 16) & ~1, parts[2]))
    addrs = [a for a, _ in syms]
    per_fn: Counter[str] = Counter()
    total = 0
    with open(args.profile) as fh:
        for line in fh:
            a, n = line.split()
            addr, count = int(a, 16), int(n)
            i = bisect.bisect_right(addrs, addr) - 1
            per_fn[syms[i][1] if i >= 0 else "?"] += count
            total += count
    print(f"{'function':32s} {'instructions':>14s} {'share':>7s}")
    for name, count in per_fn.most_common(args.top):
        print(f"{name:32s} {count // args.frames:14d} {100.0 * count / total:6.1f}%")
    print(f"{'total':32s} {total // args.frames:14d}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
