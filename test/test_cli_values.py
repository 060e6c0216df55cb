"""Out-of-range numbers on the command line are refused at parse time: one usage line naming
the flag, exit status 2, nothing read or started (a negative --limit once sliced off the last
images, --threads -1 ended in a torch traceback, --jpeg-quality 500 was taken silently)."""
from __future__ import annotations

import pytest

from agilenn_ros.cli import main

CASES = [
    (["train", "--profile", "digits", "--data", "digits", "--out", "X", "--threads", "-1"], "--threads", ">= 0"),
    (["train", "--profile", "digits", "--data", "digits", "--out", "X", "--epochs", "0"], "--epochs", ">= 1"),
    (["train", "--profile", "digits", "--data", "digits", "--out", "X", "--max-train", "0"], "--max-train", ">= 1"),
    (["evaluate", "--model", "cifar10", "--data", "digits", "--limit", "-1"], "--limit", ">= 0"),
    (["make-bag", "digits", "--out", "X", "--jpeg-quality", "500"], "--jpeg-quality", "between 1 and 100"),
    (["make-bag", "digits", "--out", "X", "--limit", "-3"], "--limit", ">= 0"),
    (["make-bag", "digits", "--out", "X", "--rate", "nan"], "--rate", "finite"),
    (["eval-bag", "B", "--model", "cifar10", "--report", "R", "--batch", "0"], "--batch", ">= 1"),
    (["bench", "--quick", "--limit", "-5", "--json", "X"], "--limit", ">= 0"),
    (["bench", "--quick", "--clock-mhz", "0", "--json", "X"], "--clock-mhz", "> 0"),
    (["evaluate", "--model", "cifar10", "--data", "digits", "--limit", "ten"], "--limit", "not a whole number"),
]


@pytest.mark.parametrize("argv,flag,words", CASES, ids=[" ".join(c[0][:1] + c[0][-2:]) for c in CASES])
def test_bad_number_is_one_usage_line_exit_2(argv: list[str], flag: str, words: str, capsys) -> None:
    with pytest.raises(SystemExit) as stop:
        main(argv)
    err = capsys.readouterr().err
    last = err.strip().splitlines()[-1]
    assert stop.value.code == 2, err
    assert f"argument {flag}" in last and words in last and "Traceback" not in err, err


def test_bench_edge_names_each_bad_value(capsys) -> None:
    assert main(["bench-edge", "--devices", "0", "--rate-hz", "-1", "--json", "X"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines == ["agilenn bench-edge: error: --devices must be >= 1, got '0'",
                     "agilenn bench-edge: error: --rate-hz must be > 0, got -1.0"]


def test_make_bag_yuv422_needs_only_an_even_width(tmp_path) -> None:
    import numpy as np
    from agilenn_ros.bag.make_bag import write_eval_bag
    from agilenn_ros.data.imageset import ImageSet
    labels, names = np.array([0, 1]), ["a", "b"]
    write_eval_bag(ImageSet(np.zeros((2, 37, 46, 3), np.uint8), labels, names), tmp_path / "ok", encoding="yuv422_yuy2")
    with pytest.raises(ValueError, match="needs an even width, not 45"):
        write_eval_bag(ImageSet(np.zeros((2, 37, 45, 3), np.uint8), labels, names), tmp_path / "bad",
                       encoding="yuv422_yuy2")
