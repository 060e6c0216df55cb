"""Load labelled image sets into memory as uint8 RGB arrays.

Supported sources (``load_split(path, split)``):

- an image-folder tree ``<root>/<split>/<class>/<image>`` or ``<root>/<class>/<image>``;
- ``.tar`` / ``.tar.gz`` archives holding such a tree (read directly, never unpacked),
  for example ``../shared/data/cifar10/{train,test}.tar.gz``; a directory holding
  ``<split>.tar.gz`` is also accepted;
- the official CIFAR-10 python (``cifar-10-batches-py``) and binary (``cifar-10-batches-bin``)
  releases, as a directory or the original ``.tar.gz``;
- ``digits``: scikit-learn's bundled 8x8 digits (deterministic 80/20 train/test split).

Decoded archives are cached as ``.npz`` next to nothing of the user's: under
``$AGILENN_CACHE`` (default ``~/.cache/agilenn_ros``), keyed by path, size and mtime.
"""
from __future__ import annotations

import hashlib
import io
import os
import pickle
import tarfile
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".ppm", ".pgm", ".webp")
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer",
                   "dog", "frog", "horse", "ship", "truck")


class DatasetError(ValueError):
    """A data source cannot be read or does not hold the expected layout."""


@dataclass
class ImageSet:
    images: np.ndarray          # uint8 [N, H, W, 3], RGB
    labels: np.ndarray          # int64 [N], index into class_names
    class_names: list[str]
    source: str = ""

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def subset(self, index: np.ndarray | slice) -> "ImageSet":
        return ImageSet(self.images[index], self.labels[index], self.class_names, self.source)


def decode_image(data: bytes, name: str = "") -> np.ndarray:
    """Decode an encoded image (JPEG, PNG, ...) to uint8 RGB [H, W, 3]."""
    array = np.frombuffer(data, dtype=np.uint8)
    image = cv2.imdecode(array, cv2.IMREAD_COLOR)
    if image is None:
        raise DatasetError(f"cannot decode image {name or '<bytes>'}")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def _stack(images: list[np.ndarray], where: str) -> np.ndarray:
    if not images:
        raise DatasetError(f"{where}: no images found")
    shapes = {im.shape for im in images}
    if len(shapes) != 1:
        raise DatasetError(f"{where}: images have different sizes {sorted(shapes)[:4]}; "
                           "resize them to one size first")
    return np.stack(images)


def _class_order(names: set[str]) -> list[str]:
    if names == set(CIFAR10_CLASSES):
        return list(CIFAR10_CLASSES)
    return sorted(names)


def _labelled_from_members(members: list[tuple[str, str, bytes]], where: str) -> ImageSet:
    """members: (class name, file name, encoded bytes)."""
    class_names = _class_order({cls for cls, _, _ in members})
    index = {name: i for i, name in enumerate(class_names)}
    members.sort(key=lambda m: (index[m[0]], m[1]))
    images = [decode_image(data, f"{where}:{cls}/{fname}") for cls, fname, data in members]
    labels = np.array([index[cls] for cls, _, _ in members], dtype=np.int64)
    return ImageSet(_stack(images, where), labels, class_names, where)


def _read_tar_tree(path: Path, split: str | None) -> ImageSet:
    """Image-folder tree inside a tar archive: [.../]<split>/<class>/<file> or <class>/<file>."""
    members: list[tuple[str, str, bytes]] = []
    try:
        with tarfile.open(path, "r:*") as tar:
            for info in tar:
                if not info.isfile() or not info.name.lower().endswith(IMAGE_SUFFIXES):
                    continue
                parts = Path(info.name).parts
                if len(parts) < 2:
                    continue
                if split is not None and len(parts) >= 3 and split not in parts[:-2]:
                    continue
                handle = tar.extractfile(info)
                if handle is None:
                    continue
                members.append((parts[-2], parts[-1], handle.read()))
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise DatasetError(f"{path}: cannot read archive: {exc}") from exc
    if not members:
        raise DatasetError(f"{path}: no images in a <class>/<image> layout"
                           + (f" for split {split!r}" if split else ""))
    return _labelled_from_members(members, str(path))


def _read_folder_tree(root: Path) -> ImageSet:
    members: list[tuple[str, str, bytes]] = []
    for class_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        for file in sorted(class_dir.iterdir()):
            if file.suffix.lower() in IMAGE_SUFFIXES and file.is_file():
                members.append((class_dir.name, file.name, file.read_bytes()))
    if not members:
        raise DatasetError(f"{root}: no images in a <class>/<image> layout")
    return _labelled_from_members(members, str(root))


