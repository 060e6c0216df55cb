"""Camera images and bags as robots produce them (issue 10): every camera encoding in one
module, topic choice among usable topics, zero/duplicate stamps, labels that match nothing,
frames read against the declared counts, bare storage files of message-compressed bags.

Inputs are made here: the bundled CIFAR-10 sample images, rosbags writers, the cifar10 bundle."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

N = 40
T0 = 1_700_000_000_000_000_000
PERIOD = 100_000_000                     # 10 Hz


@pytest.fixture(scope="module")
def images():
    from agilenn_ros.bag.make_bag import select_images
    from agilenn_ros.data import load_split
    from agilenn_ros.runtime.frame_sources import sample_images_dir
    return select_images(load_split(sample_images_dir(), "test"), N)


@pytest.fixture(scope="module")
def bundle(cifar_bundle: Path):
    from agilenn_ros.runtime.bundle import load_bundle
    return load_bundle(cifar_bundle)


@pytest.fixture(scope="module")
def reference(bundle, images) -> np.ndarray:
    """Per-image predictions of ``agilenn evaluate``'s code path on the original images."""
    from agilenn_ros.runtime.evaluate import evaluate_bundle
    result = evaluate_bundle(bundle, images.images, images.labels, progress=False, threads=1)
    return result


def _evaluate(bag: Path, bundle, **kwargs):
    from agilenn_ros.bag.eval_bag import evaluate_bag
    return evaluate_bag(bag, bundle, progress=False, threads=1, **kwargs)


def _write(path: Path, images, *, encoding: str = "rgb8", stamps=None, label_stamps=None, bag_times=None,
           label_times=None, labels=None, topic: str = "/camera/image_raw", storage: str = "mcap",
           compression: str = "", extra=None) -> Path:
    """A bag with one image topic and /ground_truth; every time is choosable per message."""
    from agilenn_ros.bag.bag_writer import BagWriter
    from agilenn_ros.bag.make_bag import image_message, label_message
    n = len(images)
    stamps = [T0 + i * PERIOD for i in range(n)] if stamps is None else stamps
    label_stamps = stamps if label_stamps is None else label_stamps
    bag_times = [T0 + i * PERIOD + 3_000_000 for i in range(n)] if bag_times is None else bag_times
    label_times = [t + 1_000_000 for t in bag_times] if label_times is None else label_times
    names = [images.class_names[int(c)] for c in images.labels] if labels is None else labels
    with BagWriter(path, storage, compression=compression) as bag:
        for i in range(n):
            bag.write(topic, image_message(images.images[i], encoding, stamps[i], "camera", 95), bag_times[i])
            if names[i] is not None:
                bag.write("/ground_truth", label_message(names[i], label_stamps[i], "camera"), label_times[i])
        if extra is not None:
            extra(bag)
    return path


# ------------------------------------------------------------------------------ encodings


def test_every_encoding_round_trips_through_the_one_module(images) -> None:
    from agilenn_ros.bag import cli_args
    from agilenn_ros.runtime.image_encodings import SUPPORTED_ENCODINGS, image_to_rgb, rgb_to_image_fields
    assert set(cli_args.RAW_ENCODINGS) == set(SUPPORTED_ENCODINGS)
    for needed in ("yuv422", "yuv422_yuy2", "uyvy", "yuyv", "bayer_rggb8", "bayer_bggr8", "bayer_gbrg8", "bayer_grbg8",
                   "8UC1", "8UC3", "8UC4", "mono16", "nv21", "rgb8", "bgra8"):
        assert needed in SUPPORTED_ENCODINGS
    rgb = images.images[:8]
    grey = np.stack([np.repeat((0.299 * im[..., 0] + 0.587 * im[..., 1] + 0.114 * im[..., 2]).round()[..., None], 3, -1)
                     for im in rgb]).astype(np.int16)
    for name in SUPPORTED_ENCODINGS:
        for bigendian in ((False, True) if name.endswith("16") else (False,)):
            errors = []
            for k, im in enumerate(rgb):
                fields = rgb_to_image_fields(im, name, bigendian=bigendian)
                # pad every row by 6 bytes, as drivers aligning rows do
                h, step = int(fields["height"]), int(fields["step"])
                rows = fields["data"].reshape(-1, step)
                padded = np.concatenate([rows, np.full((rows.shape[0], 6), 0xAB, np.uint8)], axis=1)
                back = image_to_rgb(name, h, int(fields["width"]), step + 6, padded.tobytes(), fields["is_bigendian"])
                assert back.shape == im.shape and back.dtype == np.uint8, name
                target = grey[k] if name in ("mono8", "mono16", "8UC1") else im.astype(np.int16)
                errors.append(np.abs(back.astype(np.int16) - target).mean())
            limit = {"bayer": 6.0, "nv21": 2.0, "nv24": 1.0, "yuv422": 1.5, "uyvy": 1.5, "yuyv": 1.5}
            bound = next((v for k, v in limit.items() if name.startswith(k)), 0.6)
            assert np.mean(errors) <= bound, (name, bigendian, np.mean(errors))


