"""The firmware's C core (firmware_microros/core) as a host shared library, through ctypes.

The device emulator can run the very code a microcontroller runs, so pipeline tests carry
exactly the bytes a device would send::

    core = FirmwareCore("models/cifar10")          # builds (once, cached) and loads the .so
    local_logits, indices, payload = core.process(rgb888_frame)
    core.last_codec_id                             # FeatureFrame.codec of that payload

The library is compiled from the same sources as the microcontroller build, with the
bundle's generated ``agilenn_model.h``, by the host C compiler (``$CC``, default ``cc``).
Builds are cached under ``$AGILENN_CACHE/firmware_core`` (default
``~/.cache/agilenn_ros/firmware_core``), keyed by the hash of the sources, the header and
the flags. The firmware sources are looked up in ``$AGILENN_FIRMWARE_DIR``, then next to
this package (a source checkout), then in ``share/agilenn_ros/firmware_microros`` of a colcon
or pip install (both install core/ and host/ there).
"""
from __future__ import annotations

import ctypes
import hashlib
import os
import shutil
import subprocess
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["FirmwareCore", "FirmwareCoreError", "FirmwareResult", "firmware_dir",
           "build_shared_library", "CODEC_PACKED", "CODEC_RANS"]

CODEC_PACKED = 0
CODEC_RANS = 1
PIXEL_RGB888 = 0
PIXEL_RGB565 = 1
PIXEL_RGB565BE = 2
SOURCES = ("core/agilenn_core.c", "core/agilenn_kernels.c", "core/agilenn_codec.c",
           "core/agilenn_model_data.c", "host/agilenn_shlib.c")
HEADERS = ("core/agilenn_core.h", "core/agilenn_kernels.h", "core/agilenn_codec.h")
CFLAGS = ("-std=c99", "-O2", "-fPIC", "-shared", "-fvisibility=hidden",
          "-Wall", "-Wextra", "-Werror")
_ABI = 1
_LOCKS: dict[str, threading.Lock] = {}


class FirmwareCoreError(RuntimeError):
    """The core cannot be built or loaded, or it rejected a frame."""


@dataclass
class FirmwareResult:
    local_logits: np.ndarray    # float32 [classes]
    logit_q: np.ndarray         # int32 [classes], Q16
    indices: np.ndarray         # uint8 [C - k, H, W]
    payload: bytes
    codec_id: int               # msg FeatureFrame.CODEC_*


def _installed_firmware_dirs() -> list[Path]:
    """``share/agilenn_ros/firmware_microros`` of a colcon install (ament index, then
    $AMENT_PREFIX_PATH) and of a pip install (sys.prefix)."""
    dirs: list[Path] = []
    try:
        from ament_index_python.packages import get_package_share_directory  # type: ignore

        dirs.append(Path(get_package_share_directory("agilenn_ros")) / "firmware_microros")
    except Exception:  # not a ROS environment, or agilenn_ros not installed there
        pass
    for prefix in os.environ.get("AMENT_PREFIX_PATH", "").split(os.pathsep):
        if prefix:
            dirs.append(Path(prefix) / "share" / "agilenn_ros" / "firmware_microros")
    import sys

    dirs.append(Path(sys.prefix) / "share" / "agilenn_ros" / "firmware_microros")
    return dirs


def firmware_dir() -> Path:
    """Where the firmware sources (core/, host/) are: $AGILENN_FIRMWARE_DIR, else the source
    checkout this package is in, else the installed copy (``share/agilenn_ros/firmware_microros``
    of a colcon or pip install)."""
    env = os.environ.get("AGILENN_FIRMWARE_DIR")
    candidates = [Path(env)] if env else []
    candidates.append(Path(__file__).resolve().parents[2] / "firmware_microros")
    candidates.extend(_installed_firmware_dirs())
    for cand in candidates:
        if (cand / "core" / "agilenn_core.c").is_file():
            return cand
    looked = ", ".join(str(c) for c in candidates)
    raise FirmwareCoreError(f"firmware sources not found (looked in {looked}): set AGILENN_FIRMWARE_DIR "
                            "to the firmware_microros folder of a source checkout")


