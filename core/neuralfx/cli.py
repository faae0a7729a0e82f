"""The ``neuralfx`` command line.

Built-in commands: ``run`` (one sub-command per effect, its options generated from the effect's
parameter declarations), ``effects``, ``describe``, ``plugins`` and ``doctor``. Plugins add
commands through the ``register_commands`` hook.
"""

from __future__ import annotations

import inspect
import json
import platform
import signal
import sys
import threading
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import click

from . import __version__
from .colour import ColourSpaces
from .devices import PRECISIONS, available_devices
from .effect import Effect
from .errors import NeuralFXError
from .frames.images import DEPTHS
from .frames.io import MISSING_POLICIES
from .frames.video import VIDEO_CODECS
from .plugins import PLUGIN_API_VERSION, get_host
from .progress import PROGRESS_MODES, make_reporter
from .runner import CHANNEL_MODES, RunOptions, run
from .weights import cache_dir, cached_files


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


# -- listing ------------------------------------------------------------------------------------
@main.command("effects")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def effects_command(as_json: bool) -> None:
    """List the installed effects."""
    host = get_host()
    rows = [{"name": e.name, "summary": e.summary, "plugin": host.owner_of(e.name)}
            for e in host.effects()]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    width = max((len(r["name"]) for r in rows), default=0)
    for r in rows:
        click.echo(f"{r['name']:<{width}}  {r['summary']}  [{r['plugin']}]")


@main.command("describe")
@click.argument("effect")
@click.option("--json", "as_json", is_flag=True, help="Print the JSON description and schema.")
def describe_command(effect: str, as_json: bool) -> None:
    """Describe an effect and its parameters (--json: the schema the Blender add-on reads)."""
    cls = get_host().effect(effect)
    info = cls.describe()
    if as_json:
        click.echo(json.dumps(info, indent=2))
        return
    click.echo(f"{info['name']}: {info['summary']}")
    click.echo(f"working colour space: {info['working_space'] or 'as the source'}")
    props = info["settings"]["properties"]
    if not props:
        click.echo("parameters: none")
    for name, schema in props.items():
        default = f" (default: {schema['default']})" if "default" in schema else ""
        click.echo(f"  {schema['x-option']}  [{schema['x-kind']}] {schema['description']}{default}")


@main.command("plugins")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def plugins_command(as_json: bool) -> None:
    """List plugins with version, module, hooks and effects, and those that failed to load."""
    host = get_host()
    data = {"plugin_api": PLUGIN_API_VERSION,
            "plugins": [vars(p) for p in host.plugins],
            "errors": [vars(e) for e in host.errors]}
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    click.echo(f"plugin API {PLUGIN_API_VERSION}")
    for p in host.plugins:
        click.echo(f"{p.name} {p.version} ({p.module}; API {p.api})")
        click.echo(f"  hooks: {', '.join(p.hooks) or '-'}")
        click.echo(f"  effects: {', '.join(p.effects) or '-'}")
    for e in host.errors:
        click.echo(f"{e.name} FAILED TO LOAD ({e.module}): {e.error}")


# -- doctor -------------------------------------------------------------------------------------
_PACKAGES = ("torch", "torchvision", "numpy", "opencv-python-headless", "opencv-python", "av",
             "OpenEXR", "opencolorio", "safetensors", "pluggy", "click")


@main.command("doctor")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--ocio", metavar="CONFIG", help="Also check this OpenColorIO config and list its "
                                                "colour spaces.")
def doctor_command(as_json: bool, ocio: str | None) -> None:
    """Check this machine: versions, devices, plugins, weights cache."""
    import torch

    versions = {"neuralfx": __version__, "python": platform.python_version()}
    for name in _PACKAGES:
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            pass
    devices = []
    for dev in available_devices():
        entry: dict[str, Any] = {"device": dev}
        if dev.startswith("cuda"):
            props = torch.cuda.get_device_properties(int(dev.split(":")[1]))
            entry.update(name=props.name, memory_gb=round(props.total_memory / 2**30, 1))
        devices.append(entry)
    host = get_host()
    cache = cache_dir()
    files = cached_files()
    report = {
        "versions": versions,
        "devices": devices,
        "cuda_build": torch.version.cuda,
        "plugin_api": PLUGIN_API_VERSION,
        "plugins": [{"name": p.name, "version": p.version, "effects": p.effects}
                    for p in host.plugins],
        "plugin_errors": [vars(e) for e in host.errors],
        "cache": {"path": str(cache), "exists": cache.is_dir(),
                  "files": [{"path": p, "bytes": n} for p, n in files]},
    }
    if ocio:
        report["ocio"] = {"config": ocio, "colour_spaces": ColourSpaces(ocio).names()}
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    click.echo("versions:")
    for k, v in versions.items():
        click.echo(f"  {k} {v}")
    click.echo("devices: " + ", ".join(
        d["device"] + (f" ({d['name']}, {d['memory_gb']} GB)" if "name" in d else "")
        for d in devices) + (f"  [torch built for CUDA {torch.version.cuda}]"
                             if torch.version.cuda else ""))
    click.echo(f"plugins (API {PLUGIN_API_VERSION}): " +
               ", ".join(f"{p.name} {p.version}" for p in host.plugins))
    for e in host.errors:
        click.echo(f"  FAILED: {e.name}: {e.error}")
    click.echo(f"weights cache: {cache} ({len(files)} file(s)"
               f"{', ' + _size(sum(n for _, n in files)) if files else ''})")
    for p, n in files:
        click.echo(f"  {p}  {_size(n)}")
    if ocio:
        click.echo(f"OpenColorIO config {ocio}: " + ", ".join(report["ocio"]["colour_spaces"]))


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def cli() -> None:
    """Console-script entry point."""
    main(prog_name="neuralfx")
