"""Command-line arguments of eval-bag and make-bag (light: the CLI builds its parser
without importing onnxruntime, rosbags or OpenCV)."""
from __future__ import annotations

import argparse
from agilenn_ros.cli_types import count, int_at_least, int_between, positive_float

# the names of agilenn_ros.runtime.image_encodings.SUPPORTED_ENCODINGS (kept here so the
# parser does not import OpenCV; a test checks the two agree)
RAW_ENCODINGS = ("rgb8", "bgr8", "rgba8", "bgra8", "mono8", "bayer_rggb8", "bayer_bggr8", "bayer_gbrg8",
                 "bayer_grbg8", "rgb16", "bgr16", "rgba16", "bgra16", "mono16", "bayer_rggb16", "bayer_bggr16",
                 "bayer_gbrg16", "bayer_grbg16", "8UC1", "8UC3", "8UC4", "yuv422", "uyvy", "yuv422_yuy2", "yuyv",
                 "nv21", "nv24")
COMPRESSED_FORMATS = ("jpeg", "png")
ENCODINGS = RAW_ENCODINGS + COMPRESSED_FORMATS
STORAGE_NAMES = ("mcap", "sqlite3")


def add_eval_bag_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("bag", help="rosbag2 directory, or a .mcap / .db3 file")
    p.add_argument("--model", required=True, help="bundle directory or name (e.g. cifar10)")
    p.add_argument("--report", required=True, help="output directory (report.json, report.md, plots)")
    p.add_argument("--image-topic", default="", help="image topic (default: found automatically)")
    p.add_argument("--features-topic", default="", help="FeatureFrame topic (edge-only evaluation)")
    p.add_argument("--labels-topic", default="/ground_truth", help="vision_msgs/Classification ground truth")
    p.add_argument("--prediction-topic", default="", help="recorded agilenn_ros/Prediction topic (default: found)")
    p.add_argument("--limit", type=count, default=0, help="evaluate only the first N frames")
    p.add_argument("--codec", default="", help="payload codec for image bags: rans, packed, lzw (default: the bundle's)")
    p.add_argument("--batch", type=int_at_least(1), default=64, help="frames per onnxruntime call")
    p.add_argument("--threads", type=count, default=0, help="onnxruntime threads (0: up to 4)")
    p.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def add_make_bag_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("images", help="image folder (<class>/<image>) or archive, a CIFAR-10 release, or 'digits'")
    p.add_argument("--out", required=True, help="bag directory to create (must not exist)")
    p.add_argument("--storage", default="mcap", choices=list(STORAGE_NAMES))
    p.add_argument("--encoding", default="rgb8", choices=list(ENCODINGS), metavar="ENCODING",
                   help="sensor_msgs/Image encoding (any the readers understand, e.g. yuv422_yuy2, bayer_rggb8, "
                        "mono16, 8UC3), or jpeg/png for sensor_msgs/CompressedImage")
    p.add_argument("--topic", default="/camera/image_raw",
                   help="image topic (compressed images go to <topic>/compressed)")
    p.add_argument("--labels-topic", default="/ground_truth",
                   help="vision_msgs/Classification ground truth topic ('' for none)")
    p.add_argument("--split", default="test", choices=["train", "test"], help="split of the image source")
    p.add_argument("--limit", type=count, default=0, help="N images spread evenly over the set (0: all)")
    p.add_argument("--rate", type=positive_float, default=10.0, help="frame rate of the header stamps (Hz)")
    p.add_argument("--frame-id", default="camera", help="header.frame_id")
    p.add_argument("--jpeg-quality", type=int_between(1, 100), default=95,
                   help="JPEG quality 1..100 for --encoding jpeg")
    p.add_argument("--resize", default="", help="resize every image to WxH first (e.g. 320x240)")
    p.add_argument("--force", action="store_true", help="replace an existing bag directory")
    p.add_argument("--compression", default="", choices=["", "message", "file"],
                   help="zstd compression as ros2 bag record --compression-mode (default: none)")