def test_bayer_patterns_are_not_confused(images) -> None:
    """The mosaic is built here from the pattern's letters; decoding it as any other pattern
    must be far worse than as its own."""
    from agilenn_ros.runtime.image_encodings import image_to_rgb
    im = images.images[3]
    for pattern in ("rggb", "bggr", "gbrg", "grbg"):
        mosaic = np.empty(im.shape[:2], np.uint8)
        for k, colour in enumerate(pattern):
            dy, dx = divmod(k, 2)
            mosaic[dy::2, dx::2] = im[dy::2, dx::2, "rgb".index(colour)]
        errors = {other: np.abs(image_to_rgb(f"bayer_{other}8", 32, 32, 32, mosaic.tobytes()).astype(int) - im).mean()
                  for other in ("rggb", "bggr", "gbrg", "grbg")}
        assert min(errors, key=errors.get) == pattern, errors


@pytest.mark.parametrize("encoding, why", [("16UC1", "depth"), ("32FC1", "depth"), ("16SC1", "not camera colour"),
                                           ("64FC3", "float"), ("8SC3", "signed"), ("8UC2", "not camera colour"),
                                           ("bayer_rggb32", "Bayer"), ("hsv8", "supported: rgb8")])
def test_refused_by_name(encoding: str, why: str) -> None:
    from agilenn_ros.runtime.image_encodings import UnsupportedEncoding, image_to_rgb
    with pytest.raises(UnsupportedEncoding) as info:
        image_to_rgb(encoding, 2, 2, 0, bytes(64))
    assert repr(encoding) in str(info.value) and why in str(info.value)
    from agilenn_ros.runtime.ros_images import compressed_to_rgb
    with pytest.raises(UnsupportedEncoding, match="depth"):
        compressed_to_rgb("16UC1; compressedDepth png", bytes(20))


@pytest.fixture(scope="module")
def rgb8_predictions(bundle, images, tmp_path_factory) -> list[int]:
    from agilenn_ros.bag.make_bag import write_eval_bag
    bag = tmp_path_factory.mktemp("rgb8") / "bag"
    write_eval_bag(images, bag, encoding="rgb8", start_ns=T0)
    return [r.class_id for r in _evaluate(bag, bundle)[1]]


# lossless layouts: the very same predictions as the original images; chroma-subsampled and
# demosaiced ones: nearly the same (on 1000 CIFAR-10 test images, accuracy moves by -0.4 (YUYV),
# -0.9 (NV21), -1.4 (Bayer) points; 40 images are too few to bound the accuracy itself);
# grey: every frame evaluated
@pytest.mark.parametrize("encoding", ["yuv422_yuy2", "yuv422", "uyvy", "yuyv", "bayer_rggb8", "bayer_bggr8",
                                      "bayer_gbrg16", "bayer_grbg8", "8UC3", "8UC4", "rgba16", "bgr16", "nv21",
                                      "nv24", "8UC1", "mono16"])
