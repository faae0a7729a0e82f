"""``neuralfx run EFFECT``: one command per effect, generated from its declaration."""

from __future__ import annotations

import inspect
from typing import Any

import click

from ..devices import PRECISIONS
from ..effect import Effect
from ..frames.images import DEPTHS
from ..frames.io import MISSING_POLICIES
from ..frames.video import VIDEO_CODECS
from ..plugins import get_host
from ..progress import PROGRESS_MODES, make_reporter
from ..runner import CHANNEL_MODES, RunOptions, run
from .main import main

# -- run ----------------------------------------------------------------------------------------
_RUN_OPTIONS = [
    click.Option(["--frames"], metavar="RANGE",
                 help="Frames to process, e.g. 1001-1100, 1-10x2 or 1,5,9-12 (default: all)."),
    click.Option(["--missing"], type=click.Choice(MISSING_POLICIES), default="error",
                 show_default=True, help="What to do about gaps in a numbered sequence."),
    click.Option(["--overwrite"], is_flag=True,
                 help="Redo frames whose outputs exist (default: skip them, so reruns resume)."),
    click.Option(["--device"], default="auto", show_default=True,
                 help="auto, cpu, cuda, cuda:N or mps."),
    click.Option(["--precision"], type=click.Choice(list(PRECISIONS)), default="fp32",
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
    click.Option(["--codec"], type=click.Choice(list(VIDEO_CODECS)), default=None,
                 help="Video codec (default: h264 for .mp4, prores for .mov)."),
    click.Option(["--crf"], type=int, default=18, show_default=True,
                 help="H.264 constant rate factor, 0 (lossless) to 51."),
    click.Option(["--progress"], type=click.Choice(PROGRESS_MODES), default="auto",
                 show_default=True,
                 help="auto: a bar on a terminal; json: JSON lines on stdout for programs."),
]
_RUN_OPTION_NAMES = {o.name for o in _RUN_OPTIONS} - {"progress"}


def _effect_command(effect: type[Effect]) -> click.Command:
    def callback(input: str, output: str, progress: str, **values: Any) -> None:
        opts = RunOptions(**{k: values.pop(k) for k in list(values) if k in _RUN_OPTION_NAMES})
        settings = {k: v for k, v in values.items() if v is not None and v != ()}
        reporter = make_reporter(progress)
        try:
            run(effect, input, output, settings=settings, options=opts, reporter=reporter)
        finally:
            reporter.close()

    params: list[click.Parameter] = [p.click_option() for p in effect.params]
    params += _RUN_OPTIONS
    params += [click.Argument(["input"]), click.Argument(["output"])]
    return click.Command(
        effect.name, callback=callback, params=params, short_help=effect.summary,
        help=inspect.cleandoc(effect.__doc__ or effect.summary) +
        "\n\nINPUT: an image, a video, or a sequence such as shot.####.exr, shot.%04d.png or "
        "'shot.*.png'. OUTPUT: the same kinds (a pattern for several frames); output frame "
        "numbers follow the input's.",
        context_settings={"max_content_width": 100})


class _EffectGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return get_host().effect_names

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        host = get_host()
        return _effect_command(host.effect(name)) if name in host.effect_names else None

    def resolve_command(self, ctx, args):
        name = args[0] if args else ""
        if name and not name.startswith("-") and name not in get_host().effect_names:
            get_host().effect(name)  # raises with the closest names
        return super().resolve_command(ctx, args)


@main.group("run", cls=_EffectGroup)
def run_group() -> None:
    """Run an effect: neuralfx run EFFECT [OPTIONS] INPUT OUTPUT.

    Reruns skip frames whose outputs exist (writes are atomic, so an existing output is
    complete); pass --overwrite to redo them. See `neuralfx run EFFECT --help`.
    """


