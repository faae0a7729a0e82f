"""The declaration of ``face-attributes``: its parameters, help and implementation."""

from __future__ import annotations

import neuralfx
from neuralfx import params
from neuralfx.faces.params import PARAMS as FACE_PARAMS

TARGETS = ("keep", "yes", "no", "flip")
MODELS = ("stargan", "stargan-v2")
V1, V2 = {"model": ("stargan",)}, {"model": ("stargan-v2",)}

FACE_ATTRIBUTES = neuralfx.EffectSpec(
    name="face-attributes",
    summary="Change hair colour, gender or age of every face (StarGAN, StarGAN v2)",
    help="""\
    Change the hair colour, gender or age of the faces in a shot, face by face: each face is
    found (dlib), tracked through the shot with a stable id, aligned to the crop the model was
    trained on, translated, and blended back.

    --model stargan (Choi et al. 2018, the default): StarGAN needs each face's current
    attributes; they are read once per face by the discriminator's classifier (the archive of
    the official release holds both networks). --hair sets a hair colour (keep: as read);
    --male and --young are yes, no, flip (the opposite of what was read) or keep. Weights:
    `neuralfx models fetch stargan-celeba-128` and `neuralfx models fetch
    stargan-celeba-128-d` (non-commercial: CelebA's terms), or your own from `neuralfx train
    face-attributes`.

    --model stargan-v2 (Choi et al. 2020): every face is redrawn as a --domain (female or
    male) in the style of a --reference photograph (its face is found and aligned as the
    shot's are), or without one in a style drawn from --seed and pulled towards the domain's
    mean by --psi (0.7 is the paper's truncation). The face outline, eyes, nose and mouth are
    kept by the masks of StarGAN v2's landmark network (FAN). Weights: `neuralfx models fetch
    stargan-v2-celeba-hq` and `neuralfx models fetch wing-fan` (CC BY-NC 4.0:
    non-commercial).

    \b
    Examples:
      neuralfx run face-attributes --hair blond shot.####.exr out.####.exr
      neuralfx run face-attributes --male flip --young no --faces 2 interview.mp4 out.mp4
      neuralfx run face-attributes --model stargan-v2 --domain female --reference her.jpg \\
          interview.mp4 out.mp4
      neuralfx run face-attributes --model stargan-v2 --domain female --seed 4 --psi 0.7 \\
          shot.####.png out.####.png
    """,
    implementation="neuralfx_face_attributes.effect:FaceAttributes",
    working_space="srgb",
    stateful=True,
    preferred_batch_size=8,
    params=(
        params.Choice(
            "model",
            default="stargan",
            choices=MODELS,
            help="stargan: set --hair, --male, --young (128 or 256 px); stargan-v2: a "
            "--domain in the style of a --reference face or a --seed (256 px).",
        ),
        params.Choice(
            "hair",
            default="keep",
            choices=("keep", "black", "blond", "brown"),
            when=V1,
            help="Hair colour to give (one of the three StarGAN knows).",
        ),
        params.Choice(
            "male", default="keep", choices=TARGETS, when=V1, help="Gender: male yes/no."
        ),
        params.Choice("young", default="keep", choices=TARGETS, when=V1, help="Age: young yes/no."),
        params.Path(
            "reference",
            suffixes=params.IMAGE_SUFFIXES,
            when=V2,
            help="A photograph whose face gives the style (hair, make-up, age, skin); "
            "without it the style comes from --seed.",
        ),
        params.Choice(
            "domain",
            default="female",
            choices=("female", "male"),
            when=V2,
            help="What every face becomes (CelebA-HQ's domains); with --reference, say the "
            "reference's.",
        ),
        params.Int(
            "seed",
            default=0,
            min=0,
            when=V2,
            help="Without --reference: the seed of the random style.",
        ),
        params.Float(
            "psi",
            default=1.0,
            min=0.0,
            max=1.0,
            when=V2,
            help="Without --reference: truncation of the random style towards the domain's "
            "mean (1: none; the paper shows 0.5 to 1).",
        ),
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
            must_exist=False,
            help="The generator: a file, the official release's folder as unpacked "
            "(200000-G.ckpt and 200000-D.ckpt), or a registry name (default: "
            "stargan-celeba-128; stargan-celeba-256; stargan-v2-celeba-hq with --model "
            "stargan-v2).",
        ),
        params.Path(
            "discriminator",
            default=None,
            must_exist=False,
            when=V1,
            help="The discriminator that reads each face's attributes (default: "
            "200000-D.ckpt or NAME-d beside --checkpoint, else the registry's -d "
            "entry matching it).",
        ),
        params.Path(
            "fan",
            default=None,
            must_exist=False,
            when=V2,
            help="StarGAN v2's landmark network, whose masks keep each face's features: "
            "wing.ckpt or a registry name (default: wing-fan).",
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
