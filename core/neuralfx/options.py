"""Run options: everything about a run that is not the effect's own settings.

Declared once, as the fields of :class:`RunOptions`, each with the typed parameter
(:mod:`neuralfx.params`) it is on the command line. From that declaration come the dataclass
(the Python API), :data:`RUN_PARAMS` and from them the options of every ``neuralfx run``
command, the names an effect parameter may not take (``neuralfx.effect.RESERVED_PARAM_NAMES``),
``neuralfx describe --run-options --json`` and the Blender panel's run settings (the ones
marked ``panel``), and the checks of :meth:`RunOptions.check`.

Plain data, checked before anything is opened; this module imports neither torch nor codecs,
so the CLI builds its options from it without paying for them.
"""

from __future__ import annotations

import dataclasses
import fractions
import math
import os
import re

from . import params
from .errors import ParameterError

CHANNEL_MODES = ("auto", "gray", "rgb", "rgba")
DEPTHS = ("8", "16", "half", "float")
MISSING_POLICIES = ("error", "skip")
#: What becomes of NaN and infinite samples (see RunOptions.nonfinite).
NONFINITE_POLICIES = ("error", "clamp", "zero")
PRECISION_NAMES = ("fp32", "fp16", "bf16")
VIDEO_CODEC_NAMES = ("h264", "prores")
PROGRESS_MODES = ("auto", "bar", "json", "none")
#: Where a visible label goes (neuralfx.marks.label).
LABEL_CORNERS = ("bottom-right", "bottom-left", "top-right", "top-left")
#: How frames are scheduled (neuralfx.pipeline.executors): this machine, or a Ray cluster.
EXECUTORS = ("local", "ray")
#: Frame rate of video made from image sequences when --fps is not given (film and most VFX).
DEFAULT_FPS = fractions.Fraction(24)
_NTSC = {
    "23.976": fractions.Fraction(24000, 1001),
    "29.97": fractions.Fraction(30000, 1001),
    "59.94": fractions.Fraction(60000, 1001),
    "47.952": fractions.Fraction(48000, 1001),
}


def parse_fps(text: str | float | fractions.Fraction) -> fractions.Fraction:
    """``24``, ``25``, ``23.976`` (= 24000/1001), ``30000/1001`` → an exact frame rate."""
    raw = str(text).strip()
    try:
        if raw in _NTSC:
            fps = _NTSC[raw]
        elif re.fullmatch(r"\d+/\d+", raw):
            fps = fractions.Fraction(raw)
        else:
            value = float(raw)
            if not math.isfinite(value):
                raise ValueError
            fps = fractions.Fraction(value).limit_denominator(1001)
    except (ValueError, ZeroDivisionError):
        fps = fractions.Fraction(0)
    if not 0 < fps <= 1000:
        raise ParameterError(
            f"fps: {text!r} is not a frame rate",
            hint="give frames per second such as 24, 25, 23.976 or 30000/1001",
        )
    return fps


def option(kind: type[params.Param], default=None, *, panel: bool = False, **declared):
    """A run option: a :class:`RunOptions` field declared as a ``kind`` parameter
    (:func:`neuralfx.params.field`); ``panel=True`` puts it among the Blender panel's run
    settings."""
    return params.field(kind, default, metadata={"panel": panel}, **declared)


