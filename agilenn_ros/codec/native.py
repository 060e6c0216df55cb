"""Loader of the native (C) rANS decoder, ``csrc/rans_decode.c``, through ctypes.

The library is looked for, in this order:

1. in this package directory: ``_rans_native*.so`` (built by ``pip install``, setup.py)
   or ``libagilenn_rans_native.so`` (built and installed by colcon, CMakeLists.txt);
2. in the user cache (``$XDG_CACHE_HOME/agilenn_ros`` or ``~/.cache/agilenn_ros``), named
   after a hash of the C source;
3. unless ``AGILENN_NATIVE_BUILD=0``: compiled on the fly into that cache with
   ``$CC`` (default ``cc``) ``-O2 -std=c99 -shared -fPIC`` (source checkouts).

``AGILENN_NATIVE=0`` disables the native decoder (``load_native()`` returns None, the
codec uses its pure-Python decoder). Nothing here raises: without a usable library
``load_native()`` returns None (one ``logging.debug`` line says why).
"""

from __future__ import annotations

import ctypes
import hashlib
import logging
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import numpy as np

__all__ = [
    "ABI_VERSION",
    "RC_OK",
    "RC_TRUNCATED",
    "RC_FINAL_STATE",
    "RC_TRAILING",
    "RC_ARG",
    "RC_INITIAL_STATE",
    "NativeRans",
    "SOURCE",
    "load_native",
    "native_disabled",
    "cache_dir",
]

log = logging.getLogger(__name__)

#: agilenn_rans_decode_abi() of the library this module drives.
ABI_VERSION = 1
#: Return codes of agilenn_rans_decode (AGILENN_RANS_DEC_* in the C file).
RC_OK = 0
RC_TRUNCATED = -1
RC_FINAL_STATE = -2
RC_TRAILING = -3
RC_ARG = -4
RC_INITIAL_STATE = -5

PACKAGE_DIR = Path(__file__).resolve().parent
SOURCE = PACKAGE_DIR / "csrc" / "rans_decode.c"
_LIB_GLOBS = ("_rans_native*.so", "_rans_native*.pyd", "_rans_native*.dylib",
              "libagilenn_rans_native.so", "libagilenn_rans_native.dylib", "agilenn_rans_native.dll")
_COMPILE_FLAGS = ("-O2", "-std=c99", "-shared", "-fPIC")
_COMPILE_TIMEOUT_S = 120

_lock = threading.Lock()
_UNSET = object()
_loaded: "NativeRans | None | object" = _UNSET


class NativeRans:
    """The loaded library: ``decode()`` wraps ``agilenn_rans_decode``."""

    def __init__(self, lib: ctypes.CDLL, path: Path) -> None:
        self.lib = lib
        self.path = path
        fn = lib.agilenn_rans_decode
        u32 = ctypes.c_uint32
        fn.argtypes = [
            ctypes.c_char_p, u32, u32,  # data, len, start
            ctypes.c_char_p,  # slot_sym
            ctypes.c_void_p, ctypes.c_void_p,  # freq, cum (uint32)
            u32, u32, u32,  # n_symbols, n_tables, precision_bits
            u32, u32, u32,  # kc, kl, ka
            u32, u32, u32,  # channels, height, width
            ctypes.c_void_p,  # out (uint8)
        ]
        fn.restype = ctypes.c_int32
        self._fn = fn

    def __repr__(self) -> str:
        return f"NativeRans({str(self.path)!r})"

    def decode(
        self,
        data: bytes,
        start: int,
        slot_sym: bytes,
        freq: np.ndarray,
        cum: np.ndarray,
        n_symbols: int,
        precision_bits: int,
        multipliers: tuple[int, int, int],
        dims: tuple[int, int, int],
    ) -> tuple[int, np.ndarray]:
        """(return code, uint8 array of ``dims``). ``data`` holds the whole payload and
        ``start`` the offset of its 4-byte initial state; ``freq``/``cum`` are C-contiguous
        uint32 (n_tables, n_symbols) arrays and ``slot_sym`` is ``n_tables << P`` bytes."""
        if freq.dtype != np.uint32 or cum.dtype != np.uint32 or not (
            freq.flags.c_contiguous and cum.flags.c_contiguous
        ):
            raise TypeError("freq and cum must be C-contiguous uint32 arrays")
        n_tables = freq.size // n_symbols
        if cum.size != freq.size or len(slot_sym) != n_tables << precision_bits:
            raise ValueError("inconsistent native rANS tables")
        out = np.empty(dims, dtype=np.uint8)
        kc, kl, ka = multipliers
        rc = self._fn(
            data, len(data), start, slot_sym, freq.ctypes.data, cum.ctypes.data,
            n_symbols, n_tables, precision_bits, kc, kl, ka, dims[0], dims[1], dims[2],
            out.ctypes.data,
        )
        return int(rc), out


