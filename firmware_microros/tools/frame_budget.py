#!/usr/bin/env python3
"""The XRCE-DDS budget of the largest FeatureFrame a model can produce.

Reads the generated model header (payload bound, classes), colcon_agilenn.meta (MTU, output
stream history) and app/agn_app_config.h (the values the firmware checks at compile time),
prints the arithmetic and fails when the frame would not fit the reliable output stream or
the three disagree.

    python tools/frame_budget.py --header build/gen/agilenn_model.h
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

FRAME_ID_MAX = 32           # app/agn_app_config.h AGN_FRAME_ID_MAX
DEVICE_ID_MAX = 32          # FeatureFrame.msg string<=32
ENCAPSULATION = 4           # CDR encapsulation header: part of the CDR size, not sent by XRCE-DDS
WRITE_OVERHEAD = 8          # WRITE_DATA submessage header + object request
FRAGMENT_OVERHEAD = 12      # MTU - data per fragment (4-byte message header, 4-byte FRAGMENT
                            # subheader; measured: 1952 B of CDR -> datagrams of 1020 + 952 B)


def _a4(x: int) -> int:
    return (x + 3) // 4 * 4


def feature_frame_cdr_bytes(frame_id: int, device_id: int, payload: int, classes: int) -> int:
    """Serialized size (XCDR1 with its 4-byte encapsulation header) of a FeatureFrame."""
    off = 8 + 4 + frame_id + 1                       # stamp, frame_id
    off = _a4(off) + 4 + device_id + 1               # device_id
    off = _a4(off) + 8 + 6 + 1                       # sequence, model_hash, shape, codec
    off = _a4(off) + 4 + payload                     # payload
    off = _a4(off) + 4 + 4 * classes                 # local_logits
    return 4 + _a4(off) + 4                          # encapsulation, device_compute_us


def fragments(cdr_bytes: int, mtu: int) -> int:
    """FRAGMENT messages of one publication of ``cdr_bytes`` (encapsulation included)."""
    chunk = mtu - FRAGMENT_OVERHEAD
    return (cdr_bytes - ENCAPSULATION + WRITE_OVERHEAD + chunk - 1) // chunk


def _macro(text: str, name: str) -> int:
    m = re.search(rf"#define\s+{name}\s+(\d+)u?", text)
    if not m:
        raise SystemExit(f"{name} not found")
    return int(m.group(1))


def _meta_arg(meta: dict, package: str, name: str) -> int:
    for arg in meta["names"][package]["cmake-args"]:
        if arg.startswith(f"-D{name}="):
            return int(arg.split("=", 1)[1])
    raise SystemExit(f"{name} not set for {package} in the meta file")


def main(argv: list[str] | None = None) -> int:
    here = Path(__file__).resolve().parents[1]
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--header", type=Path, default=here / "build/gen/agilenn_model.h")
    ap.add_argument("--meta", type=Path, default=here / "colcon_agilenn.meta")
    ap.add_argument("--app-config", type=Path, default=here / "app/agn_app_config.h")
    args = ap.parse_args(argv)
    header = args.header.read_text()
    payload = _macro(header, "AGN_MAX_PAYLOAD_BYTES")
    classes = _macro(header, "AGN_CLASSES")
    meta = json.loads(args.meta.read_text())
    mtu = _meta_arg(meta, "microxrcedds_client", "UCLIENT_CUSTOM_TRANSPORT_MTU")
    history = _meta_arg(meta, "rmw_microxrcedds", "RMW_UXRCE_STREAM_HISTORY_OUTPUT")
    history_in = _meta_arg(meta, "rmw_microxrcedds", "RMW_UXRCE_STREAM_HISTORY_INPUT")
    app = args.app_config.read_text()
    app_mtu, app_history = _macro(app, "AGN_XRCE_MTU"), _macro(app, "AGN_XRCE_OUTPUT_HISTORY")
    size = feature_frame_cdr_bytes(FRAME_ID_MAX, DEVICE_ID_MAX, payload, classes)
    frags = fragments(size, mtu)
    print(f"largest FeatureFrame: payload <= {payload} B (packed fallback), {classes} logits, "
          f"frame_id <= {FRAME_ID_MAX}, device_id <= {DEVICE_ID_MAX} -> {size} B serialized")
    print(f"XRCE: ({size} - {ENCAPSULATION} + {WRITE_OVERHEAD}) B in fragments of MTU {mtu} - {FRAGMENT_OVERHEAD} = "
          f"{mtu - FRAGMENT_OVERHEAD} B -> {frags} fragment(s); reliable output stream "
          f"{history} x {mtu} B = {history * mtu} B ({history // frags} frame(s) in flight)")
    print(f"stream buffers: output {history * mtu} B + input {history_in * mtu} B")
    ok = True
    if frags > history:
        print(f"error: {frags} fragments do not fit an output history of {history}")
        ok = False
    if (app_mtu, app_history) != (mtu, history):
        print(f"error: app/agn_app_config.h says MTU {app_mtu}, history {app_history}; "
              f"the meta file says {mtu}, {history}")
        ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
