"""Complete consistency checks of a model bundle, run when it is loaded.

A bundle that passes these checks cannot fail later in a way that depends only on the bundle:
every codec table, class name list, tensor name and tensor shape the runtimes use is checked
here, against each other and against the ONNX graphs. Every fault raises
:class:`~agilenn_ros.runtime.bundle.BundleError` with one line that names the file (and the
manifest key) and what is wrong.

* :func:`check_manifest` — ``manifest.json`` alone: types and ranges of every key the runtime
  reads; quantizer centroids against ``bits``; feature channels; codec tables (every table
  valid, built for the remote channel count and the centroid count); fusion alpha.
* :func:`check_onnx_io` — an ``onnxruntime`` session of ``device.onnx`` or ``edge.onnx``
  against the manifest: input/output names, element types and every fixed dimension
  (image size, class count, remote feature shape); a fixed batch dimension is allowed.
"""
from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any, Mapping, Sequence

from agilenn_ros.codec.errors import CodecError
from agilenn_ros.codec.registry import CODEC_IDS, make_codec

_HASH_RE = re.compile(r"^[0-9a-f]{8}$")
MAX_CLASS_NAME_CHARS = 256
"""Longest class name a bundle may have (names go into every Prediction and Classification)."""


class ManifestFault(ValueError):
    """One fault of one manifest key (turned into a BundleError naming the file)."""


def _need(mapping: Any, key: str, where: str) -> Any:
    if not isinstance(mapping, Mapping):
        raise ManifestFault(f"{where}: must be an object, got {type(mapping).__name__}")
    if key not in mapping:
        raise ManifestFault(f"{where}.{key}: missing" if where else f"{key}: missing")
    return mapping[key]


def _int(value: Any, where: str, low: int = 1, high: int = 1 << 16) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ManifestFault(f"{where}: must be an integer in {low}..{high}, got {value!r}")
    return int(value)


