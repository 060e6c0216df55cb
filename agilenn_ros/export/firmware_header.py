"""The firmware's generated C header ``agilenn_model.h``: every integer constant of an
:class:`~agilenn_ros.runtime.firmware_reference.Int8Model` (and the codec tables) as C arrays
for firmware_microros/core. Written into a bundle by :mod:`agilenn_ros.export.int8`.
"""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from agilenn_ros.runtime.firmware_reference import (INT32_MAX, INT32_MIN, MAX_POST_SHIFT, MIN_POST_SHIFT,
                                                    PIXEL_FRAC_BITS, RESIZE_COEF_BITS, Int8Model, check_range)

__all__ = ["HEADER_NAME", "generate_header", "codec_tables_c"]

HEADER_NAME = "agilenn_model.h"


def _c_int_array(ctype: str, name: str, values: np.ndarray, per_line: int = 12) -> str:
    arr = np.asarray(values)
    if ctype == "agn_rq_t":
        items = [f"{{{int(mv)}, {int(sv)}}}" for mv, sv in arr.reshape(-1, 2)]
        per_line = 4
    else:
        items = [str(int(v)) if int(v) != INT32_MIN else "(-2147483647 - 1)" for v in arr.reshape(-1)]
    lines = [", ".join(items[i:i + per_line]) for i in range(0, len(items), per_line)]
    return f"const {ctype} {name}[{len(items)}] = {{\n    " + ",\n    ".join(lines) + "\n};"


def _c_len(ctype: str, values: np.ndarray) -> int:
    size = int(np.asarray(values).size)
    return size // 2 if ctype == "agn_rq_t" else size


def _header_arrays(m: Int8Model) -> list[tuple[str, str, np.ndarray, str]]:
    """(C type, name, values, comment) of every constant array; ``agn_rq_t`` arrays hold
    (multiplier, post-shift) pairs."""
    def rq(mult: np.ndarray, shift: np.ndarray) -> np.ndarray:
        return np.stack([np.asarray(mult), np.asarray(shift)], axis=-1)
    return [
        ("int16_t", "agn_dw1_w", m.dw1_w, "[3][9] (channel, ky*3+kx), normalisation folded in"),
        ("int32_t", "agn_dw1_b", m.dw1_b, "[3]"),
        ("agn_rq_t", "agn_dw1_rq", rq(m.dw1_m, m.dw1_r), "[3] requantization (mult, shift)"),
        ("int16_t", "agn_pw1_w", m.pw1_w, "[HIDDEN][3], BN1 folded"),
        ("int32_t", "agn_pw1_b", m.pw1_b, "[HIDDEN]"),
        ("agn_rq_t", "agn_pw1_rq", rq(m.pw1_m, m.pw1_r), "[HIDDEN]"),
        ("int16_t", "agn_dw2_w", m.dw2_w, "[HIDDEN][9]"),
        ("agn_rq_t", "agn_dw2_rq", rq(m.dw2_m, m.dw2_r), "[HIDDEN]"),
        ("int16_t", "agn_pw2_w", m.pw2_w, "[CHANNELS][HIDDEN], BN2 folded"),
        ("int32_t", "agn_pw2_b", m.pw2_b, "[CHANNELS]"),
        ("agn_rq_t", "agn_pw2_rq", rq(m.pw2_m, m.pw2_r), "[LOCAL]"),
        ("int32_t", "agn_thresholds", m.thresholds, "[REMOTE][CENTROIDS-1]: index = #(acc > T)"),
        ("int16_t", "agn_dense_w", m.dense_w, "[CLASSES][LOCAL], logit BN folded"),
        ("int32_t", "agn_dense_b", m.dense_b, "[CLASSES]"),
        ("agn_rq_t", "agn_dense_rq", rq(m.dense_m, m.dense_r), "[CLASSES]"),
    ]


