"""``agilenn make-bag``: a labelled evaluation bag from an image folder or archive.

For every image: a ``sensor_msgs/msg/Image`` in any encoding the readers understand
(runtime/image_encodings.py: rgb8, bgr8, mono8, the 16-bit ones, Bayer, YUV 4:2:2, NV21/NV24,
8UC1/3/4) or a ``sensor_msgs/msg/CompressedImage`` (jpeg, png) on the image topic, and a
``vision_msgs/msg/Classification`` with the *same header* on the labels topic (class name
in ``results[0].class_id``, score 1.0). Compressed images go to ``<topic>/compressed``, the
image_transport convention, unless the topic already ends in ``/compressed``.

The bag is rosbag2 metadata version 9 (ROS 2 Jazzy) with message definitions and type
hashes, so ``ros2 bag info`` and ``ros2 bag play`` work on it.
"""
from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from agilenn_ros.bag.bag_writer import BagWriter
from agilenn_ros.bag.bagio import CLASSIFICATION, COMPRESSED_IMAGE, IMAGE
from agilenn_ros.bag.cli_args import COMPRESSED_FORMATS, ENCODINGS
from agilenn_ros.data import ImageSet, load_split
from agilenn_ros.runtime.ros_images import rgb_to_compressed, rgb_to_image_fields
from agilenn_ros.transport.msgtypes import new_message


@dataclass
class MakeBagResult:
    path: Path
    frames: int
    image_topic: str
    labels_topic: str
    stamps_ns: list[int]


def select_images(data: ImageSet, limit: int) -> ImageSet:
    """``limit`` images spread evenly over the set (:meth:`ImageSet.spread`)."""
    return data.spread(limit)


def image_topic_for(topic: str, encoding: str) -> str:
    if encoding in COMPRESSED_FORMATS and not topic.rstrip("/").endswith("/compressed"):
        return topic.rstrip("/") + "/compressed"
    return topic


def parse_size(text: str) -> tuple[int, int] | None:
    """``WxH`` -> (width, height); empty -> None."""
    if not text:
        return None
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise ValueError(f"--resize must look like 320x240, not {text!r}") from None
    if w <= 0 or h <= 0:
        raise ValueError("--resize needs positive sizes")
    return w, h


def image_message(rgb: np.ndarray, encoding: str, stamp_ns: int, frame_id: str, quality: int) -> object:
    header = {"stamp": divmod(stamp_ns, 1_000_000_000), "frame_id": frame_id}
    if encoding in COMPRESSED_FORMATS:
        fmt, data = rgb_to_compressed(rgb, encoding, quality)
        return new_message(COMPRESSED_IMAGE, header=header, format=fmt, data=data)
    return new_message(IMAGE, header=header, **rgb_to_image_fields(rgb, encoding))


def label_message(class_name: str, stamp_ns: int, frame_id: str) -> object:
    return new_message(CLASSIFICATION, header={"stamp": divmod(stamp_ns, 1_000_000_000), "frame_id": frame_id},
                       results=[{"class_id": class_name, "score": 1.0}])


def write_eval_bag(data: ImageSet, out: str | Path, *, storage: str = "mcap", encoding: str = "rgb8",
                   topic: str = "/camera/image_raw", labels_topic: str = "/ground_truth", rate_hz: float = 10.0,
                   frame_id: str = "camera", start_ns: int | None = None, jpeg_quality: int = 95,
                   resize: tuple[int, int] | None = None, force: bool = False,
                   progress: bool = False, version: int = 9, compression: str = "") -> MakeBagResult:
    """Write ``data`` (all of it) as a labelled image bag; stamps are ``start + i / rate``."""
    enc = encoding.lower() if encoding.lower() in COMPRESSED_FORMATS else encoding
    if enc not in ENCODINGS:
        raise ValueError(f"encoding must be one of {', '.join(ENCODINGS)}, not {encoding!r}")
    height, width = data.images.shape[1:3]
    if resize is None and width % 2 and enc in ("yuv422", "uyvy", "yuv422_yuy2", "yuyv"):
        raise ValueError(f"{enc} (4:2:2) needs an even width, not {width}; use --resize")
    if resize is None and (width % 2 or height % 2) and enc in ("nv21", "nv24"):
        raise ValueError(f"{enc} needs an even width and height, not {width}x{height}; use --resize")
    if rate_hz <= 0:
        raise ValueError("rate must be positive")
    start = int(time.time()) * 1_000_000_000 if start_ns is None else int(start_ns)
    period = int(round(1e9 / rate_hz))
    image_topic = image_topic_for(topic, enc)
    stamps: list[int] = []
    with BagWriter(out, storage, force=force, version=version, compression=compression) as bag:
        for i in tqdm(range(len(data)), desc="make-bag", unit="img", disable=not progress, leave=False):
            rgb = data.images[i]
            if resize is not None:
                rgb = cv2.resize(rgb, resize, interpolation=cv2.INTER_LINEAR)
            stamp = start + i * period
            bag.write(image_topic, image_message(rgb, enc, stamp, frame_id, jpeg_quality), stamp)
            if labels_topic:
                bag.write(labels_topic, label_message(data.class_names[int(data.labels[i])], stamp, frame_id), stamp)
            stamps.append(stamp)
    return MakeBagResult(Path(out), len(stamps), image_topic, labels_topic, stamps)


def make_bag_command(args: argparse.Namespace) -> int:
    data = select_images(load_split(args.images, args.split), args.limit)
    result = write_eval_bag(data, args.out, storage=args.storage, encoding=args.encoding, topic=args.topic,
                            labels_topic=args.labels_topic, rate_hz=args.rate, frame_id=args.frame_id,
                            jpeg_quality=args.jpeg_quality, resize=parse_size(args.resize), force=args.force,
                            progress=True, compression=args.compression)
    print(f"bag {result.path}: {result.frames} images on {result.image_topic} ({args.encoding}), "
          f"labels on {result.labels_topic or '(none)'}, {args.storage} storage")
    return 0