def _cache_root() -> Path:
    base = os.environ.get("AGILENN_CACHE")
    root = Path(base) if base else Path.home() / ".cache" / "agilenn_ros"
    return root / "firmware_core"


def _header_path(model: str | os.PathLike[str]) -> Path:
    p = Path(model)
    header = p / "agilenn_model.h" if p.is_dir() else p
    if not header.is_file():
        raise FirmwareCoreError(f"{header}: no generated agilenn_model.h (run `agilenn export`)")
    return header


def build_shared_library(model: str | os.PathLike[str], *, cc: str | None = None,
                         fw_dir: Path | None = None, cache: Path | None = None) -> Path:
    """Compile the core for the bundle (folder or header path); return the cached .so path."""
    header = _header_path(model)
    src = fw_dir or firmware_dir()
    compiler = cc or os.environ.get("CC") or "cc"
    if shutil.which(compiler) is None:
        raise FirmwareCoreError(f"C compiler {compiler!r} not found")
    digest = hashlib.sha256()
    for rel in SOURCES + HEADERS:
        digest.update(rel.encode())
        digest.update((src / rel).read_bytes())
    digest.update(header.read_bytes())
    digest.update(" ".join((compiler,) + CFLAGS).encode())
    out_dir = (cache or _cache_root()) / digest.hexdigest()[:20]
    lib = out_dir / "libagilenn_core.so"
    if lib.is_file():
        return lib
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out_dir) as tmp:
        inc = Path(tmp) / "include"
        inc.mkdir()
        shutil.copyfile(header, inc / "agilenn_model.h")
        tmp_lib = Path(tmp) / lib.name
        cmd = [compiler, *CFLAGS, f"-I{inc}", f"-I{src / 'core'}", "-o", str(tmp_lib),
               *[str(src / rel) for rel in SOURCES]]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            raise FirmwareCoreError(f"building the firmware core failed:\n{' '.join(cmd)}\n"
                                    f"{proc.stdout}{proc.stderr}")
        os.replace(tmp_lib, lib)
    return lib