def _cifar_python_batches(read: "callable", split: str) -> ImageSet:
    names = [f"data_batch_{i}" for i in range(1, 6)] if split == "train" else ["test_batch"]
    images, labels = [], []
    for name in names:
        batch = pickle.loads(read(name), encoding="bytes")
        data = np.asarray(batch[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32)
        images.append(data.transpose(0, 2, 3, 1))
        labels.extend(batch[b"labels"])
    return ImageSet(np.concatenate(images), np.asarray(labels, dtype=np.int64),
                    list(CIFAR10_CLASSES), "cifar-10-python")


def _cifar_binary_batches(read: "callable", split: str) -> ImageSet:
    names = [f"data_batch_{i}.bin" for i in range(1, 6)] if split == "train" else ["test_batch.bin"]
    images, labels = [], []
    for name in names:
        raw = np.frombuffer(read(name), dtype=np.uint8)
        if raw.size % 3073:
            raise DatasetError(f"{name}: size {raw.size} is not a multiple of 3073")
        rows = raw.reshape(-1, 3073)
        labels.append(rows[:, 0].astype(np.int64))
        images.append(rows[:, 1:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))
    return ImageSet(np.concatenate(images), np.concatenate(labels), list(CIFAR10_CLASSES),
                    "cifar-10-binary")


def _cifar_release(path: Path, split: str) -> ImageSet | None:
    """The official python/binary releases, as a directory or as the original archive."""
    if path.is_dir():
        for sub in ("", "cifar-10-batches-py", "cifar-10-batches-bin"):
            d = path / sub if sub else path
            if (d / "data_batch_1").is_file():
                return _cifar_python_batches(lambda n: (d / n).read_bytes(), split)
            if (d / "data_batch_1.bin").is_file():
                return _cifar_binary_batches(lambda n: (d / n).read_bytes(), split)
        return None
    if not tarfile.is_tarfile(path):
        return None
    with tarfile.open(path, "r:*") as tar:
        names = {Path(m.name).name: m for m in tar.getmembers() if m.isfile()}
        def read(n: str) -> bytes:
            handle = tar.extractfile(names[n])
            assert handle is not None
            return handle.read()
        if "data_batch_1" in names and "batches.meta" in names:
            return _cifar_python_batches(read, split)
        if "data_batch_1.bin" in names:
            return _cifar_binary_batches(read, split)
    return None


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


def _cache_path(path: Path, split: str) -> Path:
    stat = path.stat()
    key = hashlib.sha256(f"{path.resolve()}|{split}|{stat.st_size}|{stat.st_mtime_ns}|v1".encode()).hexdigest()[:20]
    root = Path(os.environ.get("AGILENN_CACHE", Path.home() / ".cache" / "agilenn_ros"))
    return root / f"{path.name}-{split}-{key}.npz"


def _cached(path: Path, split: str, loader: "callable") -> ImageSet:
    cache = _cache_path(path, split)
    if cache.is_file():
        try:
            with np.load(cache, allow_pickle=False) as npz:
                return ImageSet(npz["images"], npz["labels"], [str(s) for s in npz["class_names"]], str(path))
        except (OSError, KeyError, ValueError):
            pass  # a broken cache is rebuilt
    result: ImageSet = loader()
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(".tmp.npz")
        np.savez(tmp, images=result.images, labels=result.labels, class_names=np.array(result.class_names))
        os.replace(tmp, cache)
    except OSError:
        pass  # caching is an optimisation only
    return result


def load_split(source: str | os.PathLike[str], split: str = "train") -> ImageSet:
    """Load ``split`` ("train" or "test") of a labelled image source into memory."""
    if split not in ("train", "test"):
        raise DatasetError(f"split must be 'train' or 'test', not {split!r}")
    if str(source) == "digits":
        return load_digits(split)
    path = Path(source).expanduser()
    if not path.exists():
        raise DatasetError(f"{path}: no such file or directory")
    if path.is_dir():
        for name in (f"{split}.tar.gz", f"{split}.tgz", f"{split}.tar"):
            if (path / name).is_file():
                return _cached(path / name, split, lambda p=path / name: _read_tar_tree(p, split))
        release = _cifar_release(path, split)
        if release is not None:
            return release
        if (path / split).is_dir():
            return _read_folder_tree(path / split)
        return _read_folder_tree(path)
    release = _cifar_release(path, split)
    if release is not None:
        return release
    if tarfile.is_tarfile(path):
        def load_tree() -> ImageSet:
            try:
                return _read_tar_tree(path, split)
            except DatasetError:
                return _read_tar_tree(path, None)
        return _cached(path, split, load_tree)
    raise DatasetError(f"{path}: not an image folder, tar archive or CIFAR-10 release")


def split_train_val(data: ImageSet, val_size: int) -> tuple[ImageSet, ImageSet]:
    """Carve the validation split from the end of train, stratified by class order.

    Takes the last ``val_size / classes`` images of every class so both parts stay balanced.
    """
    if val_size <= 0:
        raise DatasetError("val_size must be positive")
    if val_size >= len(data):
        raise DatasetError(f"val_size {val_size} >= {len(data)} training images")
    classes = len(data.class_names)
    per_class = max(1, val_size // classes)
    val_mask = np.zeros(len(data), dtype=bool)
    for c in range(classes):
        idx = np.flatnonzero(data.labels == c)
        val_mask[idx[-per_class:]] = True
    return data.subset(~val_mask), data.subset(val_mask)
