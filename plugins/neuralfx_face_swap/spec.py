"""The declaration of ``face-swap``."""

from __future__ import annotations

import neuralfx
from neuralfx import params
from neuralfx.faces.params import PARAMS as FACE_PARAMS

FACE_SWAP = neuralfx.EffectSpec(
    name="face-swap",
    summary="Swap a face for another identity (DeepFakes-style), labelled and watermarked",
    help="""\
    Replace identity A's face with identity B's, the way DeepFaceLab and faceswap do: each face
    is found and tracked (dlib), aligned, encoded by the shared encoder and decoded by B's
    decoder, then colour-matched and blended back.

    Every output frame carries a visible "AI-generated" label (--label to reword it; it
    cannot be removed) and an invisible watermark (`neuralfx watermark detect` reads it), and
    a provenance record is written beside the output. Record where consent came from with
    --consent.

    \\b
    Steps:
      neuralfx faces extract actor_a.mp4 a/ --layout swap --size 128
      neuralfx faces extract actor_b.mp4 b/ --layout swap --size 128
      neuralfx train face-swap --a a/ --b b/ --out ab.safetensors
      neuralfx run face-swap --checkpoint ab.safetensors --consent "release #42" shot.mp4 out.mp4
    """,
    implementation="neuralfx_face_swap.effect:FaceSwap",
    working_space="srgb",
    stateful=True,
    preferred_batch_size=8,
    always_watermark=True,
    always_label=True,
    params=(
        params.Path(
            "checkpoint",
            required=True,
            suffixes=(".safetensors",),
            help="The swap model from `neuralfx train face-swap`.",
        ),
        params.Choice(
            "direction",
            default="a-to-b",
            choices=("a-to-b", "b-to-a"),
            help="Whose face replaces whose.",
        ),
        params.Choice(
            "mask",
            default="hull",
            choices=("hull", "learned"),
            help="The area replaced: the landmarks' hull, or the model's own mask.",
        ),
        params.Choice(
            "colour",
            default="reinhard",
            choices=("reinhard", "histogram", "none"),
            help="Colour transfer onto the original face (Reinhard 2001, or histogram matching).",
        ),
        params.Bool(
            "temporal",
            default=True,
            help="Smooth the face, its landmarks and its colour over time.",
        ),
        params.Float(
            "stability",
            default=0.8,
            min=0.0,
            max=0.95,
            help="How much each face keeps of its previous frame where it did not "
            "change (temporal).",
        ),
        params.Text(
            "consent",
            default="",
            help="A reference to the consent obtained (recorded in the provenance record).",
        ),
        *FACE_PARAMS,
    ),
)
