"""``neuralfx run EFFECT``: one command per effect, generated from its declaration."""

from __future__ import annotations

import inspect
from typing import Any

import click

from ..effect import EffectSpec
from ..options import PROGRESS, RUN_PARAMS, RunOptions
from ..host.plugins import get_host
from ..pipeline.progress import make_reporter
from .main import main

# -- run ----------------------------------------------------------------------------------------
# Declared once, in neuralfx.options (RunOptions' fields); the progress option is the CLI's.
_RUN_OPTIONS = [p.click_option() for p in (*RUN_PARAMS, PROGRESS)]
_RUN_OPTION_NAMES = {p.name for p in RUN_PARAMS}


def _effect_command(effect: EffectSpec) -> click.Command:
    def callback(input: str, output: str, progress: str | None, **values: Any) -> None:
        from .. import console

        with console.deferring_signals():  # torch and the codecs load only for a run
            from ..pipeline.runner import run

        given = {k: values.pop(k) for k in list(values) if k in _RUN_OPTION_NAMES}
        settings = {k: v for k, v in values.items() if v is not None and v != ()}
        reporter = make_reporter(PROGRESS.convert(progress))
        host = get_host()
        try:
            opts = RunOptions.from_text(given)
            for e in host.errors:  # the terminal saw them on stderr; programs get events
                if progress == "json":
                    reporter.warning(f"plugin {e.name!r} failed to load: {e.error}")
            run(
                effect.name,
                input,
                output,
                settings=settings,
                options=opts,
                reporter=reporter,
                host=host,
            )
        finally:
            reporter.close()

    params: list[click.Parameter] = [p.click_option() for p in effect.params]
    params += _RUN_OPTIONS
    params += [click.Argument(["input"]), click.Argument(["output"])]
    return click.Command(
        effect.name,
        callback=callback,
        params=params,
        short_help=effect.summary,
        help=inspect.cleandoc(effect.help or effect.summary)
        + "\n\nINPUT: an image, a video, or a sequence such as shot.####.exr, shot.%04d.png or "
        "'shot.*.png'. OUTPUT: the same kinds (a pattern for several frames); output frame "
        "numbers follow the input's.",
        context_settings={"max_content_width": 100},
    )


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
