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
