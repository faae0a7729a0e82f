"""The top-level ``neuralfx`` group: error handling, signals, plugin commands."""

from __future__ import annotations

import signal
import sys
import threading
from typing import Any

import click

from .. import __version__
from ..errors import NeuralFXError
from ..plugins import get_host


def _fail(exc: NeuralFXError) -> None:
    click.echo(f"error: {exc.message}", err=True)
    if exc.hint:
        click.echo(f"  hint: {exc.hint}", err=True)
    sys.exit(exc.exit_code)


class _Main(click.Group):
    """Adds the plugins' commands on first use; turns user errors into a message and an exit
    code, Ctrl-C/SIGTERM into exit 130."""

    _plugins_of = None  # the host whose commands were added

    def _add_plugin_commands(self) -> None:
        host = get_host()
        if self._plugins_of is host:
            return
        self._plugins_of = host
        host.register_commands(self)
        for e in host.errors:
            click.echo(f"warning: plugin {e.name!r} failed to load: {e.error} "
                       "(see `neuralfx plugins`)", err=True)

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._add_plugin_commands()
        return super().list_commands(ctx)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        self._add_plugin_commands()
        return super().get_command(ctx, name)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except NeuralFXError as exc:
            _fail(exc)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)


def _raise_interrupt(signum, frame):  # SIGTERM (e.g. Blender's cancel) stops like Ctrl-C
    raise KeyboardInterrupt


@click.group(cls=_Main, context_settings={"help_option_names": ["-h", "--help"],
                                          "max_content_width": 100})
@click.version_option(__version__, prog_name="neuralfx")
def main() -> None:
    """NeuralFX: neural image translation for VFX pipelines.

    Run an effect over an image sequence, a single image or a video:

      neuralfx run convert plate.####.exr proxy.####.png

      neuralfx run EFFECT --help     (each effect's own options)

    List what is installed with `neuralfx effects` and `neuralfx plugins`; check the machine
    with `neuralfx doctor`.
    """
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _raise_interrupt)


def cli() -> None:
    """Console-script entry point."""
    main(prog_name="neuralfx")
