"""dlib's models, as the ``face-recognition-models`` package ships them.

That package's ``__init__`` imports ``pkg_resources`` (gone from recent setuptools), so it is
never imported: its folder is found through ``importlib.util.find_spec``, which reads the
package's location without running its code. dlib objects are made once per process (the
68-point predictor is 100 MB) or once per thread where dlib says they are not thread-safe
(the detectors keep scratch buffers)."""

from __future__ import annotations

import functools
import importlib.util
import threading
from pathlib import Path

from ..errors import NeuralFXError

PACKAGE = "face_recognition_models"
FILES = {
    "landmarks68": "shape_predictor_68_face_landmarks.dat",
    "mmod": "mmod_human_face_detector.dat",
    "descriptor": "dlib_face_recognition_resnet_model_v1.dat",
}
_local = threading.local()


def models_dir() -> Path:
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise NeuralFXError(
            "the face models are not installed (package face-recognition-models)",
            hint="pip install face-recognition-models dlib-bin",
        )
    return Path(next(iter(spec.submodule_search_locations))) / "models"


def model_path(key: str) -> Path:
    path = models_dir() / FILES[key]
    if not path.is_file():
        raise NeuralFXError(f"{path} is missing", hint="reinstall face-recognition-models")
    return path


def _dlib():
    try:
        import dlib
    except ImportError:
        raise NeuralFXError("dlib is not installed", hint="pip install dlib-bin") from None
    return dlib


@functools.cache
def landmark_predictor():
    """The 68-point shape predictor (thread-safe: prediction does not change it)."""
    return _dlib().shape_predictor(str(model_path("landmarks68")))


def hog_detector():
    """dlib's HOG + linear SVM frontal face detector, one per thread."""
    if not hasattr(_local, "hog"):
        _local.hog = _dlib().get_frontal_face_detector()
    return _local.hog


def mmod_detector():
    """dlib's CNN (MMOD) face detector, one per thread."""
    if not hasattr(_local, "mmod"):
        _local.mmod = _dlib().cnn_face_detection_model_v1(str(model_path("mmod")))
    return _local.mmod


def face_descriptor_model():
    """dlib's face recognition ResNet (128-d descriptors), one per thread."""
    if not hasattr(_local, "descriptor"):
        _local.descriptor = _dlib().face_recognition_model_v1(str(model_path("descriptor")))
    return _local.descriptor
