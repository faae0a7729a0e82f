"""Blender properties generated from ``neuralfx describe EFFECT --json``, and back to options.

Every parameter of an effect becomes one property of that effect's PropertyGroup, by its
``x-kind``: float and int with hard limits (``minimum``/``maximum``) and soft ones
(``x-soft-minimum``/``x-soft-maximum``, the slider's range), bool, choice as an enum, text,
path with a file or folder browser, boxes (a path, plus a button that exports a tracking
marker), colour with a colour picker. A parameter that takes several values is a collection
of one-value items. The help text is the tooltip. An effect added to NeuralFX later appears in
the panel with no change here; a kind this add-on does not know yet is shown as text and passed
on as typed, so an older add-on keeps working with a newer NeuralFX.
"""

from __future__ import annotations

import json
import os
import struct

import bpy
from bpy.props import (
    BoolProperty,
    CollectionProperty,
    EnumProperty,
    FloatProperty,
    FloatVectorProperty,
    IntProperty,
    StringProperty,
)

#: Path properties that take "//" (the .blend's folder): the add-on resolves them
#: (sources.absolute). Newer Blenders warn on "//" unless a property says so; where the option
#: does not exist (4.2), neither does the warning.
BLEND_RELATIVE = (
    {"PATH_SUPPORTS_BLEND_RELATIVE"}
    if "is_path_supports_blend_relative" in bpy.types.Property.bl_rna.properties.keys()
    else set()
)

_RESERVED = {"name", "rna_type"}  # PropertyGroup's own attributes
_FLOAT_LIMIT = 3.0e38
_INT_LIMIT = 2**31 - 1


def attribute(param: str) -> str:
    """The property name that holds ``param`` (PropertyGroup reserves a few names)."""
    return f"p_{param}" if param in _RESERVED else param


def label(param: str) -> str:
    return param.replace("_", " ").capitalize()


def _one(spec: dict) -> dict:
    """The schema of one value (the items of a multiple parameter)."""
    return spec["items"] if spec.get("type") == "array" else spec


def _limits(one: dict, hard: float) -> dict:
    lo, hi = one.get("minimum", -hard), one.get("maximum", hard)
    return {
        "min": lo,
        "max": hi,
        "soft_min": one.get("x-soft-minimum", lo),
        "soft_max": one.get("x-soft-maximum", hi),
    }


def _hex_to_rgb(text: str) -> tuple[float, float, float]:
    text = text.lstrip("#")
    return tuple(int(text[i : i + 2], 16) / 255.0 for i in (0, 2, 4))  # type: ignore[return-value]


def value_property(param: str, spec: dict, *, multiple: bool = False):
    """The Blender property for one value of ``param``."""
    one = _one(spec)
    kind = spec.get("x-kind", "text")
    common = {"name": label(param), "description": spec.get("description", "")}
    default = None if multiple else spec.get("default")
    if kind == "float":
        return FloatProperty(
            **common,
            **_limits(one, _FLOAT_LIMIT),
            default=float(default if default is not None else max(one.get("minimum", 0.0), 0.0)),
        )
    if kind == "int":
        return IntProperty(
            **common,
            **_limits(one, _INT_LIMIT),
            default=int(default if default is not None else max(one.get("minimum", 0), 0)),
        )
    if kind == "bool":
        return BoolProperty(**common, default=bool(default))
    if kind == "choice":
        items = [(c, c, "") for c in one["enum"]]
        return EnumProperty(**common, items=items, default=default or one["enum"][0])
    if kind == "colour":
        return FloatVectorProperty(
            **common,
            subtype="COLOR_GAMMA",
            size=3,
            min=0.0,
            max=1.0,
            default=_hex_to_rgb(default or "#808080"),
        )
    if kind in ("path", "boxes"):
        subtype = "DIR_PATH" if one.get("x-folder") else "FILE_PATH"
        return StringProperty(
            **common, subtype=subtype, default=str(default or ""), options=BLEND_RELATIVE
        )
    return StringProperty(**common, default=str(default or ""))  # text, and kinds to come


