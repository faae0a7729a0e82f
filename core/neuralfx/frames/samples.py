"""Decoded samples as numbers, without torch: integer scales, unit floats, and the sRGB picture
a person looks at. Kept apart from :mod:`.pixels` (the run's tensors) so that commands that only
look at frames (``contact-sheet``, ``watermark detect``) start without importing torch."""

from __future__ import annotations

import numpy as np

from ..colour import linear_to_srgb

INTEGER_SCALE = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0}


def to_unit_float(a: np.ndarray) -> np.ndarray:
    """Integer samples scaled to [0, 1] as float32; float samples as they are (float32)."""
    scale = INTEGER_SCALE.get(a.dtype)
    return a.astype(np.float32) / scale if scale else a.astype(np.float32, copy=False)


def display_rgb(pixels: np.ndarray) -> np.ndarray:
    """Decoded pixels of any layout → float32 ``(H, W, 3)`` sRGB in [0, 1], for pictures that
    are looked at or learnt from (style images, training images, contact sheets): gray is
    expanded, alpha dropped, and float files (scene-linear) are encoded to sRGB."""
    rgb = to_unit_float(pixels)
    rgb = np.repeat(rgb[:, :, :1], 3, axis=2) if rgb.shape[2] < 3 else rgb[:, :, :3]
    if pixels.dtype.kind == "f":
        rgb = linear_to_srgb(rgb)
    return np.ascontiguousarray(np.clip(rgb, 0, 1), dtype=np.float32)