def _name(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value or len(value) > 256:
        raise ManifestFault(f"{where}: must be a non-empty string (<= 256 characters), got {value!r}")
    return value


def check_manifest(manifest: Mapping[str, Any]) -> None:
    """Raise ManifestFault for the first inconsistency of a parsed manifest (no file access)."""
    model_hash = _need(manifest, "model_hash", "")
    if not isinstance(model_hash, str) or not _HASH_RE.match(model_hash):
        raise ManifestFault(f"model_hash: must be 8 lower-case hex digits, got {model_hash!r}")
    _name(_need(manifest, "model_id", ""), "model_id")

    names = _need(manifest, "class_names", "")
    if not isinstance(names, list) or len(names) < 2 or len(names) > 256:
        raise ManifestFault(f"class_names: must be a list of 2..256 names, got "
                            f"{len(names) if isinstance(names, list) else type(names).__name__}")
    for i, n in enumerate(names):
        if not isinstance(n, str) or not n or len(n) > MAX_CLASS_NAME_CHARS:
            raise ManifestFault(f"class_names[{i}]: must be a non-empty string of at most "
                                f"{MAX_CLASS_NAME_CHARS} characters, got {n!r}")
    if len(set(names)) != len(names):
        raise ManifestFault("class_names: names repeat")

    spec = _need(manifest, "input", "")
    _int(_need(spec, "height", "input"), "input.height", 1, 4096)
    _int(_need(spec, "width", "input"), "input.width", 1, 4096)
    for key in ("mean", "std"):
        values = spec.get(key, [0.0, 0.0, 0.0] if key == "mean" else [1.0, 1.0, 1.0])
        if (not isinstance(values, list) or len(values) != 3
                or not all(isinstance(v, (int, float)) and math.isfinite(v) for v in values)):
            raise ManifestFault(f"input.{key}: must be 3 finite numbers, got {values!r}")
        if key == "std" and any(v <= 0 for v in values):
            raise ManifestFault(f"input.std: must be > 0, got {values!r}")

    feats = _need(manifest, "features", "")
    channels = _int(_need(feats, "channels", "features"), "features.channels")
    local = _int(_need(feats, "local_channels", "features"), "features.local_channels", 0)
    remote = _int(_need(feats, "remote_channels", "features"), "features.remote_channels")
    _int(_need(feats, "height", "features"), "features.height")
    _int(_need(feats, "width", "features"), "features.width")
    if local + remote != channels:
        raise ManifestFault(f"features: local_channels {local} + remote_channels {remote} != channels {channels}")

    quant = _need(manifest, "quantizer", "")
    centroids = _need(quant, "centroids", "quantizer")
    if (not isinstance(centroids, list) or not 2 <= len(centroids) <= 256
            or not all(isinstance(c, (int, float)) and not isinstance(c, bool) and math.isfinite(c)
                       for c in centroids)):
        raise ManifestFault(f"quantizer.centroids: must be 2..256 finite numbers, got {centroids!r:.80}")
    if any(b < a for a, b in zip(centroids, centroids[1:])):
        raise ManifestFault("quantizer.centroids: must be sorted ascending")
    bits = quant.get("bits")
    if bits is not None and (_int(bits, "quantizer.bits", 1, 8) and len(centroids) > (1 << bits)):
        raise ManifestFault(f"quantizer.bits: {bits} bits cannot index {len(centroids)} centroids")

    alpha = _need(_need(manifest, "fusion", ""), "alpha", "fusion")
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0.0 <= alpha <= 1.0:
        raise ManifestFault(f"fusion.alpha: must be a number in [0, 1], got {alpha!r}")

    codec = _need(manifest, "codec", "")
    default = codec.get("default", "packed") if isinstance(codec, Mapping) else None
    if default not in CODEC_IDS:
        raise ManifestFault(f"codec.default: unknown codec {default!r}; known: {sorted(CODEC_IDS)}")
    tables = codec.get("tables", {})
    if not isinstance(tables, Mapping):
        raise ManifestFault(f"codec.tables: must be an object, got {type(tables).__name__}")
    n_symbols = len(centroids)
    declared = tables.get("n_symbols")
    if declared is not None and declared != n_symbols:
        raise ManifestFault(f"codec.tables.n_symbols: {declared!r} but quantizer.centroids has {n_symbols} values")
    for name in sorted(CODEC_IDS):
        if name == "rans" and "rans" not in tables and default != "rans":
            continue  # no rANS tables: the bundle does not offer rANS (a rANS frame falls back)
        try:
            built = make_codec(name, tables, n_symbols=n_symbols)
        except (CodecError, ValueError, TypeError) as exc:
            raise ManifestFault(f"codec.tables ({name}): {exc}") from None
        rans_tables = getattr(built, "tables", None)
        if rans_tables is not None and rans_tables.context != "shared" and rans_tables.channels != remote:
            raise ManifestFault(f"codec.tables.rans.channels: tables were built for {rans_tables.channels} "
                                f"channels, features.remote_channels is {remote}")

    tensors = _need(manifest, "tensors", "")
    for role, ins, outs in (("device", ("image",), ("local_logits", "indices")),
                            ("edge", ("indices", "local_logits"), ("fused_logits", "remote_logits"))):
        entry = _need(tensors, role, "tensors")
        for kind, keys in (("inputs", ins), ("outputs", outs)):
            group = _need(entry, kind, f"tensors.{role}")
            for key in keys:
                _name(_need(group, key, f"tensors.{role}.{kind}"), f"tensors.{role}.{kind}.{key}")

    files = _need(manifest, "files", "")
    if not isinstance(files, Mapping) or not files:
        raise ManifestFault("files: must list the bundle's files with their sha256")
    for name, entry in files.items():
        if not isinstance(name, str) or "/" in name or "\\" in name or name.startswith("."):
            raise ManifestFault(f"files: {name!r} is not a plain file name of the bundle folder")
        digest = entry.get("sha256") if isinstance(entry, Mapping) else None
        if not isinstance(digest, str) or not re.match(r"^[0-9a-f]{64}$", digest):
            raise ManifestFault(f"files.{name}.sha256: must be 64 lower-case hex digits, got {digest!r}")


_ELEM = {"image": ("tensor(float)",), "indices": ("tensor(int64)", "tensor(int32)", "tensor(uint8)"),
         "local_logits": ("tensor(float)",), "fused_logits": ("tensor(float)",),
         "remote_logits": ("tensor(float)",)}


def _expected_shapes(manifest: Mapping[str, Any], role: str) -> dict[str, tuple[int, ...]]:
    """Per manifest key: the dimensions after the batch dimension."""
    classes = len(manifest["class_names"])
    feats = manifest["features"]
    remote = (int(feats["remote_channels"]), int(feats["height"]), int(feats["width"]))
    if role == "device":
        spec = manifest["input"]
        return {"image": (3, int(spec["height"]), int(spec["width"])), "local_logits": (classes,),
                "indices": remote}
    return {"indices": remote, "local_logits": (classes,), "fused_logits": (classes,), "remote_logits": (classes,)}


def check_onnx_io(manifest: Mapping[str, Any], role: str, args: Sequence[Any], outs: Sequence[Any],
                  file: Path) -> None:
    """``args``/``outs``: ``session.get_inputs()`` / ``get_outputs()`` of ``<role>.onnx``.
    Raise ManifestFault unless every tensor the manifest names exists with the right element
    type and shape (symbolic dimensions match anything; the batch dimension may be fixed)."""
    names = manifest["tensors"][role]
    expected = _expected_shapes(manifest, role)
    by_name = {"inputs": {a.name: a for a in args}, "outputs": {o.name: o for o in outs}}
    for kind in ("inputs", "outputs"):
        for key, tensor_name in names[kind].items():
            if key not in expected:
                continue
            found = by_name[kind].get(tensor_name)
            if found is None:
                raise ManifestFault(f"{file.name}: has no {kind[:-1]} {tensor_name!r} (manifest tensors.{role}."
                                    f"{kind}.{key}); it has {sorted(by_name[kind])}")
            if found.type not in _ELEM[key]:
                raise ManifestFault(f"{file.name}: {kind[:-1]} {tensor_name!r} is {found.type}, expected "
                                    f"{' or '.join(_ELEM[key])}")
            shape = list(found.shape)
            want = expected[key]
            if len(shape) != len(want) + 1 or any(isinstance(d, int) and d != w for d, w in zip(shape[1:], want)):
                raise ManifestFault(f"{file.name}: {kind[:-1]} {tensor_name!r} has shape {shape}, the manifest "
                                    f"implies [batch, {', '.join(map(str, want))}]")
    for kind, keys in (("inputs", [a.name for a in args]), ):
        unknown = sorted(set(keys) - set(names[kind].values()))
        if unknown:
            raise ManifestFault(f"{file.name}: inputs {unknown} are not named in manifest tensors.{role}.inputs")


def onnx_batch_dim(args: Sequence[Any]) -> int | None:
    """The fixed batch size of a session's first input, or None when it is dynamic."""
    first = list(args[0].shape)[0] if args else None
    return first if isinstance(first, int) and first > 0 else None
