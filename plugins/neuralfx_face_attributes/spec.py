"""The declaration of ``face-attributes``: its parameters, help and implementation."""

from __future__ import annotations

import neuralfx
from neuralfx import params
from neuralfx.faces.params import PARAMS as FACE_PARAMS

TARGETS = ("keep", "yes", "no", "flip")

FACE_ATTRIBUTES = neuralfx.EffectSpec(
    name="face-attributes",
    summary="Change hair colour, gender or age of every face (StarGAN)",
    help="""\
    Change the hair colour, gender or age of the faces in a shot with StarGAN (Choi et al.
    2018), face by face: each face is found (dlib), tracked through the shot with a stable id,
    aligned to the crop StarGAN was trained on, translated, and blended back.

    StarGAN needs each face's current attributes: they are read once per face by the
    discriminator's classifier (the archive of the official release holds both networks).
    --hair sets a hair colour (keep: as read); --male and --young are yes, no, flip (the
    opposite of what was read) or keep.

    Weights: `neuralfx models fetch stargan-celeba-128` and `neuralfx models fetch
    stargan-celeba-128-d` (the official release; non-commercial: CelebA's terms), or your own
    from `neuralfx train face-attributes`.

    \b
    Examples:
      neuralfx run face-attributes --hair blond shot.####.exr out.####.exr
      neuralfx run face-attributes --male flip --young no --faces 2 interview.mp4 out.mp4
    """,
    implementation="neuralfx_face_attributes.effect:FaceAttributes",
    working_space="srgb",
    stateful=True,
    preferred_batch_size=8,
    params=(
        params.Choice(
            "hair",
            default="keep",
            choices=("keep", "black", "blond", "brown"),
            help="Hair colour to give (one of the three StarGAN knows).",
        ),
        params.Choice("male", default="keep", choices=TARGETS, help="Gender: male yes/no."),
        params.Choice("young", default="keep", choices=TARGETS, help="Age: young yes/no."),
        params.Float(
            "strength",
            default=1.0,
            min=0.0,
            max=1.0,
            help="Blend of the translated face with the original.",
        ),
        params.Bool(
            "temporal", default=True, help="Steady the translated faces from frame to frame."
        ),
        params.Float(
            "stability",
            default=0.8,
            min=0.0,
            max=0.95,
            help="How much each face keeps of its previous frame where the face "
            "itself did not change (temporal).",
        ),
        params.Path(
            "checkpoint",
            default="stargan-celeba-128",
            must_exist=False,
            help="The generator: a file, the official release's folder as unpacked "
            "(200000-G.ckpt and 200000-D.ckpt), or a registry name "
            "(stargan-celeba-128, stargan-celeba-256).",
        ),
        params.Path(
            "discriminator",
            default=None,
            must_exist=False,
            help="The discriminator that reads each face's attributes (default: "
            "200000-D.ckpt or NAME-d beside --checkpoint, else the registry's -d "
            "entry matching it).",
        ),
        params.Bool(
            "colour_match",
            default=True,
            help="Remove the generator's overall tint: the crop's background (outside "
            "the head) is matched to the original, so what it changed on "
            "purpose (hair, skin for age and gender) stays.",
        ),
        *FACE_PARAMS,
    ),
)
