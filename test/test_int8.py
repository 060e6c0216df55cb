"""int8 export and the firmware reference (agilenn_ros.export.int8, .firmware_header, .int8_report,
.synthetic; agilenn_ros.runtime.firmware_reference, .device_float): float reference, PTQ, integer
reference, C header.

numpy only (no torch, no compiler); the C side is in test_firmware.py.
Run just these:  .venv/bin/python -m pytest -q test/test_int8.py
"""
from __future__ import annotations

import json
import math
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from agilenn_ros.export import int8 as q, firmware_header as hdr, int8_report as rep, synthetic as syn
from agilenn_ros.runtime import device_float as fl, firmware_reference as fwref

cv2 = pytest.importorskip("cv2")


@pytest.fixture(scope="module")
def frames32() -> np.ndarray:
    return syn.synthetic_frames(48, 32, 32, seed=5)


@pytest.fixture(scope="module")
def model96(frames32: np.ndarray) -> tuple[fl.FloatWeights, fwref.Int8Model]:
    weights = syn.make_synthetic_weights(input_size=96, frames=frames32, seed=3)
    return q.build_int8_model(weights, frames32, model_hash=0x1234ABCD)


@pytest.fixture(scope="module")
def model24() -> tuple[fl.FloatWeights, fwref.Int8Model]:
    frames = syn.synthetic_frames(48, 8, 8, seed=6)
    weights = syn.make_synthetic_weights(input_size=24, frames=frames, seed=4)
    return q.build_int8_model(weights, frames)


# ------------------------------------------------------------------------------ weights

def test_load_rejects_missing_and_misshaped_keys() -> None:
    w = syn.make_synthetic_weights(input_size=24, seed=0)
    broken = dict(w)
    del broken["pw2"]
    with pytest.raises(ValueError, match="missing"):
        fl.load_float_weights(broken)
    broken = dict(w, pw1=np.zeros((16, 4, 1, 1)))
    with pytest.raises(ValueError, match="pw1"):
        fl.load_float_weights(broken)
    broken = dict(w, centroids=w["centroids"][::-1])
    with pytest.raises(ValueError, match="ascending"):
        fl.load_float_weights(broken)


def test_shapes_follow_the_npz(model96, model24) -> None:
    fw, m = model96
    assert (m.l1_h, m.l1_w, m.feat_h, m.feat_w) == (32, 32, 16, 16)
    assert (m.channels, m.k, m.remote, m.classes) == (24, 5, 19, 10)
    fw, m = model24
    assert (m.l1_h, m.feat_h, m.remote) == (8, 4, 19)


def test_npz_file_round_trip(tmp_path: Path) -> None:
    w = syn.make_synthetic_weights(input_size=24, seed=2)
    np.savez(tmp_path / "fe_weights.npz", **w)
    fw = fl.load_float_weights(tmp_path / "fe_weights.npz")
    assert fw.hidden == 16 and fw.k == 5 and fw.input_h == 24


# ------------------------------------------------------------------------------ resize

@pytest.mark.parametrize("src,dst", [((32, 32), (96, 96)), ((8, 8), (24, 24)), ((120, 160), (96, 96)),
                                     ((7, 5), (96, 96)), ((129, 98), (24, 24))])
def test_resize_float_is_cv2_inter_linear(src: tuple[int, int], dst: tuple[int, int]) -> None:
    frames = syn.synthetic_frames(2, src[0], src[1], seed=1)
    ours = fl.resize_float(frames, *dst)
    ref = np.stack([cv2.resize(f.astype(np.float32), (dst[1], dst[0]), interpolation=cv2.INTER_LINEAR)
                    for f in frames])
    assert np.abs(ours - ref).max() < 1e-3


def test_resize_fixed_is_close_to_float() -> None:
    frames = syn.synthetic_frames(3, 31, 45, seed=2)
    fixed = fwref.resize_fixed(frames, 96, 96) / 128.0
    assert np.abs(fixed - fl.resize_float(frames, 96, 96)).max() < 0.006
    assert fwref.resize_fixed(frames, 96, 96).max() <= 255 * 128


