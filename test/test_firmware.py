"""Firmware core (firmware_microros/core): C unit + golden tests, the ctypes library of the
device emulator against the numpy integer reference, and the Cortex-M7 build in QEMU.

Skips (with the reason) only where a tool is missing: a host C compiler / make for the
host tests, arm-none-eabi-gcc + qemu-system-arm for the QEMU run.
Run just these:  .venv/bin/python -m pytest -q test/test_firmware.py
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from agilenn_ros.export import synthetic as syn
from agilenn_ros.runtime import firmware_reference as fwref

REPO = Path(__file__).resolve().parents[1]
FIRMWARE = REPO / "firmware_microros"


def _need(*tools: str) -> None:
    for tool in tools:
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} not installed")


def _make(target: str, build: Path, *extra: str, timeout: float = 600) -> subprocess.CompletedProcess:
    cmd = ["make", "-C", str(FIRMWARE), target, f"BUILD={build}", f"PYTHON={sys.executable}", *extra]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def synthetic_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return syn.make_synthetic_bundle(tmp_path_factory.mktemp("fw") / "synth96", input_size=96)


@pytest.fixture(scope="module")
def lib_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Built libraries go to a temporary cache, not the user's."""
    return tmp_path_factory.mktemp("firmware-core-cache")


def _check_core_against_reference(bundle: Path, frames: list[np.ndarray], cache: Path,
                                  rgb565: bool = False, big_endian: bool = False) -> None:
    from agilenn_ros.runtime.firmware_core import FirmwareCore
    manifest = json.loads((bundle / "manifest.json").read_text())
    tables = manifest.get("codec", {}).get("tables") or None
    m = fwref.load_int8_model(bundle)
    core = FirmwareCore(bundle, cache_dir=cache)
    assert core.model_hash == m.model_hash
    assert core.remote_shape == (m.remote, m.feat_h, m.feat_w)
    for frame in frames:
        res = core.run(frame, rgb565=rgb565, big_endian=big_endian)
        rgb = fwref.rgb565_to_rgb888(frame) if rgb565 else frame
        ref = fwref.int_forward(m, rgb[None])
        codec, payload = fwref.encode_payload(ref.indices[0], m.n_centroids, tables)
        assert np.array_equal(res.logit_q, ref.logit_q[0])
        assert res.local_logits.tobytes() == ref.local_logits[0].tobytes()   # bit for bit
        assert np.array_equal(res.indices, ref.indices[0])
        assert (res.codec_id, res.payload) == (codec, payload)
        if not rgb565:
            logits, indices, payload3 = core.process(frame)
            assert payload3 == payload and core.last_codec_id == codec
            assert np.array_equal(indices, res.indices) and np.array_equal(logits, res.local_logits)


# ------------------------------------------------------------------------------ host build

def test_host_unit_and_golden_tests(tmp_path: Path) -> None:
    """`make host-test`: every kernel against its definition, then the core against the numpy
    reference on golden frames (CIFAR-10 test images when present, other sizes, RGB565)."""
    _need("make", "cc")
    proc = _make("host-test", tmp_path / "build")
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    assert "test_kernels:" in proc.stdout and "test_golden:" in proc.stdout
    assert "MISMATCH" not in proc.stdout
    assert ", 0 failures" in proc.stdout.split("test_golden:")[1]


def test_host_tests_digits_sized_model(tmp_path: Path) -> None:
    """The same sources for a 24x24-input model (4x4 features): sizes come from the header."""
    _need("make", "cc")
    proc = _make("host-test", tmp_path / "build", "SYNTH_SIZE=24", "IMAGES=")
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]


def test_ctypes_core_equals_numpy_reference(synthetic_bundle: Path, lib_cache: Path) -> None:
    _need("cc")
    frames = list(syn.synthetic_frames(6, 32, 32, seed=31)) + list(syn.synthetic_frames(2, 120, 160, seed=32))
    frames.append(syn.synthetic_frames(1, 5, 3, seed=33)[0])
    _check_core_against_reference(synthetic_bundle, frames, lib_cache)


def test_ctypes_core_rgb565(synthetic_bundle: Path, lib_cache: Path) -> None:
    _need("cc")
    frames = [fwref.rgb888_to_rgb565(f) for f in syn.synthetic_frames(3, 48, 64, seed=34)]
    _check_core_against_reference(synthetic_bundle, frames, lib_cache, rgb565=True)
    _check_core_against_reference(synthetic_bundle, frames, lib_cache, rgb565=True, big_endian=True)


def test_ctypes_core_on_cifar_images(synthetic_bundle: Path, lib_cache: Path) -> None:
    _need("cc")
    archive = REPO.parent / "shared" / "data" / "cifar10" / "test.tar.gz"
    if not archive.is_file():
        pytest.skip("CIFAR-10 test archive not present")
    from agilenn_ros.data import load_split
    images = load_split(str(archive), "test").images[:20]
    _check_core_against_reference(synthetic_bundle, list(images), lib_cache)


def test_ctypes_core_rejects_bad_frames(synthetic_bundle: Path, lib_cache: Path) -> None:
    _need("cc")
    from agilenn_ros.runtime.firmware_core import FirmwareCore, FirmwareCoreError
    core = FirmwareCore(synthetic_bundle, cache_dir=lib_cache)
    with pytest.raises(FirmwareCoreError):
        core.run(np.zeros((8, 8), np.uint8))
    with pytest.raises(FirmwareCoreError):
        core.run(np.zeros((0, 8, 3), np.uint8))
    with pytest.raises(FirmwareCoreError):
        core.run(np.zeros((8, 8, 3), np.float32))


