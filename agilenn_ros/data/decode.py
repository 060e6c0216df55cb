"""Decode one encoded image file to uint8 RGB and fit it to the model input.

Which files are images is decided by the file name's suffix (case-insensitive):

- ``READABLE_SUFFIXES``: the types OpenCV reads (JPEG, PNG, WebP, AVIF, TIFF, GIF, BMP, JPEG 2000,
  PBM/PGM/PPM/PNM/PFM, Sun raster, Radiance HDR). The bytes are decoded by content, so a PNG
  named ``.jpg`` still works. Grayscale, RGBA, palette, CMYK and 16-bit files come out as
  8-bit RGB; the alpha channel is dropped; for an animated GIF the first frame is used.
- ``UNREADABLE_IMAGE_SUFFIXES``: image types OpenCV cannot read here (HEIC/HEIF from phones,
  JPEG XL, OpenEXR, camera RAW, SVG, PSD, ICO, TGA): skipped and counted, never decoded.
- everything else (``.txt``, ``.json``, ``.csv``, no suffix, ...): not an image; skipped and counted.

``cv2.imdecode`` with ``IMREAD_COLOR`` applies the EXIF orientation of JPEG files (a phone
photo taken in portrait comes out upright); ``test/test_image_folders.py`` checks it.
"""
from __future__ import annotations

import contextlib
import os
import sys
from typing import Iterator

import cv2
import numpy as np

READABLE_SUFFIXES = frozenset({
    ".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".webp", ".avif", ".tif", ".tiff", ".gif",
    ".bmp", ".dib", ".jp2", ".pbm", ".pgm", ".ppm", ".pnm", ".pxm", ".pfm", ".sr", ".ras",
    ".hdr", ".pic",
})
UNREADABLE_IMAGE_SUFFIXES = frozenset({
    ".heic", ".heif", ".jxl", ".exr", ".svg", ".psd", ".ico", ".tga", ".dng", ".cr2", ".cr3",
    ".nef", ".arw", ".orf", ".rw2", ".raf", ".raw",
})
_SOF_MARKERS = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})
_REDUCED = ((8, cv2.IMREAD_REDUCED_COLOR_8), (4, cv2.IMREAD_REDUCED_COLOR_4), (2, cv2.IMREAD_REDUCED_COLOR_2))


class UnreadableImage(Exception):
    """An image file that cannot be decoded; ``str()`` is the reason (no path)."""


def suffix_of(name: str) -> str:
    """Lower-case suffix of a file name (``""`` when it has none)."""
    dot = name.rfind(".")
    return name[dot:].lower() if dot > 0 else ""


def jpeg_size(data: bytes) -> tuple[int, int] | None:
    """(height, width) from a JPEG's frame header, or None when ``data`` is not a parsable JPEG."""
    if len(data) < 4 or data[0] != 0xFF or data[1] != 0xD8:
        return None
    i = 2
    while i + 9 < len(data):
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:          # fill byte
            i += 1
            continue
        if marker in _SOF_MARKERS:
            return int.from_bytes(data[i + 5:i + 7], "big"), int.from_bytes(data[i + 7:i + 9], "big")
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            i += 2
            continue
        i += 2 + int.from_bytes(data[i + 2:i + 4], "big")
    return None


def _read_flag(data: bytes, size: tuple[int, int] | None) -> int:
    """IMREAD_COLOR, or a reduced JPEG decode (DCT scaling: faster, less memory) that still
    yields at least ``size`` pixels on both sides."""
    if size is None:
        return cv2.IMREAD_COLOR
    dims = jpeg_size(data)
    if dims is None:
        return cv2.IMREAD_COLOR
    need = max(size)
    for factor, flag in _REDUCED:
        if min(dims) // factor >= need:
            return flag
    return cv2.IMREAD_COLOR


def decode_rgb(data: bytes, size: tuple[int, int] | None = None) -> np.ndarray:
    """Encoded bytes -> uint8 RGB [H, W, 3] (EXIF orientation applied).

    ``size`` (height, width) only lets large JPEGs be decoded at a reduced scale; the result
    still has to be fitted with :func:`fit_to`. Raises :class:`UnreadableImage` with the reason.
    """
    if not data:
        raise UnreadableImage("empty file (0 bytes)")
    buf = np.frombuffer(data, dtype=np.uint8)
    try:
        bgr = cv2.imdecode(buf, _read_flag(data, size))
    except cv2.error as exc:
        raise UnreadableImage(f"OpenCV cannot decode it ({str(exc).strip().splitlines()[-1][:80]})") from None
    if bgr is None or bgr.size == 0:
        raise UnreadableImage("not a readable image (corrupt, truncated or of a type OpenCV cannot decode)")
    if bgr.ndim == 2:
        return cv2.cvtColor(bgr, cv2.COLOR_GRAY2RGB)
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def fit_to(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize uint8 [H, W, 3] to ``size`` (height, width), stretching like the runtime does
    (``runtime/preprocess.py``): area averaging when shrinking, bilinear when enlarging."""
    h, w = size
    if image.shape[:2] == (h, w):
        return image
    shrink = image.shape[0] >= h and image.shape[1] >= w
    return cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)


@contextlib.contextmanager
def quiet_decoders() -> Iterator[None]:
    """Silence what the native decoders print for a broken file (``libpng error: ...``, OpenCV
    log lines) while a data set is decoded; the caller reports each bad file in one line.

    fd 2 goes to /dev/null meanwhile; write progress to :func:`console` instead of stderr."""
    level = cv2.utils.logging.getLogLevel()
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):
        saved = -1
    try:
        if saved >= 0:
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, 2)
            os.close(null)
            global _CONSOLE_FD
            _CONSOLE_FD = saved
        yield
    finally:
        if saved >= 0:
            os.dup2(saved, 2)
            os.close(saved)
            _CONSOLE_FD = 2
        cv2.utils.logging.setLogLevel(level)


_CONSOLE_FD = 2


class _Console:
    """A text stream on the real stderr, also while :func:`quiet_decoders` is active."""

    def write(self, text: str) -> int:
        try:
            return os.write(_CONSOLE_FD, text.encode("utf-8", "replace"))
        except OSError:
            return 0

    def flush(self) -> None:
        return None

    def isatty(self) -> bool:
        return os.isatty(_CONSOLE_FD)


def console() -> _Console:
    """Stream for progress bars during decoding (see :func:`quiet_decoders`)."""
    return _Console()
