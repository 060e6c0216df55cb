"""Image folders and archives as users have them (issue 14): file types, unreadable files,
sizes and EXIF, layout rule, hidden files, splits. No torch."""
from __future__ import annotations

import os
import tarfile
import unicodedata
from pathlib import Path

import numpy as np
import pytest

from imagegen import (encode, image_rgb, jpeg_with_orientation, make_class_tree, make_split_tree, tar_add_bytes,
                      tar_of, write_image, zip_of)

from agilenn_ros.data import DatasetError, MissingSplitError, load_split, open_source
from agilenn_ros.data.decode import decode_rgb, jpeg_size
from agilenn_ros.data.split import carve_validation
from agilenn_ros.data.training_data import load_holdout, prepare_training_data


@pytest.fixture(autouse=True)
def _cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGILENN_CACHE", str(tmp_path / "cache"))


def test_every_opencv_type_is_read_and_other_files_are_counted(tmp_path: Path) -> None:
    root = tmp_path / "types"
    for i, suffix in enumerate([".tif", ".tiff", ".gif", ".webp", ".bmp", ".ppm", ".jpg", ".png"]):
        write_image(root / "cat" / f"c{i}{suffix.upper() if i % 2 else suffix}", "cat", i, suffix)
    make_class_tree(root, {"dog": 2}, ".tiff")                  # a class stored as TIFF only
    (root / "dog" / "photo.heic").write_bytes(b"\x00\x00\x00\x18ftypheic")
    (root / "dog" / "notes.txt").write_text("hi")
    source = open_source(root)
    data = source.load("train", 16)
    assert data.class_names == ["cat", "dog"]
    assert list(np.bincount(data.labels)) == [8, 2]
    notes = "\n".join(source.notes())
    assert "1 .heic images (a type OpenCV cannot read)" in notes
    assert "1 non-image files (.txt)" in notes


