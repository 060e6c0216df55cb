"""Data sets that come as arrays rather than image files: the official CIFAR-10 python and
binary releases (a folder or the original archive) and scikit-learn's 8x8 digits."""
from __future__ import annotations

import pickle
from typing import Callable

import numpy as np

from agilenn_ros.data.imageset import CIFAR10_CLASSES, DatasetError, ImageSet

Reader = Callable[[str], bytes]


def cifar_python_batches(read: Reader, split: str, source: str) -> ImageSet:
    """The python release (``data_batch_1..5``, ``test_batch``: pickled dicts)."""
    names = [f"data_batch_{i}" for i in range(1, 6)] if split == "train" else ["test_batch"]
    images, labels = [], []
    for name in names:
        try:
            batch = pickle.loads(read(name), encoding="bytes")
            data = np.asarray(batch[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32)
            labels.extend(batch[b"labels"])
        except (KeyError, OSError, ValueError, EOFError, pickle.UnpicklingError, TypeError) as exc:
            raise DatasetError(f"{source}: {name} is not a CIFAR-10 python batch ({exc})") from None
        images.append(data.transpose(0, 2, 3, 1))
    return ImageSet(np.concatenate(images), np.asarray(labels, dtype=np.int64), list(CIFAR10_CLASSES), source)


def cifar_binary_batches(read: Reader, split: str, source: str) -> ImageSet:
    """The binary release (``data_batch_1..5.bin``, ``test_batch.bin``: 1 label + 3072 bytes)."""
    names = [f"data_batch_{i}.bin" for i in range(1, 6)] if split == "train" else ["test_batch.bin"]
    images, labels = [], []
    for name in names:
        try:
            raw = np.frombuffer(read(name), dtype=np.uint8)
        except (KeyError, OSError) as exc:
            raise DatasetError(f"{source}: cannot read {name} ({exc})") from None
        if raw.size % 3073:
            raise DatasetError(f"{source}: {name} has {raw.size} bytes, not a multiple of 3073")
        rows = raw.reshape(-1, 3073)
        labels.append(rows[:, 0].astype(np.int64))
        images.append(rows[:, 1:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))
    return ImageSet(np.concatenate(images), np.concatenate(labels), list(CIFAR10_CLASSES), source)


def release_kind(names: set[str]) -> str | None:
    """"python" or "binary" when file names ``names`` are those of a CIFAR-10 release."""
    if "data_batch_1" in names and ("batches.meta" in names or "test_batch" in names):
        return "python"
    if "data_batch_1.bin" in names:
        return "binary"
    return None


def load_release(kind: str, read: Reader, split: str, source: str) -> ImageSet:
    if kind == "python":
        return cifar_python_batches(read, split, source)
    return cifar_binary_batches(read, split, source)


def load_digits(split: str) -> ImageSet:
    """scikit-learn's 8x8 digits as RGB uint8, deterministic 80/20 train/test split."""
    from sklearn.datasets import load_digits as sk_load_digits
    bunch = sk_load_digits()
    gray = np.clip(np.asarray(bunch.images) * (255.0 / 16.0), 0, 255).astype(np.uint8)
    rgb = np.repeat(gray[..., None], 3, axis=-1)
    labels = np.asarray(bunch.target, dtype=np.int64)
    order = np.random.default_rng(1234).permutation(len(labels))
    cut = int(round(0.8 * len(labels)))
    index = order[:cut] if split == "train" else order[cut:]
    return ImageSet(rgb[index], labels[index], [str(i) for i in range(10)], "sklearn-digits")