def test_rgb565_conversions() -> None:
    rgb = syn.synthetic_frames(1, 4, 6, seed=3)[0]
    packed = fwref.rgb888_to_rgb565(rgb)
    back = fwref.rgb565_to_rgb888(packed)
    assert np.abs(back.astype(int) - rgb.astype(int)).max() <= 7
    assert fwref.rgb565_to_rgb888(np.array([[0xFFFF, 0xF800, 0x07E0, 0x001F]], np.uint16)).tolist() == \
        [[[255, 255, 255], [255, 0, 0], [0, 255, 0], [0, 0, 255]]]
    as_bytes = packed.astype("<u2").view(np.uint8).reshape(4, 6, 2)
    assert np.array_equal(fwref.rgb565_to_rgb888(as_bytes), back)


# ------------------------------------------------------------------------------ fixed point

def test_quantize_multiplier_approximates_the_ratio() -> None:
    rng = np.random.default_rng(0)
    for ratio in list(10.0 ** rng.uniform(-12, math.log10(0.249), 500)) + [0.2499, 2.0**-33]:
        mult, shift = q.quantize_multiplier(float(ratio))
        assert 1 <= shift <= 31 and 0 < mult < 2**31
        approx = mult * 2.0 ** -(32 + shift)
        if ratio > 2.0**-32:
            assert mult >= 2**30
            assert abs(approx - ratio) <= ratio * 2.0**-30
    for bad in (0.25, 1.0, 0.0, -1e-3, float("nan")):
        with pytest.raises(ValueError):
            q.quantize_multiplier(bad)


def test_requantize_matches_its_definition() -> None:
    rng = np.random.default_rng(1)
    acc = rng.integers(-2**31, 2**31, 3000)
    mult = rng.integers(2**30, 2**31, 3000)
    shift = rng.integers(1, 32, 3000)
    got = fwref.requantize(acc, mult, shift)
    for a, m, s, g in zip(acc[:400], mult[:400], shift[:400], got[:400]):
        high = (int(a) * int(m)) >> 32                      # floor division by 2**32
        expect = math.floor(Fraction(high, 2**int(s)) + Fraction(1, 2))
        assert g == expect
    assert np.abs(got).max() < 2**31


def test_thresholds_decide_like_nearest_centroid(model96) -> None:
    """index = #(acc > T) equals argmin |y - c| (ties low) on y = acc * S for every channel."""
    fw, m = model96
    s_d2 = m.scales["d2"]
    bn_s, _ = fw.folded_bn("bn2")
    w = fw.pw2 * bn_s[:, None]
    scale = np.abs(w).max(axis=1) / (2 ** (m.weight_bits["pw2"] - 1) - 1) * s_d2
    rng = np.random.default_rng(2)
    for c in range(m.remote):
        S = scale[m.k + c]
        acc = rng.integers(int(-1 / S), int(7 / S), 2000)
        mids_acc = np.floor(((fw.centroids[1:] + fw.centroids[:-1]) / 2) / S).astype(np.int64)
        acc = np.concatenate([acc, mids_acc, mids_acc + 1])     # exactly at the boundaries too
        idx = (acc[:, None] > m.thresholds[c]).sum(axis=1)
        y = np.clip(acc * S, 0, 6)
        assert np.array_equal(idx, fl.nearest_centroid(y, fw.centroids)), f"channel {c}"


def test_accumulators_fit_int32(model96, model24) -> None:
    for _, m in (model96, model24):
        assert m.acc_bounds and max(m.acc_bounds.values()) < 2**31
        assert all(8 <= b <= 16 for b in m.weight_bits.values())
        for arr in (m.dw1_w, m.pw1_w, m.dw2_w, m.pw2_w, m.dense_w):
            assert np.abs(arr).max() <= 32767


def test_weight_bits_drop_to_keep_int32() -> None:
    """Large weights with 16-bit activations: the exporter gives the layer fewer bits."""
    frames = syn.synthetic_frames(16, 8, 8, seed=7)
    w = syn.make_synthetic_weights(input_size=24, frames=frames, seed=8)
    w["pw2"] = w["pw2"] * np.linspace(0.01, 1, w["pw2"].shape[1])[None, :, None, None]
    _, m = q.build_int8_model(w, frames)
    assert m.weight_bits["pw2"] < 16 and m.acc_bounds["pw2"] < 2**31


