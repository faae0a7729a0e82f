"""Render the sample clip shipped in samples/ (made by the project, no third-party data).

    python scripts/make_samples.py

A 24-frame 320x180 scene: a sky gradient, a sun setting behind hills and a ball bouncing
across, with texture so that style transfer and optical flow have something to work on.
"""

from __future__ import annotations

import os

import cv2
import numpy as np

W, H, FRAMES = 320, 180, 24
OUT = os.path.join(os.path.dirname(__file__), "..", "samples", "clip")


def frame(t: float) -> np.ndarray:
    y, x = np.mgrid[0:H, 0:W].astype(np.float32)
    sky = np.stack([0.35 + 0.5 * y / H, 0.55 + 0.2 * y / H, 0.95 - 0.4 * y / H], axis=-1)
    img = sky.copy()
    sun_x, sun_y = 0.7 * W, 0.25 * H + 40 * t
    sun = ((x - sun_x) ** 2 + (y - sun_y) ** 2) < 22 ** 2
    img[sun] = (1.0, 0.85, 0.3)
    ridge = 0.62 * H + 14 * np.sin(x / 37.0) + 7 * np.sin(x / 11.0 + 1.3)
    hills = y > ridge
    grass = np.stack([0.2 + 0.1 * np.sin(x / 3.0) * np.sin(y / 5.0),
                      0.5 + 0.15 * np.sin(x / 7.0 + y / 4.0), 0.2 + 0.0 * x], axis=-1)
    img[hills] = grass[hills]
    bx = 30 + (W - 60) * t
    by = 0.55 * H - 60 * abs(np.sin(np.pi * 2.5 * t))
    ball = ((x - bx) ** 2 + (y - by) ** 2) < 14 ** 2
    stripes = (np.sin((x - bx) * 0.6 + t * 10) > 0)[..., None]
    img[ball] = np.where(stripes, (0.9, 0.1, 0.1), (0.95, 0.95, 0.95))[ball]
    return (np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8)


def main() -> None:
    os.makedirs(OUT, exist_ok=True)
    for i in range(FRAMES):
        rgb = frame(i / (FRAMES - 1))
        cv2.imwrite(os.path.join(OUT, f"clip.{1001 + i:04d}.png"), rgb[:, :, ::-1])


if __name__ == "__main__":
    main()
