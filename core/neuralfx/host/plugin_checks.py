"""What a plugin must be to load: the plugin API version it declares, hooks that exist, and
effect declarations the host can use (names, working spaces, parameters). The host
(:mod:`neuralfx.host.plugins`) refuses a plugin that fails any of these, saying what to change."""

from __future__ import annotations

import dataclasses
import inspect
import re

from .. import hookspecs
from ..effect import RESERVED_PARAM_NAMES, WORKING_SPACES, Effect, EffectSpec
from ..errors import PluginError
from ..params import Param

#: The plugin API this NeuralFX offers. A plugin declares ``NEURALFX_PLUGIN_API = "MAJOR.MINOR"``;
#: it is accepted when MAJOR matches and its MINOR is not newer than ours.
PLUGIN_API_VERSION = "1.2"
_EFFECT_NAME = re.compile(r"^[a-z][a-z0-9-]*$")


def _parse_api(text: str) -> tuple[int, int]:
    major, _, minor = str(text).partition(".")
    return int(major), int(minor or 0)


def check_api_version(plugin: str, declared: object) -> None:
    """Refuse a plugin written for a plugin API this NeuralFX does not offer."""
    ours = _parse_api(PLUGIN_API_VERSION)
    if declared is None:
        raise PluginError(
            f"plugin {plugin!r} does not declare the plugin API it was written for",
            hint=f'add NEURALFX_PLUGIN_API = "{PLUGIN_API_VERSION}" to its module',
        )
    if not isinstance(declared, str):  # 1.10 written as a float would read as 1.1
        raise PluginError(
            f"plugin {plugin!r} declares NEURALFX_PLUGIN_API = {declared!r} as a "
            f"{type(declared).__name__}, not a string",
            hint=f'write it as a string: NEURALFX_PLUGIN_API = "{declared}"',
        )
    try:
        theirs = _parse_api(declared)
    except ValueError:
        raise PluginError(
            f"plugin {plugin!r} declares NEURALFX_PLUGIN_API = {declared!r}, "
            "which is not a MAJOR.MINOR version",
            hint=f'write it as NEURALFX_PLUGIN_API = "{PLUGIN_API_VERSION}"',
        ) from None
    if theirs[0] != ours[0] or theirs[1] > ours[1]:
        raise PluginError(
            f"plugin {plugin!r} needs plugin API {theirs[0]}.{theirs[1]} "
            f"(compatible: {theirs[0]}.{theirs[1]} to {theirs[0]}.x); this NeuralFX offers "
            f"plugin API {PLUGIN_API_VERSION} (it accepts plugins written for {ours[0]}.0 to "
            f"{ours[0]}.{ours[1]})",
            hint="install a version of the plugin made for this NeuralFX, or upgrade NeuralFX",
        )


def check_effect_spec(effect: object) -> EffectSpec:
    """Check an effect declaration (a spec, or an Effect subclass carrying one); return it."""
    if inspect.isclass(effect) and issubclass(effect, Effect):
        if "spec" not in vars(effect) and "name" not in vars(effect):
            raise PluginError(
                f"effect class {effect.__qualname__} needs a name in kebab-case (or a spec)"
            )
        if effect.process is Effect.process:
            raise PluginError(f"effect {effect.name!r} does not implement process()")
        spec = effect.spec
        if spec.implementation is None:
            spec = dataclasses.replace(spec, implementation=effect)
    elif isinstance(effect, EffectSpec):
        spec = effect
        if spec.implementation is None:
            raise PluginError(
                f"effect {spec.name!r} names no implementation",
                hint='set implementation="module:Class"',
            )
    else:
        raise PluginError(
            f"{effect!r} is neither a neuralfx.EffectSpec nor a subclass of neuralfx.Effect"
        )
    name = spec.name
    if not isinstance(name, str) or not _EFFECT_NAME.match(name):
        raise PluginError(f"effect needs a name in kebab-case (got {name!r})")
    if spec.working_space is not None and spec.working_space not in WORKING_SPACES:
        raise PluginError(
            f"effect {name!r}: working_space {spec.working_space!r} is not one "
            f"of {', '.join(WORKING_SPACES)} or None"
        )
    seen: set[str] = set()
    for p in spec.params:
        if not isinstance(p, Param):
            raise PluginError(f"effect {name!r}: parameter {p!r} is not a neuralfx.params.Param")
        if p.name in seen:
            raise PluginError(f"effect {name!r} declares parameter {p.name!r} twice")
        if p.name in RESERVED_PARAM_NAMES:
            raise PluginError(
                f"effect {name!r}: parameter name {p.name!r} is taken by a run option",
                hint="rename the parameter",
            )
        seen.add(p.name)
    return spec


def hook_names() -> list[str]:
    """The hooks of the plugin API (:mod:`neuralfx.hookspecs`)."""
    return sorted(n for n in dir(hookspecs) if hasattr(getattr(hookspecs, n), "neuralfx_spec"))


def unknown_hooks(module: object) -> list[str]:
    """Every attribute of ``module`` marked as a hook implementation that is not a hook."""
    known = set(hook_names())
    return sorted(
        n
        for n in dir(module)
        if hasattr(getattr(module, n, None), "neuralfx_impl") and n not in known
    )
