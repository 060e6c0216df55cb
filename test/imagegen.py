"""Small image files and data-set trees for the data tests (built in tmp_path, never committed)."""
from __future__ import annotations

import io
import struct
import tarfile
import zipfile
from pathlib import Path

import cv2
import numpy as np

COLOURS = {"cat": (200, 40, 40), "dog": (40, 200, 40), "fish": (40, 40, 200), "bird": (200, 200, 40)}


def image_rgb(cls: str, i: int, h: int = 12, w: int = 12) -> np.ndarray:
    colour = COLOURS.get(cls, (120, 120, 120))
    image = np.full((h, w, 3), colour, dtype=np.uint8)
    image[i % h, :] = 255 - np.asarray(colour, dtype=np.uint8)   # a line that differs per image
    return image


def encode(rgb: np.ndarray, suffix: str) -> bytes:
    ok, buf = cv2.imencode(suffix, cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    assert ok, suffix
    return buf.tobytes()


def write_image(path: Path, cls: str, i: int, suffix: str = ".png", h: int = 12, w: int = 12) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(encode(image_rgb(cls, i, h, w), suffix))
    return path


def make_class_tree(root: Path, counts: dict[str, int], suffix: str = ".png", h: int = 12, w: int = 12) -> Path:
    for cls, n in counts.items():
        for i in range(n):
            write_image(root / cls / f"{i:03d}{suffix}", cls, i, suffix, h, w)
    return root


def make_split_tree(root: Path, splits: dict[str, dict[str, int]], suffix: str = ".png") -> Path:
    for split, counts in splits.items():
        make_class_tree(root / split, counts, suffix)
    return root


def tar_of(folder: Path, archive: Path, arcname: str | None = None) -> Path:
    with tarfile.open(archive, "w:gz") as tar:
        if arcname is None:
            for child in sorted(folder.iterdir()):
                tar.add(child, arcname=child.name)
        else:
            tar.add(folder, arcname=arcname)
    return archive


def zip_of(folder: Path, archive: Path, arcname: str = "", extra: dict[str, bytes] | None = None) -> Path:
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted(folder.rglob("*")):
            rel = path.relative_to(folder).as_posix()
            name = f"{arcname}/{rel}" if arcname else rel
            if path.is_dir():
                zf.writestr(name + "/", b"")
            else:
                zf.writestr(name, path.read_bytes())
        for name, data in (extra or {}).items():
            zf.writestr(name, data)
    return archive


def tar_add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def jpeg_with_orientation(rgb: np.ndarray, orientation: int) -> bytes:
    """A JPEG with an EXIF APP1 segment holding only the orientation tag (0x0112)."""
    plain = encode(rgb, ".jpg")
    tiff = (b"II*\x00" + struct.pack("<I", 8) + struct.pack("<H", 1)
            + struct.pack("<HHIHH", 0x0112, 3, 1, orientation, 0) + struct.pack("<I", 0))
    payload = b"Exif\x00\x00" + tiff
    app1 = b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload
    return plain[:2] + app1 + plain[2:]