def test_eval_bag_every_encoding_family_matches_evaluate(tmp_path: Path, bundle, images, reference,
                                                         rgb8_predictions, encoding: str) -> None:
    from agilenn_ros.bag.make_bag import write_eval_bag
    bag = tmp_path / "bag"
    write_eval_bag(images, bag, encoding=encoding, start_ns=T0, storage="sqlite3" if "16" in encoding else "mcap")
    report, records = _evaluate(bag, bundle)
    assert report["frames"] == report["predicted"] == report["labelled"] == N, report["errors"]
    assert report["errors"] == {} and report["encodings"] == {encoding: N}
    if encoding in ("8UC1", "mono16"):
        return
    agreement = np.mean([r.class_id == p for r, p in zip(records, rgb8_predictions)])
    if encoding in ("8UC3", "8UC4", "rgba16", "bgr16"):
        assert agreement == 1.0 and report["accuracy"] == reference["accuracy"]
    else:
        assert agreement >= 0.85, agreement


def test_cli_make_bag_and_eval_bag_yuyv(tmp_path: Path, cifar_bundle: Path, capsys) -> None:
    from agilenn_ros.cli import main
    from agilenn_ros.runtime.frame_sources import sample_images_dir
    bag = tmp_path / "bag"
    assert main(["make-bag", str(sample_images_dir()), "--out", str(bag), "--limit", "10", "--encoding",
                 "yuv422_yuy2", "--compression", "message"]) == 0
    assert main(["eval-bag", str(bag), "--model", str(cifar_bundle), "--report", str(tmp_path / "r"),
                 "--no-progress", "--no-plots"]) == 0
    err = capsys.readouterr().err
    assert "10/10 frames" in err and "accuracy" in err and "unsupported" not in err


# ------------------------------------------------------------------------------ topic choice


def test_realsense_layout_chooses_the_colour_topic(tmp_path: Path, bundle, images, reference, capsys) -> None:
    from agilenn_ros.bag.make_bag import image_message

    def depth(bag) -> None:
        for i in range(N + 1):
            stamp = T0 + i * PERIOD
            msg = image_message(images.images[i % N], "mono16", stamp, "depth", 95)
            msg.encoding = "16UC1"
            bag.write("/camera/aligned_depth_to_color/image_raw", msg, stamp + 2_000_000)
    bag = _write(tmp_path / "rs", images, topic="/camera/color/image_raw", extra=depth)
    report, _ = _evaluate(bag, bundle)
    assert report["source"]["topic"] == "/camera/color/image_raw"
    assert report["frames"] == report["labelled"] == N and report["accuracy"] == reference["accuracy"]
    note = report["source"]["note"]
    assert "chose /camera/color/image_raw" in note and "/camera/aligned_depth_to_color/image_raw" in note
    assert "'16UC1'" in note and "depth" in note
    from agilenn_ros.cli import main
    assert main(["eval-bag", str(bag), "--model", str(bundle.path), "--report", str(tmp_path / "r"),
                 "--no-progress", "--no-plots"]) == 0
    err = capsys.readouterr().err
    assert "eval-bag: chose /camera/color/image_raw" in err and "16UC1" in err
    # the depth topic asked for by name: nothing evaluated, one named reason, exit 1
    rc = main(["eval-bag", str(bag), "--model", str(bundle.path), "--report", str(tmp_path / "r2"),
               "--no-progress", "--image-topic", "/camera/aligned_depth_to_color/image_raw"])
    err = capsys.readouterr().err
    assert rc == 1 and "Traceback" not in err
    assert err.count("agilenn eval-bag: error:") == 1 and "'16UC1'" in err and "depth" in err


def test_depth_only_bag_is_refused(tmp_path: Path, bundle, images, capsys) -> None:
    from agilenn_ros.bag.bagio import BagError
    from agilenn_ros.bag.make_bag import image_message

    def floats(bag) -> None:
        msg = image_message(images.images[0], "rgba8", T0, "depth", 95)   # 4 bytes per pixel, as 32FC1
        msg.encoding = "32FC1"
        bag.write("/depth/image", msg, T0)
    from agilenn_ros.bag.bag_writer import BagWriter
    bag = _write(tmp_path / "d", images.subset(slice(0, 3)), encoding="mono16", topic="/ir/image", extra=floats)
    report, _ = _evaluate(bag, bundle)                 # mono16 (infrared) is grey: usable
    assert report["source"]["topic"] == "/ir/image"
    only_depth = tmp_path / "only"
    with BagWriter(only_depth) as writer:
        floats(writer)
    with pytest.raises(BagError, match="no usable image.*32FC1.*depth"):
        _evaluate(only_depth, bundle)
    from agilenn_ros.cli import main
    rc = main(["eval-bag", str(only_depth), "--model", str(bundle.path), "--report", str(tmp_path / "r"),
               "--no-progress"])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and "32FC1" in err


