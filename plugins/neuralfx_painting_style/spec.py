"""The declaration of ``painting-style``: what ``--help``, ``describe`` and the Blender panel
read. Importing it costs no torch; the implementation (``effect.py``) loads only for a run."""

from __future__ import annotations

from neuralfx import EffectSpec, params

#: ``7`` or ``3:0.5,12:0.5``: style indices with optional weights.
PRESET_PATTERN = r"\d+(:\d*\.?\d+)?(,\d+(:\d*\.?\d+)?)*"
N_PRESETS = 26
#: The methods that paint from style images, and the one that optimises (``when`` conditions:
#: --help, describe and the Blender panel show such parameters only with these methods).
BY_IMAGE = {"method": ("ghiasi", "adain", "gatys")}
GATYS = {"method": ("gatys",)}


def parse_preset(text: str) -> dict[int, float]:
    """``"3:0.5,12:0.5"`` → ``{3: 0.5, 12: 0.5}`` normalised to sum to 1 (``"7"`` → ``{7: 1}``).
    Raises ValueError naming what is wrong."""
    weights: dict[int, float] = {}
    for part in text.split(","):
        index, _, weight = part.partition(":")
        n = int(index)
        if not 0 <= n < N_PRESETS:
            raise ValueError(f"style {n} does not exist (0 to {N_PRESETS - 1})")
        weights[n] = weights.get(n, 0.0) + (float(weight) if weight else 1.0)
    total = sum(weights.values())
    if total <= 0:
        raise ValueError("the weights add up to 0")
    return {n: w / total for n, w in weights.items()}


PAINTING_STYLE = EffectSpec(
    name="painting-style",
    summary="Painting looks (Magenta, Johnson, AdaIN, Gatys), stable over time",
    help="""Give footage the look of a painting.

    \b
    Methods:
      dumoulin (default) Magenta's network with 26 built-in styles (Dumoulin et al. 2017;
               the weights ship with NeuralFX, Apache-2.0): --preset 7, or a blend
               --preset 3:0.5,12:0.5
      ghiasi   any style image, Magenta's arbitrary network (Ghiasi et al. 2017; weights ship
               with NeuralFX): --style IMAGE [--style IMAGE2 ... to mix in embedding space];
               strokes at the style image's scale (--style-scale 1, the default)
      johnson  a feed-forward network per style (fast): --checkpoint johnson-candy, a .pth
               from pytorch/examples, or one trained with `neuralfx train painting-style`
      adain    any style image, one network (fast): --style IMAGE [--style IMAGE2
               --style-weight 0.7 --style-weight 0.3 to interpolate]
      gatys    optimisation per frame (slow, best quality); uses VGG-19 when its weights are
               in the cache (`neuralfx models fetch vgg19`), else a training-free random
               encoder, and says so

    With --temporal (the default) each frame is tied to the previous output through optical
    flow (OpenCV DIS) with occlusions masked: blended with it (all methods), and for gatys also
    held to it by a temporal loss (Ruder et al. 2016), so video does not flicker; where the
    picture stands still, the painted look is held as it is.

    \b
    Examples:
      neuralfx run painting-style --preset 3:0.7,12:0.3 plate.####.exr out.mp4
      neuralfx run painting-style --method ghiasi --style monet.jpg in.mp4 out.mp4
      neuralfx run painting-style --method adain --style starry.jpg plate.####.exr out.####.exr
      neuralfx run painting-style --method johnson --checkpoint johnson-mosaic in.mp4 out.mp4
    """,
    implementation="neuralfx_painting_style.effect:PaintingStyle",
    working_space="srgb",
    preferred_batch_size=4,
    params=(
        params.Choice(
            "method",
            default="dumoulin",
            choices=("dumoulin", "ghiasi", "johnson", "adain", "gatys"),
            help="Style transfer method.",
        ),
        params.Text(
            "preset",
            default="19",
            pattern=PRESET_PATTERN,
            example="3:0.5,12:0.5",
            when={"method": ("dumoulin",)},
            help="One of the 26 styles (0-25; docs/images/dumoulin-presets.png "
            "shows them), or several with weights, e.g. 3:0.5,12:0.5 (weights are "
            "normalised to sum to 1).",
        ),
        params.Path(
            "style",
            multiple=True,
            suffixes=params.IMAGE_SUFFIXES,
            when=BY_IMAGE,
            help="Style image; repeat to mix several styles.",
        ),
        params.Float(
            "style_weight",
            multiple=True,
            min=0.0,
            when=BY_IMAGE,
            help="Weight of each --style, in order (default: equal).",
        ),
        params.Path(
            "checkpoint",
            must_exist=False,
            help="johnson: the network (file or registry name, default johnson-candy); "
            "dumoulin: default magenta-dumoulin-26; ghiasi: the transformer "
            "(default magenta-ghiasi-transformer); adain: the decoder (default "
            "adain-decoder); gatys: VGG-19 (default vgg19 if cached, else a "
            "training-free encoder).",
        ),
        params.Path(
            "encoder",
            must_exist=False,
            when={"method": ("adain", "ghiasi")},
            help="adain: the encoder (file or registry name, default adain-encoder); "
            "ghiasi: the style predictor (default magenta-ghiasi-predictor).",
        ),
        params.Float(
            "strength",
            default=1.0,
            min=0.0,
            max=1.0,
            help="How much style: 0 keeps the frame, 1 is fully stylised.",
        ),
        params.Bool(
            "preserve_color",
            default=False,
            help="Keep the frame's colours: transfer luminance only (Gatys et al. 2016).",
        ),
        params.Bool("temporal", default=True, help="Stabilise video with optical flow."),
        params.Float(
            "stability",
            default=0.8,
            min=0.0,
            max=1.0,
            when={"temporal": (True,)},
            help="How much of the previous output, carried along the "
            "flow, each moving pixel keeps (still pixels are held, newly "
            "revealed ones painted afresh).",
        ),
        params.Int(
            "iterations",
            default=80,
            min=1,
            max=5000,
            soft_min=10,
            soft_max=500,
            when=GATYS,
            help="Optimisation steps per frame.",
        ),
        params.Float(
            "texture",
            default=0.3,
            min=0.0,
            max=1.0,
            when=GATYS,
            help="Noise in the starting image; more paints flat areas too, 0 starts "
            "from the frame.",
        ),
        params.Int(
            "style_size",
            default=512,
            min=32,
            max=4096,
            soft_min=128,
            soft_max=1024,
            when=BY_IMAGE,
            help="Longest side the style images are resized to.",
        ),
        params.Float(
            "style_scale",
            default=1.0,
            min=0.0,
            max=16.0,
            soft_max=4.0,
            when=BY_IMAGE,
            help="The size of the strokes. 1 paints a frame with "
            "its long side at --style-size, so strokes take the share of the "
            "frame they take of the style image, at any resolution (a proxy "
            "looks like the full-size render); 2 doubles them, 0.5 halves them; "
            "0 paints at the frame's own size (finest). Frames are never painted "
            "above their own size.",
        ),
        params.Int(
            "max_size",
            default=0,
            min=0,
            max=16384,
            soft_max=4096,
            help="Process frames at most this long side, then scale back (0: as they are).",
        ),
    ),
)
