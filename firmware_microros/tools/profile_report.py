#!/usr/bin/env python3
"""Where the firmware core's instructions go: per function and per pipeline stage, per frame.

Runs the profile image (bench_main.c built with -DBENCH_CASES=<test images>
-DBENCH_SKIP_PACKED) on QEMU mps2-an500 with the counting plugin (bench/insncount.c), which
counts every executed instruction by address, but only inside the measured calls
(agn_extract and the rANS agn_encode, entry through return: the harness is left out).
The counts are summed per function symbol (inlined code counts for the function it was
inlined into) and divided by the number of frames.

    python tools/profile_report.py build/m7/profile.elf --plugin build/libinsncount.so \\
        --frames 10 [--json build/profile.json]

Errors (missing tool, plugin, symbol) end the run with one line naming the cause.
"""
from __future__ import annotations

import argparse
import bisect
import json
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

# Function symbol -> pipeline stage. Functions not listed are "other" (control code).
STAGES = (
    ("resize, horizontal pass", ("agn_hpass_rgb888", "agn_hpass_rgb888_plan", "agn_hpass_rgb565_plan", "agn_hpass_rgb565", "agn_hpass_rgb565be",
                                 "hpass_rgb565", "fill_hrow")),
    ("resize, vertical pass", ("agn_vpass", "agn_vpass_pair", "resized_row", "memcpy")),
    ("depthwise 3x3 (layers 1 and 2)", ("agn_dw3x3_row", "agn_dw3x3_rows", "dw_row_s1", "dw_row_s2", "dw_row_s3", "dw_row_s16_asm", "dw_rows_s16_asm")),
    ("layer 1 pointwise (+BN, ReLU6)", ("agn_pw_row", "pw3_row_u15_asm", "pw3_rows_u15_asm")),
    ("layer 2 pointwise (+BN), local ReLU6 + pooling", ("agn_pw_quant_row", "pw_quant_row_dsp",
                                                         "dots16_dsp", "dots8_dsp")),
    ("quantizer (threshold index search)", ("quant7_row_dsp", "agn_threshold_index")),
    ("local predictor (dense)", ("agn_dense",)),
    ("rANS encoder", ("agilenn_rans_encode", "rans_bad_symbol")),
    ("packed encoder", ("agilenn_packed_encode", "bw_put", "bw_flush")),
)


def fail(msg: str) -> None:
    raise SystemExit(f"profile_report: {msg}")


def run(cmd: list[str]) -> str:
    try:
        return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    except FileNotFoundError:
        fail(f"{cmd[0]} not found")
    except subprocess.CalledProcessError as e:
        fail(f"{' '.join(cmd[:2])} failed: {e.stderr.strip()[:300]}")
    return ""


def functions(nm: str, elf: Path) -> list[tuple[int, str]]:
    syms = []
    for line in run([nm, "-n", str(elf)]).splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1].lower() == "t":
            syms.append((int(parts[0], 16) & ~1, parts[2]))
    return syms


def return_address(objdump: str, elf: Path, caller: str, callee: str) -> int:
    text = run([objdump, "-d", "--no-show-raw-insn", str(elf)])
    body = re.search(rf"^[0-9a-f]+ <{caller}>:\n(.*?)(?:\n\n|\Z)", text, re.S | re.M)
    if not body:
        fail(f"{caller} not found in {elf}")
    lines = [ln for ln in body.group(1).splitlines() if re.match(r"\s*[0-9a-f]+:", ln)]
    hits = [int(lines[i + 1].split(":")[0], 16) for i, ln in enumerate(lines[:-1])
            if re.search(rf"\bbl\s+[0-9a-f]+ <{callee}>", ln)]
    if len(hits) != 1:
        fail(f"expected one call of {callee} in {caller}, found {len(hits)}")
    return hits[0]