# ------------------------------------------------------------------------------ stamps


def test_zero_stamps_fall_back_to_receive_time(tmp_path: Path, bundle, images, reference, capsys) -> None:
    bag = _write(tmp_path / "zero", images, stamps=[0] * N)
    report, _ = _evaluate(bag, bundle)
    assert report["labels"]["pairing"] == "receive_time"
    assert report["labelled"] == N and report["accuracy"] == reference["accuracy"]
    assert "40 of 40 frame stamps are 0" in report["labels"]["note"]
    assert "received closest" in report["labels"]["note"]
    # a frame whose label was never recorded stays unlabelled instead of borrowing a neighbour's
    names = [images.class_names[int(c)] for c in images.labels]
    names[7] = None
    report, records = _evaluate(_write(tmp_path / "gap", images, stamps=[0] * N, labels=names), bundle)
    assert report["labelled"] == N - 1
    expected = [int(c) for c in images.labels]
    assert all(r.label == expected[i] for i, r in enumerate(records) if i != 7) and records[7].label == -1
    from agilenn_ros.cli import main
    assert main(["eval-bag", str(bag), "--model", str(bundle.path), "--report", str(tmp_path / "r"),
                 "--no-progress", "--no-plots"]) == 0
    assert "paired each frame with the label received closest" in capsys.readouterr().err


