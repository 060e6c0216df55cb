"""argparse value types that refuse out-of-range numbers at parse time.

A bad value ends the command with argparse's one usage line naming the flag
(``agilenn train: error: argument --threads: must be >= 0, got -1``) and exit status 2,
before any data is read or any process starts."""
from __future__ import annotations

import argparse
import math
from typing import Callable


def _number(text: str, kind: type) -> float | int:
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not {'a whole number' if kind is int else 'a number'}: {text!r}") from None
    if isinstance(value, float) and not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text!r}")
    return value


def int_at_least(low: int) -> Callable[[str], int]:
    """A whole number >= ``low`` (0 for counts where 0 means "all" or "default")."""
    def parse(text: str) -> int:
        value = int(_number(text, int))
        if value < low:
            raise argparse.ArgumentTypeError(f"must be >= {low}, got {value}")
        return value
    return parse


def int_between(low: int, high: int) -> Callable[[str], int]:
    """A whole number in ``[low, high]`` (e.g. a JPEG quality 1..100)."""
    def parse(text: str) -> int:
        value = int(_number(text, int))
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be between {low} and {high}, got {value}")
        return value
    return parse


def positive_float(text: str) -> float:
    """A finite number > 0 (rates, clocks)."""
    value = float(_number(text, float))
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


count = int_at_least(0)
"""A count where 0 keeps the default (all images, the profile's epochs, automatic threads)."""
