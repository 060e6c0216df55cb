"""Decode a split's image files into an :class:`ImageSet`, fitted to the model input.

Memory is bounded by the model input, not by the photos: every image is fitted as it is
decoded (threads decode while the files are read in order), so a set of N images holds
N x H x W x 3 bytes at the input size plus a few full-size images in flight.

Size rule with a model input ``size``: when all images share one size no larger than the
input (CIFAR-10's 32x32, digits' 8x8), they are kept as they are and training enlarges them
batch by batch (unchanged behaviour); otherwise every image is resized to the input.
Without ``size`` all images must share one size.
"""
from __future__ import annotations

import os
from concurrent.futures import Future, ThreadPoolExecutor
import numpy as np
from tqdm import tqdm

from agilenn_ros.data.decode import UnreadableImage, console, decode_rgb, fit_to, quiet_decoders
from agilenn_ros.data.imageset import DatasetError, ImageSet
from agilenn_ros.data.layout import SplitTree
from agilenn_ros.data.listing import Entry


class UnreadableImagesError(DatasetError):
    """One line per unreadable image (its path as the user knows it and the reason)."""


def _decode_threads() -> int:
    return max(1, min(8, os.cpu_count() or 1))


class _Collector:
    """Keeps decoded images at a bounded size (see the module docstring)."""

    def __init__(self, n: int, size: tuple[int, int] | None) -> None:
        self.size = size
        self.images: list[np.ndarray | None] = [None] * n
        self.names: list[str] = [""] * n
        self.native: tuple[int, int] | None = None   # shared size while images are kept as they are
        self.resized = False

    def put(self, index: int, image: np.ndarray, name: str) -> None:
        hw = (int(image.shape[0]), int(image.shape[1]))
        if self.size is None:
            if self.native is None:
                self.native = hw
            elif hw != self.native:
                first = next(i for i, im in enumerate(self.images) if im is not None)
                raise DatasetError(f"{name} is {hw[1]}x{hw[0]} but {self.names[first]} is "
                                   f"{self.native[1]}x{self.native[0]}: images of different sizes need a model "
                                   "input size (train, export and evaluate resize them to the model's input)")
        elif self.resized:
            image = fit_to(image, self.size)
        elif hw[0] <= self.size[0] and hw[1] <= self.size[1] and self.native in (None, hw):
            self.native = hw
        else:
            self.resized = True
            for i, kept in enumerate(self.images):
                if kept is not None:
                    self.images[i] = fit_to(kept, self.size)
            image = fit_to(image, self.size)
        self.images[index] = np.ascontiguousarray(image)
        self.names[index] = name

    def stack(self) -> np.ndarray:
        return np.stack([im for im in self.images if im is not None])


def decode_entries(entries: list[Entry], size: tuple[int, int] | None, where: str,
                   progress: bool = True) -> np.ndarray:
    """Decode ``entries`` (uint8 RGB [N, H, W, 3] in the entries' order); files are read in
    their ``order`` (archive streams). Every unreadable file is reported, one line each."""
    collector = _Collector(len(entries), size)
    bad: list[str] = []
    reading = sorted(range(len(entries)), key=lambda i: entries[i].order)
    window = 4 * _decode_threads()
    bar = tqdm(total=len(entries), desc=f"reading {os.path.basename(where.rstrip('/')) or where}", unit="img",
               disable=not progress or len(entries) < 500, file=console(), leave=False, mininterval=1.0)

    def decode(index: int, data: bytes) -> tuple[int, np.ndarray]:
        image = decode_rgb(data, size)
        if size is not None and (image.shape[0] > size[0] or image.shape[1] > size[1]):
            image = fit_to(image, size)     # shrink in the worker: only input-sized images are kept
        return index, image

    def drain(future: Future) -> None:
        try:
            index, image = future.result()
        except UnreadableImage as exc:
            bad.append(f"{future.name}: {exc}")  # type: ignore[attr-defined]
        else:
            collector.put(index, image, entries[index].display)
        bar.update(1)

    with quiet_decoders(), ThreadPoolExecutor(_decode_threads()) as pool:
        pending: list[Future] = []
        for index in reading:
            entry = entries[index]
            try:
                data = entry.read()
            except OSError as exc:
                bad.append(f"{entry.display}: cannot read it ({getattr(exc, 'strerror', None) or exc})")
                bar.update(1)
                continue
            future = pool.submit(decode, index, data)
            future.name = entry.display  # type: ignore[attr-defined]
            pending.append(future)
            if len(pending) >= window:
                drain(pending.pop(0))
        for future in pending:
            drain(future)
    bar.close()
    if bad:
        raise UnreadableImagesError("\n".join(bad + [f"{len(bad)} unreadable image file(s) in {where}: "
                                                      "fix or remove them"]))
    return collector.stack()


def load_tree(tree: SplitTree, size: tuple[int, int] | None, location: str, notes: list[str],
              progress: bool = True) -> ImageSet:
    """All images of ``tree`` with labels in class order."""
    if not tree.classes:
        raise DatasetError(f"{tree.where}: no class folders with images (expected {tree.where}/<class>/<image>)")
    class_names = tree.class_names
    entries: list[Entry] = []
    labels: list[int] = []
    for label, name in enumerate(class_names):
        entries.extend(tree.classes[name])
        labels.extend([label] * len(tree.classes[name]))
    images = decode_entries(entries, size, tree.where, progress)
    return ImageSet(images, np.asarray(labels, dtype=np.int64), class_names, location, list(notes))


def fit_set(data: ImageSet, size: tuple[int, int] | None) -> ImageSet:
    """Apply the size rule to an already decoded set (CIFAR-10 releases, digits)."""
    if size is None or (data.images.shape[1] <= size[0] and data.images.shape[2] <= size[1]):
        return data
    images = np.stack([fit_to(im, size) for im in data.images])
    return ImageSet(images, data.labels, data.class_names, data.source, data.notes)

