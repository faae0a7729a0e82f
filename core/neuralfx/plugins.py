"""The plugin host: finds plugins, checks them against the plugin API, collects their effects.

Plugins come from the ``neuralfx`` entry-point group (the built-in effects too) and from
``NEURALFX_PLUGINS`` (comma-separated module names, for plugins under development, like
``PYTEST_PLUGINS``). ``NEURALFX_LOAD_PLUGINS`` (comma-separated plugin names; empty for none)
loads only those; ``NEURALFX_DISABLE_PLUGINS`` skips the ones named.

Each plugin is loaded on its own: one that fails to import, declares an incompatible API
version, implements a hook that does not exist (``check_pending``) or registers a bad effect is
unregistered and reported in :attr:`PluginHost.errors`; the others still load.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import os
import re
from collections.abc import Iterable
from importlib.metadata import entry_points
from types import ModuleType

import click
import pluggy

from . import hookspecs
from .effect import RESERVED_PARAM_NAMES, WORKING_SPACES, Effect
from .errors import PluginError, UnknownNameError, did_you_mean
from .params import Param

#: The plugin API this NeuralFX offers. A plugin declares ``NEURALFX_PLUGIN_API = "MAJOR.MINOR"``;
#: it is accepted when MAJOR matches and its MINOR is not newer than ours.
PLUGIN_API_VERSION = "1.0"

ENTRY_POINT_GROUP = "neuralfx"
_EFFECT_NAME = re.compile(r"^[a-z][a-z0-9-]*$")


@dataclasses.dataclass
class PluginInfo:
    name: str
    version: str
    module: str
    api: str
    hooks: list[str]
    effects: list[str] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class PluginLoadError:
    name: str
    module: str
    error: str


def _parse_api(text: str) -> tuple[int, int]:
    major, _, minor = str(text).partition(".")
    return int(major), int(minor or 0)


def check_api_version(plugin: str, declared: object) -> None:
    """Refuse a plugin written for a plugin API this NeuralFX does not offer."""
    ours = _parse_api(PLUGIN_API_VERSION)
    if declared is None:
        raise PluginError(
            f"plugin {plugin!r} does not declare the plugin API it was written for",
            hint=f'add NEURALFX_PLUGIN_API = "{PLUGIN_API_VERSION}" to its module')
    try:
        theirs = _parse_api(str(declared))
    except ValueError:
        raise PluginError(f"plugin {plugin!r} declares NEURALFX_PLUGIN_API = {declared!r}, "
                          "which is not a MAJOR.MINOR version") from None
    if theirs[0] != ours[0] or theirs[1] > ours[1]:
        raise PluginError(
            f"plugin {plugin!r} needs plugin API {theirs[0]}.{theirs[1]} "
            f"(compatible: {theirs[0]}.{theirs[1]} to {theirs[0]}.x); this NeuralFX offers "
            f"plugin API {PLUGIN_API_VERSION} (it accepts plugins written for {ours[0]}.0 to "
            f"{ours[0]}.{ours[1]})",
            hint="install a version of the plugin made for this NeuralFX, or upgrade NeuralFX")


def check_effect_class(effect: object) -> type[Effect]:
    """Check that ``effect`` is a well-formed effect class; return it."""
    if not (inspect.isclass(effect) and issubclass(effect, Effect)):
        raise PluginError(f"{effect!r} is not a subclass of neuralfx.Effect")
    name = getattr(effect, "name", None)
    if not isinstance(name, str) or not _EFFECT_NAME.match(name):
        raise PluginError(f"effect class {effect.__qualname__} needs a name in kebab-case "
                          f"(got {name!r})")
    if effect.process is Effect.process:
        raise PluginError(f"effect {name!r} does not implement process()")
    if effect.working_space is not None and effect.working_space not in WORKING_SPACES:
        raise PluginError(f"effect {name!r}: working_space {effect.working_space!r} is not one "
                          f"of {', '.join(WORKING_SPACES)} or None")
    seen: set[str] = set()
    for p in effect.params:
        if not isinstance(p, Param):
            raise PluginError(f"effect {name!r}: parameter {p!r} is not a neuralfx.params.Param")
        if p.name in seen:
            raise PluginError(f"effect {name!r} declares parameter {p.name!r} twice")
        if p.name in RESERVED_PARAM_NAMES:
            raise PluginError(f"effect {name!r}: parameter name {p.name!r} is taken by a run "
                              "option", hint="rename the parameter")
        seen.add(p.name)
    return effect


def _names_from_env(var: str) -> set[str] | None:
    value = os.environ.get(var)
    if value is None:
        return None
    return {n.strip() for n in value.split(",") if n.strip()}


class PluginHost:
    """Owns the pluggy manager and everything the plugins registered."""

    def __init__(self) -> None:
        self.pm = pluggy.PluginManager(ENTRY_POINT_GROUP)
        self.pm.add_hookspecs(hookspecs)
        self.plugins: list[PluginInfo] = []
        self.errors: list[PluginLoadError] = []
        self._effects: dict[str, type[Effect]] = {}
        self._effect_owner: dict[str, str] = {}

    # -- loading ------------------------------------------------------------------------------
    def load_all(self) -> PluginHost:
        """Load entry-point plugins and ``NEURALFX_PLUGINS`` modules, honouring the filters."""
        only = _names_from_env("NEURALFX_LOAD_PLUGINS")
        skip = _names_from_env("NEURALFX_DISABLE_PLUGINS") or set()

        def wanted(name: str) -> bool:
            return (only is None or name in only) and name not in skip

        for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
            if wanted(ep.name):
                version = ep.dist.version if ep.dist is not None else "unknown"
                self._load_one(ep.name, ep.value, version, ep.load)
        extra = os.environ.get("NEURALFX_PLUGINS", "")
        for module_name in (m.strip() for m in extra.split(",")):
            if module_name and wanted(module_name):
                self._load_one(module_name, module_name, None,
                               lambda m=module_name: importlib.import_module(m))
        return self

    def _load_one(self, name: str, where: str, version: str | None, importer) -> None:
        if any(p.name == name for p in self.plugins):
            return
        try:
            module = importer()
        except Exception as exc:  # a broken plugin must not take the others down
            self.errors.append(PluginLoadError(name, where, f"{type(exc).__name__}: {exc}"))
            return
        self.add_plugin(module, name=name,
                        version=version or str(getattr(module, "__version__", "unknown")))

    def add_plugin(self, module: ModuleType | object, *, name: str,
                   version: str = "unknown") -> PluginInfo | None:
        """Register one plugin object (a module, usually) and collect its effects.

        Returns its :class:`PluginInfo`, or None when it was refused (see :attr:`errors`).
        """
        where = getattr(module, "__name__", type(module).__name__)
        added: list[str] = []
        try:
            api = getattr(module, "NEURALFX_PLUGIN_API", None)
            check_api_version(name, api)
            self.pm.register(module, name=name)
            try:
                self.pm.check_pending()
                caller = self.pm.subset_hook_caller(
                    "register_effects",
                    remove_plugins=[p for p in self.pm.get_plugins() if p is not module])

                def register(effect: type[Effect]) -> None:
                    effect = check_effect_class(effect)
                    owner = self._effect_owner.get(effect.name)
                    if owner is not None:
                        raise PluginError(f"effect {effect.name!r} is already registered by "
                                          f"plugin {owner!r}")
                    self._effects[effect.name] = effect
                    self._effect_owner[effect.name] = name
                    added.append(effect.name)

                caller(register=register)
            except Exception:
                self.pm.unregister(module)
                raise
        except Exception as exc:
            for effect_name in added:
                del self._effects[effect_name]
                del self._effect_owner[effect_name]
            message = str(exc) if isinstance(exc, PluginError) else f"{type(exc).__name__}: {exc}"
            self.errors.append(PluginLoadError(name, where, message))
            return None
        hooks = sorted(impl.name for impl in self.pm.get_hookcallers(module) or [])
        info = PluginInfo(name=name, version=version, module=where, api=str(api), hooks=hooks,
                          effects=added)
        self.plugins.append(info)
        return info

    def register_commands(self, cli: click.Group) -> None:
        """Let each plugin add its commands; one that fails is reported, the others still add
        theirs (and the built-in commands always work)."""
        plugins = self.pm.get_plugins()
        for plugin in plugins:
            caller = self.pm.subset_hook_caller(
                "register_commands", remove_plugins=[p for p in plugins if p is not plugin])
            try:
                caller(cli=cli)
            except Exception as exc:
                name = self.pm.get_name(plugin) or repr(plugin)
                self.errors.append(PluginLoadError(
                    name, getattr(plugin, "__name__", type(plugin).__name__),
                    f"register_commands failed: {type(exc).__name__}: {exc}"))

    # -- lookup -------------------------------------------------------------------------------
    @property
    def effect_names(self) -> list[str]:
        return sorted(self._effects)

    def effect(self, name: str) -> type[Effect]:
        """The effect class called ``name``; unknown names are refused with suggestions."""
        try:
            return self._effects[name]
        except KeyError:
            pass
        hint = did_you_mean(name, self._effects)
        if hint is None:
            hint = "installed effects: " + (", ".join(self.effect_names) or "(none)")
            if self.errors:
                hint += "; some plugins failed to load, see `neuralfx plugins`"
        raise UnknownNameError(f"unknown effect {name!r}", hint=hint)

    def owner_of(self, effect_name: str) -> str:
        return self._effect_owner[effect_name]

    def effects(self) -> Iterable[type[Effect]]:
        return (self._effects[n] for n in self.effect_names)


_host: PluginHost | None = None


def get_host() -> PluginHost:
    """The process-wide host, loaded on first use."""
    global _host
    if _host is None:
        _host = PluginHost().load_all()
    return _host
