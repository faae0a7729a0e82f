"""Inspection commands: ``effects``, ``describe``, ``plugins``, ``doctor``."""

from __future__ import annotations

import json
import platform
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import click

from .. import __version__, openmp
from ..errors import NeuralFXError
from ..host.plugins import PLUGIN_API_VERSION, get_host
from .main import main


# -- listing ------------------------------------------------------------------------------------
@main.command("effects")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def effects_command(as_json: bool) -> None:
    """List the installed effects."""
    rows = _effect_rows(get_host())
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    width = max((len(r["name"]) for r in rows), default=0)
    for r in rows:
        click.echo(f"{r['name']:<{width}}  {r['summary']}  [{r['plugin']}]")


def _effect_rows(host) -> list[dict[str, Any]]:
    return [
        {"name": e.name, "summary": e.summary, "plugin": host.owner_of(e.name)}
        for e in host.effects()
    ]


@main.command("describe")
@click.argument("effect", required=False)
@click.option(
    "--all",
    "everything",
    is_flag=True,
    help="Describe every effect at once, with the version and the plugins that "
    "failed to load (what a host such as the Blender add-on reads in one call).",
)
@click.option(
    "--run-options",
    "run_options",
    is_flag=True,
    help="Describe the options every `neuralfx run` has (--json: their schemas, with "
    "x-panel for the ones the Blender panel shows).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the JSON description and schema.")
def describe_command(
    effect: str | None, everything: bool, run_options: bool, as_json: bool
) -> None:
    """Describe an effect and its parameters (--json: the schema the Blender add-on reads).

    \b
    Examples:
      neuralfx describe painting-style
      neuralfx describe --run-options   # the options of every run
      neuralfx describe --all --json    # version, effects, schemas, run options, plugin failures
    """
    from ..options import run_options_schema

    if run_options:
        if effect or everything:
            raise click.UsageError("give --run-options alone")
        schemas = run_options_schema()
        if as_json:
            click.echo(json.dumps(schemas, indent=2))
            return
        click.echo("the options of every `neuralfx run` (neuralfx run EFFECT --help):")
        for schema in schemas:
            click.echo(_param_line(schema))
        return
    host = get_host()
    if everything:
        if effect:
            raise click.UsageError("give an EFFECT or --all, not both")
        data = {
            "version": __version__,
            "effects": _effect_rows(host),
            "descriptions": {e.name: e.describe() for e in host.effects()},
            "run_options": run_options_schema(),
            "plugin_errors": [vars(e) for e in host.errors],
        }
        if as_json:
            click.echo(json.dumps(data, indent=2))
        else:
            for name in data["descriptions"]:
                click.echo(name)
        return
    if not effect:
        raise click.UsageError("name an EFFECT (neuralfx effects lists them), or pass --all")
    info = host.spec(effect).describe()
    if as_json:
        click.echo(json.dumps(info, indent=2))
        return
    click.echo(f"{info['name']}: {info['summary']}")
    click.echo(f"working colour space: {info['working_space'] or 'as the source'}")
    props = info["settings"]["properties"]
    if not props:
        click.echo("parameters: none")
    for schema in props.values():
        click.echo(_param_line(schema))


def _param_line(schema: dict[str, Any]) -> str:
    value = schema.get("default")
    if isinstance(value, bool):  # as --help writes it
        value = "on" if value else "off"
    default = f" (default: {value})" if "default" in schema else ""
    return f"  {schema['x-option']}  [{schema['x-kind']}] {schema['description']}{default}"


@main.command("plugins")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def plugins_command(as_json: bool) -> None:
    """List plugins with version, module, hooks and effects, and those that failed to load."""
    host = get_host()
    data = {
        "plugin_api": PLUGIN_API_VERSION,
        "plugins": [vars(p) for p in host.plugins],
        "errors": [vars(e) for e in host.errors],
        "disabled": [d.as_dict() for d in host.disabled],
        "warnings": host.warnings + host.slow,
    }
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    click.echo(f"plugin API {PLUGIN_API_VERSION}")
    for p in host.plugins:
        click.echo(f"{p.name} {p.version} ({p.module}; API {p.api})")
        click.echo(f"  hooks: {', '.join(p.hooks) or '-'}")
        click.echo(f"  effects: {', '.join(p.effects) or '-'}")
        for what, names in (("face detectors", p.detectors), ("weights", p.weights)):
            if names:
                click.echo(f"  {what}: {', '.join(names)}")
    for e in host.errors:
        click.echo(f"{e.name} FAILED TO LOAD ({e.module}): {e.error}")
    for d in host.disabled:
        click.echo(f"{d.name} disabled ({d.module}): {d.reason}")
    for note in host.slow:
        click.echo(f"slow: {note}")