# ------------------------------------------------------------------------------ agreement

def test_integer_path_agrees_with_float(model96, model24) -> None:
    for (fw, m), size in ((model96, 32), (model24, 8)):
        frames = syn.synthetic_frames(60, size, size, seed=21)
        report = rep.compare_float_int8(fw, m, frames)
        assert report["indices_equal_rate"] >= 0.995, report
        assert report["local_argmax_agreement"] >= 0.98, report
        assert report["max_abs_local_logit_diff"] < 0.05, report


def test_all_int8_config_is_measurably_worse(model96, frames32) -> None:
    fw, m = model96
    _, m8 = q.build_int8_model(fw, frames32, fwref.QuantConfig.all_int8())
    frames = syn.synthetic_frames(30, 32, 32, seed=22)
    good = rep.compare_float_int8(fw, m, frames)["indices_equal_rate"]
    int8_only = rep.compare_float_int8(fw, m8, frames)["indices_equal_rate"]
    assert int8_only < good


def test_int_forward_rejects_bad_frames(model24) -> None:
    _, m = model24
    with pytest.raises(ValueError):
        fwref.int_forward(m, np.zeros((1, 8, 8, 3), np.float32))
    with pytest.raises(ValueError):
        fwref.int_forward(m, np.zeros((8, 8, 3), np.uint8))


# ------------------------------------------------------------------------------ header, params, payload

def test_params_json_round_trip(model96) -> None:
    _, m = model96
    back = fwref.model_from_json(json.loads(json.dumps(fwref.model_to_json(m))))
    frames = syn.synthetic_frames(4, 32, 32, seed=9)
    a, b = fwref.int_forward(m, frames), fwref.int_forward(back, frames)
    assert np.array_equal(a.logit_q, b.logit_q) and np.array_equal(a.indices, b.indices)
    assert hdr.generate_header(m) == hdr.generate_header(back)


def test_header_content(model96) -> None:
    _, m = model96
    text = hdr.generate_header(m, model_id="test-1234abcd")
    assert "#define AGN_MODEL_HASH 0x1234abcdu" in text
    assert "#define AGN_REMOTE_COUNT 4864" in text
    assert "#define AGN_PACKED_PAYLOAD_BYTES 1830" in text
    assert "extern const int16_t agn_pw2_w[384];" in text
    assert "extern const agn_rq_t agn_pw1_rq[16];" in text
    assert "extern const int32_t agn_thresholds[133];" in text
    assert text.count("#ifdef AGILENN_MODEL_IMPLEMENTATION") == 1
    assert "agn_rans_tables = 0;" in text


def test_encode_payload_policy() -> None:
    from agilenn_ros.codec import PackedCodec, RansCodec, build_codec_tables
    rng = np.random.default_rng(3)
    skewed = (rng.random((200, 19, 4, 4)) < 0.1).astype(np.uint8) * rng.integers(0, 8, (200, 19, 4, 4))
    tables = build_codec_tables(skewed.astype(np.uint8), 8)
    typical = skewed[0]
    cid, payload = fwref.encode_payload(typical, 8, tables)
    assert cid == RansCodec.codec_id and payload == RansCodec(tables["rans"]).encode(typical)
    noisy = rng.integers(0, 8, (19, 4, 4)).astype(np.uint8)      # costs more than packed
    cid, payload = fwref.encode_payload(noisy, 8, tables)
    assert cid == PackedCodec.codec_id and payload == PackedCodec(8).encode(noisy)
    assert fwref.encode_payload(typical, 8, None) == (0, PackedCodec(8).encode(typical))


