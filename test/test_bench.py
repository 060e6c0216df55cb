"""Baseline training/export on digits and the shape of ``agilenn bench --quick``."""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from conftest import PYTHON, SHARED_CIFAR, python_env

LINKS = {"270kbps", "2Mbps", "6Mbps"}
RATIOS = {"edge_only_over_agilenn", "edge_only_camera_jpeg_over_agilenn", "local_only_over_agilenn",
          "split_over_agilenn"}
TARGETS = {"agilenn_e2e_ms_6mbps", "local_only_over_agilenn", "edge_only_over_agilenn",
           "edge_only_camera_jpeg_over_agilenn", "edge_only_over_agilenn_270kbps",
           "edge_only_camera_jpeg_over_agilenn_270kbps", "accuracy_gap_to_edge_only_points",
           "accuracy_gap_to_ratio_basis_points"}


@pytest.fixture(scope="module")
def baseline_runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """edge and local digits baselines (the digits profile: 4 epochs, one thread, about a second each)."""
    pytest.importorskip("torch")
    pytest.importorskip("sklearn", reason="the digits data set comes from scikit-learn (the train extra)")
    from agilenn_ros.baseline_config import load_baseline_profile
    from agilenn_ros.training.baselines import train_baseline
    root = tmp_path_factory.mktemp("baseline-runs")
    profile = load_baseline_profile("digits")
    for kind in ("edge", "local"):
        train_baseline(profile, kind, "digits", root / kind)
    return root