def test_ctypes_core_on_trained_digits_bundle(digits_bundle: Path, lib_cache: Path) -> None:
    """A trained, exported bundle: the exporter's header through the C core equals the numpy
    integer reference, and the integer path agrees with device.onnx."""
    _need("cc")
    from agilenn_ros.data.datasets import load_digits
    images = load_digits("test").images[:40]
    _check_core_against_reference(digits_bundle, list(images), lib_cache)


def test_cifar_bundle_golden(cifar_bundle: Path, lib_cache: Path) -> None:
    _need("cc")
    frames = list(syn.synthetic_frames(4, 32, 32, seed=35))
    archive = REPO.parent / "shared" / "data" / "cifar10" / "test.tar.gz"
    if archive.is_file():
        from agilenn_ros.data import load_split
        frames += list(load_split(str(archive), "test").images[:16])
    _check_core_against_reference(cifar_bundle, frames, lib_cache)


# ------------------------------------------------------------------------------ Cortex-M7 / QEMU

def test_cortex_m7_build_in_qemu(tmp_path: Path) -> None:
    """Cross-compile for Cortex-M7, run the golden frames on QEMU mps2-an500: the payloads
    equal the host build's and the numpy reference's; sizes and instruction counts within
    the budgets (synthetic model: the same shapes as the CIFAR-10 profile)."""
    _need("make", "cc", "arm-none-eabi-gcc", "qemu-system-arm")
    out = tmp_path / "firmware.json"
    proc = _make("report", tmp_path / "build", f"OUT={out}", "COUNT=3", timeout=900)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    report = json.loads(out.read_text())
    assert report["payload_equal"] and report["payload_equal_numpy_reference"]
    assert report["flash_bytes"] <= 128 * 1024
    assert report["ram_bytes"] <= 96 * 1024
    assert 0 < report["instructions_per_frame"] <= 2_000_000
    assert report["ms_at_216mhz"] == pytest.approx(report["instructions_per_frame"] / 216e3, rel=1e-3)
    # both kernel paths at -O2 and -Os, every one equal to the host build and the reference
    variants = report["variants"]
    assert set(variants) == {"dsp-O2", "portable-O2", "dsp-Os", "portable-Os"}
    assert report["kernel_path"] == "dsp-O2"
    assert all(v["payload_equal"] and v["payload_equal_numpy_reference"] for v in variants.values())
    assert report["instructions_per_frame_portable"] == variants["portable-O2"]["instructions_per_frame"]
    assert variants["dsp-O2"]["instructions_per_frame"] < variants["portable-O2"]["instructions_per_frame"]


def test_c_tests_on_cortex_m7_in_qemu(tmp_path: Path) -> None:
    """The C unit tests of every kernel and the golden tests (core == numpy reference on the
    golden frames) cross-compiled for Cortex-M7 and run on QEMU mps2-an500: the DSP kernel
    path (ACLE intrinsics), which no host build executes. The portable path runs on the
    host (test_host_unit_and_golden_tests)."""
    _need("make", "arm-none-eabi-gcc", "qemu-system-arm")
    proc = _make("qemu-test", tmp_path / "build", "COUNT=3", timeout=900)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    assert "dsp kernels" in out
    assert "test_kernels:" in out and ", 0 failures" in out.split("test_kernels:")[1]
    assert "test_golden:" in out and ", 0 failures" in out.split("test_golden:")[1]
    assert "MISMATCH" not in out


# ------------------------------------------------------------------------------ micro-ROS sizing

def test_feature_frame_size_formula_matches_cdr() -> None:
    """The size bound the firmware sizes its XRCE-DDS streams with (app/agn_feature_frame.h,
    tools/frame_budget.py) equals the real serialized FeatureFrame."""
    mt = pytest.importorskip("agilenn_ros.transport.msgtypes")
    sys.path.insert(0, str(FIRMWARE / "tools"))
    try:
        import frame_budget
    finally:
        sys.path.pop(0)
    cases = [(0, 0, 0, 0), (1, 0, 0, 1), (13, 5, 1830, 10), (32, 32, 1830, 10), (3, 7, 33, 3),
             (32, 32, 32768, 256), (5, 31, 1, 7)]   # the first six are pinned in test/test_app.c
    for f, d, p, c in cases:
        header = mt.new_message("std_msgs/msg/Header", frame_id="f" * f)
        msg = mt.new_message("agilenn_ros/msg/FeatureFrame", header=header, device_id="d" * d,
                             payload=np.zeros(p, np.uint8), local_logits=np.zeros(c, np.float32))
        assert len(mt.serialize(msg, "agilenn_ros/msg/FeatureFrame")) == \
            frame_budget.feature_frame_cdr_bytes(f, d, p, c)


def test_extra_packages_use_the_repository_msgs() -> None:
    """The firmware's interface package carries the very msg/ definitions of the edge."""
    pkg = FIRMWARE / "extra_packages" / "agilenn_ros"
    for name in ("FeatureFrame.msg", "Prediction.msg"):
        assert (pkg / "msg" / name).read_bytes() == (REPO / "msg" / name).read_bytes()
    assert "<name>agilenn_ros</name>" in (pkg / "package.xml").read_text()
    assert (FIRMWARE / "COLCON_IGNORE").is_file()
