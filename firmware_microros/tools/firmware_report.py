#!/usr/bin/env python3
"""Measure the firmware core on an emulated Cortex-M7 and write results/firmware.json.

Inputs are the artefacts of `make report` (firmware_microros/Makefile), one directory per
build variant (--variant NAME=DIR; the first is the headline figure, the others are listed
beside it under "variants"; the Makefile builds dsp-O2, portable-O2, dsp-Os, portable-Os):
  DIR/core_only.elf       smallest image using the whole core -> flash / static RAM
  DIR/bench.elf           golden frames through the core, on QEMU mps2-an500
  build/host/bench        the same program built for the host
  build/libinsncount.so   TCG plugin counting executed instructions (optional)

Flash = .text + .ARM.exidx + .data (initial values live in flash), static RAM = .data +
.bss (arm-none-eabi-size -A); the stack is reported separately (high-water mark measured
in QEMU). Instructions are architectural instructions executed by QEMU's Cortex-M7
model (a count, not cycles); ms = instructions / clock, i.e. assuming one instruction per
cycle (CPI = 1), which is stated in the JSON.
"""
from __future__ import annotations

import argparse
import json
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ICOUNT_SHIFT = 8                 # 2^8 ns per instruction
FPGAIO_HZ = 25_000_000           # the counter the bench reads
TICKS_PER_INSN = (2**ICOUNT_SHIFT) * FPGAIO_HZ / 1e9   # 6.4
COMPARED_PREFIXES = ("model ", "frame ", "logit_q ", "payload ", "packed ", "check ", "result ")



def _shown_path(path: str) -> str:
    """``path`` relative to the repository when it lies inside it, so the committed report names
    no developer's checkout."""
    repo = Path(__file__).resolve().parents[2]
    try:
        return str(Path(path).resolve().relative_to(repo))
    except ValueError:
        return path

def run(cmd: list[str], **kw: Any) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw)


def section_sizes(size_tool: str, elf: Path) -> dict[str, int]:
    out = run([size_tool, "-A", str(elf)]).stdout
    sizes: dict[str, int] = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[0].startswith(".") and parts[1].isdigit():
            sizes[parts[0]] = int(parts[1])
    return sizes


def flash_ram(sizes: dict[str, int]) -> tuple[int, int]:
    flash = sum(v for k, v in sizes.items() if k in (".text", ".ARM.exidx", ".data", ".rodata"))
    ram = sizes.get(".data", 0) + sizes.get(".bss", 0)
    return flash, ram


def object_sizes(size_tool: str, objs: list[Path]) -> dict[str, dict[str, int]]:
    out = run([size_tool, *[str(o) for o in objs]]).stdout.splitlines()
    table: dict[str, dict[str, int]] = {}
    for line in out[1:]:
        p = line.split()
        table[Path(p[5]).name] = {"text": int(p[0]), "data": int(p[1]), "bss": int(p[2])}
    return table


def symbol_address(nm: str, elf: Path, name: str) -> int:
    for line in run([nm, str(elf)]).stdout.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[2] == name:
            return int(parts[0], 16)
    raise SystemExit(f"symbol {name} not found in {elf}")


def return_addresses(objdump: str, elf: Path, caller: str, callee: str) -> list[int]:
    """Addresses of the instructions right after each `bl <callee>` in `caller`."""
    text = run([objdump, "-d", "--no-show-raw-insn", str(elf)]).stdout
    body = re.search(rf"^[0-9a-f]+ <{caller}>:\n(.*?)(?:\n\n|\Z)", text, re.S | re.M)
    if not body:
        raise SystemExit(f"{caller} not found in the disassembly of {elf}")
    lines = [ln for ln in body.group(1).splitlines() if re.match(r"\s*[0-9a-f]+:", ln)]
    out = []
    for i, ln in enumerate(lines):
        if re.search(rf"\bbl\s+[0-9a-f]+ <{callee}>", ln) and i + 1 < len(lines):
            out.append(int(lines[i + 1].split(":")[0], 16))
    return out


def stack_usage(arm_dir: Path) -> dict[str, int]:
    """gcc -fstack-usage figures of the core's functions (static frames)."""
    usage: dict[str, int] = {}
    for su in sorted(arm_dir.glob("*.su")):
        for line in su.read_text().splitlines():
            parts = line.split("\t")
            if len(parts) >= 2 and parts[1].isdigit():
                usage[parts[0].split(":")[-1]] = int(parts[1])
    return usage


