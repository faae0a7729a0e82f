"""``neuralfx run EFFECT``: one command per effect, generated from its declaration."""

from __future__ import annotations

import inspect
from typing import Any

import click

from ..effect import EffectSpec
from ..options import (
    CHANNEL_MODES,
    DEPTHS,
    MISSING_POLICIES,
    NONFINITE_POLICIES,
    PRECISION_NAMES,
    PROGRESS_MODES,
    VIDEO_CODEC_NAMES,
    RunOptions,
)
from ..executors import EXECUTORS
from ..label import CORNERS as LABEL_CORNERS
from ..plugins import get_host
from ..progress import make_reporter
from .main import main

# -- run ----------------------------------------------------------------------------------------
_RUN_OPTIONS = [
    click.Option(["--frames"], metavar="RANGE",
                 help="Frames to process, e.g. 1001-1100, 1-10x2 or 1,5,9-12 (default: all)."),
    click.Option(["--missing"], type=click.Choice(MISSING_POLICIES), default="error",
                 show_default=True, help="What to do about gaps in a numbered sequence."),
    click.Option(["--layer"], metavar="NAME",
                 help="The EXR layer to process, e.g. ViewLayer.Combined or diffuse (default: "
                      "the beauty: plain RGBA, or Combined). An EXR output gets every other "
                      "part, layer and header attribute of its source unchanged."),
    click.Option(["--nonfinite"], type=click.Choice(NONFINITE_POLICIES), default="error",
                 show_default=True,
                 help="NaN and infinite samples in float inputs: error (stop, naming the frame, "
                      "where they cannot be kept: effects that cannot take them, 8/16-bit and "
                      "video outputs; float outputs keep them), clamp (NaN to 0, infinities to "
                      "±65504, the largest half float) or zero."),
    click.Option(["--overwrite"], is_flag=True,
                 help="Redo frames whose outputs exist (default: skip them, so reruns resume)."),
    click.Option(["--wait"], is_flag=True,
                 help="When another run is writing the same output, wait for it to end "
                      "(default: refuse, naming it)."),
    click.Option(["--history/--no-history"], default=True, show_default=True,
                 help="--no-history: a stateful effect (painting-style with --temporal) "
                      "processes only the frames asked for, without first replaying the "
                      "earlier ones: a quick look at one frame, not the frames of a full run."),
    click.Option(["--device"], default="auto", show_default=True,
                 help="auto, cpu, cuda, cuda:N or mps."),
    click.Option(["--precision"], type=click.Choice(PRECISION_NAMES), default="fp32",
                 show_default=True, help="Compute precision on the device."),
    click.Option(["--batch-size"], default="auto", show_default=True, metavar="auto|N",
                 help="Frames per batch; on CUDA out-of-memory the batch halves."),
    click.Option(["--workers"], type=int, default=None, metavar="N",
                 help="Decode/encode threads (default: one per CPU core)."),
    click.Option(["--ocio"], metavar="CONFIG",
                 help="OpenColorIO config (path or ocio://default) for colour-space names."),
    click.Option(["--input-colorspace"], metavar="NAME",
                 help="Colour space of the input (default: linear for float files, srgb else)."),
    click.Option(["--output-colorspace"], metavar="NAME",
                 help="Colour space to write (default: the input's; linear for float outputs "
                      "of integer inputs, srgb for integer outputs of float inputs)."),
    click.Option(["--depth"], type=click.Choice(("auto",) + DEPTHS), default="auto",
                 show_default=True, help="Output bit depth (auto: the source's, where the "
                                         "format allows)."),
    click.Option(["--channels"], type=click.Choice(CHANNEL_MODES), default="auto",
                 show_default=True, help="Output channels (auto: as the source; gray and alpha "
                                         "are kept)."),
    click.Option(["--quality"], type=int, default=95, show_default=True,
                 help="JPEG quality, 1-100."),
    click.Option(["--codec"], type=click.Choice(VIDEO_CODEC_NAMES), default=None,
                 help="Video codec (default: h264 for .mp4, prores for .mov)."),
    click.Option(["--fps"], metavar="RATE",
                 help="Frame rate of a video output, e.g. 24, 25, 23.976 or 30000/1001 "
                      "(default: the source video's; 24 for image sequences)."),
    click.Option(["--crf"], type=int, default=18, show_default=True,
                 help="H.264 constant rate factor, 0 (lossless) to 51."),
    click.Option(["--watermark"], is_flag=True,
                 help="Mark every output frame invisibly as made by NeuralFX (`neuralfx "
                      "watermark detect` reads it back); always on for face-swap."),
    click.Option(["--label"], metavar="TEXT",
                 help="Draw a visible label on every frame, e.g. 'AI-generated' (always on, "
                      "with that text by default, for face-swap)."),
    click.Option(["--label-corner"], type=click.Choice(LABEL_CORNERS), default="bottom-right",
                 show_default=True, help="Where the label goes."),
    click.Option(["--label-opacity"], type=float, default=0.8, show_default=True,
                 help="The label's opacity, above 0 to 1."),
    click.Option(["--c2pa-cert"], metavar="CHAIN.pem", envvar="NEURALFX_C2PA_CERT",
                 show_envvar=True,
                 help="Sign a C2PA manifest (Content Credentials) into every output file with "
                      "this PEM certificate chain, signer first (not EXR, which C2PA cannot "
                      "hold). Needs --c2pa-key and the extra neuralfx[c2pa]."),
    click.Option(["--c2pa-key"], metavar="KEY.pem", envvar="NEURALFX_C2PA_KEY",
                 show_envvar=True, help="The PEM private key of --c2pa-cert."),
    click.Option(["--compile"], is_flag=True,
                 help="Compile the effect's networks with torch.compile: a slower start (about "
                      "30 s on a CPU), then faster frames, mostly on a GPU; the small face and "
                      "animal networks run as CUDA graphs there."),
    click.Option(["--executor"], type=click.Choice(EXECUTORS), default="local",
                 show_default=True,
                 help="local: this machine's device. ray: shard the frames across the actors of "
                      "a Ray cluster (one per GPU, else one per 2 CPUs), writing to shared "
                      "storage. Needs neuralfx[ray]; docs/distributed.md."),
    click.Option(["--address", "ray_address"], metavar="ADDR",
                 help="The Ray cluster to join, e.g. ray://head:10001 or auto (default: start "
                      "a local one)."),
    click.Option(["--actors"], type=click.IntRange(min=1),
                 help="How many Ray actors (default: one per GPU, else one per 2 CPUs)."),
    click.Option(["--progress"], type=click.Choice(PROGRESS_MODES), default="auto",
                 show_default=True,
                 help="auto: a bar on a terminal; json: JSON lines on stdout for programs."),
]
_RUN_OPTION_NAMES = {o.name for o in _RUN_OPTIONS} - {"progress"}


