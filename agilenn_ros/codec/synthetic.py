"""Synthetic centroid indices that look like AgileNN's remote features.

Used by the tests, the golden vectors and the benchmark when no trained model is at hand.
Each channel is a spatially smooth random field (white noise blurred with a 3x3 binomial
kernel twice), scaled and shifted per channel, clipped like ReLU6 to [0, 6] and quantised to
``n_symbols`` centroids in (0, 6): many zeros (index 0), a channel-dependent skew and strong
correlation between neighbours, as in features computed from natural images.
"""

from __future__ import annotations

import numpy as np

__all__ = ["synthetic_indices", "synthetic_centroids"]


def synthetic_centroids(n_symbols: int = 8) -> np.ndarray:
    """``n_symbols`` ascending centroids in (0, 6), denser near 0 (float64)."""
    u = (np.arange(n_symbols) + 0.5) / n_symbols
    return 6.0 * u**1.6


def _blur(z: np.ndarray) -> np.ndarray:
    """Separable [1, 2, 1] / 4 blur over the last two axes, edges replicated."""
    for axis in (-1, -2):
        zp = np.concatenate([np.take(z, [0], axis=axis), z, np.take(z, [-1], axis=axis)], axis=axis)
        n = z.shape[axis]
        a = np.take(zp, np.arange(0, n), axis=axis)
        b = np.take(zp, np.arange(1, n + 1), axis=axis)
        c = np.take(zp, np.arange(2, n + 2), axis=axis)
        z = (a + 2.0 * b + c) / 4.0
    return z


def synthetic_indices(
    n_frames: int,
    channels: int = 19,
    height: int = 16,
    width: int = 16,
    n_symbols: int = 8,
    seed: int = 0,
    smooth: int = 2,
) -> np.ndarray:
    """Return uint8 indices of shape (n_frames, channels, height, width), values < n_symbols.

    ``smooth`` is the number of blur passes (0 gives spatially independent symbols).
    Channel c has its own offset and gain (fixed by the channel index, not the seed), so
    frames drawn with different seeds share per-channel statistics, as frames of one model do.
    """
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n_frames, channels, height, width))
    for _ in range(smooth):
        z = _blur(z)
        z /= max(float(z.std()), 1e-12)
    pos = np.arange(channels, dtype=np.float64) / max(channels - 1, 1)
    offset = (-0.9 + 1.5 * pos)[None, :, None, None]
    gain = (0.8 + 1.6 * np.cos(np.pi * 2.5 * pos) ** 2)[None, :, None, None]
    feat = np.clip(gain * (z + offset), 0.0, 6.0)
    cent = synthetic_centroids(n_symbols)
    edges = (cent[1:] + cent[:-1]) / 2.0
    return np.searchsorted(edges, feat, side="left").astype(np.uint8)
