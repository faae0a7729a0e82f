"""neuralfx-blur-faces: blur the faces in footage, built only on NeuralFX's public plugin API
(the face pipeline, its shared parameters, FaceRun for exact resume).

This module is what NeuralFX imports whenever it starts, so it holds only declarations; the
effect (``effect.py``, which needs torch and dlib) is named by import path.
"""

from __future__ import annotations

import neuralfx
from neuralfx import params
from neuralfx.faces.params import PARAMS as FACE_PARAMS

__version__ = "1.0.0"
NEURALFX_PLUGIN_API = "1.2"

BLUR_FACES = neuralfx.EffectSpec(
    name="blur-faces",
    summary="Blur the faces in a shot (an anonymiser)",
    help="""Blur every face the host's face pipeline finds and tracks, or the faces chosen
    with --faces (track ids, as `neuralfx faces list` shows them).

    Example:
      neuralfx run blur-faces --radius 12 interview.mp4 anonymised.mp4
    """,
    implementation="neuralfx_blur_faces.effect:BlurFaces",
    working_space="srgb",
    stateful=True,  # the tracks carry from frame to frame
    preferred_batch_size=8,
    params=(
        params.Float(
            "radius",
            default=8.0,
            min=1.0,
            max=40.0,
            help="Blur radius in pixels of the aligned 128 px face.",
        ),
        *FACE_PARAMS,
    ),
)


@neuralfx.hookimpl
def register_effects(register):
    register(BLUR_FACES)