def _effect_command(effect: EffectSpec) -> click.Command:
    def callback(input: str, output: str, progress: str, **values: Any) -> None:
        from ..runner import run  # torch and the codecs load only for a run

        opts = RunOptions(**{k: values.pop(k) for k in list(values) if k in _RUN_OPTION_NAMES})
        settings = {k: v for k, v in values.items() if v is not None and v != ()}
        reporter = make_reporter(progress)
        host = get_host()
        try:
            for e in host.errors:  # the terminal saw them on stderr; programs get events
                if progress == "json":
                    reporter.warning(f"plugin {e.name!r} failed to load: {e.error}")
            run(effect.name, input, output, settings=settings, options=opts, reporter=reporter,
                host=host)
        finally:
            reporter.close()

    params: list[click.Parameter] = [p.click_option() for p in effect.params]
    params += _RUN_OPTIONS
    params += [click.Argument(["input"]), click.Argument(["output"])]
    return click.Command(
        effect.name, callback=callback, params=params, short_help=effect.summary,
        help=inspect.cleandoc(effect.help or effect.summary) +
        "\n\nINPUT: an image, a video, or a sequence such as shot.####.exr, shot.%04d.png or "
        "'shot.*.png'. OUTPUT: the same kinds (a pattern for several frames); output frame "
        "numbers follow the input's.",
        context_settings={"max_content_width": 100})


class _EffectGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return get_host().effect_names

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        host = get_host()
        return _effect_command(host.spec(name)) if name in host.effect_names else None

    def resolve_command(self, ctx, args):
        name = args[0] if args else ""
        if name and not name.startswith("-") and name not in get_host().effect_names:
            get_host().spec(name)  # raises with the closest names, or says it is disabled
        return super().resolve_command(ctx, args)


@main.group("run", cls=_EffectGroup)
def run_group() -> None:
    """Run an effect: neuralfx run EFFECT [OPTIONS] INPUT OUTPUT.

    Reruns resume: frames whose outputs exist are skipped (writes are atomic, so an existing
    output is complete). A record beside the outputs says how each frame was made; a rerun that
    would leave a sequence made two ways (other settings, another input, an edited style image
    or checkpoint) is refused and names what changed. Pass --overwrite to redo the frames asked
    for. See `neuralfx run EFFECT --help`.
    """


