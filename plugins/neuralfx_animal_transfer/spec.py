"""The declaration of ``animal-transfer``."""

from __future__ import annotations

import neuralfx
from neuralfx import params

BOX = r"\d+(\.\d+)?,\d+(\.\d+)?,\d+(\.\d+)?,\d+(\.\d+)?"

ANIMAL_TRANSFER = neuralfx.EffectSpec(
    name="animal-transfer",
    summary="Re-render an animal as another species from a few examples (FUNIT)",
    help="""\
    Re-render a pet's head (pose and expression kept) as another animal, learnt from a few
    example images of that animal: FUNIT (Liu et al., ICCV 2019), the "GANimal" model. The
    region is translated at the model's 128 px and blended back with a feathered mask.

    The region, one of:
      --box X,Y,W,H               a fixed box (pixels, top left and size);
      --box X,Y,W,H --track       a box on the first frame, followed by a tracker (OpenCV MIL);
      --region boxes.json         keyframed boxes (the Blender add-on writes them from a
                                  tracking marker; interpolated between keys).

    Weights: the official animal149_gen.pt (CC BY-NC-SA 4.0: non-commercial) from the FUNIT
    README's pretrained.tar.gz, imported with `neuralfx models import funit-animals-149
    animal149_gen.pt`; or your own from `neuralfx train animal-transfer`. With --model
    stargan-v2: StarGAN v2's AFHQ release (CC BY-NC 4.0), `neuralfx models fetch
    stargan-v2-afhq`.

    \\b
    Examples:
      neuralfx run animal-transfer --examples lion1.jpg --examples lion2.jpg \\
          --box 410,120,260,260 --track cat.mp4 lion.mp4
      neuralfx run animal-transfer --examples fox.png --region head.json plate.####.exr out.####.exr
      neuralfx run animal-transfer --model stargan-v2 --domain wild --seed 3 --psi 0.7 \\
          --box 410,120,260,260 --track cat.mp4 wild.mp4
    """,
    implementation="neuralfx_animal_transfer.effect:AnimalTransfer",
    working_space="srgb",
    stateful=True,
    preferred_batch_size=8,
    params=(
        params.Choice(
            "model",
            default="funit",
            choices=("funit", "stargan-v2"),
            help="funit: FUNIT from a few --examples of any animal (128 px); stargan-v2: "
            "StarGAN v2's AFHQ networks, a --domain (cat, dog, wild) in the style of the "
            "--examples or, without them, of a --seed (256 px).",
        ),
        params.Path(
            "examples",
            multiple=True,
            suffixes=params.IMAGE_SUFFIXES,
            help="Images of the animal to turn into (funit: one or more, their mean class code; "
            "stargan-v2: their mean style). Needed with funit.",
        ),
        params.Choice(
            "domain",
            default="cat",
            choices=("cat", "dog", "wild"),
            when={"model": ("stargan-v2",)},
            help="The kind of animal StarGAN v2 renders (AFHQ's domains).",
        ),
        params.Int(
            "seed",
            default=0,
            min=0,
            when={"model": ("stargan-v2",)},
            help="Without --examples: the seed of the random style.",
        ),
        params.Float(
            "psi",
            default=1.0,
            min=0.0,
            max=1.0,
            when={"model": ("stargan-v2",)},
            help="Without --examples: truncation of the random style towards the domain's mean "
            "(1: none; the paper shows 0.5 to 1).",
        ),
        params.Text(
            "box",
            default="",
            pattern=f"|{BOX}",
            example="410,120,260,260",
            help="The region: x,y,width,height in pixels (on the first frame with --track).",
        ),
        params.Bool(
            "track",
            default=False,
            help="Follow --box through the clip with a tracker (OpenCV MIL).",
        ),
        params.Boxes(
            "region",
            default=None,
            help="Keyframed boxes (JSON: frame -> box), e.g. from the Blender add-on.",
        ),
        params.Float(
            "margin",
            default=0.15,
            min=0.0,
            max=1.0,
            soft_max=0.5,
            help="Context added around the box on every side, as a fraction of it.",
        ),
        params.Float(
            "strength",
            default=1.0,
            min=0.0,
            max=1.0,
            help="Blend of the translated animal with the original.",
        ),
        params.Bool(
            "temporal",
            default=True,
            help="Steady the region and the generated animal from frame to frame.",
        ),
        params.Float(
            "stability",
            default=0.8,
            min=0.0,
            max=0.95,
            help="How much each frame keeps of the previous result where the animal "
            "did not change (temporal).",
        ),
        params.Path(
            "checkpoint",
            must_exist=False,
            help="The networks: a file or a registry name (default: funit-animals-149, or "
            "stargan-v2-afhq with --model stargan-v2).",
        ),
    ),
)
