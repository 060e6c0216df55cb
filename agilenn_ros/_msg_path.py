"""Where the package's ``.msg`` definitions are, in every way the package is installed.

Search order (first directory that has the file wins):

1. ``$AGILENN_MSG_DIR`` (explicit override),
2. a source checkout: ``<repo>/msg`` next to ``<repo>/package.xml`` of ``agilenn_ros``,
3. a pip install: ``<sys.prefix>/share/agilenn_ros/msg`` (pyproject ``data-files``, the
   same layout as a ROS install), or ``agilenn_ros/msg_defs/`` inside the package,
4. a ROS install: ``share/agilenn_ros/msg`` found through ament_index (if importable),
   or ``$AMENT_PREFIX_PATH/*/share/agilenn_ros/msg``.
"""

from __future__ import annotations

import os
import sys
from functools import lru_cache
from pathlib import Path

PACKAGE = "agilenn_ros"
_PKG_DIR = Path(__file__).resolve().parent


def _source_checkout_dir() -> Path | None:
    root = _PKG_DIR.parent
    xml = root / "package.xml"
    try:
        if xml.is_file() and f"<name>{PACKAGE}</name>" in xml.read_text(encoding="utf-8"):
            return root / "msg"
    except OSError:
        return None
    return None


def _ament_dirs() -> list[Path]:
    dirs: list[Path] = []
    try:
        from ament_index_python.packages import get_package_share_directory  # type: ignore

        dirs.append(Path(get_package_share_directory(PACKAGE)) / "msg")
    except Exception:  # not a ROS environment, or the package is not installed there
        pass
    for prefix in os.environ.get("AMENT_PREFIX_PATH", "").split(os.pathsep):
        if prefix:
            dirs.append(Path(prefix) / "share" / PACKAGE / "msg")
    return dirs


def msg_dirs() -> list[Path]:
    """Candidate directories, in search order, that exist."""
    cands: list[Path | None] = []
    env = os.environ.get("AGILENN_MSG_DIR")
    if env:
        cands.append(Path(env))
    cands.append(_source_checkout_dir())
    for prefix in dict.fromkeys((sys.prefix, sys.base_prefix)):
        cands.append(Path(prefix) / "share" / PACKAGE / "msg")
    cands.append(_PKG_DIR / "msg_defs")
    cands.extend(_ament_dirs())
    seen: list[Path] = []
    for c in cands:
        if c is not None and c.is_dir() and c not in seen:
            seen.append(c)
    return seen


@lru_cache(maxsize=None)
def find_msg_file(name: str) -> Path:
    """Path of ``<name>.msg`` (``name`` like ``"FeatureFrame"``)."""
    for d in msg_dirs():
        p = d / f"{name}.msg"
        if p.is_file():
            return p
    raise FileNotFoundError(
        f"{name}.msg not found; looked in {[str(d) for d in msg_dirs()] or 'no candidate directory'} "
        "(set AGILENN_MSG_DIR to the package's msg/ directory)")


def msg_names() -> list[str]:
    """Message names defined by the package (``.msg`` files of the first directory)."""
    dirs = msg_dirs()
    if not dirs:
        return []
    return sorted(p.stem for p in dirs[0].glob("*.msg"))
