"""Finding faces in one frame: detection, 68 landmarks, and a check against false detections.

The built-in finders use dlib: ``hog`` (HOG + linear SVM, fast on the CPU, the default) and
``cnn`` (the MMOD CNN detector: better with turned and small faces, slower on the CPU). Plugins
add others through the ``register_face_detectors`` hook (:mod:`neuralfx.faces.registry`).

Detection runs on a copy of the frame scaled so that the smallest face asked for
(``min_face`` pixels wide) just fills the detector's window (40 px for HOG with one
upsampling, 80 px for MMOD): reduced for large faces, so a 1080p frame costs a quarter, and
enlarged (up to MAX_UPSCALE) for faces smaller than the window, which the CNN never saw before
(a 36 px face in a crowd that HOG found). Landmarks are then fitted on the full frame.

HOG fires on face-like texture (on scikit-image's ``astronaut()`` it finds the mission patch
and a glove). A detection scoring below ``confident_score`` is therefore confirmed by the CNN
detector on a small crop around it (0.1 s on the CPU), and dropped if the CNN sees no face.
"""

from __future__ import annotations

import dataclasses
import numpy as np

from . import dlib_models

HOG_WINDOW, MMOD_WINDOW = 40, 80  # smallest face each finds (HOG upsampled once), in pixels
MAX_UPSCALE = 3.0  # a frame is enlarged at most this much for faces below the window


@dataclasses.dataclass(frozen=True)
class Detection:
    """A face in a frame: ``box`` (x0, y0, x1, y1) and ``landmarks`` (68, 2) in frame pixels,
    in the iBUG 300-W order (jaw 0-16, brows 17-26, nose 27-35, eyes 36-47, mouth 48-67). A
    detector that finds boxes only leaves ``landmarks`` None: the pipeline fits them."""

    box: tuple[float, float, float, float]
    score: float
    landmarks: np.ndarray | None

    @property
    def width(self) -> float:
        return self.box[2] - self.box[0]


def to_uint8(rgb: np.ndarray) -> np.ndarray:
    """A decoded frame (uint8, uint16 or float in [0, 1]) as 8-bit RGB for the detectors."""
    if rgb.dtype == np.uint8:
        return np.ascontiguousarray(rgb)
    if rgb.dtype == np.uint16:
        return (rgb >> 8).astype(np.uint8)
    return (np.clip(np.nan_to_num(rgb.astype(np.float32)), 0, 1) * 255 + 0.5).astype(np.uint8)


class DlibFaceFinder:
    """dlib detection (``method`` ``hog`` or ``cnn``), landmarks, CNN confirmation."""

    def __init__(
        self,
        method: str = "hog",
        min_face: int = 64,
        confident_score: float = 1.0,
        confirm: bool = True,
    ) -> None:
        if method not in ("hog", "cnn"):
            raise ValueError(f"unknown dlib method {method!r}")
        self.method, self.min_face = method, min_face
        self.confident_score, self.confirm = confident_score, confirm
        dlib_models.landmark_predictor()  # load once, up front, not in the first worker

    def find(self, rgb: np.ndarray) -> list[Detection]:
        import cv2

        image = to_uint8(rgb)
        window = HOG_WINDOW if self.method == "hog" else MMOD_WINDOW
        scale = min(MAX_UPSCALE, window / self.min_face)
        small = (
            image
            if scale == 1.0
            else cv2.resize(
                image,
                None,
                fx=scale,
                fy=scale,
                interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR,
            )
        )
        if self.method == "hog":
            rects, scores, _ = dlib_models.hog_detector().run(small, 1, 0.0)
        else:
            found = dlib_models.mmod_detector()(small, 0)
            rects, scores = [d.rect for d in found], [d.confidence for d in found]
        faces = []
        for rect, score in zip(rects, scores, strict=True):
            box = (
                rect.left() / scale,
                rect.top() / scale,
                rect.right() / scale,
                rect.bottom() / scale,
            )
            if box[2] - box[0] < self.min_face:
                continue
            if (
                self.method == "hog"
                and self.confirm
                and score < self.confident_score
                and not self._cnn_agrees(image, box)
            ):
                continue
            faces.append(Detection(box, float(score), landmarks_in(image, box)))
        return faces

    @staticmethod
    def _cnn_agrees(image: np.ndarray, box) -> bool:
        """Does the CNN detector see a face in a crop twice the box's size around it?"""
        import cv2

        cx, cy, half = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2, box[2] - box[0]
        h, w = image.shape[:2]
        x0, y0 = int(max(0, cx - half)), int(max(0, cy - half))
        x1, y1 = int(min(w, cx + half)), int(min(h, cy + half))
        crop = image[y0:y1, x0:x1]
        size = 2 * MMOD_WINDOW  # the face fills about half: the CNN's comfortable size
        scale = size / max(crop.shape[:2])
        crop = np.ascontiguousarray(
            cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        )
        return len(dlib_models.mmod_detector()(crop, 0)) > 0


def with_landmarks(found: list[Detection], image: np.ndarray) -> list[Detection]:
    """``found`` with dlib's 68 landmarks fitted in the box of each detection a box-only
    detector gave (``landmarks=None``); ``image`` the 8-bit RGB frame."""
    import dataclasses

    return [
        d
        if d.landmarks is not None
        else dataclasses.replace(d, landmarks=landmarks_in(image, d.box))
        for d in found
    ]


def landmarks_in(image: np.ndarray, box) -> np.ndarray:
    """dlib's 68 landmarks of the face in ``box`` of 8-bit RGB ``image``, ``(68, 2)``."""
    import dlib

    shape = dlib_models.landmark_predictor()(image, dlib.rectangle(*(round(v) for v in box)))
    return np.array([(p.x, p.y) for p in shape.parts()], np.float32)


def hog_finder(**options) -> DlibFaceFinder:
    return DlibFaceFinder("hog", **options)


def cnn_finder(**options) -> DlibFaceFinder:
    return DlibFaceFinder("cnn", **options)
