"""eval-bag and make-bag: every image encoding, both storages, FeatureFrame bags with
recorded predictions, corrupt frames and corrupt bags (digits bundle, ~30 images)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import PYTHON, python_env

N_IMAGES = 30
LOSSLESS = ("rgb8", "bgr8", "mono8", "rgba8", "bgra8", "png")


@pytest.fixture(scope="module")
def bundle(digits_bundle: Path):
    from agilenn_ros.runtime.bundle import load_bundle
    return load_bundle(digits_bundle)


@pytest.fixture(scope="module")
def images():
    from agilenn_ros.bag.make_bag import select_images
    from agilenn_ros.data import load_split
    return select_images(load_split("digits", "test"), N_IMAGES)


@pytest.fixture(scope="module")
def reference(bundle, images) -> dict:
    from agilenn_ros.runtime.evaluate import evaluate_bundle
    return evaluate_bundle(bundle, images.images, images.labels, progress=False, threads=1)


def _evaluate(bag: Path, bundle, **kwargs):
    from agilenn_ros.bag.eval_bag import evaluate_bag
    return evaluate_bag(bag, bundle, progress=False, threads=1, **kwargs)


def test_cli_args_match_the_writers() -> None:
    from agilenn_ros.bag import cli_args
    from agilenn_ros.bag.bag_writer import STORAGES
    from agilenn_ros.runtime.ros_images import IMAGE_ENCODINGS
    assert set(cli_args.RAW_ENCODINGS) == set(IMAGE_ENCODINGS)
    assert set(cli_args.STORAGE_NAMES) == set(STORAGES)


@pytest.mark.parametrize("storage", ["mcap", "sqlite3"])
@pytest.mark.parametrize("encoding", ["rgb8", "bgr8", "mono8", "rgba8", "bgra8", "jpeg", "png"])
def test_every_encoding_and_storage_matches_evaluate(tmp_path: Path, bundle, images, reference, storage: str,
                                                     encoding: str) -> None:
    from agilenn_ros.bag.make_bag import write_eval_bag
    bag = tmp_path / "bag"
    made = write_eval_bag(images, bag, storage=storage, encoding=encoding, start_ns=1_700_000_000_000_000_000)
    assert made.frames == N_IMAGES
    assert (bag / "metadata.yaml").is_file()
    assert "version: 9" in (bag / "metadata.yaml").read_text()
    report, records = _evaluate(bag, bundle)
    assert report["frames"] == report["predicted"] == report["labelled"] == N_IMAGES
    assert report["errors"] == {}
    assert report["source"]["kind"] == "image"
    assert report["source"]["topic"] == ("/camera/image_raw/compressed" if encoding in ("jpeg", "png")
                                         else "/camera/image_raw")
    assert [r.stamp_ns for r in records] == made.stamps_ns
    if encoding in LOSSLESS:      # digits are grey, so mono8 is lossless too
        for key in ("accuracy", "local_accuracy", "remote_accuracy"):
            assert report[key] == reference[key], key
        assert report["payload_bytes"]["mean"] == pytest.approx(reference["payload_bytes"]["rans"]["mean"])
    else:
        assert abs(report["accuracy"] - reference["accuracy"]) <= 0.15
    assert report["payload_bytes"]["max"] >= report["payload_bytes"]["median"] > 0
    for stage in ("device", "decode", "remote"):
        assert set(report["times_ms"][stage]) >= {"mean", "p50", "p99"}


@pytest.mark.parametrize("storage", ["mcap", "sqlite3"])
def test_metadata_version_8(tmp_path: Path, bundle, images, reference, storage: str) -> None:
    from agilenn_ros.bag.make_bag import write_eval_bag
    bag = tmp_path / "bag"
    write_eval_bag(images, bag, storage=storage, encoding="rgb8", version=8)
    assert "version: 8" in (bag / "metadata.yaml").read_text()
    report, _ = _evaluate(bag, bundle)
    assert report["frames"] == N_IMAGES and report["accuracy"] == reference["accuracy"]


def test_any_resolution_and_cli(tmp_path: Path, digits_bundle: Path, images) -> None:
    """make-bag / eval-bag through the command line, images resized to 40x30, sqlite3."""
    from agilenn_ros.cli import main
    bag, out = tmp_path / "bag", tmp_path / "report"
    assert main(["make-bag", "digits", "--out", str(bag), "--limit", "12", "--storage", "sqlite3",
                 "--encoding", "bgr8", "--resize", "40x30"]) == 0
    assert main(["eval-bag", str(bag), "--model", str(digits_bundle), "--report", str(out),
                 "--no-progress"]) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["frames"] == 12 and report["resolutions"] == {"40x30": 12}
    assert {"accuracy", "local_accuracy", "remote_accuracy", "payload_bytes", "times_ms", "errors"} <= set(report)
    for name in ("report.md", "frames.csv", "confusion_matrix.png", "payload_histogram.png",
                 "latency_breakdown.png"):
        assert (out / name).stat().st_size > 0, name
    # --limit, and a bag without labels: no accuracy
    bag2 = tmp_path / "nolabels"
    assert main(["make-bag", "digits", "--out", str(bag2), "--limit", "5", "--labels-topic", ""]) == 0
    assert main(["eval-bag", str(bag2), "--model", str(digits_bundle), "--report", str(out / "b"),
                 "--no-progress", "--no-plots", "--limit", "3"]) == 0
    report = json.loads((out / "b" / "report.json").read_text())
    assert report["frames"] == 3 and "accuracy" not in report


def _feature_bag(path: Path, bundle, images, storage: str, corrupt: set[int], wrong_hash: set[int],
                 record_predictions: bool) -> list[int]:
    """FeatureFrames from DevicePipeline (as a device records them) plus the edge's Predictions."""
    from agilenn_ros.bag.bag_writer import BagWriter
    from agilenn_ros.bag.make_bag import label_message
    from agilenn_ros.runtime.device_pipeline import DevicePipeline
    from agilenn_ros.runtime.edge_pipeline import EdgePipeline
    from agilenn_ros.transport.msgtypes import new_message
    device, edge = DevicePipeline(bundle, threads=1), EdgePipeline(bundle, threads=1)
    stamps = []
    with BagWriter(path, storage) as bag:
        for i in range(len(images)):
            stamp = 1_700_000_000_000_000_000 + i * 100_000_000
            header = {"stamp": divmod(stamp, 1_000_000_000), "frame_id": "camera"}
            result = device.process(images.images[i])
            payload = result.payload[: len(result.payload) // 2] if i in corrupt else result.payload
            c, h, w = result.indices.shape
            frame = new_message("agilenn_ros/msg/FeatureFrame", header=header, device_id="mcu0", sequence=i,
                                model_hash=bundle.model_hash_u32 ^ (1 if i in wrong_hash else 0),
                                channels=c, height=h, width=w, codec=result.codec_id, payload=payload,
                                local_logits=result.local_logits, device_compute_us=1234)
            bag.write("/agilenn/features", frame, stamp)
            bag.write("/ground_truth", label_message(str(int(images.labels[i])), stamp, "camera"), stamp)
            if record_predictions and i not in wrong_hash:
                pred = edge.process(result.codec_id, payload, (c, h, w), result.local_logits)
                bag.write("/agilenn/prediction", new_message(
                    "agilenn_ros/msg/Prediction", header=header, device_id="mcu0", sequence=i,
                    class_id=pred.class_id, label=pred.label, confidence=pred.confidence, scores=pred.scores,
                    remote_used=pred.remote_used, payload_bytes=len(payload)), stamp + 5_000_000)
            stamps.append(stamp)
    return stamps


@pytest.mark.parametrize("storage", ["mcap", "sqlite3"])
def test_feature_frame_bag_agrees_with_recorded_predictions(tmp_path: Path, bundle, images, reference,
                                                            storage: str) -> None:
    bag = tmp_path / "features"
    _feature_bag(bag, bundle, images, storage, corrupt=set(), wrong_hash=set(), record_predictions=True)
    report, _ = _evaluate(bag, bundle)
    assert report["source"]["kind"] == "features"
    assert report["frames"] == report["predicted"] == N_IMAGES
    assert report["agreement"] == {"rate": 1.0, "compared": N_IMAGES}
    assert report["accuracy"] == reference["accuracy"]
    assert report["errors"] == {}
    assert report["times_ms"]["device"]["mean"] == pytest.approx(1.234)


def test_corrupt_payloads_and_model_hash_are_counted(tmp_path: Path, bundle, images) -> None:
    bag = tmp_path / "features"
    _feature_bag(bag, bundle, images, "mcap", corrupt={3, 7}, wrong_hash={11}, record_predictions=True)
    report, records = _evaluate(bag, bundle)
    assert report["frames"] == N_IMAGES
    assert report["predicted"] == N_IMAGES - 1            # the wrong-hash frame is rejected
    assert report["local_only"] == 2                      # corrupt payloads fall back to local
    assert sum(report["errors"].values()) == 3
    assert report["errors"]["model_hash_mismatch"] == 1
    assert report["labels"]["without_prediction"] == 1
    assert set(report["errors"]) - {"model_hash_mismatch"} <= {"truncated_payload", "corrupt_payload",
                                                                "oversized_payload", "shape_mismatch"}
    assert report["agreement"]["rate"] == 1.0             # the edge node fell back the same way
    by_index = {(r.stamp_ns - 1_700_000_000_000_000_000) // 100_000_000: r for r in records}
    assert not by_index[3].remote_used and not by_index[7].remote_used and 11 not in by_index
    assert all(r.remote_used for i, r in by_index.items() if i not in (3, 7))


def test_corrupt_image_message_is_counted_not_fatal(tmp_path: Path, bundle, images) -> None:
    from agilenn_ros.bag.bag_writer import BagWriter
    from agilenn_ros.bag.make_bag import image_message
    from agilenn_ros.transport.msgtypes import new_message
    bag = tmp_path / "bag"
    with BagWriter(bag, "sqlite3") as writer:
        for i in range(6):
            stamp = 1_700_000_000_000_000_000 + i
            writer.write("/cam", image_message(images.images[i], "rgb8", stamp, "cam", 95), stamp)
        writer.write_raw("/cam", "sensor_msgs/msg/Image", b"\x00\x01\x00\x00garbage", 1_700_000_000_000_000_010)
        bad = new_message("sensor_msgs/msg/Image", header={"stamp": (1, 0)}, height=8, width=8, encoding="rgb8",
                          step=24, data=np.zeros(10, dtype=np.uint8))
        writer.write("/cam", bad, 1_700_000_000_000_000_011)
        odd = new_message("sensor_msgs/msg/Image", header={"stamp": (2, 0)}, height=2, width=2, encoding="16UC1",
                          step=4, data=np.zeros(8, dtype=np.uint8))
        writer.write("/cam", odd, 1_700_000_000_000_000_012)
        jpeg = new_message("sensor_msgs/msg/CompressedImage", header={"stamp": (3, 0)}, format="jpeg",
                           data=np.frombuffer(b"not a jpeg", dtype=np.uint8))
        writer.write("/cam/compressed", jpeg, 1_700_000_000_000_000_013)
    report, _ = _evaluate(bag, bundle)
    assert report["frames"] == 9 and report["predicted"] == 6
    assert report["errors"] == {"undecodable_message": 1, "undecodable_image": 1, "unsupported_encoding": 1}
    assert "also present: /cam/compressed" in report["source"]["note"]
    report, _ = _evaluate(bag, bundle, image_topic="/cam/compressed")
    assert report["frames"] == 1 and report["predicted"] == 0 and report["errors"] == {"undecodable_image": 1}


def _cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    from agilenn_ros.cli import main
    rc = main(argv)
    return rc, capsys.readouterr().err


def test_bags_that_cannot_be_opened_exit_2(tmp_path: Path, digits_bundle: Path, images,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    from agilenn_ros.bag.make_bag import write_eval_bag
    good = tmp_path / "good"
    write_eval_bag(images.subset(slice(0, 5)), good)
    mcap = next(good.glob("*.mcap"))
    truncated = tmp_path / "truncated"
    truncated.mkdir()
    (truncated / "metadata.yaml").write_bytes((good / "metadata.yaml").read_bytes())
    (truncated / mcap.name).write_bytes(mcap.read_bytes()[: mcap.stat().st_size // 2])
    garbage = tmp_path / "garbage.mcap"
    garbage.write_bytes(os.urandom(4096))
    notabag = tmp_path / "notes.txt"
    notabag.write_text("hello")
    empty = tmp_path / "empty"
    empty.mkdir()
    cases = {truncated: "truncated", truncated / mcap.name: "truncated", garbage: "corrupt",
             notabag: "not a rosbag2 bag", tmp_path / "missing": "no such file", empty: "not a rosbag2 bag"}
    for path, words in cases.items():
        rc, err = _cli(["eval-bag", str(path), "--model", str(digits_bundle), "--report", str(tmp_path / "r"),
                        "--no-progress"], capsys)
        assert rc == 2, path
        assert err.count("agilenn eval-bag: error:") == 1 and words in err and "Traceback" not in err, err
    # the same through a real process
    proc = subprocess.run([PYTHON, "-m", "agilenn_ros.cli", "eval-bag", str(garbage), "--model", str(digits_bundle),
                           "--report", str(tmp_path / "r")], capture_output=True, text=True, env=python_env(),
                          timeout=60)
    assert proc.returncode == 2 and "cannot open bag" in proc.stderr and "Traceback" not in proc.stderr
    # a bare .mcap file (no metadata.yaml) is a valid bag
    rc, _ = _cli(["eval-bag", str(mcap), "--model", str(digits_bundle), "--report", str(tmp_path / "r2"),
                  "--no-progress", "--no-plots"], capsys)
    assert rc == 0


def test_topic_errors_are_clear(tmp_path: Path, bundle, images) -> None:
    from agilenn_ros.bag.bagio import BagError
    from agilenn_ros.bag.make_bag import write_eval_bag
    bag = tmp_path / "bag"
    write_eval_bag(images.subset(slice(0, 3)), bag)
    with pytest.raises(BagError, match="no topic /nope"):
        _evaluate(bag, bundle, image_topic="/nope")
    with pytest.raises(BagError, match="expected agilenn_ros/msg/FeatureFrame"):
        _evaluate(bag, bundle, features_topic="/camera/image_raw")
    labels_only = tmp_path / "labels"
    write_eval_bag(images.subset(slice(0, 3)), labels_only, topic="/x")
    with pytest.raises(BagError, match="no topic /camera"):
        _evaluate(labels_only, bundle, image_topic="/camera/image_raw")


def test_eval_bag_runtime_does_not_import_torch() -> None:
    code = ("import sys, agilenn_ros.bag.eval_bag, agilenn_ros.bag.make_bag, agilenn_ros.bag.plots, "
            "agilenn_ros.cli; agilenn_ros.cli.build_parser(); assert 'torch' not in sys.modules, 'torch imported'")
    proc = subprocess.run([PYTHON, "-c", code], capture_output=True, text=True, env=python_env(), timeout=60)
    assert proc.returncode == 0, proc.stderr


def test_launch_file_arguments(repo_root: Path) -> None:
    """launch/eval_bag.launch.py declares the documented arguments (checked without ROS; with
    ROS 2 installed the launch description is built too)."""
    import ast
    import importlib.util
    path = repo_root / "launch" / "eval_bag.launch.py"
    tree = ast.parse(path.read_text())
    arguments = next(ast.literal_eval(node.value) for node in ast.walk(tree)
                     if isinstance(node, ast.AnnAssign) and getattr(node.target, "id", "") == "ARGUMENTS")
    declared = {name: (default, description, choices) for name, default, description, choices in arguments}
    assert {"bag", "model", "image_topic", "image_transport", "out", "namespace", "rate"} <= set(declared)
    assert declared["namespace"][0] == "agilenn" and declared["image_transport"][2] == ["raw", "compressed"]
    assert all(description for _, description, _ in declared.values())
    source = path.read_text()
    for needle in ("agilenn_device", "agilenn_edge", '"source": "topic"', '"bag", "record"', '"bag", "play"',
                   "OnProcessExit", "Shutdown"):
        assert needle in source, needle
    if importlib.util.find_spec("launch") is None or importlib.util.find_spec("launch_ros") is None:
        return
    spec = importlib.util.spec_from_file_location("eval_bag_launch", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    description = module.generate_launch_description()
    names = {a.name for a in description.get_launch_arguments()}
    assert set(declared) == names