def test_unreadable_images_one_line_each_with_the_users_path(tmp_path: Path) -> None:
    root = make_class_tree(tmp_path / "data", {"cat": 3, "dog": 3})
    (root / "cat" / "empty.jpg").write_bytes(b"")
    good = encode(image_rgb("dog", 0, 40, 40), ".png")
    (root / "dog" / "cut.png").write_bytes(good[: len(good) // 2])
    with pytest.raises(DatasetError) as err:
        load_split(str(root), "train", 16)
    lines = str(err.value).splitlines()
    assert lines[0] == f"{root}/cat/empty.jpg: empty file (0 bytes)"
    assert lines[1].startswith(f"{root}/dog/cut.png: not a readable image")
    assert "2 unreadable image file(s)" in lines[2]
    archive = tar_of(root, tmp_path / "data.tar.gz", "data")
    with pytest.raises(DatasetError) as err:
        load_split(str(archive), "train", 16)
    assert str(err.value).splitlines()[0] == f"{archive}:data/cat/empty.jpg: empty file (0 bytes)"


def test_any_size_is_fitted_while_reading_with_exif_orientation(tmp_path: Path) -> None:
    root = tmp_path / "sizes"
    write_image(root / "cat" / "big.jpg", "cat", 0, ".jpg", 300, 400)
    write_image(root / "cat" / "tiny.png", "cat", 1, ".png", 1, 1)
    write_image(root / "dog" / "tall.png", "dog", 0, ".png", 50, 10)
    band = np.zeros((20, 40, 3), np.uint8)
    band[:, :10] = 255                                   # bright band on the left, landscape
    (root / "dog" / "phone.jpg").write_bytes(jpeg_with_orientation(band, 6))   # rotate 90 cw: band on top
    data = load_split(root, "train", (16, 16))
    assert data.images.shape == (4, 16, 16, 3)
    phone = data.images[2].mean(axis=2)                 # dog/phone.jpg sorts before dog/tall.png
    assert phone[:4].mean() > 200 and phone[-4:].mean() < 60
    upright = decode_rgb(jpeg_with_orientation(band, 6))
    assert upright.shape[:2] == (40, 20)
    with pytest.raises(DatasetError, match="different sizes"):
        load_split(root, "train")                         # no model input: sizes must agree


def test_large_jpegs_are_decoded_reduced_and_stored_at_input_size(tmp_path: Path) -> None:
    big = encode(image_rgb("cat", 0, 1200, 1600), ".jpg")
    assert jpeg_size(big) == (1200, 1600)
    root = tmp_path / "photos"
    for cls in ("cat", "dog"):
        for i in range(3):
            (root / cls).mkdir(parents=True, exist_ok=True)
            (root / cls / f"{i}.jpg").write_bytes(encode(image_rgb(cls, i, 1200, 1600), ".jpg"))
    data = load_split(root, "train", 24)
    assert data.images.shape == (6, 24, 24, 3) and data.images.nbytes == 6 * 24 * 24 * 3
    assert abs(int(data.images[0, 12, 5, 0]) - 200) < 12          # the colour survives


def test_small_equal_images_keep_their_size(tmp_path: Path) -> None:
    root = make_class_tree(tmp_path / "small", {"cat": 2, "dog": 2}, h=8, w=8)
    assert load_split(root, "train", 24).images.shape == (4, 8, 8, 3)   # enlarged per batch, like CIFAR


def test_empty_class_folder_is_an_error_naming_it(tmp_path: Path) -> None:
    root = make_class_tree(tmp_path / "d", {"cat": 2, "dog": 2})
    (root / "fish").mkdir()
    with pytest.raises(DatasetError, match=r"d/fish: class folder holds no readable image \(it is empty\)"):
        load_split(root, "train", 16)
    (root / "fish" / "a.heic").write_bytes(b"x")
    with pytest.raises(DatasetError, match="fish: class folder holds no readable image .*heic"):
        load_split(root, "train", 16)


def test_one_class_is_refused(tmp_path: Path) -> None:
    root = make_class_tree(tmp_path / "one", {"cat": 5})
    with pytest.raises(DatasetError, match="only one class .*'cat'.*at least 2"):
        prepare_training_data(root, 16, 0.2)


def test_class_is_the_first_folder_level_in_folders_and_archives(tmp_path: Path) -> None:
    root = tmp_path / "nested"
    for i in range(2):
        write_image(root / "cat" / "indoor" / f"{i}.png", "cat", i)
        write_image(root / "cat" / "outdoor" / "deep" / f"{i}.png", "cat", i + 2)
        write_image(root / "dog" / f"{i}.png", "dog", i)
    folder = load_split(root, "train", 16)
    with_top = load_split(tar_of(root, tmp_path / "with_top.tar.gz", "nested"), "train", 16)
    without_top = load_split(tar_of(root, tmp_path / "without_top.tar.gz"), "train", 16)
    zipped = load_split(zip_of(root, tmp_path / "z.zip", "nested"), "train", 16)
    for data in (folder, with_top, without_top, zipped):
        assert data.class_names == ["cat", "dog"]
        assert list(np.bincount(data.labels)) == [4, 2]
        assert np.array_equal(data.images, folder.images)


def test_macos_metadata_and_hidden_files_are_skipped_with_a_count(tmp_path: Path) -> None:
    root = make_class_tree(tmp_path / "mac", {"cat": 2, "dog": 2}, ".jpg")
    archive = tmp_path / "mac.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(root, arcname="mac")
        for cls in ("cat", "dog"):
            tar_add_bytes(tar, f"mac/{cls}/._000.jpg", b"\x00\x05\x16\x07AppleDouble")
            tar_add_bytes(tar, f"__MACOSX/mac/{cls}/._001.jpg", b"\x00\x05\x16\x07")
        tar_add_bytes(tar, "mac/.DS_Store", b"junk")
    source = open_source(archive)
    data = source.load("train", 16)
    assert len(data) == 4 and data.class_names == ["cat", "dog"]
    notes = "\n".join(source.notes())
    assert "skipped 4 macOS metadata (__MACOSX/, ._*)" in notes
    assert "skipped 1 hidden files and folders (.*)" in notes


def test_class_names_with_spaces_accents_cjk_and_symlinks(tmp_path: Path) -> None:
    root = tmp_path / "names"
    nfd = unicodedata.normalize("NFD", "café noir")
    make_class_tree(root, {nfd: 2, "猫": 2})
    elsewhere = make_class_tree(tmp_path / "elsewhere", {"red panda": 2})
    os.symlink(elsewhere / "red panda", root / "red panda")
    os.symlink(root, root / "猫" / "loop")                      # a cycle is not followed
    source = open_source(root)
    data = source.load("train", 16)
    assert data.class_names == sorted(["café noir", "red panda", "猫"])
    assert list(np.bincount(data.labels)) == [2, 2, 2]
    zipped = load_split(zip_of(root / "猫", tmp_path / "z.zip", "x/猫"), "train", 16)
    assert zipped.class_names == ["猫"] or len(zipped) == 2


def test_validation_split_is_per_class_and_never_empties_a_class(tmp_path: Path) -> None:
    root = make_class_tree(tmp_path / "imb", {"cat": 20, "dog": 20, "fish": 2})
    loaded = prepare_training_data(root, 16, 0.1)
    assert loaded.train.class_counts() == {"cat": 18, "dog": 18, "fish": 1}
    assert loaded.val.class_counts() == {"cat": 2, "dog": 2, "fish": 1}
    assert any("imbalanced" in w and "'fish'" in w for w in loaded.warnings)
    text = "\n".join(loaded.summary_lines())
    assert "3 classes; train 37 images, val 5 (carved from train: 0.1 of each class), no test split" in text
    assert "fish" in text and "warning: classes are imbalanced" in text
    by_count = prepare_training_data(root, 16, 6)                 # an image count, in proportion
    assert len(by_count.val) in (6, 7) and min(by_count.train.class_counts().values()) == 1   # "about" 6
    single = make_class_tree(tmp_path / "single", {"cat": 4, "dog": 1})
    train, val, warnings = carve_validation(load_split(single, "train", 16), 0.5)
    assert train.class_counts() == {"cat": 2, "dog": 1} and val.class_counts() == {"cat": 2, "dog": 0}
    assert "'dog' has 1 image" in warnings[0]
    with pytest.raises(DatasetError, match="val_size 50 >= 42"):
        prepare_training_data(root, 16, 50)


def test_honest_splits_val_folder_and_no_test(tmp_path: Path) -> None:
    root = make_split_tree(tmp_path / "tv", {"train": {"cat": 4, "dog": 4}, "Val": {"cat": 2, "dog": 2}})
    source = open_source(root)
    assert source.splits() == ["train", "val"]
    loaded = prepare_training_data(source, 16, 0.1)
    assert len(loaded.train) == 8 and len(loaded.val) == 4 and "from" in loaded.val_origin
    with pytest.raises(MissingSplitError, match="no test split"):
        load_split(root, "test", 16)
    flat = make_class_tree(tmp_path / "flat", {"cat": 10, "dog": 10})
    with pytest.raises(MissingSplitError, match="no test split.*all of it training data"):
        load_split(flat, "test", 16, strict=True)
    assert len(load_split(flat, "test", 16)) == 20      # image sources (bags, emulator): all, with a note
    val, split, origin = load_holdout(flat, "auto", 16, 0.1)
    assert split == "val" and len(val) == 2 and "held out of training" in origin
    _, split, origin = load_holdout(flat, "train", 16, 0.1)
    assert split == "train" and "trained on" in origin


def test_ambiguous_and_wrapper_layouts(tmp_path: Path) -> None:
    root = make_split_tree(tmp_path / "amb", {"train": {"cat": 2, "dog": 2}})
    make_class_tree(root, {"fish": 2})
    with pytest.raises(DatasetError, match="ambiguous layout"):
        open_source(root).splits()
    wrapped = make_split_tree(tmp_path / "w" / "inner" / "dataset", {"train": {"cat": 2, "dog": 2},
                                                                      "test": {"cat": 1, "dog": 1}})
    source = open_source(tmp_path / "w")
    assert source.splits() == ["train", "test"] and "looked inside" in source.notes()[0]
    assert len(source.load("test", 16)) == 2
    assert wrapped.is_dir()


def test_split_archives_folder_and_cifar_layout(tmp_path: Path) -> None:
    tree = make_split_tree(tmp_path / "tree", {"train": {"cat": 3, "dog": 3}, "test": {"cat": 1, "dog": 1}})
    folder = tmp_path / "archives"
    folder.mkdir()
    tar_of(tree / "train", folder / "train.tar.gz", "train")
    zip_of(tree / "test", folder / "test.zip", "test")
    source = open_source(folder)
    assert source.splits() == ["train", "test"]
    assert len(source.load("train", 16)) == 6 and len(source.load("test", 16)) == 2


def test_more_layouts_users_have(tmp_path: Path) -> None:
    import cv2
    import zipfile
    # Roboflow export: train/valid/test plus data.yaml and a README
    robo = make_split_tree(tmp_path / "robo", {"train": {"cat": 3, "dog": 3}, "valid": {"cat": 1, "dog": 1},
                                               "test": {"cat": 1, "dog": 1}}, ".jpg")
    (robo / "data.yaml").write_text("names: [cat, dog]")
    assert open_source(robo).splits() == ["train", "val", "test"]
    # zip written on Windows (backslashes), upper-case suffixes, accented names stored decomposed
    zp = tmp_path / "win.zip"
    with zipfile.ZipFile(zp, "w") as zf:
        for cls in (unicodedata.normalize("NFD", "café"), "thé"):
            for i in range(2):
                zf.writestr(f"set\\{cls}\\{i}.PNG", encode(image_rgb("cat", i), ".png"))
    assert load_split(zp, "train", 16).class_names == ["café", "thé"]
    # tar.bz2 made with "tar -C dir ." (members start with ./)
    src = make_class_tree(tmp_path / "dot", {"cat": 2, "dog": 2}, ".bmp")
    tp = tmp_path / "dot.tar.bz2"
    with tarfile.open(tp, "w:bz2") as tar:
        tar.add(src, arcname=".")
    assert load_split(tp, "train", 16).class_counts() == {"cat": 2, "dog": 2}
    # Kaggle style: class in the file name, no class folders: one clear line
    kaggle = tmp_path / "kaggle"
    for i in range(2):
        write_image(kaggle / "train" / f"cat.{i}.jpg", "cat", i, ".jpg")
    with pytest.raises(DatasetError, match=r"kaggle/train: no class folders with images"):
        load_split(kaggle, "train", 16)
    # unlabeled test/: training warns, loading it is a clear error
    unl = make_split_tree(tmp_path / "unl", {"train": {"cat": 4, "dog": 4}})
    write_image(unl / "test" / "0.png", "cat", 0)
    loaded = prepare_training_data(unl, 16, 0.25)
    assert any("test: no class folders with images" in w for w in loaded.warnings)
    # 16-bit grayscale, RGBA and 1x1 GIF files
    pix = tmp_path / "pix"
    for d in ("gray16", "rgba", "one"):
        (pix / d).mkdir(parents=True)
    cv2.imwrite(str(pix / "gray16" / "0.png"), np.full((8, 8), 40000, np.uint16))
    cv2.imwrite(str(pix / "rgba" / "0.png"), np.full((8, 8, 4), (10, 20, 200, 128), np.uint8))
    cv2.imwrite(str(pix / "one" / "0.gif"), np.full((1, 1, 3), 90, np.uint8))
    data = load_split(pix, "train", 16)
    assert data.images.shape == (3, 16, 16, 3) and data.class_names == ["gray16", "one", "rgba"]
    assert abs(int(data.images[0, 0, 0, 0]) - 40000 // 257) <= 1 and tuple(data.images[2, 0, 0]) == (200, 20, 10)


def test_split_archives_with_photos_of_mixed_sizes(tmp_path: Path) -> None:
    tree = make_split_tree(tmp_path / "tree", {"train": {"cat": 3, "dog": 3}})
    write_image(tree / "test" / "cat" / "big.jpg", "cat", 0, ".jpg", 60, 80)
    write_image(tree / "test" / "dog" / "small.png", "dog", 0, ".png", 10, 10)
    folder = tmp_path / "archives"
    folder.mkdir()
    tar_of(tree / "train", folder / "train.tar", "train")
    tar_of(tree / "test", folder / "test.tar.gz", "test")
    loaded = prepare_training_data(folder, 16, 0.34)
    assert loaded.test_counts == {"cat": 1, "dog": 1} and not any("unusable" in w for w in loaded.warnings)
    _, split, _ = load_holdout(folder, "auto", 16, 0.34)
    assert split == "test"
