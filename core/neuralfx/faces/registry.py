"""Face detectors by name (plain data: the plugin host reads this without numpy, dlib or torch)."""

from __future__ import annotations

import dataclasses
from typing import Any


@dataclasses.dataclass(frozen=True)
class FaceDetectorEntry:
    """A face finder: ``factory(**options)`` (or its import path, ``"module:callable"``)
    returns an object whose ``find(rgb) -> list[Detection]`` is safe to call from several
    threads. Plugins offer theirs through the ``register_face_detectors`` hook."""

    name: str
    factory: Any
    description: str = ""


BUILTIN_DETECTORS = (
    FaceDetectorEntry(
        "hog",
        "neuralfx.faces.detect:hog_finder",
        "dlib HOG (fast on the CPU); low scores confirmed by dlib's CNN",
    ),
    FaceDetectorEntry(
        "cnn",
        "neuralfx.faces.detect:cnn_finder",
        "dlib MMOD CNN (turned and small faces; slower on the CPU)",
    ),
)
