import io
import pickle
import tarfile
from pathlib import Path

import cv2
import numpy as np
import pytest

from agilenn_ros.data import DatasetError, load_split, split_train_val


def _png(value: int) -> bytes:
    image = np.full((8, 8, 3), value, dtype=np.uint8)
    image[0, 0] = (255, 0, 0)  # red in RGB
    ok, buf = cv2.imencode(".png", cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    assert ok
    return buf.tobytes()


def _make_tree(root: Path) -> None:
    for split in ("train", "test"):
        for cls in ("cat", "dog"):
            d = root / split / cls
            d.mkdir(parents=True)
            for i in range(3):
                (d / f"{i}.png").write_bytes(_png(10 * i + (100 if cls == "dog" else 0)))


def test_image_folder_and_archive(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGILENN_CACHE", str(tmp_path / "cache"))
    _make_tree(tmp_path / "tree")
    folder = load_split(tmp_path / "tree", "test")
    assert folder.images.shape == (6, 8, 8, 3) and folder.class_names == ["cat", "dog"]
    assert list(folder.labels) == [0, 0, 0, 1, 1, 1]
    assert tuple(folder.images[0, 0, 0]) == (255, 0, 0)
    archive = tmp_path / "train.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(tmp_path / "tree" / "train", arcname="train")
    from_tar = load_split(archive, "train")
    assert from_tar.images.shape == (6, 8, 8, 3)
    again = load_split(archive, "train")  # served from the cache
    assert np.array_equal(again.images, from_tar.images)
    directory_of_archives = tmp_path / "arch"
    directory_of_archives.mkdir()
    archive.rename(directory_of_archives / "train.tar.gz")
    assert len(load_split(directory_of_archives, "train")) == 6


def test_cifar_python_and_binary_releases(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    py_dir = tmp_path / "cifar-10-batches-py"
    bin_dir = tmp_path / "cifar-10-batches-bin"
    py_dir.mkdir()
    bin_dir.mkdir()
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        data = rng.integers(0, 256, (4, 3072), dtype=np.uint8)
        labels = list(rng.integers(0, 10, 4))
        (py_dir / name).write_bytes(pickle.dumps({b"data": data, b"labels": labels}))
        rows = np.concatenate([np.asarray(labels, dtype=np.uint8)[:, None], data], axis=1)
        (bin_dir / f"{name}.bin").write_bytes(rows.tobytes())
    (py_dir / "batches.meta").write_bytes(pickle.dumps({}))
    py = load_split(py_dir, "train")
    binary = load_split(bin_dir, "train")
    assert py.images.shape == (20, 32, 32, 3) and binary.images.shape == (20, 32, 32, 3)
    assert np.array_equal(py.images, binary.images) and np.array_equal(py.labels, binary.labels)
    assert len(load_split(tmp_path, "test")) == 4


def test_digits_and_validation_split() -> None:
    pytest.importorskip("sklearn", reason="the digits data set comes from scikit-learn (the train/dev extras)")
    train = load_split("digits", "train")
    test = load_split("digits", "test")
    assert train.images.dtype == np.uint8 and train.images.shape[1:] == (8, 8, 3)
    assert len(train) + len(test) == 1797
    fit, val = split_train_val(train, 0.2)          # 20% of every class, from its end
    counts = np.bincount(train.labels)
    assert list(np.bincount(val.labels)) == [int(np.floor(0.2 * n + 0.5)) for n in counts]
    assert len(fit) + len(val) == len(train)


def test_bad_sources_raise_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="no such file"):
        load_split(tmp_path / "missing", "train")
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"not an archive")
    with pytest.raises(DatasetError):
        load_split(junk, "train")
    with pytest.raises(DatasetError, match="split"):
        load_split("digits", "validation")
    with pytest.raises(DatasetError, match="no val split"):
        load_split("digits", "val")


def test_spread_takes_every_class_of_a_sorted_set() -> None:
    """`evaluate --limit N` and `make-bag --limit N`: N images spread over a class-sorted set,
    not the first N (which would all be one class)."""
    from agilenn_ros.data.imageset import ImageSet
    labels = np.repeat(np.arange(10), 100)
    data = ImageSet(np.zeros((1000, 2, 2, 3), np.uint8), labels, [str(i) for i in range(10)], "sorted")
    picked = data.spread(20)
    assert len(picked) == 20 and set(picked.labels.tolist()) == set(range(10))
    assert np.all(np.diff(picked.labels) >= 0)          # order kept
    assert data.spread(0) is data and data.spread(5000) is data
    assert len(data.spread(1)) == 1