def test_duplicate_stamps_and_identical_receive_times_pair_in_order(tmp_path: Path, bundle, images, reference) -> None:
    stamps = [T0 + (i // 2) * PERIOD for i in range(N)]          # every stamp twice
    report, _ = _evaluate(_write(tmp_path / "dup", images, stamps=stamps), bundle)
    assert report["labels"]["pairing"] == "receive_time" and "repeat another" in report["labels"]["note"]
    assert report["accuracy"] == reference["accuracy"] and report["labelled"] == N
    same = [T0] * N                                               # one bag time for everything
    report, _ = _evaluate(_write(tmp_path / "same", images, stamps=[0] * N, bag_times=same, label_times=same), bundle)
    assert report["labels"]["pairing"] == "order" and report["accuracy"] == reference["accuracy"]
    names = [images.class_names[int(c)] for c in images.labels]
    names[3] = None                                               # counts differ: refuse to guess
    report, _ = _evaluate(_write(tmp_path / "same2", images, stamps=[0] * N, bag_times=same, label_times=same,
                                 labels=names), bundle)
    assert report["labels"]["pairing"] == "none" and "accuracy" not in report
    assert "cannot be paired" in report["labels"]["reason"]


def test_labels_present_but_none_matched(tmp_path: Path, bundle, images) -> None:
    stamps = [T0 + i * PERIOD for i in range(N)]
    report, _ = _evaluate(_write(tmp_path / "late", images, label_stamps=[s + 1_000_000 for s in stamps]), bundle)
    assert "accuracy" not in report and report["labels"]["messages"] == N
    assert report["labels"]["matched_frames"] == 0 and "+1.000 ms" in report["labels"]["reason"]
    from agilenn_ros.bag.report import markdown
    text = markdown(report)
    assert "40 labels found, 0 matched" in text and "no ground truth in the bag" not in text
    report, _ = _evaluate(_write(tmp_path / "names", images, labels=["car"] * N), bundle)
    assert "accuracy" not in report and report["labels"]["unknown_class_ids"] == {"car": N}
    assert "'car'" in report["labels"]["reason"] and "model's classes" in report["labels"]["reason"]


# ------------------------------------------------------------------------------ counts, exit status


def test_nothing_evaluated_exits_non_zero(tmp_path: Path, bundle, images, capsys) -> None:
    from agilenn_ros.bag.bag_writer import BagWriter
    from agilenn_ros.cli import main
    bag = tmp_path / "garbage"
    with BagWriter(bag) as writer:
        for i in range(5):
            writer.write_raw("/camera/image_raw", "sensor_msgs/msg/Image", b"\x00\x01\x00\x00garbage", T0 + i)
    rc = main(["eval-bag", str(bag), "--model", str(bundle.path), "--report", str(tmp_path / "r"), "--no-progress",
               "--image-topic", "/camera/image_raw"])
    err = capsys.readouterr().err
    assert rc == 1 and "0/5 frames" in err and "undecodable_message=5" in err and "Traceback" not in err
    assert err.count("agilenn eval-bag: error: no frame evaluated") == 1


def test_metadata_qos_mismatch_and_declared_counts(tmp_path: Path, bundle, images, reference, capsys) -> None:
    from agilenn_ros.cli import main
    bag = _write(tmp_path / "qos", images)
    meta = bag / "metadata.yaml"
    text = meta.read_text()
    assert "reliability: reliable" in text
    meta.write_text(text.replace("reliability: reliable", "reliability: best_effort"))   # QoS edited afterwards
    report, _ = _evaluate(bag, bundle)
    assert report["frames"] == N and report["accuracy"] == reference["accuracy"]
    assert any("read them by topic name" in line for line in report["console"])
    # the metadata declares more messages than the storage holds
    assert text.index(f"- message_count: {N}\n") < text.index("name: /camera/image_raw")
    meta.write_text(text.replace(f"- message_count: {N}\n", f"- message_count: {N + 10}\n", 1))
    assert main(["eval-bag", str(bag), "--model", str(bundle.path), "--report", str(tmp_path / "r"),
                 "--no-progress", "--no-plots"]) == 0
    err = capsys.readouterr().err
    assert f"read {N} of the {N + 10} messages the bag declares on /camera/image_raw" in err
    assert f"{N}/{N} frames (bag declares {N + 10})" in err


@pytest.mark.parametrize("storage", ["mcap", "sqlite3"])
def test_bare_storage_file_of_a_message_compressed_bag(tmp_path: Path, bundle, images, reference,
                                                       storage: str) -> None:
    bag = _write(tmp_path / "z", images, storage=storage, compression="message")
    assert "compression_mode: message" in (bag / "metadata.yaml").read_text()
    storage_file = next(p for p in bag.iterdir() if p.suffix in (".mcap", ".db3"))
    report, _ = _evaluate(storage_file, bundle)              # metadata.yaml beside it: used
    assert report["frames"] == N and report["accuracy"] == reference["accuracy"]
    assert any("metadata.yaml beside it" in line for line in report["console"])
    alone = tmp_path / "alone"
    alone.mkdir()
    shutil.copy(storage_file, alone / storage_file.name)   # metadata lost: zstd frames recognised
    report, _ = _evaluate(alone / storage_file.name, bundle)
    assert report["frames"] == N and report["accuracy"] == reference["accuracy"]
    assert any("zstd-compressed" in line for line in report["console"])


def test_colour_preferred_over_a_busier_grey_camera(tmp_path: Path, bundle, images, reference) -> None:
    from agilenn_ros.bag.make_bag import image_message

    def infrared(bag) -> None:
        for i in range(N + 10):                       # an infrared camera, more messages than colour
            stamp = T0 + i * PERIOD + 1
            bag.write("/camera/infra1/image_rect_raw", image_message(images.images[i % N], "mono8", stamp, "ir", 95),
                      stamp)
    report, _ = _evaluate(_write(tmp_path / "ir", images, encoding="jpeg", topic="/camera/color/image_raw/compressed",
                                 extra=infrared), bundle)
    assert report["source"]["topic"] == "/camera/color/image_raw/compressed"
    assert "colour compressed images" in report["source"]["note"] and "grey: ranked lower" in report["source"]["note"]
    assert report["labelled"] == N