@pytest.fixture(scope="module")
def baselines_dir(baseline_runs: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from agilenn_ros.cli import main
    out = tmp_path_factory.mktemp("baselines")
    assert main(["export-baseline", str(baseline_runs / "edge" / "best.pt"), "--out", str(out / "edge")]) == 0
    import torch
    threads_before = torch.get_num_threads()
    try:
        assert main(["export-baseline", str(baseline_runs / "edge" / "best.pt"), "--out", str(out / "split"),
                     "--kind", "split", "--calibration", "300", "--threads", "1"]) == 0
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(threads_before)
    assert main(["export-baseline", str(baseline_runs / "local" / "best.pt"), "--out", str(out / "local")]) == 0
    return out


def test_baseline_profiles_load() -> None:
    from agilenn_ros.baseline_config import KINDS, load_baseline_profile
    for name in ("cifar10", "digits"):
        profile = load_baseline_profile(name)
        assert set(profile.kinds) == set(KINDS)
        assert profile.net("split").widths == profile.net("edge").widths
    cifar = load_baseline_profile("cifar10")
    assert cifar.data.input_size == 96 and cifar.feature_size("split") == 16


def test_training_log_and_resume(baseline_runs: Path, tmp_path: Path) -> None:
    from agilenn_ros.baseline_config import load_baseline_profile
    from agilenn_ros.training.baselines import train_baseline
    records = [json.loads(line) for line in (baseline_runs / "edge" / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in records] == [1, 2, 3, 4] and records[-1]["stage"] == "baseline-edge"
    assert max(r["val_accuracy"] for r in records) > 0.5
    run = tmp_path / "local"
    shutil.copytree(baseline_runs / "local", run)
    train_baseline(load_baseline_profile("digits"), "local", "digits", run, epochs=5)
    assert len((run / "metrics.jsonl").read_text().splitlines()) == 5
    with pytest.raises(ValueError, match="is a local baseline"):
        train_baseline(load_baseline_profile("digits"), "edge", "digits", run, epochs=5)


def test_baseline_bundles(baselines_dir: Path, baseline_runs: Path) -> None:
    import torch
    from agilenn_ros.bench.baseline_bundle import ImageModel, SplitModel, load_baseline
    from agilenn_ros.data import load_split
    from agilenn_ros.runtime.preprocess import model_input
    from agilenn_ros.training.augment import BatchPreparer
    from agilenn_ros.training.baselines import load_baseline_checkpoint
    classes = [str(i) for i in range(10)]
    edge, local, split = (load_baseline(baselines_dir, k, classes, (24, 24)) for k in ("edge", "local", "split"))
    assert edge.manifest["device_cost"]["macs"] == 0 and edge.manifest["edge_cost"]["macs"] > 0
    assert 0 < split.manifest["device_cost"]["macs"] < local.manifest["device_cost"]["macs"]
    assert local.manifest["device_cost"]["macs"] < edge.manifest["edge_cost"]["macs"]
    assert split.manifest["split"]["shape"] == [24, 4, 4] and split.manifest["trained_kind"] == "edge"
    for m in (edge.manifest, local.manifest, split.manifest):
        assert {"sram_bytes", "flash_bytes", "params"} <= set(m["device_cost"])
    test = load_split("digits", "test").subset(slice(0, 64))
    x = model_input(list(test.images), (24, 24))
    _, profile, model = load_baseline_checkpoint(baseline_runs / "edge" / "best.pt")
    with torch.no_grad():
        ref = model(BatchPreparer(profile.data)(test.images, train=False)).numpy()
    onnx = ImageModel(edge).logits(x)
    assert np.abs(onnx - ref).max() < 1e-3
    sm = SplitModel(split)
    codes = sm.codes(x)
    assert codes.dtype == np.uint8 and codes.shape == (64, 24, 4, 4)
    assert (sm.logits(codes).argmax(1) == ref.argmax(1)).mean() >= 0.9   # 8-bit activations barely matter
    with pytest.raises(Exception, match="differ"):
        load_baseline(baselines_dir, "edge", classes, (32, 32))


def _bench(tmp_path: Path, model: Path, baselines: Path, extra: list[str] = ()) -> dict:
    from agilenn_ros.cli import main
    out = tmp_path / "bench.json"
    argv = ["bench", "--quick", "--model", str(model), "--baselines", str(baselines), "--json", str(out),
            "--markdown", str(tmp_path / "BENCH.md"), "--plots", str(tmp_path / "plots"), *extra]
    assert main(argv) == 0
    return json.loads(out.read_text())


def _check_shape(result: dict) -> None:
    assert {"schemes", "ratios", "assumptions", "missing", "data", "model", "device_model", "links_bps",
            "quick", "seconds"} <= set(result)
    assert result["quick"] is True and result["assumptions"]
    names = {r["name"] for r in result["schemes"]}
    assert {"agilenn-rans", "agilenn-packed", "agilenn-lzw", "all-channels-rans", "edge-only-raw",
            "edge-only-png", "edge-only-jpeg-q50", "edge-only-jpeg-q75", "edge-only-jpeg-q90", "local-only",
            "split-rans", "edge-only-camera-jpeg-q50", "edge-only-camera-jpeg-q75", "edge-only-camera-jpeg-q90"} <= names
    assert RATIOS <= set(result["ratios"])
    assert set(result["ratios"]["per_link"]) == LINKS
    assert all(RATIOS <= set(v) for v in result["ratios"]["per_link"].values())
    assert set(result["targets"]) == TARGETS
    for r in result["schemes"]:
        assert {"accuracy", "bytes_per_frame", "device", "edge_ms", "latency_ms", "available", "notes"} <= set(r)
        assert set(r["latency_ms"]) == LINKS
        assert {"macs", "ms"} <= set(r["device"])
    agilenn = next(r for r in result["schemes"] if r["name"] == "agilenn-rans")
    assert agilenn["available"] and 0.0 < agilenn["accuracy"] <= 1.0
    assert agilenn["message_type"] == "agilenn_ros/msg/FeatureFrame"
    lat = agilenn["latency_ms"]
    assert lat["270kbps"]["total_ms"] > lat["2Mbps"]["total_ms"] > lat["6Mbps"]["total_ms"] > 0


def test_bench_quick_with_baselines(tmp_path: Path, digits_bundle: Path, baselines_dir: Path) -> None:
    result = _bench(tmp_path, digits_bundle, baselines_dir)
    _check_shape(result)
    assert result["missing"] == []
    assert all(isinstance(result["ratios"][k], float) and result["ratios"][k] > 0 for k in RATIOS)
    rows = {r["name"]: r for r in result["schemes"]}
    # same frames everywhere; lossless PNG equals raw; bytes come from real serialized messages
    assert rows["edge-only-png"]["accuracy"] == rows["edge-only-raw"]["accuracy"]
    assert rows["edge-only-raw"]["bytes_per_frame"]["mean"] > 24 * 24 * 3
    assert rows["agilenn-rans"]["bytes_per_frame"]["mean"] < rows["agilenn-packed"]["bytes_per_frame"]["mean"]
    assert rows["local-only"]["bytes_per_frame"]["mean"] == 0 and rows["local-only"]["device"]["ms"] > 0
    targets = result["targets"]
    slow = result["ratios"]["per_link"]["270kbps"]
    camera = targets["edge_only_camera_jpeg_over_agilenn_270kbps"]
    assert camera["value"] == slow["edge_only_camera_jpeg_over_agilenn"] and camera["met"] == (camera["value"] >= 2.5)
    assert targets["edge_only_over_agilenn_270kbps"]["value"] == slow["edge_only_over_agilenn"]
    assert result["ratios"]["per_link"]["6Mbps"]["edge_only_over_agilenn"] == result["ratios"]["edge_only_over_agilenn"]
    for q in (50, 75, 90):     # the camera twin: same JPEG bytes and accuracy, no device time
        sw, hw = rows[f"edge-only-jpeg-q{q}"], rows[f"edge-only-camera-jpeg-q{q}"]
        assert hw["device"]["ms"] == 0.0 and sw["device"]["ms"] > 0
        assert hw["bytes_per_frame"] == sw["bytes_per_frame"] and hw["accuracy"] == sw["accuracy"]
        assert hw["latency_ms"]["6Mbps"]["total_ms"] == pytest.approx(sw["latency_ms"]["6Mbps"]["total_ms"]
                                                                      - sw["device"]["ms"])
    e2e = targets["agilenn_e2e_ms_6mbps"]
    assert e2e["value"] == result["ratios"]["reference_total_ms"] and e2e["met"] == (e2e["value"] <= 10.0)
    local = targets["local_only_over_agilenn"]
    assert local["value"] == result["ratios"]["local_only_over_agilenn"] and local["met"] == (local["value"] >= 5.0)
    assert "Targets" in (tmp_path / "BENCH.md").read_text()
    assert rows["all-channels-rans"]["index_agreement_with_device_onnx"] > 0.98
    for scheme in ("agilenn", "all-channels", "split"):   # codecs are lossless: one accuracy per scheme
        assert len({rows[f"{scheme}-{c}"]["accuracy"] for c in ("rans", "packed", "lzw")}) == 1
    md = (tmp_path / "BENCH.md").read_text()
    assert "| agilenn-rans |" in md and "## Assumptions" in md
    assert len(list((tmp_path / "plots").glob("*.png"))) == 2


def test_bench_reports_missing_baselines(tmp_path: Path, digits_bundle: Path) -> None:
    empty = tmp_path / "none"
    empty.mkdir()
    result = _bench(tmp_path, digits_bundle, empty, ["--jpeg-encoder", str(tmp_path / "no-such.json")])
    _check_shape(result)
    jpeg_row = next(r for r in result["schemes"] if r["name"] == "edge-only-jpeg-q75")
    assert "assumed" in jpeg_row["device"]["source"] and result["device_model"]["jpeg_encoder"] is None
    assert {m["scheme"] for m in result["missing"]} == {"edge-only", "edge-only-camera", "local-only", "split"}
    assert all("agilenn train-baseline" in m["reason"] or "export-baseline" in m["reason"] for m in result["missing"])
    assert all(result["ratios"][k] is None for k in RATIOS)
    assert result["targets"]["edge_only_over_agilenn"]["met"] is None
    edge_raw = next(r for r in result["schemes"] if r["name"] == "edge-only-raw")
    assert not edge_raw["available"] and edge_raw["accuracy"] is None and edge_raw["bytes_per_frame"]["mean"] > 0
    assert "Missing baselines" in (tmp_path / "BENCH.md").read_text()


def test_firmware_report_layouts() -> None:
    """firmware_report.py's layout is read exactly; other layouts by key names."""
    from agilenn_ros.bench.firmware import parse_firmware_report
    known = {"flash_bytes": 40000, "ram_bytes": 90000, "instructions_per_frame": 160000,
             "budgets": {"instructions_per_frame": 2000000, "flash_bytes": 131072},
             "per_frame": [{"name": "test_image_0", "insn_extract": 110000, "insn_encode": 30000,
                            "insn_encode_packed": 5000},
                           {"name": "test_image_1", "insn_extract": 130000, "insn_encode": 30000,
                            "insn_encode_packed": 5000},
                           {"name": "synthetic_0", "insn_extract": 1, "insn_encode": 1}]}
    figures = parse_firmware_report(known)
    assert figures.extract_instructions == 120000 and figures.instructions_per_frame == 150000
    assert figures.encode_instructions == {"rans": 30000, "packed": 5000}
    assert (figures.flash_bytes, figures.ram_bytes) == (40000, 90000)
    other = {"frames": {"instructions": {"mean": 150000, "min": 149000, "max": 151000}},
             "stages": {"extract_instructions": 120000, "encode_rans_instructions": 30000},
             "sizes": {"flash_bytes": 40000, "ram_bytes": 120000}}
    figures = parse_firmware_report(other)
    assert figures.instructions_per_frame == 150000 and figures.extract_instructions == 120000
    assert figures.encode_instructions == {"rans": 30000} and figures.flash_bytes == 40000


JPEG_REPORT = {"library": {"name": "libjpeg-turbo", "version": "2.1.5", "debian_source_version": "1:2.1.5-2"},
               "frames": {"width": 96, "height": 96, "count": 4}, "counting_method": "tcg-plugin",
               "instructions_per_frame": {"50": 1_350_000, "75": 1_360_000, "90": 1_380_000},
               "instructions_per_frame_ifast": {"50": 1_250_000}, "byte_identical_to_opencv": {"50": True},
               "heap_peak_bytes": 29000, "stack_peak_bytes": 1600, "code": {"flash_bytes": 67000}}


def test_jpeg_report_figures() -> None:
    from agilenn_ros.bench.jpeg_encoder import JpegReportError, parse_jpeg_report
    figures = parse_jpeg_report(JPEG_REPORT, "jpeg_m7.json")
    assert figures.instructions == {50: 1_350_000, 75: 1_360_000, 90: 1_380_000}
    exact, how = figures.instructions_for(75, 96, 96)
    assert exact == 1_360_000 and how.startswith("measured: libjpeg-turbo 2.1.5") and "scaled" not in how
    scaled, how = figures.instructions_for(50, 32, 32)
    assert scaled == pytest.approx(1_350_000 * 32 * 32 / (96 * 96)) and "scaled by pixels" in how
    nearest, how = figures.instructions_for(60, 96, 96)
    assert nearest == 1_350_000 and "q60 not measured" in how and "q50" in how
    assert "libjpeg-turbo 2.1.5 (Debian 1:2.1.5-2)" == figures.library
    for broken, message in (({**JPEG_REPORT, "instructions_per_frame": {}}, "non-empty"),
                            ({**JPEG_REPORT, "instructions_per_frame": {"120": 5}}, "1..100"),
                            ({**JPEG_REPORT, "frames": {"width": 0, "height": 96, "count": 1}}, "frames"),
                            ([1, 2], "JSON object")):
        with pytest.raises(JpegReportError, match=message):
            parse_jpeg_report(broken, "x.json")


def test_committed_jpeg_report_is_complete() -> None:
    """results/jpeg_m7.json (make jpeg-report) holds what the bench and BENCHMARKS.md need."""
    from agilenn_ros.bench.jpeg_encoder import load_jpeg_report
    path = Path(__file__).resolve().parents[1] / "results" / "jpeg_m7.json"
    figures = load_jpeg_report(path)
    assert figures is not None, f"{path} missing: run make jpeg-report"
    assert set(figures.instructions) == {50, 75, 90} and (figures.width, figures.height) == (96, 96)
    assert all(figures.byte_identical_to_opencv.get(q) for q in (50, 75, 90))
    data = json.loads(path.read_text())
    assert data["library"]["version"] and "-O2" in data["flags"] and "cortex-m7" in data["flags"]
    assert data["heap_peak_bytes"] > 0 and data["stack_peak_bytes"] > 0 and data["code"]["flash_bytes"] > 0
    # instructions per frame = the mean of the per-frame counts it was made from
    for q in ("50", "75", "90"):
        counts = [r["instructions"] for r in data["per_frame"] if r["dct"] == "islow" and r["quality"] == int(q)]
        assert len(counts) == data["frames"]["count"]
        assert data["instructions_per_frame"][q] == pytest.approx(sum(counts) / len(counts))


def test_firmware_report_calibrates_device_times(tmp_path: Path, digits_bundle: Path) -> None:
    report = {"flash_bytes": 40000, "ram_bytes": 90000, "instructions_per_frame": 151000,
              "per_frame": [{"name": "test_image_0", "icount_extract": 120000, "icount_encode": 30000}]}
    path = tmp_path / "firmware.json"
    path.write_text(json.dumps(report))
    jpeg = tmp_path / "jpeg_m7.json"
    jpeg.write_text(json.dumps(JPEG_REPORT))
    result = _bench(tmp_path, digits_bundle, tmp_path / "none", ["--firmware", str(path), "--jpeg-encoder", str(jpeg)])
    rows = {r["name"]: r for r in result["schemes"]}
    h, w = result["model"]["input_hw"]
    for q, instructions in ((50, 1_350_000), (90, 1_380_000)):   # measured per pixel, scaled to this model's frame
        device = rows[f"edge-only-jpeg-q{q}"]["device"]
        assert device["ms"] == pytest.approx(1e3 * instructions * h * w / (96 * 96) / 216e6)
        assert "measured" in device["source"] and device["encoder_heap_bytes"] == 29000
    assert result["device_model"]["jpeg_encoder"]["library"].startswith("libjpeg-turbo 2.1.5")
    assert any("measured: libjpeg-turbo 2.1.5" in a for a in result["assumptions"])
    jpeg.write_text("{broken")
    from agilenn_ros.cli import main
    assert main(["bench", "--quick", "--model", str(digits_bundle), "--baselines", str(tmp_path / "none"),
                 "--json", str(tmp_path / "x.json"), "--jpeg-encoder", str(jpeg)]) != 0
    agilenn = rows["agilenn-rans"]
    assert agilenn["device"]["ms"] == pytest.approx(1e3 * 150000 / 216e6)
    assert agilenn["device"]["firmware_instructions_per_frame"] == 150000
    assert agilenn["device"]["firmware_flash_bytes"] == 40000
    assert "firmware" in result["device_model"]["cycles_per_mac_source"]
    assert result["device_model"]["cycles_per_mac"] == pytest.approx(120000 / agilenn["device"]["macs"])
    symbols = int(np.prod(result["model"]["remote_shape"]))
    assert result["device_model"]["codec_cycles_per_symbol"]["rans"] == pytest.approx(30000 / symbols)
    assert rows["agilenn-packed"]["device"]["compute_ms"] == pytest.approx(1e3 * 120000 / 216e6)


def test_a_firmware_report_of_another_model_is_not_used(tmp_path: Path, digits_bundle: Path, capsys) -> None:
    """A report measured on another bundle (make firmware-report not re-run) would give this model
    another model's device time, flash and RAM: it is named and set aside, a matching one is used."""
    from agilenn_ros.runtime.bundle import load_bundle
    own_hash = load_bundle(digits_bundle).model_hash
    report = {"flash_bytes": 40000, "ram_bytes": 90000, "instructions_per_frame": 151000,
              "per_frame": [{"name": "test_image_0", "icount_extract": 120000, "icount_encode": 30000}],
              "model": {"model_hash": "0badc0de"}}
    path = tmp_path / "firmware.json"
    path.write_text(json.dumps(report))
    result = _bench(tmp_path, digits_bundle, tmp_path / "none", ["--firmware", str(path)])
    assert result["firmware"] is None
    assert "measured on model 0badc0de, not on this bundle" in result["firmware_ignored"]
    assert "0badc0de" in capsys.readouterr().err
    assert any(a.startswith("Firmware report not used:") for a in result["assumptions"])
    assert "firmware" not in result["device_model"]["cycles_per_mac_source"]
    report["model"]["model_hash"] = own_hash
    path.write_text(json.dumps(report))
    result = _bench(tmp_path, digits_bundle, tmp_path / "none", ["--firmware", str(path)])
    assert result["firmware"]["model_hash"] == own_hash and result["firmware_ignored"] is None
    assert "firmware" in result["device_model"]["cycles_per_mac_source"]


def test_bench_quick_on_cifar(tmp_path: Path, cifar_bundle: Path) -> None:
    if not (SHARED_CIFAR / "test.tar.gz").is_file():
        pytest.skip("CIFAR-10 data not present")
    result = _bench(tmp_path, cifar_bundle, cifar_bundle.parent / "baselines", ["--data", str(SHARED_CIFAR)])
    _check_shape(result)
    assert result["data"]["images"] == 500 and result["data"]["input_resolution"] == [96, 96]


def test_bench_runtime_does_not_import_torch() -> None:
    code = ("import sys, agilenn_ros.bench.run, agilenn_ros.bench.plots, agilenn_ros.baseline_config; "
            "assert 'torch' not in sys.modules, 'torch imported'")
    proc = subprocess.run([PYTHON, "-c", code], capture_output=True, text=True, env=python_env(), timeout=60)
    assert proc.returncode == 0, proc.stderr


def test_export_baseline_refuses_a_checkpoint_of_another_architecture(baseline_runs: Path, tmp_path: Path,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    """The digits local network (widths 8/16/32) is not the split network (16/32/64): exporting
    it as split names the fields that differ instead of loading mismatched weights."""
    from agilenn_ros.cli import main
    rc = main(["export-baseline", str(baseline_runs / "local" / "best.pt"), "--out", str(tmp_path / "split"),
               "--kind", "split"])
    err = capsys.readouterr().err
    assert rc != 0 and not (tmp_path / "split" / "manifest.json").exists()
    assert "the local checkpoint's network differs from the split network of baseline profile digits" in err
    assert "(checkpoint vs profile: widths (8, 16, 32) vs (16, 32, 64))" in err and "Traceback" not in err
