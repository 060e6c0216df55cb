"""Where the device emulator gets images: an image folder/archive, a video file, a camera."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Protocol

import cv2
import numpy as np

from agilenn_ros.data.datasets import DatasetError, load_split
from agilenn_ros.data.imageset import MissingSplitError


@dataclass
class Frame:
    rgb: np.ndarray            # uint8 [H, W, 3]
    label: int = -1            # class index when the source knows it, else -1
    name: str = ""


class FrameSource(Protocol):
    def frames(self) -> Iterator[Frame]: ...


class FolderSource:
    """Labelled images from an image folder (``<class>/<image>``) or archive, in order."""

    def __init__(self, path: str | Path, loop: bool = False, split: str = "test") -> None:
        try:
            self.data = load_split(path, split)
        except MissingSplitError:   # a plain <class>/<image> folder: all of it
            self.data = load_split(path, "train")
        self.loop = loop

    @property
    def class_names(self) -> list[str]:
        return self.data.class_names

    def frames(self) -> Iterator[Frame]:
        while True:
            for i in range(len(self.data)):
                yield Frame(self.data.images[i], int(self.data.labels[i]), f"{i}")
            if not self.loop:
                return


class CaptureSource:
    """A video file or a camera index through OpenCV's VideoCapture."""

    def __init__(self, target: str | int, loop: bool = False) -> None:
        self.target = target
        self.loop = loop and not isinstance(target, int)
        if isinstance(target, str) and not Path(target).expanduser().is_file():
            raise DatasetError(f"video file {target!r} does not exist")
        logging = cv2.utils.logging
        previous = logging.getLogLevel()
        logging.setLogLevel(logging.LOG_LEVEL_ERROR)   # OpenCV's backend probing warnings are not the reason
        try:
            self.capture = cv2.VideoCapture(str(Path(target).expanduser()) if isinstance(target, str) else target)
        finally:
            logging.setLogLevel(previous)
        if not self.capture.isOpened():
            if isinstance(target, int):
                raise DatasetError(f"no camera at index {target} can be opened (none connected, or in use)")
            raise DatasetError(f"cannot open video file {target!r} (not a video OpenCV can read)")

    def frames(self) -> Iterator[Frame]:
        index = 0
        while True:
            ok, bgr = self.capture.read()
            if not ok:
                if self.loop:
                    self.capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
                    continue
                return
            yield Frame(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), -1, str(index))
            index += 1

    def close(self) -> None:
        self.capture.release()


def sample_images_dir() -> Path:
    """The small labelled CIFAR-10 sample set shipped with the package (20 per class)."""
    return Path(__file__).resolve().parents[1] / "samples" / "cifar10"


def open_source(kind: str, path: str = "", camera_index: int = 0, loop: bool = False) -> FolderSource | CaptureSource:
    if kind == "folder":
        return FolderSource(path or sample_images_dir(), loop=loop)
    if kind == "video":
        if not path:
            raise DatasetError("source 'video' needs a path")
        return CaptureSource(path, loop=loop)
    if kind == "camera":
        return CaptureSource(int(camera_index))
    raise DatasetError(f"unknown frame source {kind!r} (topic, folder, video or camera)")
