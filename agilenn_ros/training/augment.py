"""Batch preparation on uint8 images: augmentation at source size, normalise, resize."""
from __future__ import annotations

import warnings

import numpy as np
import torch
import torch.nn.functional as F

from agilenn_ros.config import DataConfig


class BatchPreparer:
    def __init__(self, cfg: DataConfig, seed: int = 0) -> None:
        self.cfg = cfg
        self.rng = np.random.default_rng(seed)
        self.mean = torch.tensor(cfg.mean, dtype=torch.float32).view(1, 3, 1, 1)
        self.std = torch.tensor(cfg.std, dtype=torch.float32).view(1, 3, 1, 1)
        self.cutout_fill = np.round(np.asarray(cfg.mean) * 255.0).astype(np.uint8)   # normalises to 0
        self._warned_sizes: set[tuple[int, int]] = set()

    def augment(self, images: np.ndarray) -> np.ndarray:
        """Random horizontal flip, pad-and-crop (zero padding) and cutout on uint8 [B, H, W, 3].

        Cutout (DeVries & Taylor 2017, arXiv:1708.04552): a ``cfg.cutout``-pixel square with a
        uniformly drawn centre (so it may be clipped by the border) is set to the mean colour
        ``cfg.mean``, which normalises to 0. The input array is never modified.
        """
        out = images
        pad = self.cfg.pad_crop
        b, h, w, _ = images.shape
        if pad > 0:
            padded = np.pad(images, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
            ys = self.rng.integers(0, 2 * pad + 1, size=b)
            xs = self.rng.integers(0, 2 * pad + 1, size=b)
            out = np.empty_like(images)
            for i in range(b):
                out[i] = padded[i, ys[i]:ys[i] + h, xs[i]:xs[i] + w]
        if self.cfg.flip:
            flip = self.rng.random(b) < 0.5
            out = out.copy() if out is images else out
            out[flip] = out[flip, :, ::-1]
        if self.cfg.cutout > 0:
            out = self._cutout(out, copy=out is images)
        return out

    def _cutout(self, images: np.ndarray, copy: bool) -> np.ndarray:
        out = images.copy() if copy else images
        b, h, w, _ = out.shape
        if self.cfg.cutout >= min(h, w) and (h, w) not in self._warned_sizes:
            self._warned_sizes.add((h, w))
            warnings.warn(f"data.cutout {self.cfg.cutout} is as large as the {w}x{h} source images: cutout "
                          f"is in source pixels, and a square this size blanks most of every image "
                          f"(whole images when centred)", stacklevel=3)
        half = self.cfg.cutout // 2
        cys = self.rng.integers(0, h, size=b)
        cxs = self.rng.integers(0, w, size=b)
        for i in range(b):
            y0, x0 = max(cys[i] - half, 0), max(cxs[i] - half, 0)
            y1, x1 = min(cys[i] - half + self.cfg.cutout, h), min(cxs[i] - half + self.cfg.cutout, w)
            out[i, y0:y1, x0:x1] = self.cutout_fill
        return out

    def to_tensor(self, images: np.ndarray) -> torch.Tensor:
        """uint8 [B, H, W, 3] -> normalised float [B, 3, S, S] (bilinear, half-pixel centres)."""
        x = torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float().div_(255.0)
        x = (x - self.mean) / self.std
        size = self.cfg.input_size
        if x.shape[-1] != size or x.shape[-2] != size:
            x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
        return x.contiguous(memory_format=torch.channels_last)

    def __call__(self, images: np.ndarray, train: bool) -> torch.Tensor:
        return self.to_tensor(self.augment(images) if train else images)