def parse_bench(text: str) -> dict[str, Any]:
    frames, ticks = {}, {}
    stack = None
    for line in text.splitlines():
        p = line.split()
        if p[:1] == ["frame"]:
            frames[int(p[1])] = {"name": p[2], "codec": int(p[4]), "payload_bytes": int(p[6])}
        elif p[:1] == ["ticks"]:
            ticks[int(p[1])] = {"extract": int(p[3]), "encode": int(p[5]), "packed": int(p[7])}
        elif p[:1] == ["stack_peak"]:
            stack = int(p[1])
    return {"frames": frames, "ticks": ticks, "stack_peak": stack}


def measure(arm_dir: Path, args: argparse.Namespace, plugin: Path, host_out: str,
            golden: dict[str, Any]) -> dict[str, Any]:
    """Sizes, QEMU run (payload equality, instruction counts) of one build variant."""
    size_tool, nm, objdump = (args.arm_prefix + t for t in ("size", "nm", "objdump"))
    core_elf, bench_elf = arm_dir / "core_only.elf", arm_dir / "bench.elf"
    for elf in (core_elf, bench_elf):
        if not elf.is_file():
            raise SystemExit(f"{elf} not found (run `make report`)")
    core_sections = section_sizes(size_tool, core_elf)
    flash, ram = flash_ram(core_sections)
    bench_sections = section_sizes(size_tool, bench_elf)
    bench_flash, bench_ram = flash_ram(bench_sections)
    objs = sorted(arm_dir.glob("agilenn_*.o"))
    per_object = object_sizes(size_tool, objs)

    # ---- QEMU run (plugin windows + icount ticks in one run)
    extract = symbol_address(nm, bench_elf, "agn_extract")
    encode = symbol_address(nm, bench_elf, "agn_encode")
    ret_extract = return_addresses(objdump, bench_elf, "main", "agn_extract")
    ret_rans = return_addresses(objdump, bench_elf, "encode_rans", "agn_encode")
    ret_packed = return_addresses(objdump, bench_elf, "encode_packed", "agn_encode")
    if len(ret_extract) != 1 or len(ret_rans) != 1 or len(ret_packed) != 1:
        raise SystemExit(f"unexpected call sites: extract {ret_extract}, encode {ret_rans} {ret_packed}")
    cmd = [args.qemu, "-M", "mps2-an500", "-nographic", "-semihosting-config",
           "enable=on,target=native", "-icount", f"shift={ICOUNT_SHIFT},align=off,sleep=off",
           "-kernel", str(bench_elf)]
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "insn.log"
        method = "icount"
        if plugin.is_file():
            windows = [(extract, ret_extract[0]), (encode, ret_rans[0]), (encode, ret_packed[0])]
            spec = ",".join(f"win=0x{a:x}:0x{e:x}" for a, e in windows)
            cmd += ["-plugin", f"{plugin.resolve()},{spec}", "-d", "plugin", "-D", str(log)]
            method = "tcg-plugin"
        t0 = time.time()
        # QEMU writes the semihosting console to stdout or stderr depending on whether its
        # stdin is a terminal: read both.
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout,
                              stdin=subprocess.DEVNULL)
        qemu_wall = time.time() - t0
        plugin_lines = log.read_text().splitlines() if log.is_file() else []
    qemu_out = proc.stdout + proc.stderr
    if proc.returncode not in (0, 1):
        raise SystemExit(f"QEMU run of {bench_elf} failed (rc {proc.returncode}):\n{qemu_out[-2000:]}")

    def compared(text: str) -> list[str]:
        return [ln for ln in text.splitlines() if ln.startswith(COMPARED_PREFIXES)]
    q_lines, h_lines = compared(qemu_out), compared(host_out)
    payload_equal = bool(q_lines) and q_lines == h_lines
    reference_equal = proc.returncode == 0 and "result mismatches 0" in qemu_out

    bench = parse_bench(qemu_out)
    counts: dict[int, list[int]] = {0: [], 1: [], 2: []}
    for line in plugin_lines:
        p = line.split()
        if p[:1] == ["win"]:
            counts[int(p[1])].append(int(p[2]))
    per_frame = []
    for i, info in sorted(bench["frames"].items()):
        t = bench["ticks"].get(i, {})
        row: dict[str, Any] = {
            "name": info["name"], "codec": info["codec"], "payload_bytes": info["payload_bytes"],
            "width": golden["cases"][i]["width"], "height": golden["cases"][i]["height"],
            "format": ("RGB888", "RGB565", "RGB565BE")[golden["cases"][i]["format"]],
            "icount_extract": round(t.get("extract", 0) / TICKS_PER_INSN),
            "icount_encode": round(t.get("encode", 0) / TICKS_PER_INSN),
        }
        if method == "tcg-plugin":
            row["insn_extract"] = counts[0][i]
            row["insn_encode"] = counts[1][i]
            row["insn_encode_packed"] = counts[2][i]
        per_frame.append(row)
    key_x = "insn_extract" if method == "tcg-plugin" else "icount_extract"
    key_e = "insn_encode" if method == "tcg-plugin" else "icount_encode"
    tests = [r for r in per_frame if r["name"].startswith("test_image")] or per_frame
    totals = [r[key_x] + r[key_e] for r in tests]
    return {
        "flash_bytes": flash, "ram_bytes": ram,
        "instructions_per_frame": max(totals),
        "instructions_per_frame_mean": round(statistics.mean(totals)),
        "instructions_extract_max": max(r[key_x] for r in tests),
        "instructions_encode_max": max(r[key_e] for r in tests),
        "payload_equal": payload_equal, "payload_equal_numpy_reference": reference_equal,
        "counting_method": method, "stack_peak_bytes": bench["stack_peak"],
        "stack_usage_static": stack_usage(arm_dir),
        "core_sections": core_sections, "core_elf": str(core_elf),
        "bench_sections": bench_sections, "bench_flash": bench_flash, "bench_ram": bench_ram,
        "objects": per_object, "per_frame": per_frame, "qemu_wall_seconds": round(qemu_wall, 3),
        "payload_diff_sample": [(q, h) for q, h in zip(q_lines, h_lines) if q != h][:3],
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", type=Path, default=Path("build"))
    ap.add_argument("--gen", type=Path, default=Path("build/gen"))
    ap.add_argument("--variant", action="append", default=[], metavar="NAME=DIR",
                    help="a build variant (kernels-optimisation, e.g. dsp-O2=build/m7-dsp-O2); "
                         "the first is the headline; default: m7=BUILD/m7")
    ap.add_argument("--arm-prefix", default="arm-none-eabi-")
    ap.add_argument("--qemu", default="qemu-system-arm")
    ap.add_argument("--clock-hz", type=float, default=216e6)
    ap.add_argument("--cflags", default="", help="compiler flags common to the variants")
    ap.add_argument("--bundle", default="")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--timeout", type=float, default=300)
    args = ap.parse_args(argv)
    b = args.build
    variants: list[tuple[str, Path]] = []
    for spec in args.variant or [f"m7={b / 'm7'}"]:
        name, sep, where = spec.partition("=")
        if not sep or not name or not where:
            raise SystemExit(f"--variant {spec!r}: expected NAME=DIR")
        variants.append((name, Path(where)))
    host_bench, plugin = b / "host/bench", b / "libinsncount.so"
    if shutil.which(args.qemu) is None:
        raise SystemExit(f"{args.qemu} not found (apt-get install qemu-system-arm)")
    if not host_bench.is_file():
        raise SystemExit(f"{host_bench} not found (run `make report`)")
    host_out = subprocess.run([str(host_bench)], capture_output=True, text=True).stdout
    golden = json.loads((args.gen / "golden.json").read_text())
    results = {name: measure(where, args, plugin, host_out, golden) for name, where in variants}
    head_name = variants[0][0]
    m = results[head_name]
    worst, mean, flash, ram = (m["instructions_per_frame"], m["instructions_per_frame_mean"],
                               m["flash_bytes"], m["ram_bytes"])
    clock = args.clock_hz
    all_equal = all(r["payload_equal"] for r in results.values())
    all_reference = all(r["payload_equal_numpy_reference"] for r in results.values())
    portable = next((r for n, r in results.items() if n.startswith("portable") and n.endswith("O2")), None)
    budget_insn = 800_000
    report: dict[str, Any] = {
        "flash_bytes": flash,
        "ram_bytes": ram,
        "instructions_per_frame": worst,
        "ms_at_216mhz": round(worst / 216e6 * 1e3, 3),
        "payload_equal": all_equal,
        "payload_equal_numpy_reference": all_reference,
        "kernel_path": head_name,
        "instructions_per_frame_portable": portable["instructions_per_frame"] if portable else None,
        "ms_at_216mhz_portable": (round(portable["instructions_per_frame"] / 216e6 * 1e3, 3)
                                  if portable else None),
        "variants": {
            n: {k: r[k] for k in ("instructions_per_frame", "instructions_per_frame_mean",
                                  "instructions_extract_max", "instructions_encode_max",
                                  "flash_bytes", "ram_bytes", "stack_peak_bytes", "payload_equal",
                                  "payload_equal_numpy_reference")}
            | {"ms_at_216mhz": round(r["instructions_per_frame"] / 216e6 * 1e3, 3),
               "build_dir": str(dict(variants)[n])}
            for n, r in results.items()},
        "variants_note": ("NAME = kernel path (dsp: ARMv7E-M DSP instructions through ACLE "
                          "intrinsics; portable: the C99 path of every host, -DAGN_PORTABLE_KERNELS) "
                          "- optimisation (-O2 / -Os); every variant runs all golden frames and "
                          "must match the host build and the numpy reference"),
        "budgets": {"flash_bytes": 128 * 1024, "ram_bytes": 96 * 1024, "instructions_per_frame": budget_insn},
        "within_budget": {"flash": flash <= 128 * 1024, "ram": ram <= 96 * 1024,
                          "instructions": worst <= budget_insn},
        "instructions_per_frame_mean": mean,
        "instructions_extract_max": m["instructions_extract_max"],
        "instructions_encode_max": m["instructions_encode_max"],
        "ms_at_clock": {"clock_hz": clock, "worst": round(worst / clock * 1e3, 3),
                        "mean": round(mean / clock * 1e3, 3)},
        "timing_assumption": (
            "instructions executed by QEMU's Cortex-M7 model (mps2-an500), counted from the "
            "entry of agn_extract / agn_encode through their return (callees included); "
            "converted at one instruction per cycle (CPI = 1) at 216 MHz. QEMU models no "
            "pipeline, caches, flash wait states or dual issue: a real STM32F746 can be "
            "faster (dual issue) or slower (flash wait states without ART/cache, TCM misses; "
            "UDIV in the rANS coder takes 2-12 cycles)."),
        "frames_measured": "the built-in test images (CIFAR-10 32x32 RGB888 when available): "
                           "resize to the model input + feature extractor + local predictor + "
                           "quantizer (extract) and rANS/packed coding (encode)",
        "counting_method": m["counting_method"],
        "icount_cross_check": (
            "-icount shift=8 with the FPGAIO 25 MHz counter read around each call: "
            "ticks / 6.4 = instructions (+ ~5 for the counter reads)"),
        "stack_peak_bytes": m["stack_peak_bytes"],
        "stack_usage_static": m["stack_usage_static"],
        "core_image": {"elf": m["core_elf"], "sections": m["core_sections"],
                       "note": "startup + vector table + core (model constants, codec tables, "
                               "kernels, codec) linked with --gc-sections; no drivers"},
        "bench_image": {"sections": m["bench_sections"], "flash_bytes": m["bench_flash"],
                        "ram_bytes": m["bench_ram"],
                        "note": "core + golden frames + expected outputs + semihosting I/O"},
        "objects": m["objects"],
        "per_frame": m["per_frame"],
        "model": {"bundle": _shown_path(args.bundle) if args.bundle else "synthetic", "model_id": golden.get("model_id"),
                  "model_hash": golden.get("model_hash"), "synthetic": golden.get("synthetic"),
                  "test_images": golden.get("test_images")},
        "toolchain": {
            "cc": run([args.arm_prefix + "gcc", "--version"]).stdout.splitlines()[0],
            "cflags": args.cflags,
            "qemu": run([args.qemu, "--version"]).stdout.splitlines()[0],
            "host": platform.platform(),
        },
        "qemu_wall_seconds": round(sum(r["qemu_wall_seconds"] for r in results.values()), 3),
    }
    for n, r in results.items():
        if not r["payload_equal"]:
            report.setdefault("payload_diff_sample", {})[n] = r["payload_diff_sample"]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    for n, r in results.items():
        print(f"{n:12s} flash {r['flash_bytes']} B, RAM {r['ram_bytes']} B, stack peak "
              f"{r['stack_peak_bytes']} B, instructions/frame max {r['instructions_per_frame']} "
              f"mean {r['instructions_per_frame_mean']} ({r['counting_method']}), "
              f"payload_equal {r['payload_equal']}, numpy reference equal "
              f"{r['payload_equal_numpy_reference']}")
    print(f"headline {head_name}: {worst} instructions/frame, {report['ms_at_216mhz']} ms at "
          f"216 MHz (CPI 1) -> {args.out}")
    return 0 if all_equal and all_reference else 1


if __name__ == "__main__":
    sys.exit(main())
