"""The validation split carved from train when a source has no ``val/``: per class, in
proportion, never emptying a class; plus warnings about small and imbalanced classes."""
from __future__ import annotations

import math

import numpy as np

from agilenn_ros.data.imageset import DatasetError, ImageSet

IMBALANCE_RATIO = 4.0       # warn when the largest class has this many times the smallest's images
FEW_IMAGES = 10             # warn when a class has fewer training images than this


def check_val_size(val_size: float, what: str = "val_size") -> float:
    """``val_size``: a fraction of every class (0 < v < 1) or a total image count (integer >= 1)."""
    v = float(val_size)
    if not v > 0 or math.isinf(v) or (v >= 1 and v != int(v)):
        raise DatasetError(f"{what} must be a fraction between 0 and 1 (e.g. 0.1) or a whole number of "
                           f"images (e.g. 500), not {val_size!r}")
    return v


def describe_val_size(val_size: float) -> str:
    v = check_val_size(val_size)
    return f"{v:g} of each class" if v < 1 else f"about {int(v)} images, in proportion to each class"


def carve_validation(data: ImageSet, val_size: float) -> tuple[ImageSet, ImageSet, list[str]]:
    """Split ``data`` into (train, val): from every class with n >= 2 images the LAST
    round(f * n) images in path order go to val, at least 1 and at most n - 1; a class with one
    image stays in train. ``f`` = ``val_size`` when below 1, else ``val_size`` / total images.
    Returns the two sets and warning lines."""
    v = check_val_size(val_size)
    total = len(data)
    if v >= 1 and v >= total:
        raise DatasetError(f"val_size {int(v)} >= {total} training images: use a fraction (e.g. 0.1) "
                           "or a smaller count")
    val_mask = np.zeros(total, dtype=bool)
    warnings: list[str] = []
    takes = carved_counts([int(np.sum(data.labels == c)) for c in range(len(data.class_names))], v)
    for c, name in enumerate(data.class_names):
        idx = np.flatnonzero(data.labels == c)
        if len(idx) < 2:
            warnings.append(f"class {name!r} has {len(idx)} image: it stays in train and has none in validation")
            continue
        val_mask[idx[len(idx) - takes[c]:]] = True
    return data.subset(~val_mask), data.subset(val_mask), warnings


def carved_counts(class_counts: list[int], val_size: float) -> list[int]:
    """Images :func:`carve_validation` moves to validation from each class (the last ones in path
    order): round(f * n), at least 1 and at most n - 1, none from a class of one image."""
    v = check_val_size(val_size)
    total = sum(class_counts)
    fraction = v if v < 1 else v / max(1, total)
    return [0 if n < 2 else min(max(int(math.floor(fraction * n + 0.5)), 1), n - 1) for n in class_counts]


def carve_overlap(class_counts: list[int], trained_on: float, validated_on: float) -> int:
    """How many images the carve of ``validated_on`` puts in validation that the carve of
    ``trained_on`` leaves in training, on the same train split (class sizes ``class_counts``):
    both carves take the last images of each class, so the overlap is the difference, where
    positive. A network trained under ``trained_on`` has seen that many validation images of a
    run under ``validated_on``."""
    return sum(max(0, val - other) for val, other in
               zip(carved_counts(class_counts, validated_on), carved_counts(class_counts, trained_on)))


def split_train_val(data: ImageSet, val_size: float) -> tuple[ImageSet, ImageSet]:
    """(train, val) of :func:`carve_validation`, without the warnings."""
    train, val, _ = carve_validation(data, val_size)
    return train, val


def balance_warnings(counts: dict[str, int], what: str = "training") -> list[str]:
    """Warnings for imbalanced classes and classes with very few images."""
    if not counts:
        return []
    warnings = []
    largest = max(counts, key=lambda k: counts[k])
    smallest = min(counts, key=lambda k: counts[k])
    if counts[smallest] and counts[largest] / counts[smallest] >= IMBALANCE_RATIO:
        warnings.append(f"classes are imbalanced: {largest!r} has {counts[largest]} {what} images, {smallest!r} "
                        f"only {counts[smallest]} ({counts[largest] / counts[smallest]:.0f}x); the model will "
                        "favour large classes: add images to small ones")
    few = [name for name, n in counts.items() if n < FEW_IMAGES]
    if few:
        warnings.append(f"class(es) with fewer than {FEW_IMAGES} {what} images: "
                        + ", ".join(f"{n!r} ({counts[n]})" for n in few[:8]) + (" ..." if len(few) > 8 else ""))
    return warnings