# -- doctor -------------------------------------------------------------------------------------
_PACKAGES = (
    "torch",
    "torchvision",
    "numpy",
    "opencv-python-headless",
    "opencv-python",
    "av",
    "OpenEXR",
    "opencolorio",
    "safetensors",
    "pluggy",
    "click",
    "dlib-bin",
    # the optional extras: neuralfx[ray] (--executor ray), neuralfx[c2pa] (--c2pa-cert)
    "ray",
    "c2pa-python",
)


@main.command("doctor")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option(
    "--ocio",
    metavar="CONFIG",
    help="Also check this OpenColorIO config and list its colour spaces.",
)
def doctor_command(as_json: bool, ocio: str | None) -> None:
    """Check this machine: versions, devices, plugins, effects, weights cache.

    Exits with 1 when a plugin failed to load or an effect's implementation cannot be imported.
    """
    import torch

    from ..colour import ColourSpaces
    from ..devices import available_devices, cpu_has_bf16
    from ..host.weights import cache_dir, cached_files

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
    effect_errors = []
    for name in host.effect_names:  # what `run` would import: a broken one is found here
        try:
            host.effect(name)
        except NeuralFXError as exc:
            effect_errors.append({"effect": name, "error": exc.message})
    cache = cache_dir()
    files = cached_files()
    report = {
        "versions": versions,
        "devices": devices,
        "cuda_build": torch.version.cuda,
        "plugin_api": PLUGIN_API_VERSION,
        "plugins": [
            {
                "name": p.name,
                "version": p.version,
                "effects": p.effects,
                "detectors": p.detectors,
                "weights": p.weights,
            }
            for p in host.plugins
        ],
        "face_detectors": sorted(host.face_detectors),
        "plugin_errors": [vars(e) for e in host.errors],
        "effect_errors": effect_errors,
        "slow_plugins": host.slow,
        "cpu": {
            "threads": torch.get_num_threads(),
            "openmp_waiting": openmp.describe(),
            "bf16": cpu_has_bf16(),
        },
        "cache": {
            "path": str(cache),
            "exists": cache.is_dir(),
            "files": [{"path": p, "bytes": n} for p, n in files],
        },
    }
    if ocio:
        report["ocio"] = {"config": ocio, "colour_spaces": ColourSpaces(ocio).names()}
    if as_json:
        click.echo(json.dumps(report, indent=2))
        if host.errors or effect_errors:
            raise SystemExit(1)
        return
    click.echo("versions:")
    for k, v in versions.items():
        click.echo(f"  {k} {v}")
    click.echo(
        "devices: "
        + ", ".join(
            d["device"] + (f" ({d['name']}, {d['memory_gb']} GB)" if "name" in d else "")
            for d in devices
        )
        + (f"  [torch built for CUDA {torch.version.cuda}]" if torch.version.cuda else "")
    )
    cpu = report["cpu"]
    click.echo(
        f"cpu: {cpu['threads']} threads, OpenMP threads wait: {cpu['openmp_waiting']} "
        "(PASSIVE when other work shares the cores, a short spin on an idle machine), "
        + ("bf16 instructions" if cpu["bf16"] else "no bf16 instructions (--precision fp32)")
    )
    click.echo(
        f"plugins (API {PLUGIN_API_VERSION}): "
        + ", ".join(f"{p.name} {p.version}" for p in host.plugins)
    )
    for e in host.errors:
        click.echo(f"  FAILED: {e.name}: {e.error}")
    for e in effect_errors:
        click.echo(f"  FAILED: effect {e['effect']}: {e['error']}")
    for note in host.slow:
        click.echo(f"  slow: {note}")
    click.echo(
        f"weights cache: {cache} ({len(files)} file(s)"
        f"{', ' + _size(sum(n for _, n in files)) if files else ''})"
    )
    for p, n in files:
        click.echo(f"  {p}  {_size(n)}")
    if ocio:
        click.echo(f"OpenColorIO config {ocio}: " + ", ".join(report["ocio"]["colour_spaces"]))
    if host.errors or effect_errors:
        raise SystemExit(1)


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


@main.command("contact-sheet")
@click.argument("input")
@click.argument("output")
@click.option("--columns", type=int, default=6, show_default=True)
@click.option("--width", type=int, default=1600, show_default=True, help="Sheet width in pixels.")
@click.option("--frames", metavar="RANGE", help="Frames to show (default: all, up to --max).")
@click.option(
    "--max",
    "max_frames",
    type=int,
    default=48,
    show_default=True,
    help="At most this many frames, spread evenly over the clip.",
)
def contact_sheet_command(
    input: str, output: str, columns: int, width: int, frames: str | None, max_frames: int
) -> None:
    """Write a PNG contact sheet (labelled thumbnails) of a sequence or video."""
    from ..contact_sheet import make_contact_sheet

    count = make_contact_sheet(
        input, output, columns=columns, width=width, frames=frames, max_frames=max_frames
    )
    click.echo(f"{output}: {count} frame(s)")
