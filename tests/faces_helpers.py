"""Real faces for the face tests: scikit-image's ``astronaut()`` (a public-domain NASA
portrait), moved by known amounts to make clips."""

from __future__ import annotations

import os

import cv2
import numpy as np

# Where dlib's HOG finds the face in the untouched photograph (x0, y0, x1, y1).
ASTRONAUT_FACE = (175, 76, 265, 166)


def astronaut() -> np.ndarray:
    from skimage import data

    return data.astronaut()


def moved(image: np.ndarray, dx: float = 0.0, dy: float = 0.0, scale: float = 1.0,
          angle: float = 0.0, size: tuple[int, int] | None = None) -> np.ndarray:
    """``image`` shifted, scaled and turned about the face, edges reflected (no black border
    for the detector to trip on)."""
    h, w = image.shape[:2]
    x0, y0, x1, y1 = ASTRONAUT_FACE
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    m = cv2.getRotationMatrix2D((cx, cy), angle, scale)
    m[:, 2] += (dx, dy)
    out_w, out_h = size or (w, h)
    return cv2.warpAffine(image, m, (out_w, out_h), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REFLECT)


def two_faces() -> np.ndarray:
    """Two astronauts side by side (two faces, about 70 px wide, in one 768x384 frame)."""
    half = cv2.resize(astronaut(), (384, 384), interpolation=cv2.INTER_AREA)
    return np.concatenate([half, half[:, ::-1]], axis=1)


def no_face() -> np.ndarray:
    from skimage import data

    return cv2.resize(data.coffee(), (512, 512), interpolation=cv2.INTER_AREA)


def write_clip(folder, frames: dict[int, np.ndarray], name: str = "shot") -> str:
    """PNG frames (RGB arrays by frame number); returns the #### pattern."""
    os.makedirs(folder, exist_ok=True)
    for number, rgb in frames.items():
        cv2.imwrite(os.path.join(str(folder), f"{name}.{number:04d}.png"),
                    cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    return os.path.join(str(folder), f"{name}.####.png")


def read_rgb(path) -> np.ndarray:
    return cv2.cvtColor(cv2.imread(str(path), cv2.IMREAD_UNCHANGED), cv2.COLOR_BGR2RGB)