def generate_header(m: Int8Model, *, model_id: str = "", codec_c: str | None = None,
                    max_payload_bytes: int | None = None) -> str:
    """The firmware's ``agilenn_model.h``.

    Macros and ``extern`` declarations everywhere; the array definitions (and the codec tables
    ``codec_c``, the text of ``agilenn_ros.codec.rans_tables_to_c``) only in the one
    translation unit that defines ``AGILENN_MODEL_IMPLEMENTATION`` before including it
    (firmware_microros/core/agilenn_model_data.c).
    """
    arrays = _header_arrays(m)
    limits = {"int16_t": (-32767, 32767), "int32_t": (INT32_MIN, INT32_MAX)}
    for ctype, name, values, _ in arrays:
        if ctype == "agn_rq_t":
            check_range(name + " multipliers", values[..., 0], 0, INT32_MAX)
            check_range(name + " shifts", values[..., 1], MIN_POST_SHIFT, MAX_POST_SHIFT)
        else:
            lo, hi = limits[ctype]
            check_range(name, values, lo, hi)
    if np.any(np.diff(m.thresholds, axis=1) < 0):
        raise ValueError("quantizer thresholds must be non-decreasing per channel")
    if m.a2_max * m.feat_h * m.feat_w > INT32_MAX:
        raise ValueError("feature map too large for the int32 pooling sums")
    remote_count = m.remote * m.feat_h * m.feat_w
    bits = max(1, (m.n_centroids - 1).bit_length())
    packed = 6 + (remote_count * bits + 7) // 8
    if max_payload_bytes is None:
        max_payload_bytes = packed
    cfg = m.config
    tag = f"{m.model_hash:08x}"
    ident = model_id or tag
    if not all(ch.isalnum() or ch in "-_." for ch in ident):
        raise ValueError(f"model id {ident!r} must be alphanumeric with - _ .")
    macros = [
        ("AGN_MODEL_HASH", f"0x{tag}u", "manifest model_hash (on the wire as uint32)"),
        ("AGN_INPUT_H", m.input_h, "model input size (after the resize)"),
        ("AGN_INPUT_W", m.input_w, ""),
        ("AGN_STRIDE1", m.stride1, "depthwise-1 stride (kernel 3, padding 0)"),
        ("AGN_STRIDE2", m.stride2, "depthwise-2 stride (kernel 3)"),
        ("AGN_PAD2", m.pad2, "depthwise-2 symmetric zero padding"),
        ("AGN_HIDDEN", m.hidden, "layer-1 output channels"),
        ("AGN_L1_H", m.l1_h, "layer-1 output size"),
        ("AGN_L1_W", m.l1_w, ""),
        ("AGN_CHANNELS", m.channels, "feature channels C"),
        ("AGN_LOCAL", m.k, "local channels k (channels [0, k))"),
        ("AGN_REMOTE", m.remote, "remote channels C - k"),
        ("AGN_FEAT_H", m.feat_h, "feature map size"),
        ("AGN_FEAT_W", m.feat_w, ""),
        ("AGN_CLASSES", m.classes, "local predictor outputs"),
        ("AGN_CENTROIDS", m.n_centroids, "quantizer alphabet size"),
        ("AGN_REMOTE_COUNT", remote_count, "remote indices per frame (C - k) * H * W"),
        ("AGN_PACKED_PAYLOAD_BYTES", packed, "codec 0 payload: 6-byte header + packed bits"),
        ("AGN_MAX_PAYLOAD_BYTES", max_payload_bytes, "payload buffer (rANS falls back to packed)"),
        ("AGN_D1_MAX", m.d1_max, f"depthwise-1 output clamp ({cfg.d1_bits}-bit signed)"),
        ("AGN_A1_MAX", m.a1_max, f"layer-1 ReLU6 clamp ({cfg.a1_bits}-bit unsigned)"),
        ("AGN_D2_MAX", m.d2_max, f"depthwise-2 output clamp ({cfg.d2_bits}-bit signed)"),
        ("AGN_A2_MAX", m.a2_max, f"local ReLU6 clamp ({cfg.a2_bits}-bit unsigned)"),
        ("AGN_WEIGHT_BITS", max(m.weight_bits.values()), "most bits of a weight (int16 storage)"),
        ("AGN_LOGIT_FRAC_BITS", m.logit_frac_bits, "local logits = logit_q * 2^-bits"),
        ("AGN_PIXEL_FRAC_BITS", PIXEL_FRAC_BITS, "resized pixels in Q7"),
        ("AGN_RESIZE_COEF_BITS", RESIZE_COEF_BITS, "bilinear weights in Q15"),
        ("AGN_HAVE_RANS_TABLES", 1 if codec_c else 0, "agn_rans_tables is defined"),
    ]
    out = [
        "/* agilenn_model.h: GENERATED by agilenn_ros.export.int8 - do not edit.",
        f" * Model {ident}: the integer device network (feature extractor, local predictor,",
        " * quantizer thresholds) for firmware_microros/core; the arithmetic is described in",
        " * agilenn_ros/runtime/firmware_reference.py. Weight bits per layer: "
        + ", ".join(f"{k} {v}" for k, v in m.weight_bits.items()) + ".",
        f" * Activation scales: d1 {m.scales['d1']:.6g}, a1 {m.scales['a1']:.6g},"
        f" d2 {m.scales['d2']:.6g}, a2 {m.scales['a2']:.6g}. */",
        "#ifndef AGILENN_MODEL_H",
        "#define AGILENN_MODEL_H",
        "",
        "#include <stdint.h>",
        "",
        '#include "agilenn_codec.h"',
        '#include "agilenn_kernels.h"',
        "",
        f'#define AGN_MODEL_ID "{ident}"',
    ]
    out += [f"#define {name} {value}" + (f"  /* {note} */" if note else "")
            for name, value, note in macros]
    out += ["", "#ifdef __cplusplus", 'extern "C" {', "#endif", ""]
    for ctype, name, values, note in arrays:
        out.append(f"extern const {ctype} {name}[{_c_len(ctype, values)}];  /* {note} */")
    out.append(f"extern const float agn_centroids[{m.n_centroids}];  /* documentation only */")
    out.append("extern const agilenn_rans_tables_t *const agn_rans_tables;  /* NULL without tables */")
    out += ["", "#ifdef __cplusplus", "}", "#endif", "", "#ifdef AGILENN_MODEL_IMPLEMENTATION", ""]
    for ctype, name, values, note in arrays:
        out.append(_c_int_array(ctype, name, values))
    cents = ", ".join(f"{float(v):.9g}f" for v in m.centroids)
    out.append(f"const float agn_centroids[{m.n_centroids}] = {{ {cents} }};")
    if codec_c:
        out += ["", codec_c.rstrip("\n"),
                "const agilenn_rans_tables_t *const agn_rans_tables = &agilenn_rans_tables;"]
    else:
        out.append("const agilenn_rans_tables_t *const agn_rans_tables = 0;")
    out += ["", "#endif /* AGILENN_MODEL_IMPLEMENTATION */", "", "#endif /* AGILENN_MODEL_H */", ""]
    return "\n".join(out)


def codec_tables_c(codec_tables: Mapping[str, Any] | None) -> str | None:
    """The rANS tables as C text via the codec package's ``rans_tables_to_c`` (None when the
    bundle has no rANS tables)."""
    if not codec_tables or "rans" not in codec_tables:
        return None
    from agilenn_ros.codec import rans_tables_to_c
    return rans_tables_to_c(codec_tables)
