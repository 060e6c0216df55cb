"""Inputs and logs shared by the training commands: the training data (printed before
training starts) and the JSON-lines metrics log."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from agilenn_ros.data import ImageSet
from agilenn_ros.data.training_data import TrainingData, prepare_training_data


def training_source(dataset: str, data: str) -> str:
    """``data``, or 'digits' for the digits profile when no data is given."""
    return "digits" if dataset == "digits" and data in ("", "digits") else data


def load_training_data(dataset: str, data: str, input_size: int, val_size: float, max_train: int = 0,
                       verbose: bool = True) -> TrainingData:
    """Train and validation sets at the model input (``agilenn_ros.data.training_data``); prints
    the classes and image counts per split and class, and what was skipped."""
    loaded = prepare_training_data(training_source(dataset, data), input_size, val_size, max_train)
    if verbose:
        for line in loaded.summary_lines():
            print(line, flush=True)
        if max_train and max_train <= len(loaded.train):
            print(f"--max-train: training on {len(loaded.train)} of the training images", flush=True)
    return loaded


def load_train_val(dataset: str, data: str, input_size: int, val_size: float,
                   max_train: int = 0) -> tuple[ImageSet, ImageSet]:
    """(train, val) of :func:`load_training_data`."""
    loaded = load_training_data(dataset, data, input_size, val_size, max_train)
    return loaded.train, loaded.val


def log_record(path: Path | None, record: dict[str, Any]) -> None:
    """Print ``record`` as one JSON line and append it to ``path`` (when given)."""
    line = json.dumps(record)
    print(line, flush=True)
    if path is not None:
        with path.open("a") as fh:
            fh.write(line + "\n")


def data_location(data: str) -> str:
    """``--data`` as a location that does not depend on the working directory: the absolute,
    resolved path where ``data`` is a file or folder, else the text (a built-in data set such as
    ``digits``). Recorded in checkpoints so another run can tell whether it trains on the same data."""
    try:
        path = Path(data)
        return str(path.resolve()) if data and path.exists() else str(data)
    except OSError:
        return str(data)