def test_export_firmware_writes_header_and_params(tmp_path: Path) -> None:
    frames = syn.synthetic_frames(20, 8, 8, seed=10)
    w = syn.make_synthetic_weights(input_size=24, frames=frames, seed=11)
    np.savez(tmp_path / "fe_weights.npz", **w)
    manifest = {"model_hash": "00c0ffee", "model_id": "digits-00c0ffee"}
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    m, header = q.export_firmware(tmp_path, frames)
    assert header.read_text().count("0x00c0ffeeu") == 1
    assert fwref.load_int8_model(tmp_path).model_hash == 0xC0FFEE
    assert m.feat_h == 4


def test_evaluate_bundle_report(tmp_path: Path) -> None:
    out = syn.make_synthetic_bundle(tmp_path / "synth", input_size=24)
    frames = syn.synthetic_frames(30, 8, 8, seed=13)
    labels = np.arange(30) % 10
    report = rep.evaluate_bundle(out, frames, labels, calib_frames=frames, variants=["all_int8"])
    assert report["images"] == 30 and "local_accuracy_int8" in report
    assert "fused_accuracy_int8" not in report                  # no edge.onnx in this bundle
    assert report["targets"]["met"]["indices_equal_rate"]
    assert report["variants"]["all_int8"]["weight_bits"]["pw2"] == 8


def test_synthetic_bundle_is_self_consistent(tmp_path: Path) -> None:
    out = syn.make_synthetic_bundle(tmp_path / "synth", input_size=24)
    manifest = json.loads((out / "manifest.json").read_text())
    m = fwref.load_int8_model(out)
    assert f"{m.model_hash:08x}" == manifest["model_hash"]
    codec_c = hdr.codec_tables_c(manifest["codec"]["tables"])
    regenerated = hdr.generate_header(m, model_id=manifest["model_id"], codec_c=codec_c)
    assert regenerated == (out / "agilenn_model.h").read_text()
    assert "#define AGN_HAVE_RANS_TABLES 1" in regenerated


# ------------------------------------------------------------------------------ real bundles

def _bundle_frames(bundle: Path, n: int) -> np.ndarray:
    manifest = json.loads((bundle / "manifest.json").read_text())
    if manifest.get("profile") == "digits":
        from agilenn_ros.data.datasets import load_digits
        return load_digits("test").images[:n]
    side = int(manifest["input"]["height"]) // 3
    return syn.synthetic_frames(n, side, side, seed=12)


def test_float_reference_matches_device_onnx(digits_bundle: Path) -> None:
    """The numpy float model (what the int8 path is measured against) is device.onnx."""
    ort = pytest.importorskip("onnxruntime")
    from agilenn_ros.runtime.preprocess import model_input
    fw = fl.load_float_weights(digits_bundle / "fe_weights.npz")
    frames = _bundle_frames(digits_bundle, 64)
    session = ort.InferenceSession(str(digits_bundle / "device.onnx"), providers=["CPUExecutionProvider"])
    logits, indices = session.run(["local_logits", "indices"],
                                  {"image": model_input(frames, (fw.input_h, fw.input_w))})
    ref = fl.float_forward(fw, frames)
    assert np.abs(ref.local_logits - logits).max() < 1e-3
    assert (ref.indices == indices).mean() > 0.999


def test_digits_bundle_int8_agreement(digits_bundle: Path) -> None:
    fw = fl.load_float_weights(digits_bundle / "fe_weights.npz")
    m = fwref.load_int8_model(digits_bundle)
    frames = _bundle_frames(digits_bundle, 200)
    report = rep.compare_float_int8(fw, m, frames)
    assert report["indices_equal_rate"] >= 0.99, report
    assert report["local_argmax_agreement"] >= 0.98, report


def test_firmware_reference_is_runtime_code() -> None:
    """The numpy twin of the firmware lives in the runtime: importing it (and the float model)
    never imports torch or the export package."""
    import subprocess
    import sys
    from conftest import python_env
    code = ("import sys, agilenn_ros.runtime.firmware_reference, agilenn_ros.runtime.device_float; "
            "bad = [m for m in sys.modules if m == 'torch' or m.startswith('agilenn_ros.export')]; "
            "assert not bad, bad")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=python_env(), timeout=60)
    assert proc.returncode == 0, proc.stderr
