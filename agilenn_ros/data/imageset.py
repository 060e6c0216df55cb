"""The in-memory labelled image set and the data errors (no torch)."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np

CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer",
                   "dog", "frog", "horse", "ship", "truck")


class DatasetError(ValueError):
    """A data source cannot be read or does not hold the expected layout (one-line message,
    or one line per unreadable image)."""


class MissingSplitError(DatasetError):
    """The source has no such split (e.g. no ``test/`` folder)."""


def spread_index(count: int, limit: int) -> np.ndarray:
    """Positions of ``min(limit, count)`` items spread evenly over ``count`` (ascending int64;
    all positions when ``limit`` >= ``count``, none when ``limit`` <= 0)."""
    if limit <= 0:
        return np.zeros(0, np.int64)
    if limit >= count:
        return np.arange(count, dtype=np.int64)
    return np.unique(np.linspace(0, count - 1, limit).round().astype(np.int64))


@dataclass
class ImageSet:
    images: np.ndarray          # uint8 [N, H, W, 3], RGB
    labels: np.ndarray          # int64 [N], index into class_names
    class_names: list[str]
    source: str = ""            # where the images came from, as the user wrote it
    notes: list[str] = field(default_factory=list)   # what was skipped while reading, one line each

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def subset(self, index: np.ndarray | slice) -> "ImageSet":
        return ImageSet(self.images[index], self.labels[index], self.class_names, self.source, self.notes)

    def spread(self, limit: int) -> "ImageSet":
        """``limit`` images spread evenly over the set, in order; the whole set when ``limit`` is 0
        or covers it. Image sets are sorted by class, so the first N would all be one class."""
        if not limit or limit >= len(self):
            return self
        return self.subset(spread_index(len(self), limit))

    def class_counts(self) -> dict[str, int]:
        counts = np.bincount(self.labels, minlength=len(self.class_names)) if len(self) else \
            np.zeros(len(self.class_names), dtype=np.int64)
        return {name: int(n) for name, n in zip(self.class_names, counts)}


def class_order(names: set[str] | list[str]) -> list[str]:
    """Class index order: the official order for exactly CIFAR-10's classes, else sorted."""
    names = set(names)
    if names == set(CIFAR10_CLASSES):
        return list(CIFAR10_CLASSES)
    return sorted(names)


def fingerprint(*sets: ImageSet) -> str:
    """Short sha256 over the class names, labels and pixels of ``sets`` (16 hex digits):
    equal exactly when the same images with the same labels are used."""
    digest = hashlib.sha256()
    for data in sets:
        digest.update("\0".join(data.class_names).encode())
        digest.update(np.ascontiguousarray(data.labels, dtype=np.int64).tobytes())
        digest.update(str(data.images.shape).encode())
        digest.update(np.ascontiguousarray(data.images).tobytes())
    return digest.hexdigest()[:16]


def class_mismatch(found: list[str], expected: list[str], where: str, expected_what: str) -> str | None:
    """One line saying how ``found`` class names differ from ``expected`` (None when equal)."""
    if list(found) == list(expected):
        return None
    missing = [c for c in expected if c not in found]
    extra = [c for c in found if c not in expected]
    parts = []
    if missing:
        parts.append(f"missing {missing}")
    if extra:
        parts.append(f"extra {extra}")
    if not parts:
        parts.append(f"same names in another order {found}")
    return f"{where}: classes differ from {expected_what} {list(expected)}: {'; '.join(parts)}"