def effect_group(effect: str, description: dict) -> list[type]:
    """The PropertyGroup class for ``effect`` (last in the list) after the item classes its
    multiple parameters need; register them in order."""
    classes: list[type] = []
    annotations = {}
    params = description["settings"]["properties"]
    slug = "".join(c if c.isalnum() else "_" for c in effect)
    for param, spec in params.items():
        if spec.get("type") == "array":
            item = type(
                f"NEURALFX_PG_{slug}__{param}",
                (bpy.types.PropertyGroup,),
                {"__annotations__": {"value": value_property(param, spec, multiple=True)}},
            )
            classes.append(item)
            annotations[attribute(param)] = CollectionProperty(
                type=item, name=label(param), description=spec.get("description", "")
            )
        else:
            annotations[attribute(param)] = value_property(param, spec)
    group = type(
        f"NEURALFX_PG_{slug}",
        (bpy.types.PropertyGroup,),
        {"__annotations__": annotations, "neuralfx_effect": effect, "neuralfx_params": params},
    )
    return [*classes, group]


def _text(kind: str, value) -> str:
    if kind == "colour":
        return "#" + "".join(f"{round(max(0.0, min(1.0, c)) * 255):02x}" for c in value[:3])
    if kind in ("path", "boxes"):
        return bpy.path.abspath(value) if value else ""
    if kind == "float":
        return float32_text(value)
    return str(value)


def float32_text(value: float) -> str:
    """A float property's value as the shortest decimal that is the same float32 (Blender
    stores 0.6 as 0.6000000238418579): the command reads as typed, and NeuralFX, which
    rounds every float setting the same way (``neuralfx.params.as_float32``; the add-on
    cannot import it), records the run as a terminal run with that value."""
    try:
        single = struct.pack("<f", value)
    except OverflowError:
        return repr(float(value))
    for digits in range(1, 10):
        text = f"{value:.{digits}g}"
        if struct.pack("<f", float(text)) == single:
            return text
    return repr(float(value))


def applies(settings, spec: dict) -> bool:
    """Whether a parameter applies with the other settings as they are (its ``x-when``)."""
    return all(
        getattr(settings, attribute(key), None) in allowed
        for key, allowed in (spec.get("x-when") or {}).items()
    )


def missing_required(settings) -> list[str]:
    """The labels of required parameters left empty (that apply)."""
    missing = []
    for param, spec in settings.neuralfx_params.items():
        if spec.get("x-required") and applies(settings, spec):
            value = getattr(settings, attribute(param))
            if len(value) == 0 if spec.get("type") == "array" else value in ("", None):
                missing.append(label(param))
    return missing


def invalid_values(settings) -> list[str]:
    """What NeuralFX would refuse in the settings that apply, said as the panel names things,
    before a run is queued: texts not in their parameter's form (its ``pattern``), files
    that must exist and do not, files of a kind the parameter does not read."""
    import os
    import re

    problems = []
    for param, spec in settings.neuralfx_params.items():
        if not applies(settings, spec):
            continue
        value = getattr(settings, attribute(param))
        item_spec = spec.get("items", spec) if spec.get("type") == "array" else spec
        kind = spec.get("x-kind", "text")
        texts = (
            [_text(kind, v.value) for v in value]
            if spec.get("type") == "array"
            else [_text(kind, value)]
            if kind not in ("bool", "float", "int", "colour")
            else []
        )
        for text in (t for t in texts if t):
            pattern = item_spec.get("pattern")
            if pattern and not re.fullmatch(pattern, text):
                example = (item_spec.get("examples") or spec.get("examples") or [None])[0]
                problems.append(
                    f"{label(param)}: {text!r} is not in the form it takes"
                    + (f" (for example {example})" if example else "")
                )
            elif (
                item_spec.get("format") == "path"
                and item_spec.get("x-must-exist")
                and not os.path.exists(text)
            ):
                problems.append(f"{label(param)}: {text} does not exist")
            elif (
                item_spec.get("x-suffixes")
                and os.path.isfile(text)
                and os.path.splitext(text)[1].lower() not in item_spec["x-suffixes"]
            ):
                problems.append(
                    f"{label(param)}: {os.path.basename(text)} is not one of "
                    + ", ".join(item_spec["x-suffixes"])
                )
    return problems


