"""sensor_msgs/Image and CompressedImage <-> RGB numpy arrays (no ROS, no cv_bridge)."""
from __future__ import annotations

import cv2
import numpy as np

from agilenn_ros.runtime.preprocess import ImageFormatError

# encoding -> (channels, conversion to RGB or None)
IMAGE_ENCODINGS: dict[str, tuple[int, int | None]] = {
    "rgb8": (3, None),
    "bgr8": (3, cv2.COLOR_BGR2RGB),
    "mono8": (1, cv2.COLOR_GRAY2RGB),
    "rgba8": (4, cv2.COLOR_RGBA2RGB),
    "bgra8": (4, cv2.COLOR_BGRA2RGB),
}


def image_to_rgb(encoding: str, height: int, width: int, step: int, data: bytes | np.ndarray) -> np.ndarray:
    """Decode the fields of a sensor_msgs/Image (8-bit encodings) to uint8 RGB [H, W, 3]."""
    enc = encoding.lower()
    if enc not in IMAGE_ENCODINGS:
        raise ImageFormatError(f"unsupported image encoding {encoding!r}; supported: {sorted(IMAGE_ENCODINGS)}")
    channels, conversion = IMAGE_ENCODINGS[enc]
    if height <= 0 or width <= 0:
        raise ImageFormatError(f"image has no pixels ({width}x{height})")
    row = width * channels
    step = step or row
    if step < row:
        raise ImageFormatError(f"step {step} is smaller than width*channels {row}")
    buf = np.frombuffer(memoryview(data), dtype=np.uint8) if not isinstance(data, np.ndarray) else data.view(np.uint8).reshape(-1)
    if buf.size < step * (height - 1) + row:
        raise ImageFormatError(f"image data has {buf.size} bytes, {encoding} {width}x{height} needs {step * height}")
    rows = np.lib.stride_tricks.as_strided(buf, shape=(height, row), strides=(step, 1))
    pixels = np.ascontiguousarray(rows).reshape(height, width, channels)
    if conversion is None:
        return pixels
    if channels == 1:
        pixels = pixels[..., 0]
    return cv2.cvtColor(pixels, conversion)


def rgb_to_image_fields(rgb: np.ndarray, encoding: str = "rgb8") -> dict[str, object]:
    """uint8 RGB [H, W, 3] -> the data fields of a sensor_msgs/Image in ``encoding``."""
    enc = encoding.lower()
    if enc == "rgb8":
        pixels = rgb
    elif enc == "bgr8":
        pixels = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
    elif enc == "mono8":
        pixels = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    elif enc == "rgba8":
        pixels = cv2.cvtColor(rgb, cv2.COLOR_RGB2RGBA)
    elif enc == "bgra8":
        pixels = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGRA)
    else:
        raise ImageFormatError(f"unsupported image encoding {encoding!r}")
    pixels = np.ascontiguousarray(pixels)
    channels = 1 if pixels.ndim == 2 else pixels.shape[2]
    return {"height": int(pixels.shape[0]), "width": int(pixels.shape[1]), "encoding": enc,
            "is_bigendian": 0, "step": int(pixels.shape[1] * channels),
            "data": pixels.reshape(-1).astype(np.uint8)}


def compressed_to_rgb(fmt: str, data: bytes | np.ndarray) -> np.ndarray:
    """Decode a sensor_msgs/CompressedImage (jpeg/png; format strings as image_transport writes them)."""
    buf = np.frombuffer(memoryview(data), dtype=np.uint8) if not isinstance(data, np.ndarray) else data.astype(np.uint8, copy=False)
    if buf.size == 0:
        raise ImageFormatError("compressed image has no data")
    image = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    if image is None:
        raise ImageFormatError(f"cannot decode compressed image (format {fmt!r})")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def rgb_to_compressed(rgb: np.ndarray, fmt: str = "jpeg", quality: int = 95) -> tuple[str, np.ndarray]:
    """uint8 RGB -> (format string, encoded bytes) for a sensor_msgs/CompressedImage."""
    bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
    if fmt in ("jpeg", "jpg"):
        ok, buf = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
        name = "rgb8; jpeg compressed bgr8"
    elif fmt == "png":
        ok, buf = cv2.imencode(".png", bgr)
        name = "rgb8; png compressed bgr8"
    else:
        raise ImageFormatError(f"unsupported compressed format {fmt!r} (jpeg or png)")
    if not ok:
        raise ImageFormatError("image encoding failed")
    return name, buf.reshape(-1)
