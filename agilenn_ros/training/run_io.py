"""Inputs and logs shared by the training commands: the train/validation split and the
JSON-lines metrics log."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from agilenn_ros.data import ImageSet, load_split, split_train_val


def load_train_val(dataset: str, data: str, val_size: int, max_train: int = 0) -> tuple[ImageSet, ImageSet]:
    """Train and validation sets (validation carved from the end of train); ``data`` may be
    empty or 'digits' for the digits dataset; ``max_train`` > 0 keeps a random subset."""
    source = "digits" if dataset == "digits" and data in ("", "digits") else data
    train, val = split_train_val(load_split(source, "train"), val_size)
    if max_train:
        keep = np.random.default_rng(0).permutation(len(train))[:max_train]
        train = train.subset(np.sort(keep))
    return train, val


def log_record(path: Path | None, record: dict[str, Any]) -> None:
    """Print ``record`` as one JSON line and append it to ``path`` (when given)."""
    line = json.dumps(record)
    print(line, flush=True)
    if path is not None:
        with path.open("a") as fh:
            fh.write(line + "\n")