@dataclasses.dataclass
class RunOptions:
    """Everything about a run but the effect's own settings (see ``neuralfx run --help``)."""

    frames: str | None = option(
        params.Text,
        placeholder="RANGE",
        help="Frames to process, e.g. 1001-1100, 1-10x2 or 1,5,9-12 (default: all).",
    )
    missing: str = option(
        params.Choice,
        "error",
        choices=MISSING_POLICIES,
        panel=True,
        help="What to do about gaps in a numbered sequence.",
    )
    layer: str | None = option(
        params.Text,
        placeholder="NAME",
        panel=True,
        help="The EXR layer to process, e.g. ViewLayer.Combined or diffuse (default: the "
        "beauty: plain RGBA, or Combined). An EXR output gets every other part, layer and "
        "header attribute of its source unchanged.",
    )
    nonfinite: str = option(
        params.Choice,
        "error",
        choices=NONFINITE_POLICIES,
        panel=True,
        help="NaN and infinite samples in float inputs: error (stop, naming the frame, where "
        "they cannot be kept: effects that cannot take them, 8/16-bit and video outputs; "
        "float outputs keep them), clamp (NaN to 0, infinities to ±65504, the largest "
        "half float) or zero.",
    )
    overwrite: bool = option(
        params.Bool,
        False,
        panel=True,
        help="Redo frames whose outputs exist (off: skip them, so reruns resume).",
    )
    #: False: a stateful effect gets only the frames asked for, without the earlier frames it
    #: would replay (a preview of the look; such frames never mix with a full run's)
    history: bool = option(
        params.Bool,
        True,
        help="--no-history: a stateful effect (painting-style with --temporal) processes only "
        "the frames asked for, without first replaying the earlier ones: a quick look at "
        "one frame, not the frames of a full run.",
    )
    wait: bool = option(
        params.Bool,
        False,
        panel=True,
        help="When another run is writing the same output, wait for it to end (off: refuse, "
        "naming it).",
    )
    device: str = option(params.Text, "auto", help="auto, cpu, cuda, cuda:N or mps.")
    precision: str = option(
        params.Choice, "fp32", choices=PRECISION_NAMES, help="Compute precision on the device."
    )
    compile: bool = option(
        params.Bool,
        False,
        help="Compile the effect's networks with torch.compile: a slower start (about 30 s on "
        "a CPU), then faster frames, mostly on a GPU; the small face and animal networks "
        "run as CUDA graphs there.",
    )
    batch_size: int | str = option(
        params.Text,
        "auto",
        placeholder="auto|N",
        pattern=r"auto|0*[1-9][0-9]*",
        example="auto or 4",
        help="Frames per batch; on CUDA out-of-memory the batch halves.",
    )
    workers: int | None = option(
        params.Int,
        min=1,
        placeholder="N",
        help="Decode/encode threads, which on the CPU also paint painting-style's frames, "
        "one each (default: one per CPU core).",
    )
    ocio: str | None = option(
        params.Text,
        placeholder="CONFIG",
        help="OpenColorIO config (path or ocio://default) for colour-space names.",
    )
    input_colorspace: str | None = option(
        params.Text,
        placeholder="NAME",
        help="Colour space of the input (default: linear for float files, srgb else).",
    )
    output_colorspace: str | None = option(
        params.Text,
        placeholder="NAME",
        help="Colour space to write (default: the input's; linear for float outputs of integer "
        "inputs, srgb for integer outputs of float inputs).",
    )
    depth: str = option(
        params.Choice,
        "auto",
        choices=("auto",) + DEPTHS,
        help="Output bit depth (auto: the source's, where the format allows).",
    )
    channels: str = option(
        params.Choice,
        "auto",
        choices=CHANNEL_MODES,
        help="Output channels (auto: as the source; gray and alpha are kept).",
    )
    quality: int = option(params.Int, 95, min=1, max=100, help="JPEG and WebP quality.")
    codec: str | None = option(
        params.Choice,
        choices=VIDEO_CODEC_NAMES,
        help="Video codec (default: prores for .mov, h264 for .mp4, .mkv and .m4v).",
    )
    crf: int = option(
        params.Int, 18, min=0, max=51, help="H.264 constant rate factor, 0 (lossless) to 51."
    )
    fps: str | float | None = option(
        params.Text,
        placeholder="RATE",
        help="Frame rate of a video output, e.g. 24, 25, 23.976 or 30000/1001 (default: the "
        "source video's; 24 for image sequences).",
    )
    watermark: bool = option(
        params.Bool,
        False,
        help="Mark every output frame invisibly as made by NeuralFX (`neuralfx watermark "
        "detect` reads it back); always on for face-swap.",
    )
    label: str | None = option(
        params.Text,
        placeholder="TEXT",
        help="Draw a visible label on every frame, e.g. 'AI-generated' (always on, with that "
        "text by default, for face-swap).",
    )
    label_corner: str = option(
        params.Choice, "bottom-right", choices=LABEL_CORNERS, help="Where the label goes."
    )
    label_opacity: float = option(
        params.Float, 0.8, min=0.0, max=1.0, help="The label's opacity, above 0 to 1."
    )
    c2pa_cert: str | None = option(
        params.Text,
        placeholder="CHAIN.pem",
        envvar="NEURALFX_C2PA_CERT",
        help="Sign a C2PA manifest (Content Credentials) into every output file with this PEM "
        "certificate chain, signer first (not EXR, which C2PA cannot hold). Needs "
        "--c2pa-key and the extra neuralfx[c2pa].",
    )
    c2pa_key: str | None = option(
        params.Text,
        placeholder="KEY.pem",
        envvar="NEURALFX_C2PA_KEY",
        help="The PEM private key of --c2pa-cert.",
    )
    executor: str = option(
        params.Choice,
        "local",
        choices=EXECUTORS,
        help="local: this machine's device. ray: shard the frames across the actors of a Ray "
        "cluster (one per GPU; on CPUs, one per this machine's core count), writing to shared "
        "storage. Needs neuralfx[ray]; docs/distributed.md.",
    )
    ray_address: str | None = option(
        params.Text,
        placeholder="ADDR",
        aliases=("--address",),
        help="The Ray cluster to join, e.g. ray://head:10001 or auto (default: start a local one).",
    )
    actors: int | None = option(
        params.Int,
        min=1,
        placeholder="N",
        help="How many Ray actors (default: one per GPU; on CPUs, as many as the cluster "
        "holds with this machine's thread count each).",
    )
    #: Not an option: set by the Ray executor on the runs of its actors, this run is one shard
    #: of a larger one, so it appends to its own journal part and leaves the cleaning to the
    #: driver.
    shard: str | None = None

    def worker_count(self) -> int:
        return self.workers or max(1, os.cpu_count() or 1)

    def frame_rate(self) -> fractions.Fraction | None:
        return None if self.fps is None else parse_fps(self.fps)

    def check(self) -> None:
        """Refuse impossible values with the option's name, before any file is opened."""
        for p in RUN_PARAMS:
            p.convert(getattr(self, p.name))
        if self.executor != "ray" and (self.ray_address or self.actors):
            raise ParameterError(
                "address/actors: these are for --executor ray",
                hint="add --executor ray, or leave --address and --actors out",
            )
        self.frame_rate()
        from .marks.marking import check_label_options

        check_label_options(self.label_corner, self.label_opacity)

    @classmethod
    def from_text(cls, given: dict[str, object]) -> RunOptions:
        """Run options from values as a command line gives them (text, or None where an
        option was not given), converted by their declarations."""
        return params.from_text(cls, given)


#: The run options as typed parameters, in declaration order (see the module's docstring).
RUN_PARAMS: tuple[params.Param, ...] = params.fields_of(RunOptions)
#: The run options the Blender panel shows among its run settings (`x-panel` in the schema).
PANEL_RUN_OPTIONS = tuple(f.name for f in dataclasses.fields(RunOptions) if f.metadata.get("panel"))
#: Not a run option (how a run reports, not what it makes), but on every ``neuralfx run``.
PROGRESS = params.Choice(
    "progress",
    "auto",
    choices=PROGRESS_MODES,
    help="auto: a bar on a terminal; json: JSON lines on stdout for programs.",
)


def run_options_schema() -> list[dict]:
    """``neuralfx describe --run-options --json``: each run option's schema, in order, with
    ``x-panel`` for those the Blender panel shows."""
    out = []
    for p in (*RUN_PARAMS, PROGRESS):
        schema = {"name": p.name, **p.schema()}
        schema["x-panel"] = p.name in PANEL_RUN_OPTIONS
        out.append(schema)
    return out
