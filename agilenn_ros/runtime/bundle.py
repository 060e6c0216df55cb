"""Model bundles: load and verify ``manifest.json`` and the files it lists.

A bundle is self-describing (DESIGN.md section 4): nothing here reads a training profile.
"""
from __future__ import annotations

import hashlib
import json
import os
import site
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FORMAT_VERSION = 1
MODEL_PATH_ENV = "AGILENN_MODEL_PATH"


class BundleError(ValueError):
    """A model bundle is missing, incomplete, corrupted or of an unknown format."""


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class Bundle:
    path: Path
    manifest: dict[str, Any]

    @property
    def class_names(self) -> list[str]:
        return list(self.manifest["class_names"])

    @property
    def num_classes(self) -> int:
        return len(self.manifest["class_names"])

    @property
    def input_hw(self) -> tuple[int, int]:
        spec = self.manifest["input"]
        return int(spec["height"]), int(spec["width"])

    @property
    def remote_shape(self) -> tuple[int, int, int]:
        f = self.manifest["features"]
        return int(f["remote_channels"]), int(f["height"]), int(f["width"])

    @property
    def centroids(self) -> list[float]:
        return list(self.manifest["quantizer"]["centroids"])

    @property
    def alpha(self) -> float:
        return float(self.manifest["fusion"]["alpha"])

    @property
    def model_hash(self) -> str:
        return str(self.manifest["model_hash"])

    @property
    def model_hash_u32(self) -> int:
        return int(self.manifest["model_hash"], 16)

    @property
    def model_id(self) -> str:
        return str(self.manifest["model_id"])

    @property
    def codec_tables(self) -> dict[str, Any]:
        return dict(self.manifest.get("codec", {}).get("tables", {}))

    @property
    def default_codec(self) -> str:
        return str(self.manifest.get("codec", {}).get("default", "packed"))

    def file(self, name: str) -> Path:
        return self.path / name


def _search_roots() -> list[Path]:
    """Where bundle names are looked up, in order: $AGILENN_MODEL_PATH (os.pathsep-separated
    directories), the source checkout's models/, a pip install's <prefix>/share/agilenn_ros/models
    (the wheel ships the cifar10 bundle there; also the --user prefix), and an installed ROS 2
    package's share/agilenn_ros/models."""
    roots: list[Path] = []
    env = os.environ.get(MODEL_PATH_ENV)
    if env:
        roots += [Path(p) for p in env.split(os.pathsep) if p]
    here = Path(__file__).resolve().parents[2]
    roots.append(here / "models")                      # source checkout
    for prefix in (sys.prefix, site.getuserbase()):    # pip install (data-files of the wheel)
        roots.append(Path(prefix) / "share" / "agilenn_ros" / "models")
    try:  # installed ROS 2 package
        from ament_index_python.packages import get_package_share_directory  # type: ignore
        roots.append(Path(get_package_share_directory("agilenn_ros")) / "models")
    except Exception:  # noqa: BLE001 - no ament index: not a ROS 2 install
        pass
    return list(dict.fromkeys(roots))


def resolve_model(name_or_path: str | os.PathLike[str]) -> Path:
    """A bundle directory, or a bundle name looked up in $AGILENN_MODEL_PATH and models/ (a name
    may have folders, e.g. ``baselines/edge``, when it is relative and has no ``..``)."""
    path = Path(name_or_path).expanduser()
    if (path / "manifest.json").is_file():
        return path
    if path.name == "manifest.json" and path.is_file():
        return path.parent
    if not path.is_absolute() and ".." not in path.parts and not str(name_or_path).startswith("~"):
        for root in _search_roots():
            if (root / str(name_or_path) / "manifest.json").is_file():
                return root / str(name_or_path)
    existing = [str(r) for r in _search_roots() if r.is_dir()]
    where = f"a name under {', '.join(existing)}" if existing else "a bundle name (no model directory exists here)"
    raise BundleError(f"no model bundle {str(name_or_path)!r}: give a directory with manifest.json, or "
                      f"{where}; ${MODEL_PATH_ENV} adds directories to search")


REQUIRED_KEYS = ("format_version", "model_hash", "model_id", "class_names", "input", "features",
                 "quantizer", "fusion", "codec", "tensors", "files")


def load_bundle(name_or_path: str | os.PathLike[str], verify: bool = True) -> Bundle:
    """Load a bundle and check it completely (:mod:`.bundle_check`): manifest keys, types and
    ranges, codec tables against centroids and the remote feature shape, and with ``verify``
    every listed file's sha256. The ONNX graphs are checked against the manifest where a
    runtime opens them (:func:`open_session`). Raises BundleError with one line naming the
    file and the fault."""
    from agilenn_ros.runtime.bundle_check import ManifestFault, check_manifest

    path = resolve_model(name_or_path)
    manifest_file = path / "manifest.json"
    try:
        manifest = json.loads(manifest_file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BundleError(f"{manifest_file}: {exc}") from None
    if not isinstance(manifest, dict):
        raise BundleError(f"{manifest_file}: must hold a JSON object, not {type(manifest).__name__}")
    if manifest.get("format") == "agilenn-baseline":
        raise BundleError(f"{path} is a baseline bundle (kind {manifest.get('kind', '?')}: agilenn export-baseline; "
                          "agilenn bench --baselines reads it), not an AgileNN model bundle (agilenn export)")
    missing = [key for key in REQUIRED_KEYS if key not in manifest]
    if missing:
        raise BundleError(f"{manifest_file}: missing keys {missing}")
    if manifest["format_version"] != FORMAT_VERSION:
        raise BundleError(f"{manifest_file}: bundle format {manifest['format_version']!r} is not supported "
                          f"(this agilenn_ros reads format {FORMAT_VERSION})")
    try:
        check_manifest(manifest)
    except ManifestFault as exc:
        raise BundleError(f"{manifest_file}: {exc}") from None
    for name, entry in manifest["files"].items():
        file = path / name
        if not file.is_file():
            raise BundleError(f"{file}: listed in the manifest but missing")
        if verify and sha256_file(file) != entry["sha256"]:
            raise BundleError(f"{file}: sha256 differs from manifest files.{name}.sha256 (corrupted or replaced)")
    for needed in ("device.onnx", "edge.onnx"):
        if (path / needed).is_file() and needed not in manifest["files"]:
            raise BundleError(f"{path / needed}: not listed in manifest files (its sha256 cannot be checked)")
    return Bundle(path=path, manifest=manifest)


def open_session(bundle: Bundle, role: str, threads: int = 1) -> Any:
    """An onnxruntime session of ``<role>.onnx`` (role ``device`` or ``edge``) whose input and
    output names, element types and shapes were checked against the manifest; BundleError
    (one line naming the file) when the file is not a loadable model or does not match."""
    from agilenn_ros.runtime.bundle_check import ManifestFault, check_onnx_io
    from agilenn_ros.runtime.onnx_session import make_session

    file = bundle.file(f"{role}.onnx")
    if not file.is_file():
        raise BundleError(f"{file}: missing (the {role} runtime needs it)")
    try:
        session = make_session(file, threads)
    except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own exception types
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise BundleError(f"{file}: onnxruntime cannot load it: {first}") from None
    try:
        check_onnx_io(bundle.manifest, role, session.get_inputs(), session.get_outputs(), file)
    except ManifestFault as exc:
        raise BundleError(f"{bundle.path}/{exc}") from None
    return session
