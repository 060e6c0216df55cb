"""Optional native rANS decoder for pip installs; all metadata lives in pyproject.toml.

agilenn_ros/codec/csrc/rans_decode.c is built as ``agilenn_ros.codec._rans_native``: a
plain C shared library (no Python API, no PyInit function) that
agilenn_ros/codec/native.py loads with ctypes. If it cannot be compiled (no compiler),
the installation still succeeds with a warning and the codec uses its Python decoder.
"""

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext


class OptionalBuildExt(build_ext):
    """build_ext that turns a failed build into a warning."""

    def run(self) -> None:
        try:
            super().run()
        except Exception as exc:  # noqa: BLE001 - any compiler/setup failure
            self._warn(exc)

    def build_extension(self, ext: Extension) -> None:
        if self.compiler.compiler_type == "unix":
            ext.extra_compile_args = [*ext.extra_compile_args, "-std=c99", "-O2"]
        try:
            super().build_extension(ext)
        except Exception as exc:  # noqa: BLE001
            self._warn(exc)

    def copy_extensions_to_source(self) -> None:
        try:
            super().copy_extensions_to_source()
        except Exception as exc:  # noqa: BLE001 - nothing built to copy
            self._warn(exc)

    def get_export_symbols(self, ext: Extension) -> list[str]:
        # Not a Python module: export nothing extra (setuptools would add PyInit_<name>,
        # which only matters when linking on Windows).
        return list(ext.export_symbols or [])

    @staticmethod
    def _warn(exc: BaseException) -> None:
        print(
            "WARNING: the native rANS decoder (agilenn_ros/codec/csrc/rans_decode.c) was not "
            f"built ({type(exc).__name__}: {exc}); agilenn_ros will use its pure-Python decoder."
        )


setup(
    ext_modules=[
        Extension(
            "agilenn_ros.codec._rans_native",
            sources=["agilenn_ros/codec/csrc/rans_decode.c"],
            optional=True,
        )
    ],
    cmdclass={"build_ext": OptionalBuildExt},
)
