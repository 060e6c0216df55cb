"""sensor_msgs/Image and CompressedImage <-> RGB numpy arrays (no ROS, no cv_bridge).

Raw encodings live in :mod:`agilenn_ros.runtime.image_encodings` (re-exported here); this
module adds CompressedImage (any format string image_transport writes; OpenCV decodes)."""
from __future__ import annotations

import cv2
import numpy as np

from agilenn_ros.runtime.preprocess import ImageFormatError

from agilenn_ros.runtime.image_encodings import (SUPPORTED_ENCODINGS, UnsupportedEncoding, image_msg_to_rgb,
                                                 image_to_rgb, rgb_to_image_fields)

IMAGE_ENCODINGS = SUPPORTED_ENCODINGS
"""Raw sensor_msgs/Image encodings understood by every reader (see runtime/image_encodings.py)."""


def compressed_to_rgb(fmt: str, data: bytes | np.ndarray) -> np.ndarray:
    """Decode a sensor_msgs/CompressedImage (jpeg/png; format strings as image_transport writes them)."""
    buf = np.frombuffer(memoryview(data), dtype=np.uint8) if not isinstance(data, np.ndarray) else data.astype(np.uint8, copy=False)
    if "compresseddepth" in str(fmt).replace(" ", "").lower():
        raise UnsupportedEncoding(f"unsupported compressed image format {fmt!r}: a compressedDepth (depth) image, "
                                  f"not camera colour")
    if buf.size == 0:
        raise ImageFormatError("compressed image has no data")
    image = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    if image is None:
        raise ImageFormatError(f"cannot decode compressed image (format {fmt!r})")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


__all__ = ["IMAGE_ENCODINGS", "UnsupportedEncoding", "image_msg_to_rgb", "image_to_rgb", "rgb_to_image_fields",
           "compressed_to_rgb", "rgb_to_compressed"]


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
