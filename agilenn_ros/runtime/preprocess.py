"""Camera image -> model input, the same arithmetic as training (bilinear, half-pixel)."""
from __future__ import annotations

import cv2
import numpy as np


class ImageFormatError(ValueError):
    """An image has a shape or type the pipeline cannot use."""


def to_rgb(image: np.ndarray) -> np.ndarray:
    """Accept HxW (mono), HxWx1, HxWx3 (RGB) or HxWx4 (RGBA) uint8; return HxWx3 RGB."""
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8:
        raise ImageFormatError("image must be a uint8 numpy array")
    if image.ndim == 2:
        return np.repeat(image[..., None], 3, axis=-1)
    if image.ndim != 3 or image.shape[2] not in (1, 3, 4) or image.shape[0] < 1 or image.shape[1] < 1:
        raise ImageFormatError(f"unsupported image shape {image.shape}")
    if image.shape[2] == 1:
        return np.repeat(image, 3, axis=-1)
    if image.shape[2] == 4:
        return np.ascontiguousarray(image[..., :3])
    return image


def model_input(images: np.ndarray | list[np.ndarray], hw: tuple[int, int]) -> np.ndarray:
    """RGB uint8 image(s) -> float32 [N, 3, H, W] with values 0..255 at the model size.

    Resizing happens in float32 (no rounding to uint8), with cv2.INTER_LINEAR, which is the
    bilinear half-pixel interpolation training used (torch interpolate, align_corners=False).
    """
    batch = [images] if isinstance(images, np.ndarray) and images.ndim in (2, 3) else list(images)
    h, w = hw
    out = np.empty((len(batch), 3, h, w), dtype=np.float32)
    for i, image in enumerate(batch):
        rgb = to_rgb(image).astype(np.float32)
        if rgb.shape[:2] != (h, w):
            rgb = cv2.resize(rgb, (w, h), interpolation=cv2.INTER_LINEAR)
        out[i] = rgb.transpose(2, 0, 1)
    return out