class FirmwareCore:
    """One bundle's firmware core loaded in this process (calls are serialised: the core
    keeps its buffers in static memory, like on the microcontroller)."""

    def __init__(self, model: str | os.PathLike[str], *, codec: int = CODEC_RANS,
                 cc: str | None = None, library: str | os.PathLike[str] | None = None,
                 cache_dir: str | os.PathLike[str] | None = None) -> None:
        """``model``: a bundle folder (or its agilenn_model.h); ``codec``: CODEC_RANS (packed
        when shorter) or CODEC_PACKED; ``library``: an already built .so to load instead."""
        self.library_path = Path(library) if library else build_shared_library(
            model, cc=cc, cache=Path(cache_dir) if cache_dir else None)
        try:
            self._lib = ctypes.CDLL(str(self.library_path))
        except OSError as exc:
            raise FirmwareCoreError(f"cannot load {self.library_path}: {exc}") from exc
        self._lock = _LOCKS.setdefault(str(self.library_path.resolve()), threading.Lock())
        lib = self._lib
        u8p = ctypes.POINTER(ctypes.c_uint8)
        lib.agn_shlib_info.argtypes = [ctypes.POINTER(ctypes.c_uint32), ctypes.c_uint32]
        lib.agn_shlib_info.restype = ctypes.c_int32
        lib.agn_shlib_model_id.restype = ctypes.c_char_p
        lib.agn_shlib_process.argtypes = [
            u8p, ctypes.c_uint32, ctypes.c_uint32, ctypes.c_uint32, ctypes.c_int32, ctypes.c_int32,
            ctypes.POINTER(ctypes.c_float), ctypes.POINTER(ctypes.c_int32), u8p, u8p,
            ctypes.c_uint32, ctypes.POINTER(ctypes.c_uint32), u8p]
        lib.agn_shlib_process.restype = ctypes.c_int32
        info = (ctypes.c_uint32 * 12)()
        lib.agn_shlib_info(info, 12)
        if info[0] != _ABI:
            raise FirmwareCoreError(f"{self.library_path}: ABI {info[0]}, expected {_ABI}")
        self.model_hash = int(info[1])
        self.input_hw = (int(info[2]), int(info[3]))
        self.remote_shape = (int(info[4]), int(info[5]), int(info[6]))
        self.num_classes = int(info[7])
        self.n_centroids = int(info[8])
        self.max_payload_bytes = int(info[9])
        self.has_rans = bool(info[10])
        self.model_id = lib.agn_shlib_model_id().decode()
        self.codec = int(codec)
        self.last_codec_id = CODEC_PACKED

    def run(self, frame: np.ndarray, *, rgb565: bool = False, big_endian: bool = False,
            codec: int | None = None) -> FirmwareResult:
        """One frame through the core. ``frame``: uint8 [H, W, 3] RGB888, or with
        ``rgb565=True`` uint16 [H, W] (values) or uint8 [H, W, 2] (bytes in memory,
        little-endian unless ``big_endian``) RGB565."""
        arr = np.asarray(frame)
        if rgb565:
            if arr.dtype == np.uint16 and arr.ndim == 2:
                order = ">u2" if big_endian else "<u2"
                arr = arr.astype(order).view(np.uint8).reshape(arr.shape[0], arr.shape[1], 2)
            if arr.dtype != np.uint8 or arr.ndim != 3 or arr.shape[2] != 2:
                raise FirmwareCoreError(f"RGB565 frame must be uint16 [H, W] or uint8 [H, W, 2], "
                                        f"got {arr.dtype} {arr.shape}")
            fmt = PIXEL_RGB565BE if big_endian else PIXEL_RGB565
        else:
            if arr.dtype != np.uint8 or arr.ndim != 3 or arr.shape[2] != 3:
                raise FirmwareCoreError(f"RGB888 frame must be uint8 [H, W, 3], got {arr.dtype} {arr.shape}")
            fmt = PIXEL_RGB888
        arr = np.ascontiguousarray(arr)
        h, w = arr.shape[:2]
        logits = np.zeros(self.num_classes, dtype=np.float32)
        logit_q = np.zeros(self.num_classes, dtype=np.int32)
        indices = np.zeros(self.remote_shape, dtype=np.uint8)
        payload = np.zeros(self.max_payload_bytes, dtype=np.uint8)
        length = ctypes.c_uint32(0)
        used = ctypes.c_uint8(0)
        u8p = ctypes.POINTER(ctypes.c_uint8)
        with self._lock:
            rc = self._lib.agn_shlib_process(
                arr.ctypes.data_as(u8p), w, h, 0, fmt, self.codec if codec is None else int(codec),
                logits.ctypes.data_as(ctypes.POINTER(ctypes.c_float)),
                logit_q.ctypes.data_as(ctypes.POINTER(ctypes.c_int32)),
                indices.ctypes.data_as(u8p), payload.ctypes.data_as(u8p), payload.size,
                ctypes.byref(length), ctypes.byref(used))
        if rc != 0:
            raise FirmwareCoreError(f"firmware core rejected the frame ({w}x{h}): status {rc}")
        self.last_codec_id = int(used.value)
        return FirmwareResult(logits, logit_q, indices, payload[:length.value].tobytes(),
                              int(used.value))

    def process(self, rgb888_frame: np.ndarray) -> tuple[np.ndarray, np.ndarray, bytes]:
        """(local_logits float32 [classes], indices uint8 [C-k, H, W], payload bytes);
        the payload's codec id is then in ``last_codec_id``."""
        res = self.run(rgb888_frame)
        return res.local_logits, res.indices, res.payload
