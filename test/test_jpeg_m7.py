"""firmware_microros/tools/jpeg_m7.py (make jpeg-report): the frames it embeds and how it reads
the QEMU run's output. The QEMU run itself needs libjpeg-turbo's source (fetched with
apt-get source at bench time), so it is not part of the test suite; results/jpeg_m7.json is
checked in test_bench.py."""
from __future__ import annotations

import json
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest

TOOLS = Path(__file__).resolve().parents[1] / "firmware_microros" / "tools"
sys.path.insert(0, str(TOOLS))
import jpeg_m7  # noqa: E402


def test_frames_are_the_bench_frames(tmp_path: Path) -> None:
    from agilenn_ros.bench.run import to_model_size
    from agilenn_ros.data import load_split
    assert jpeg_m7.main(["frames", "--data", "digits", "--count", "3", "--size", "40", "--qualities", "50,90",
                         "--out", str(tmp_path)]) == 0
    meta = json.loads((tmp_path / "frames.json").read_text())
    test = load_split("digits", "test")
    expected = np.sort(np.random.default_rng(0).permutation(len(test))[:3])   # bench/run.py pick_data, seed 0
    assert meta["test_indices"] == expected.tolist() and meta["qualities"] == [50, 90]
    frames = np.load(tmp_path / "frames.npz")["frames"]
    assert np.array_equal(frames, to_model_size(test.images[expected], (40, 40)))
    header = (tmp_path / "jpeg_frames.h").read_text()
    assert "#define JB_FRAME_COUNT 3u" in header and "#define JB_QUALITIES 50, 90" in header
    body = header[header.index("= {") + 3:header.rindex("};")]
    values = [int(v) for v in body.replace("{", "").replace("}", "").replace("\n", "").split(",") if v.strip()]
    assert values == frames.reshape(-1).tolist()


def test_bad_arguments_give_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert jpeg_m7.main(["frames", "--data", "digits", "--qualities", "50,101", "--out", str(tmp_path)]) == 2
    assert jpeg_m7.main(["frames", "--data", "", "--out", str(tmp_path)]) == 2
    assert jpeg_m7.main(["frames", "--data", "digits", "--count", "0", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 3 and all(line.startswith("jpeg_m7: ") for line in err)
    assert "--qualities" in err[0] and "--data" in err[1] and "--count" in err[2]


def test_parse_bench_output() -> None:
    jpeg = bytes([0xFF, 0xD8, 0x01, 0xFF, 0xD9])
    text = "\n".join([
        "frames 2 width 96 height 96 version 2001005",
        f"jpeg islow 50 0 len 5 crc {zlib.crc32(jpeg)} ticks 640",
        f"data islow 50 0 {jpeg.hex()}",
        "jpeg ifast 50 0 len 4 crc 7",
        "heap_peak 29292", "stack_peak 1656", "result errors 0", ""])
    out = jpeg_m7.parse_bench_output(text)
    assert out["version_number"] == 2001005 and out["heap_peak"] == 29292 and out["stack_peak"] == 1656
    assert out["errors"] == 0 and out["data"][("islow", 50, 0)] == jpeg
    assert out["encodes"][0] == {"dct": "islow", "quality": 50, "frame": 0, "bytes": 5, "crc": zlib.crc32(jpeg),
                                 "ticks": 640}
    assert out["encodes"][1]["dct"] == "ifast" and "ticks" not in out["encodes"][1]
