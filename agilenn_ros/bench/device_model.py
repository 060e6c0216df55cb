"""Device-side costs: AgileNN's device network counted from its weights, and the model that
turns MACs, coded symbols and encoded pixels into milliseconds at the device clock.

Every number that is assumed rather than measured is listed by :meth:`DeviceModel.assumptions`
and ends up in the benchmark JSON.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from agilenn_ros.bench.firmware import FirmwareFigures
from agilenn_ros.bench.jpeg_encoder import JpegEncoderFigures

DEFAULT_CYCLES_PER_MAC = 1.0
"""Without a firmware report: int8 CMSIS-NN-class kernels on a Cortex-M7 (SIMD dual 16-bit
MACs; roughly 0.5 to 1.5 cycles per MAC on real convolution layers)."""

DEFAULT_CODEC_CYCLES_PER_SYMBOL = {"packed": 3.0, "rans": 30.0, "lzw": 60.0}
"""Encoder cycles per coded symbol when the firmware report has no encoder count."""

IMAGE_CYCLES = {"raw": 0.0, "png": 100.0, "jpeg": 150.0}
"""Device cycles to encode an image for edge-only offloading: raw is copied by DMA (0);
PNG: per byte of RGB data (deflate in software, assumed); JPEG: per pixel, used only without
the measured encoder (results/jpeg_m7.json, ``make jpeg-report``: libjpeg-turbo counted in
QEMU, 146-149 instructions per pixel at q50-q90 on the bench's 96x96 frames)."""

CPI = 1.0
"""Cycles per instruction used to turn the firmware's instruction counts into time."""


def agilenn_device_cost(weights: Any, include_local: bool = True) -> dict[str, Any]:
    """MACs / parameters / SRAM / flash of AgileNN's device network from its float weights
    (:class:`agilenn_ros.runtime.device_float.FloatWeights`), counted like the baselines' (int8)."""
    h, w = weights.input_h, weights.input_w
    h1, w1 = weights.l1_shape
    fh, fw = weights.feature_shape
    hid, c, k, classes = weights.hidden, weights.channels, weights.k, weights.classes
    layers = [  # (macs, input elements, output elements, weights, biases)
        (h1 * w1 * 3 * 9, h * w * 3, h1 * w1 * 3, 27, 0),
        (h1 * w1 * hid * 3, h1 * w1 * 3, h1 * w1 * hid, 3 * hid, hid),
        (fh * fw * hid * 9, h1 * w1 * hid, fh * fw * hid, 9 * hid, 0),
        (fh * fw * c * hid, fh * fw * hid, fh * fw * c, c * hid, c),
    ]
    if include_local:
        layers.append((k * classes, k, classes, k * classes, classes))
    macs = sum(layer[0] for layer in layers)
    wts = sum(layer[3] for layer in layers)
    biases = sum(layer[4] for layer in layers)
    return {"macs": int(macs), "params": int(wts + biases),
            "sram_bytes": int(max(layer[1] + layer[2] for layer in layers)),
            "flash_bytes": int(wts + 4 * biases),
            "method": "counted from fe_weights.npz like the baselines (int8 activations and weights, BatchNorm "
                      "folded); SRAM = largest input + output activation"}


@dataclass
class DeviceModel:
    clock_hz: float = 216e6
    cycles_per_mac: float = DEFAULT_CYCLES_PER_MAC
    cycles_per_mac_source: str = "assumed"
    codec_cycles: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_CODEC_CYCLES_PER_SYMBOL))
    codec_cycles_source: dict[str, str] = field(default_factory=lambda: {k: "assumed" for k in
                                                                         DEFAULT_CODEC_CYCLES_PER_SYMBOL})
    firmware: FirmwareFigures | None = None
    jpeg: JpegEncoderFigures | None = None

    @classmethod
    def calibrate(cls, clock_hz: float, firmware: FirmwareFigures | None, agilenn_macs: int,
                  agilenn_symbols: int) -> "DeviceModel":
        """Cycles per MAC and per coded symbol from the firmware's counts when it has them."""
        model = cls(clock_hz=clock_hz, firmware=firmware)
        if firmware is None or not firmware.instructions_per_frame or agilenn_macs <= 0:
            return model
        for codec, instructions in firmware.encode_instructions.items():
            if codec in model.codec_cycles and agilenn_symbols > 0:
                model.codec_cycles[codec] = CPI * instructions / agilenn_symbols
                model.codec_cycles_source[codec] = "firmware"
        if firmware.extract_instructions:
            network = firmware.extract_instructions
            how = "firmware network instructions"
        elif "rans" in firmware.encode_instructions:
            network = firmware.instructions_per_frame - firmware.encode_instructions["rans"]
            how = "firmware frame instructions minus its rANS encoder"
        else:
            network = firmware.instructions_per_frame
            how = "firmware frame instructions (encoder included)"
        model.cycles_per_mac = CPI * network / agilenn_macs
        model.cycles_per_mac_source = (f"{how} / AgileNN device MACs ({network:.0f} / {agilenn_macs}) at CPI {CPI}; "
                                       "includes the firmware's resize and quantizer overheads")
        return model

    def ms(self, cycles: float) -> float:
        return 1e3 * cycles / self.clock_hz

    def network_ms(self, macs: int) -> float:
        return self.ms(macs * self.cycles_per_mac)

    def encode_ms(self, codec: str, symbols: int) -> float:
        return self.ms(symbols * self.codec_cycles[codec])

    def image_ms(self, kind: str, height: int, width: int, quality: int = 75) -> float:
        return self.image_encode(kind, height, width, quality)[0]

    def image_encode(self, kind: str, height: int, width: int, quality: int = 75) -> tuple[float, str]:
        """(ms, how the figure was obtained) to encode one ``width`` x ``height`` RGB frame on
        the device: raw 0 (DMA), PNG assumed, JPEG measured (results/jpeg_m7.json) when
        available, else assumed."""
        if kind == "jpeg" and self.jpeg is not None:
            instructions, how = self.jpeg.instructions_for(quality, height, width)
            return self.ms(CPI * instructions), f"{how}; CPI {CPI:g}"
        units = height * width * 3 if kind == "png" else height * width
        how = {"raw": "none: the frame is copied by DMA",
               "png": f"assumed: {IMAGE_CYCLES['png']:g} cycles per RGB byte (software deflate)",
               "jpeg": f"assumed: {IMAGE_CYCLES['jpeg']:g} cycles per pixel (no results/jpeg_m7.json; "
                       "make jpeg-report measures it)"}[kind]
        return self.ms(units * IMAGE_CYCLES[kind]), how

    def firmware_frame_ms(self) -> float | None:
        if self.firmware is None or not self.firmware.instructions_per_frame:
            return None
        return self.ms(CPI * self.firmware.instructions_per_frame)

    def to_dict(self) -> dict[str, Any]:
        return {"clock_hz": self.clock_hz, "cycles_per_mac": self.cycles_per_mac,
                "cycles_per_mac_source": self.cycles_per_mac_source,
                "codec_cycles_per_symbol": self.codec_cycles, "codec_cycles_source": self.codec_cycles_source,
                "image_encode_cycles": {"raw": "0", "png": f"{IMAGE_CYCLES['png']} per RGB byte (assumed)",
                                        "jpeg": ("measured instructions per frame x CPI (jpeg_encoder)"
                                                 if self.jpeg is not None else
                                                 f"{IMAGE_CYCLES['jpeg']} per pixel (assumed)"),
                                        "jpeg_camera": "0 (hardware JPEG in the camera)"},
                "jpeg_encoder": self.jpeg.to_dict() if self.jpeg is not None else None,
                "cpi": CPI}

    def assumptions(self) -> list[str]:
        clock = f"{self.clock_hz / 1e6:g} MHz"
        out = [f"Device clock {clock} (STM32F746, the paper's board); time = cycles / clock.",
               f"CPI = {CPI:g}: every instruction count measured in QEMU (AgileNN's firmware, the JPEG encoder) becomes "
               f"cycles at one cycle per instruction. QEMU counts instructions, not cycles: a real Cortex-M7 dual-issues "
               "some pairs (CPI below 1) and pays flash wait states and cache misses (CPI above 1). Both measured sides "
               "use the same CPI, so their ratio of device times does not depend on it."]
        if self.firmware is not None and self.firmware.instructions_per_frame:
            out.append(f"AgileNN device time is measured: the firmware's instructions per frame counted in QEMU "
                       f"({self.firmware.path}) at CPI {CPI} (one instruction per cycle; a Cortex-M7 can dual-issue, "
                       "flash wait states and cache misses add cycles).")
        else:
            out.append("No firmware report (results/firmware.json; `make firmware-report`): AgileNN's device time is "
                       "estimated from its MACs with the same cycles-per-MAC as the baselines.")
        out.append(f"Baseline device networks: {self.cycles_per_mac:.3g} cycles per MAC ({self.cycles_per_mac_source}"
                   f"{'' if self.cycles_per_mac_source != 'assumed' else ': int8 CMSIS-NN-class kernels on a Cortex-M7'}"
                   ").")
        codec = ", ".join(f"{k} {v:.3g} ({self.codec_cycles_source[k]})" for k, v in self.codec_cycles.items())
        out.append(f"Encoder cycles per coded symbol: {codec}.")
        if self.jpeg is not None:
            j = self.jpeg
            per_q = ", ".join(f"q{q} {v / 1e6:.3f} M ({v / (j.width * j.height):.0f}/pixel)"
                              for q, v in sorted(j.instructions.items()))
            out.append(f"Edge-only software JPEG on the device is measured: {j.library}, portable C encoder (no SIMD, "
                       f"4:2:0, standard Huffman tables, in-memory destination) built with the firmware's flags and "
                       f"counted in the same QEMU machine ({j.counting_method}) on {j.frames} of the bench's "
                       f"{j.width}x{j.height} frames: {per_q} instructions per frame (ISLOW, byte-identical to OpenCV's "
                       f"output: {all(j.byte_identical_to_opencv.values()) if j.byte_identical_to_opencv else 'unchecked'}"
                       f"; IFAST would be "
                       + (", ".join(f"q{q} {v / 1e6:.3f} M" for q, v in sorted(j.instructions_ifast.items())) or "n/a")
                       + f"), {j.path}.")
        else:
            out.append(f"Edge-only software JPEG on the device: {IMAGE_CYCLES['jpeg']:g} cycles per pixel, ASSUMED "
                       "(no results/jpeg_m7.json; `make jpeg-report` measures it).")
        out.append(f"Edge-only PNG on the device: {IMAGE_CYCLES['png']:g} cycles per RGB byte (assumed, not measured); raw "
                   "frames cost 0 (DMA).")
        out.append("Hardware-JPEG camera (OV2640-class, modelled): the camera encodes, the device spends 0 cycles and "
                   "forwards the bytes; the bytes are those of the software JPEG at the same quality (OV2640's own "
                   "encoder uses other tables and usually more bytes at equal quality, so this favours the camera).")
        return out
