"""The top-level ``neuralfx`` group: error handling and plugin commands.

No traceback reaches the user: a :class:`~neuralfx.errors.NeuralFXError` or a click usage error
is printed as a message with a hint (and, with ``--progress json``, also as an ``error`` event
on stdout), and Ctrl-C/SIGTERM exit with 130. Signals are installed by
:mod:`neuralfx.console`, before anything heavy is imported.
"""

from __future__ import annotations

import json
import sys
import traceback
from collections.abc import Sequence
from typing import Any

import click

from .. import __version__
from ..errors import NeuralFXError
from ..host.plugins import get_host


def wants_json(args: Sequence[str]) -> bool:
    """Whether the command line asks for JSON-lines progress (errors then go to stdout too)."""
    args = list(args)
    return "--progress=json" in args or any(
        a == "--progress" and i + 1 < len(args) and args[i + 1] == "json"
        for i, a in enumerate(args)
    )


def _raised_by_neuralfx(exc: BaseException) -> bool:
    """Whether the innermost code of NeuralFX's or a plugin's that ``exc`` went through is
    NeuralFX's own (its file handling) rather than a plugin's. The standard library and
    installed libraries do not count; code that is neither NeuralFX nor an installed library
    (a module on the path) is a plugin's."""
    plugins = {p.module.partition(".")[0] for p in get_host().plugins} - {"neuralfx"}
    tb, owner = exc.__traceback__, "neuralfx"
    while tb is not None:
        frame = tb.tb_frame
        top = str(frame.f_globals.get("__name__", "")).partition(".")[0]
        path = frame.f_code.co_filename
        if top == "neuralfx":
            owner = "neuralfx"
        elif top in plugins or not (
            top in sys.stdlib_module_names or "-packages" in path or path.startswith("<")
        ):
            owner = "plugin"
        tb = tb.tb_next
    return owner == "neuralfx"


def _json_error(message: str, hint: str | None = None, **fields: Any) -> None:
    event = {"event": "error", "message": message, "hint": hint, **fields}
    click.echo(json.dumps({k: v for k, v in event.items() if v is not None}))


def _fail(exc: NeuralFXError, as_json: bool) -> None:
    if as_json and not getattr(exc, "reported", False):
        _json_error(
            exc.message,
            exc.hint,
            frame=getattr(exc, "frame", None),
            path=getattr(exc, "path", None),
        )
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
        for warning in host.warnings:
            click.echo(f"warning: {warning}", err=True)
        for e in host.errors:
            click.echo(
                f"warning: plugin {e.name!r} failed to load: {e.error} (see `neuralfx plugins`)",
                err=True,
            )

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._add_plugin_commands()
        return super().list_commands(ctx)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        self._add_plugin_commands()
        return super().get_command(ctx, name)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        argv = list(sys.argv[1:] if args is None else args)
        as_json = wants_json(argv)
        try:
            rv = super().main(argv, prog_name, complete_var, standalone_mode=False, **extra)
        except click.ClickException as exc:  # usage errors: the message click would print
            if as_json:
                usage = (
                    exc.ctx.get_usage() if isinstance(exc, click.UsageError) and exc.ctx else None
                )
                _json_error(exc.format_message(), usage)
            exc.show()
            sys.exit(exc.exit_code)
        except click.Abort as exc:  # click turns Ctrl-C during parsing into Abort
            interrupted = isinstance(exc.__cause__, KeyboardInterrupt)
            click.echo("interrupted" if interrupted else "Aborted!", err=True)
            sys.exit(130 if interrupted else 1)
        except NeuralFXError as exc:
            _fail(exc, as_json)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)
        except OSError as exc:  # the machine, not the input: a vanished file, a dead disk
            if not _raised_by_neuralfx(exc):  # a plugin's own file handling: show where
                traceback.print_exception(exc)
            _fail(
                NeuralFXError(
                    f"{exc.strerror or exc}" + (f": {exc.filename}" if exc.filename else ""),
                    hint="check the disk and the paths, then run the same command again"
                    if _raised_by_neuralfx(exc)
                    else "raised by "
                    "plugin code (the traceback is above): check the files it "
                    "names, or report it to the plugin's authors",
                ),
                as_json,
            )
        except Exception as exc:  # a bug: its traceback, and for programs an error event too
            if as_json:
                _json_error(
                    f"{type(exc).__name__}: {exc}",
                    "a bug in NeuralFX or a plugin: "
                    "the traceback is on stderr; report it with the command",
                )
            raise
        if not standalone_mode:
            return rv
        sys.exit(rv if isinstance(rv, int) else 0)


@click.group(
    cls=_Main, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100}
)
@click.version_option(__version__, prog_name="neuralfx")
@click.option(
    "--verbose",
    is_flag=True,
    help="Also show the native libraries' own messages on stderr (OpenCV, libpng, "
    "OpenEXR, FFmpeg), which are left out otherwise; or NEURALFX_VERBOSE=1.",
)
def main(verbose: bool) -> None:
    """NeuralFX: neural image translation for VFX pipelines.

    Run an effect over an image sequence, a single image or a video:

      neuralfx run convert plate.####.exr proxy.####.png

      neuralfx run EFFECT --help     (each effect's own options)

    List what is installed with `neuralfx effects` and `neuralfx plugins`; check the machine
    with `neuralfx doctor`. Reruns resume; see `neuralfx run --help`.
    """


def cli() -> None:
    """Console-script entry point (see :mod:`neuralfx.console` for the signal handling)."""
    main(prog_name="neuralfx")
