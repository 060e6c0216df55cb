"""Every ``sensor_msgs/Image`` encoding a camera emits, to and from uint8 RGB (no cv_bridge).

One table, used by every reader of raw images (``agilenn eval-bag``, ``agilenn make-bag``
and the device emulator's ``source=topic``). It covers what cv_bridge converts to ``rgb8``
(``sensor_msgs/image_encodings.hpp``), with the same arithmetic:

==========================  =====================================================================
family                      encodings (and their conversion)
==========================  =====================================================================
colour, 8 bit               rgb8, bgr8, rgba8, bgra8; 8UC3 (= bgr8), 8UC4 (= bgra8)
grey, 8 bit                 mono8, 8UC1 (grey copied to R, G and B)
colour / grey, 16 bit       rgb16, bgr16, rgba16, bgra16, mono16 (value * 255 / 65535, rounded,
                            as cv_bridge's 16 -> 8 bit conversion; ``is_bigendian`` honoured)
Bayer mosaic                bayer_rggb8, bayer_bggr8, bayer_gbrg8, bayer_grbg8 and the ``16``
                            variants (the letters are the top-left 2x2; OpenCV's VNG demosaicing,
                            16-bit mosaics scaled to 8 bit first)
YUV 4:2:2                   yuv422 / uyvy (U Y0 V Y1), yuv422_yuy2 / yuyv (Y0 U Y1 V)
YUV 4:2:0 / 4:4:4           nv21 (Y plane, then interleaved V U at half size), nv24 (Y plane,
                            then interleaved U V at full size)
==========================  =====================================================================

YUV is ITU-R BT.601 video range (Y 16..235), as OpenCV and cv_bridge decode it. Bayer
mosaics use VNG rather than cv_bridge's bilinear demosaicing: on the 32x32 CIFAR-10 test
images the bilinear one costs 10.7 points of accuracy against the original colour images,
VNG 1.4 (1000 images, cifar10 bundle).

Refused by name (:class:`UnsupportedEncoding`, never silently converted): depth and float
images (``16UC1`` depth in millimetres, ``32FC1`` depth in metres, any ``16U``/``16S``/
``32S``/``32F``/``64F`` matrix), signed 8-bit matrices (``8SC*``) and ``8UC2``: none of them is
a camera colour image. An encoding not in the table is refused with the list of supported ones.

Everything here imports OpenCV lazily so the command line can list the names cheaply.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from agilenn_ros.runtime.preprocess import ImageFormatError


class UnsupportedEncoding(ImageFormatError):
    """An image encoding that is not camera colour or grey (depth, float) or not known at all."""


@dataclass(frozen=True)
class Encoding:
    """How one encoding is laid out and turned into RGB."""

    name: str
    family: str          # "direct", "bayer", "yuv422", "nv21", "nv24"
    channels: int        # samples per pixel in a row (yuv422: 2 bytes per pixel)
    depth: int           # bytes per sample: 1 or 2
    to_rgb: str = ""     # OpenCV conversion code name ('' for rgb8-ordered data)


def _table() -> dict[str, Encoding]:
    table: dict[str, Encoding] = {}

    def add(name: str, family: str, channels: int, depth: int, code: str = "") -> None:
        table[name] = Encoding(name, family, channels, depth, code)

    for depth, suffix in ((1, "8"), (2, "16")):
        add(f"rgb{suffix}", "direct", 3, depth)
        add(f"bgr{suffix}", "direct", 3, depth, "COLOR_BGR2RGB")
        add(f"rgba{suffix}", "direct", 4, depth, "COLOR_RGBA2RGB")
        add(f"bgra{suffix}", "direct", 4, depth, "COLOR_BGRA2RGB")
        add(f"mono{suffix}", "direct", 1, depth, "COLOR_GRAY2RGB")
        # ROS names the top-left 2x2 of the mosaic; OpenCV names the second row's 2nd/3rd pixel
        for ros, cv in (("rggb", "BG"), ("bggr", "RG"), ("gbrg", "GR"), ("grbg", "GB")):
            add(f"bayer_{ros}{suffix}", "bayer", 1, depth, f"COLOR_Bayer{cv}2RGB_VNG")
    add("8UC1", "direct", 1, 1, "COLOR_GRAY2RGB")
    add("8UC3", "direct", 3, 1, "COLOR_BGR2RGB")     # cv_bridge reads a 3-channel matrix as BGR
    add("8UC4", "direct", 4, 1, "COLOR_BGRA2RGB")
    for name in ("yuv422", "uyvy"):
        add(name, "yuv422", 2, 1, "COLOR_YUV2RGB_UYVY")
    for name in ("yuv422_yuy2", "yuyv"):
        add(name, "yuv422", 2, 1, "COLOR_YUV2RGB_YUYV")
    add("nv21", "nv21", 1, 1, "COLOR_YUV2RGB_NV21")
    add("nv24", "nv24", 1, 1)
    return table


ENCODINGS: dict[str, Encoding] = _table()
"""Supported ``sensor_msgs/Image`` encodings by name."""
SUPPORTED_ENCODINGS: tuple[str, ...] = tuple(ENCODINGS)
_BY_LOWER = {name.lower(): enc for name, enc in ENCODINGS.items()}
_MATRIX = re.compile(r"^(8|16|32|64)([USF])C([1-9]\d*)$", re.IGNORECASE)
_REFUSED_WHY = {
    "16uc1": "a depth image (millimetres), not camera colour",
    "32fc1": "a depth/float image (metres), not camera colour",
}


def lookup(encoding: str) -> Encoding:
    """The table entry of ``encoding`` (ROS names are case-sensitive; we also accept any case).

    Raises UnsupportedEncoding naming the encoding and why it is refused."""
    text = str(encoding).strip()
    found = ENCODINGS.get(text) or _BY_LOWER.get(text.lower())
    if found is not None:
        return found
    key = text.lower()
    if key in _REFUSED_WHY:
        raise UnsupportedEncoding(f"unsupported image encoding {text!r}: {_REFUSED_WHY[key]}")
    match = _MATRIX.match(text)
    if match:
        bits, kind = match.group(1), match.group(2).upper()
        what = "float" if kind == "F" else f"{bits}-bit {'signed' if kind == 'S' else 'unsigned'}"
        raise UnsupportedEncoding(f"unsupported image encoding {text!r}: a {what} {match.group(3)}-channel "
                                  f"matrix (depth, disparity or measurement data), not camera colour or grey")
    if key.startswith("bayer_"):
        raise UnsupportedEncoding(f"unsupported image encoding {text!r}: Bayer mosaics are bayer_rggb8/bggr8/"
                                  f"gbrg8/grbg8 and their 16-bit variants")
    raise UnsupportedEncoding(f"unsupported image encoding {text!r}; supported: {', '.join(SUPPORTED_ENCODINGS)}")


def is_colour(encoding: str) -> bool:
    """Whether ``encoding`` carries colour (False for grey: mono8/mono16/8UC1). Raises
    UnsupportedEncoding like :func:`lookup`."""
    enc = lookup(encoding)
    return not (enc.family == "direct" and enc.channels == 1)


def _cv2() -> Any:
    import cv2
    return cv2


def _rows(buf: np.ndarray, start: int, nrows: int, row_bytes: int, step: int) -> np.ndarray:
    """``nrows`` rows of ``row_bytes`` each, ``step`` bytes apart, from ``start`` (copied)."""
    view = np.lib.stride_tricks.as_strided(buf[start:], shape=(nrows, row_bytes), strides=(step, 1))
    return np.ascontiguousarray(view)


def _to_8bit(samples: np.ndarray) -> np.ndarray:
    """uint16 -> uint8 as cv_bridge converts 16 to 8 bit (scale 255/65535, rounded)."""
    return np.rint(samples.astype(np.float32) * (255.0 / 65535.0)).astype(np.uint8)


def _nv24_to_rgb(y: np.ndarray, uv: np.ndarray) -> np.ndarray:
    """BT.601 video-range Y + full-size interleaved UV -> RGB (the same matrix OpenCV uses for NV21)."""
    yf = (y.astype(np.float32) - 16.0) * 1.164
    u = uv[..., 0].astype(np.float32) - 128.0
    v = uv[..., 1].astype(np.float32) - 128.0
    rgb = np.stack([yf + 1.596 * v, yf - 0.813 * v - 0.391 * u, yf + 2.018 * u], axis=-1)
    return np.clip(np.rint(rgb), 0, 255).astype(np.uint8)


def image_to_rgb(encoding: str, height: int, width: int, step: int, data: bytes | np.ndarray,
                 is_bigendian: int | bool = 0) -> np.ndarray:
    """The fields of a ``sensor_msgs/Image`` -> uint8 RGB [height, width, 3].

    ``step`` is the row length in bytes (0: tightly packed); rows may be padded. Raises
    UnsupportedEncoding for encodings that are not camera colour/grey, ImageFormatError for
    data that does not fit the declared size."""
    enc = lookup(encoding)
    if height <= 0 or width <= 0:
        raise ImageFormatError(f"image has no pixels ({width}x{height})")
    buf = (data.view(np.uint8).reshape(-1) if isinstance(data, np.ndarray)
           else np.frombuffer(memoryview(data), dtype=np.uint8))
    row = width * enc.channels * enc.depth
    step = int(step) or row
    if step < row:
        raise ImageFormatError(f"step {step} is smaller than the {row} bytes a {enc.name} row of width {width} needs")
    cv2 = _cv2()
    if enc.family in ("nv21", "nv24"):
        if height % 2 or width % 2:
            raise ImageFormatError(f"{enc.name} needs an even width and height, not {width}x{height}")
        # the buffer is rows of ``step`` bytes: height rows of Y, then height/2 (NV21) or
        # 2 * height (NV24) rows of interleaved chroma, ``width`` bytes used in each
        chroma_rows = height // 2 if enc.family == "nv21" else 2 * height
        need = step * (height + chroma_rows - 1) + width
        if buf.size < need:
            raise ImageFormatError(f"image data has {buf.size} bytes, {enc.name} {width}x{height} needs {need}")
        y = _rows(buf, 0, height, width, step)
        chroma = _rows(buf, step * height, chroma_rows, width, step)
        if enc.family == "nv21":
            return cv2.cvtColor(np.concatenate([y, chroma]), getattr(cv2, enc.to_rgb))
        return _nv24_to_rgb(y, chroma.reshape(height, width, 2))
    need = step * (height - 1) + row
    if buf.size < need:
        raise ImageFormatError(f"image data has {buf.size} bytes, {enc.name} {width}x{height} needs {step * height}")
    rows = _rows(buf, 0, height, row, step)
    if enc.family == "yuv422":
        if width % 2:
            raise ImageFormatError(f"{enc.name} (4:2:2) needs an even width, not {width}")
        return cv2.cvtColor(rows.reshape(height, width, 2), getattr(cv2, enc.to_rgb))
    if enc.depth == 2:
        samples = rows.view(">u2" if is_bigendian else "<u2").astype(np.uint16)
    else:
        samples = rows
    if enc.family == "bayer":
        mosaic = samples.reshape(height, width)
        if height < 2 or width < 2:
            raise ImageFormatError(f"a Bayer mosaic needs at least 2x2 pixels, not {width}x{height}")
        # VNG demosaicing works on 8-bit mosaics only: scale 16-bit ones first
        return cv2.cvtColor(_to_8bit(mosaic) if enc.depth == 2 else mosaic, getattr(cv2, enc.to_rgb))
    pixels = samples.reshape(height, width, enc.channels)
    if enc.depth == 2:
        pixels = _to_8bit(pixels)
    if not enc.to_rgb:
        return pixels
    if enc.channels == 1:
        pixels = pixels[..., 0]
    return cv2.cvtColor(pixels, getattr(cv2, enc.to_rgb))


def image_msg_to_rgb(msg: Any) -> np.ndarray:
    """A ``sensor_msgs/Image`` of either backend (rosbags or rclpy) -> uint8 RGB [H, W, 3]."""
    data = msg.data
    if not isinstance(data, (bytes, bytearray, memoryview, np.ndarray)):
        try:                                       # rclpy: array.array('B') (buffer protocol, no copy)
            data = np.frombuffer(memoryview(data).cast("B"), dtype=np.uint8)
        except TypeError:                          # a list of ints
            data = np.asarray(data, dtype=np.uint8)
    return image_to_rgb(str(msg.encoding), int(msg.height), int(msg.width), int(msg.step), data,
                        int(getattr(msg, "is_bigendian", 0)))


# ------------------------------------------------------------------- RGB -> encoding (writers)

_BAYER_OFFSETS = {"r": 0, "g": 1, "b": 2}


def _bayer_mosaic(rgb: np.ndarray, pattern: str) -> np.ndarray:
    """Sample RGB on a Bayer grid; ``pattern`` lists the top-left 2x2 (``rggb``)."""
    mosaic = np.empty(rgb.shape[:2], dtype=rgb.dtype)
    for k, colour in enumerate(pattern):
        dy, dx = divmod(k, 2)
        mosaic[dy::2, dx::2] = rgb[dy::2, dx::2, _BAYER_OFFSETS[colour]]
    return mosaic


def _bt601_video(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """RGB -> float Y, U (Cb), V (Cr), ITU-R BT.601 video range."""
    r, g, b = (rgb[..., i].astype(np.float32) for i in range(3))
    y = 16.0 + 0.257 * r + 0.504 * g + 0.098 * b
    u = 128.0 - 0.148 * r - 0.291 * g + 0.439 * b
    v = 128.0 + 0.439 * r - 0.368 * g - 0.071 * b
    return y, u, v


def _u8(values: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(values), 0, 255).astype(np.uint8)


def rgb_to_encoded(rgb: np.ndarray, encoding: str, bigendian: bool = False) -> tuple[np.ndarray, int]:
    """uint8 RGB [H, W, 3] -> (packed data rows as uint8 [rows, step], step in bytes) in ``encoding``.

    16-bit encodings get value * 257 (the exact inverse of the 16 -> 8 bit conversion); YUV
    is BT.601 video range with chroma averaged over each pixel pair (4:2:2) or 2x2 block (NV21)."""
    enc = lookup(encoding)
    cv2 = _cv2()
    h, w = rgb.shape[:2]
    if enc.family == "yuv422":
        if w % 2:
            raise ImageFormatError(f"{enc.name} (4:2:2) needs an even width, not {w}")
        y, u, v = _bt601_video(rgb)
        u2 = (u[:, 0::2] + u[:, 1::2]) / 2
        v2 = (v[:, 0::2] + v[:, 1::2]) / 2
        out = np.empty((h, w // 2, 4), dtype=np.uint8)
        if enc.to_rgb.endswith("UYVY"):
            out[..., 0], out[..., 1], out[..., 2], out[..., 3] = _u8(u2), _u8(y[:, 0::2]), _u8(v2), _u8(y[:, 1::2])
        else:
            out[..., 0], out[..., 1], out[..., 2], out[..., 3] = _u8(y[:, 0::2]), _u8(u2), _u8(y[:, 1::2]), _u8(v2)
        return out.reshape(h, 2 * w), 2 * w
    if enc.family in ("nv21", "nv24"):
        if h % 2 or w % 2:
            raise ImageFormatError(f"{enc.name} needs an even width and height, not {w}x{h}")
        y, u, v = _bt601_video(rgb)
        if enc.family == "nv21":
            def half(c: np.ndarray) -> np.ndarray:
                return (c[0::2, 0::2] + c[0::2, 1::2] + c[1::2, 0::2] + c[1::2, 1::2]) / 4
            vu = np.stack([_u8(half(v)), _u8(half(u))], axis=-1).reshape(h // 2, w)
            return np.concatenate([_u8(y), vu]), w
        uv = np.stack([_u8(u), _u8(v)], axis=-1).reshape(h, 2 * w)
        return np.concatenate([_u8(y), uv.reshape(2 * h, w)]), w
    if enc.family == "bayer":
        pixels = _bayer_mosaic(rgb, enc.name[len("bayer_"):len("bayer_") + 4])[..., None]
    else:
        inverse = {"": None, "COLOR_BGR2RGB": cv2.COLOR_RGB2BGR, "COLOR_RGBA2RGB": cv2.COLOR_RGB2RGBA,
                   "COLOR_BGRA2RGB": cv2.COLOR_RGB2BGRA, "COLOR_GRAY2RGB": cv2.COLOR_RGB2GRAY}[enc.to_rgb]
        pixels = rgb if inverse is None else cv2.cvtColor(rgb, inverse)
        pixels = pixels.reshape(h, w, enc.channels)
    if enc.depth == 2:
        wide = pixels.astype(np.uint16) * 257
        pixels = wide.astype(">u2" if bigendian else "<u2").view(np.uint8)
    packed = np.ascontiguousarray(pixels).reshape(h, -1)
    return packed, packed.shape[1]


def rgb_to_image_fields(rgb: np.ndarray, encoding: str = "rgb8", bigendian: bool = False) -> dict[str, object]:
    """uint8 RGB [H, W, 3] -> the data fields of a ``sensor_msgs/Image`` in ``encoding``."""
    enc = lookup(encoding)
    rows, step = rgb_to_encoded(rgb, enc.name, bigendian)
    return {"height": int(rgb.shape[0]), "width": int(rgb.shape[1]), "encoding": enc.name,
            "is_bigendian": int(bool(bigendian) and enc.depth == 2), "step": int(step),
            "data": rows.reshape(-1).astype(np.uint8)}
