"""The measured JPEG encoder (``results/jpeg_m7.json``, written by ``make jpeg-report`` with
firmware_microros/tools/jpeg_m7.py): libjpeg-turbo's portable encoder counted instruction by
instruction on QEMU's Cortex-M7, on the benchmark's own frames, per IJG quality.

The edge-only rows of ``agilenn bench`` take their device time from here:
``instructions per frame (mean over the measured frames, ISLOW) * CPI / clock``. Frames of
another size than the measured ones are scaled by pixels (the encoder's cost is linear in
the pixel count); a quality that was not measured takes the per-pixel cost of the nearest
measured quality. Both cases are named in the row's ``source``.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class JpegReportError(ValueError):
    """results/jpeg_m7.json exists but cannot be used (the message names the file and why)."""


@dataclass
class JpegEncoderFigures:
    path: str
    library: str                                   # e.g. "libjpeg-turbo 2.1.5 (Debian 1:2.1.5-2)"
    width: int                                     # measured frame size (pixels)
    height: int
    frames: int                                    # frames measured per quality
    instructions: dict[int, float]                 # quality -> mean instructions per frame (ISLOW)
    instructions_ifast: dict[int, float] = field(default_factory=dict)
    flags: str = ""
    counting_method: str = ""
    byte_identical_to_opencv: dict[int, bool] = field(default_factory=dict)
    heap_bytes: int | None = None
    stack_bytes: int | None = None
    flash_bytes: int | None = None

    def per_pixel(self, quality: int) -> tuple[float, int]:
        """(instructions per pixel, measured quality used) for ``quality``: the quality itself
        when measured, else the nearest measured one (ties: the lower quality)."""
        q = min(self.instructions, key=lambda m: (abs(m - quality), m))
        return self.instructions[q] / float(self.width * self.height), q

    def instructions_for(self, quality: int, height: int, width: int) -> tuple[float, str]:
        """Instructions to encode one ``width`` x ``height`` frame at ``quality`` and a note
        saying how the figure was obtained."""
        per_pixel, q = self.per_pixel(quality)
        how = f"measured: {self.library} on QEMU Cortex-M7, q{q} mean of {self.frames} frames ({self.path})"
        if q != quality:
            how += f"; q{quality} not measured, the per-pixel count of q{q} is used"
        if (height, width) != (self.height, self.width):
            how += f"; scaled by pixels from the measured {self.width}x{self.height}"
            return per_pixel * height * width, how
        return self.instructions[q], how

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "library": self.library, "frame": [self.width, self.height],
                "frames": self.frames, "instructions_per_frame": {str(k): v for k, v in self.instructions.items()},
                "instructions_per_frame_ifast": {str(k): v for k, v in self.instructions_ifast.items()},
                "flags": self.flags, "counting_method": self.counting_method,
                "byte_identical_to_opencv": {str(k): v for k, v in self.byte_identical_to_opencv.items()},
                "heap_bytes": self.heap_bytes, "stack_bytes": self.stack_bytes, "flash_bytes": self.flash_bytes}


def _qualities(table: Any, path: str, key: str) -> dict[int, float]:
    if not isinstance(table, dict) or not table:
        raise JpegReportError(f"{path}: '{key}' must be a non-empty object quality -> instructions")
    out: dict[int, float] = {}
    for q, v in table.items():
        try:
            quality, value = int(q), float(v)
        except (TypeError, ValueError):
            raise JpegReportError(f"{path}: '{key}' entry {q!r}: {v!r} is not quality -> number") from None
        if not 1 <= quality <= 100 or not value > 0:
            raise JpegReportError(f"{path}: '{key}' entry {q!r}: quality must be 1..100, instructions > 0")
        out[quality] = value
    return out


def parse_jpeg_report(data: Any, path: str = "") -> JpegEncoderFigures:
    """The layout jpeg_m7.py writes; raises :class:`JpegReportError` on anything else."""
    if not isinstance(data, dict):
        raise JpegReportError(f"{path}: expected a JSON object")
    frames = data.get("frames")
    if not isinstance(frames, dict) or not all(isinstance(frames.get(k), int) and frames[k] > 0
                                                for k in ("width", "height", "count")):
        raise JpegReportError(f"{path}: 'frames' must hold positive integers width, height, count")
    lib = data.get("library") if isinstance(data.get("library"), dict) else {}
    library = f"{lib.get('name', 'libjpeg-turbo')} {lib.get('version') or '?'}"
    if lib.get("debian_source_version"):
        library += f" (Debian {lib['debian_source_version']})"
    code = data.get("code") if isinstance(data.get("code"), dict) else {}
    ifast = data.get("instructions_per_frame_ifast")
    identical = data.get("byte_identical_to_opencv") if isinstance(data.get("byte_identical_to_opencv"), dict) else {}
    return JpegEncoderFigures(
        path=path, library=library, width=frames["width"], height=frames["height"], frames=frames["count"],
        instructions=_qualities(data.get("instructions_per_frame"), path, "instructions_per_frame"),
        instructions_ifast=_qualities(ifast, path, "instructions_per_frame_ifast") if ifast else {},
        flags=str(data.get("flags", "")), counting_method=str(data.get("counting_method", "")),
        byte_identical_to_opencv={int(k): bool(v) for k, v in identical.items()},
        heap_bytes=data.get("heap_peak_bytes"), stack_bytes=data.get("stack_peak_bytes"),
        flash_bytes=code.get("flash_bytes"))


def load_jpeg_report(path: str | Path) -> JpegEncoderFigures | None:
    """None when the file does not exist; :class:`JpegReportError` when it is unusable."""
    p = Path(path)
    if not p.is_file():
        return None
    try:
        data = json.loads(p.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise JpegReportError(f"{p}: cannot read the JPEG encoder report ({exc})") from None
    return parse_jpeg_report(data, str(p))