def native_disabled() -> bool:
    """True when ``AGILENN_NATIVE=0`` (also "false", "no", "off")."""
    return os.environ.get("AGILENN_NATIVE", "").strip().lower() in ("0", "false", "no", "off")


def _build_disabled() -> bool:
    return os.environ.get("AGILENN_NATIVE_BUILD", "").strip().lower() in ("0", "false", "no", "off")


def cache_dir() -> Path:
    """Where on-the-fly builds go: ``$XDG_CACHE_HOME/agilenn_ros`` or ``~/.cache/agilenn_ros``."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "agilenn_ros"


def _cached_name() -> str | None:
    """File name of the on-the-fly build: hash of the C source, the flags and the platform."""
    try:
        src = SOURCE.read_bytes()
    except OSError:
        return None
    h = hashlib.sha256(src)
    h.update(" ".join(_COMPILE_FLAGS).encode())
    h.update(f"{sys.platform}-{platform.machine()}".encode())
    return f"libagilenn_rans_native-{h.hexdigest()[:16]}.so"


def _try_load(path: Path) -> NativeRans | None:
    try:
        lib = ctypes.CDLL(str(path))
        abi_fn = lib.agilenn_rans_decode_abi
        abi_fn.argtypes = []
        abi_fn.restype = ctypes.c_uint32
        abi = int(abi_fn())
        if abi != ABI_VERSION:
            log.debug("native rANS decoder %s has ABI %d, expected %d; ignored", path, abi, ABI_VERSION)
            return None
        lib.agilenn_rans_decode  # noqa: B018 - must exist
        return NativeRans(lib, path)
    except (OSError, AttributeError) as exc:
        log.debug("cannot load native rANS decoder %s: %s", path, exc)
        return None


def _package_candidates() -> list[Path]:
    found: list[Path] = []
    for pattern in _LIB_GLOBS:
        found.extend(sorted(PACKAGE_DIR.glob(pattern)))
    return found


def _compile(target: Path) -> bool:
    """Compile SOURCE into ``target`` (atomically: temp file, then os.replace)."""
    cc = os.environ.get("CC") or "cc"
    exe = shutil.which(cc.split()[0]) if cc.split() else None
    if exe is None:
        log.debug("native rANS decoder not built: no C compiler (%s)", cc)
        return False
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=target.name + ".", suffix=".tmp", dir=target.parent)
        os.close(fd)
    except OSError as exc:
        log.debug("native rANS decoder not built: cache %s not writable: %s", target.parent, exc)
        return False
    try:
        cmd = [*cc.split(), *_COMPILE_FLAGS, "-o", tmp, str(SOURCE)]
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=_COMPILE_TIMEOUT_S)
        if res.returncode != 0:
            log.debug("native rANS decoder build failed (%s): %s", " ".join(cmd), res.stderr.strip())
            return False
        os.replace(tmp, target)
        return True
    except (OSError, subprocess.SubprocessError) as exc:
        log.debug("native rANS decoder build failed: %s", exc)
        return False
    finally:
        try:
            os.unlink(tmp)
        except OSError:
            pass


def _find() -> NativeRans | None:
    if native_disabled():
        log.debug("native rANS decoder disabled (AGILENN_NATIVE=0)")
        return None
    for path in _package_candidates():
        lib = _try_load(path)
        if lib is not None:
            return lib
    name = _cached_name()
    if name is None:
        log.debug("native rANS decoder unavailable: no library in %s and no source %s", PACKAGE_DIR, SOURCE)
        return None
    target = cache_dir() / name
    if target.is_file():
        lib = _try_load(target)
        if lib is not None:
            return lib
    if _build_disabled():
        log.debug("native rANS decoder unavailable: no library found and AGILENN_NATIVE_BUILD=0")
        return None
    if _compile(target):
        return _try_load(target)
    return None


def load_native(force_reload: bool = False) -> NativeRans | None:
    """The native rANS decoder, or None (disabled by ``AGILENN_NATIVE=0``, or no library
    found or buildable). The result is cached; ``force_reload=True`` looks again (and
    re-reads the environment variables)."""
    global _loaded
    if not force_reload and _loaded is not _UNSET:
        return _loaded  # type: ignore[return-value]
    with _lock:
        if force_reload or _loaded is _UNSET:
            _loaded = _find()
        return _loaded  # type: ignore[return-value]