def stage_of(name: str) -> str:
    for stage, names in STAGES:
        if name in names:
            return stage
    return "other (control, row bookkeeping)"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("elf", type=Path, help="profile image (bench_main.c, -DBENCH_SKIP_PACKED)")
    ap.add_argument("--plugin", type=Path, required=True, help="libinsncount.so")
    ap.add_argument("--frames", type=int, required=True, help="frames the image runs (>= 1)")
    ap.add_argument("--arm-prefix", default="arm-none-eabi-")
    ap.add_argument("--qemu", default="qemu-system-arm")
    ap.add_argument("--top", type=int, default=30, help="functions listed")
    ap.add_argument("--json", type=Path, help="also write the tables as JSON here")
    ap.add_argument("--timeout", type=float, default=300)
    args = ap.parse_args(argv)
    if args.frames < 1:
        fail("--frames must be >= 1")
    if not args.elf.is_file():
        fail(f"{args.elf} not found")
    if not args.plugin.is_file():
        fail(f"{args.plugin} not found (needs qemu-plugin.h: tools/fetch_qemu_plugin_header.sh)")
    if shutil.which(args.qemu) is None:
        fail(f"{args.qemu} not found (apt-get install qemu-system-arm)")
    nm, objdump = args.arm_prefix + "nm", args.arm_prefix + "objdump"
    syms = functions(nm, args.elf)
    by_name = {n: a for a, n in syms}
    for name in ("agn_extract", "agn_encode"):
        if name not in by_name:
            fail(f"symbol {name} not found in {args.elf}")
    windows = [(by_name["agn_extract"], return_address(objdump, args.elf, "main", "agn_extract")),
               (by_name["agn_encode"], return_address(objdump, args.elf, "encode_rans", "agn_encode"))]
    with tempfile.TemporaryDirectory() as tmp:
        prof, log = Path(tmp) / "profile.txt", Path(tmp) / "plugin.log"
        spec = ",".join(f"win=0x{a:x}:0x{e:x}" for a, e in windows)
        cmd = [args.qemu, "-M", "mps2-an500", "-nographic", "-semihosting-config",
               "enable=on,target=native", "-kernel", str(args.elf),
               "-plugin", f"{args.plugin.resolve()},{spec},profile={prof}", "-d", "plugin", "-D", str(log)]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout,
                              stdin=subprocess.DEVNULL)
        out = proc.stdout + proc.stderr
        if proc.returncode != 0 or "result mismatches 0" not in out:
            fail(f"QEMU run failed or results differ from the golden vectors (rc {proc.returncode}): "
                 f"{out.strip()[-300:]}")
        wins: dict[int, list[int]] = {0: [], 1: []}
        for line in log.read_text().splitlines():
            p = line.split()
            if p[:1] == ["win"]:
                wins[int(p[1])].append(int(p[2]))
        counts = [ln.split() for ln in prof.read_text().splitlines()]
    addrs = [a for a, _ in syms]
    per_fn: Counter[str] = Counter()
    for a, n in counts:
        i = bisect.bisect_right(addrs, int(a, 16)) - 1
        per_fn[syms[i][1] if i >= 0 else "?"] += int(n)
    total = sum(per_fn.values())
    per_stage: Counter[str] = Counter()
    for name, n in per_fn.items():
        per_stage[stage_of(name)] += n
    f = args.frames
    if len(wins[0]) != f or len(wins[1]) != f:
        fail(f"expected {f} extract/encode windows, got {len(wins[0])}/{len(wins[1])}")
    print(f"per frame, mean of {f} frames; agn_extract {sum(wins[0]) // f}, agn_encode (rANS) "
          f"{sum(wins[1]) // f}, worst frame {max(a + b for a, b in zip(wins[0], wins[1]))}")
    print(f"\n{'stage':48s} {'instructions':>12s} {'share':>7s}")
    for stage, n in per_stage.most_common():
        print(f"{stage:48s} {n // f:12d} {100.0 * n / total:6.1f}%")
    print(f"\n{'function':36s} {'instructions':>12s} {'share':>7s}")
    for name, n in per_fn.most_common(args.top):
        print(f"{name:36s} {n // f:12d} {100.0 * n / total:6.1f}%")
    print(f"{'total':36s} {total // f:12d}")
    if args.json:
        args.json.write_text(json.dumps({
            "frames": f, "elf": str(args.elf),
            "extract_per_frame": [int(v) for v in wins[0]], "encode_per_frame": [int(v) for v in wins[1]],
            "per_stage": {k: v // f for k, v in per_stage.most_common()},
            "per_function": {k: v // f for k, v in per_fn.most_common()},
        }, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
