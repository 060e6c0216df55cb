"""Point the ros-jazzy wheels' exported CMake targets at this venv's include folders.

The wheels were built in a manylinux container, and their
``share/<pkg>/cmake/*Export.cmake`` files name that container's Python include folders
(``/opt/python/cp311-cp311/include/python3.11`` and its numpy's ``_core/include``). A
``colcon build`` that generates Python type support (rosidl_generator_py) then fails
unless those folders exist. This rewrites the two paths, in the venv only (no root, no
change outside it), to the running interpreter's include folder and numpy's.

    .venv-ros/bin/python test/ros/fix_wheel_cmake.py .venv-ros

Idempotent; exits 1 with one line naming what is missing (e.g. Python.h) otherwise.
"""
from __future__ import annotations

import sys
import sysconfig
from pathlib import Path

BUILDER_PYTHON_INCLUDE = "/opt/python/cp311-cp311/include/python3.11"
BUILDER_NUMPY_INCLUDE = "/opt/python/cp311-cp311/lib/python3.11/site-packages/numpy/_core/include"


def replacements() -> dict[str, str]:
    """``{wheel builder path: path on this machine}``; raises SystemExit when missing."""
    import numpy

    python_include = Path(sysconfig.get_paths()["include"])
    if not (python_include / "Python.h").is_file():
        raise SystemExit(f"fix_wheel_cmake: {python_include}/Python.h not found; install the Python 3.11 "
                         "development headers (e.g. apt-get install python3.11-dev)")
    numpy_include = Path(numpy.get_include())
    if not (numpy_include / "numpy" / "arrayobject.h").is_file():
        raise SystemExit(f"fix_wheel_cmake: numpy headers not found in {numpy_include}")
    # longest first: the numpy path does not contain the include path, but keep it safe
    return {BUILDER_NUMPY_INCLUDE: str(numpy_include), BUILDER_PYTHON_INCLUDE: str(python_include)}


def fix(prefix: Path) -> int:
    """Rewrite every ``<prefix>/share/*/cmake/*.cmake`` that names a builder path; returns
    the number of files changed."""
    subs = replacements()
    changed = 0
    for path in sorted(prefix.glob("share/*/cmake/*.cmake")):
        text = path.read_text(encoding="utf-8")
        new = text
        for old, repl in subs.items():
            new = new.replace(old, repl)
        if new != text:
            path.write_text(new, encoding="utf-8")
            changed += 1
    left = [str(p) for p in prefix.glob("share/*/cmake/*.cmake") if "/opt/python/" in p.read_text(encoding="utf-8")]
    if left:
        raise SystemExit(f"fix_wheel_cmake: builder paths still named in {left[0]} (and {len(left) - 1} more)")
    return changed


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__.strip().splitlines()[0], file=sys.stderr)
        print("usage: fix_wheel_cmake.py VENV", file=sys.stderr)
        return 2
    changed = fix(Path(argv[1]))
    print(f"fix_wheel_cmake: {changed} exported CMake file(s) now use this machine's include folders")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