#: The run options the panel has, by the command line's name.
PANEL_OPTIONS = {
    "--frames": "Frames",
    "--overwrite": "Overwrite",
    "--device": "Device",
    "--precision": "Precision",
    "--missing": "Missing",
}


def in_panel_words(text: str, settings) -> str:
    """A message of NeuralFX's with its command-line options (``pass --style-scale 2``) put
    as the panel names them (``pass Style scale 2``)."""
    import re

    names = dict(PANEL_OPTIONS)
    if settings is not None:
        names.update(
            {spec["x-option"]: label(param) for param, spec in settings.neuralfx_params.items()}
        )
    return re.sub(
        r"--[a-z][a-z0-9-]*",
        lambda m: f"'{names[m.group(0)]}'" if m.group(0) in names else m.group(0),
        text,
    )


def settings_by_name(settings) -> dict:
    """The settings by parameter name, as ``neuralfx serve`` takes them (docs/serve.md), in
    the command line's texts; empty texts, paths and lists, and parameters that do not apply
    with the other settings, left out (NeuralFX then uses its own defaults)."""
    out: dict = {}
    for param, spec in settings.neuralfx_params.items():
        if not applies(settings, spec):
            continue
        value = getattr(settings, attribute(param))
        kind = spec.get("x-kind", "text")
        if spec.get("type") == "array":
            texts = [t for t in (_text(kind, item.value) for item in value) if t]
            if texts:
                out[param] = texts
        elif kind == "bool":
            out[param] = bool(value)
        else:
            text = _text(kind, value)
            if text or kind in ("float", "int"):
                out[param] = text
    return out


def cli_arguments(settings) -> list[str]:
    """The ``neuralfx run EFFECT`` options for an effect's PropertyGroup: its
    :func:`settings_by_name` (empty texts, paths and lists left out, so NeuralFX uses its own
    defaults for them; parameters that do not apply left out too), as options."""
    args: list[str] = []
    for param, value in settings_by_name(settings).items():
        option = settings.neuralfx_params[param]["x-option"]
        if isinstance(value, list):
            for text in value:
                args += [option, text]
        elif isinstance(value, bool):
            args.append(option if value else "--no-" + option[2:])
        else:
            args += [option, value]
    return args


# -- the run settings ------------------------------------------------------------------------
#: ``neuralfx describe --run-options --json`` of the NeuralFX this add-on was built with
#: (scripts/build_blender_addon.py writes it; a test checks it is current): the run options
#: the panel shows (``x-panel``) become properties of ``scene.neuralfx``, so a run option
#: declared in NeuralFX reaches the panel with no change here.
with open(os.path.join(os.path.dirname(__file__), "run_options.json"), encoding="utf-8") as _f:
    RUN_OPTIONS = {spec["name"]: spec for spec in json.load(_f) if spec.get("x-panel")}


def run_option_properties() -> dict:
    """The properties of the panel's run options, by attribute name."""
    return {attribute(name): value_property(name, spec) for name, spec in RUN_OPTIONS.items()}


def run_arguments(settings) -> list[str]:
    """The options for the panel's run settings that differ from NeuralFX's defaults (a
    command stays as short as one typed by hand)."""
    args: list[str] = []
    for name, spec in RUN_OPTIONS.items():
        value = getattr(settings, attribute(name))
        kind = spec.get("x-kind", "text")
        if kind == "bool":
            if bool(value) != bool(spec.get("default", False)):
                args.append(spec["x-option"] if value else "--no-" + spec["x-option"][2:])
            continue
        text = _text(kind, value)
        if text and text != str(spec.get("default", "")):
            args += [spec["x-option"], text]
    return args
