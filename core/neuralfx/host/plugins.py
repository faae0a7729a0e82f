"""The plugin host: finds plugins, checks them against the plugin API, collects their effects.

Plugins come from the ``neuralfx`` entry-point group (the built-in effects too) and from
``NEURALFX_PLUGINS`` (comma-separated module names, for plugins under development, like
``PYTEST_PLUGINS``). ``NEURALFX_LOAD_PLUGINS`` (comma-separated plugin names; empty for none)
loads only those; ``NEURALFX_DISABLE_PLUGINS`` skips the ones named.

Each plugin is loaded on its own: one that fails to import, declares an incompatible API
version, implements hooks that do not exist (all of them are named) or registers a bad effect
is unregistered and reported in :attr:`PluginHost.errors`; the others still load. Plugins left
out by the filters are listed in :attr:`PluginHost.disabled`, and names in the filters that
match no installed plugin are warned about (:attr:`PluginHost.warnings`).

Effects are kept as their declarations (:class:`~neuralfx.effect.EffectSpec`); the
implementation class is imported only when a run asks for it (:meth:`PluginHost.effect`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
import importlib
import os
import time
from collections.abc import Callable, Iterable, Iterator
from importlib.metadata import entry_points
from types import ModuleType
from typing import Any

import click
import pluggy

from .. import hookspecs
from ..console import raised_without_a_signal
from .catalog import Catalog
from ..effect import Effect, EffectSpec
from ..errors import PluginError, UnknownNameError, did_you_mean
from ..faces.registry import BUILTIN_DETECTORS, FaceDetectorEntry
from .plugin_checks import PLUGIN_API_VERSION  # noqa: F401 (the host's API, re-exported)
from .plugin_checks import check_api_version, check_effect_spec, hook_names, unknown_hooks

ENTRY_POINT_GROUP = "neuralfx"
#: A plugin whose import takes longer than this (seconds) is named in `neuralfx plugins`.
SLOW_IMPORT = 0.3


@dataclasses.dataclass
class PluginInfo:
    name: str
    version: str
    module: str
    api: str
    hooks: list[str]
    effects: list[str] = dataclasses.field(default_factory=list)
    #: the face detectors and the weights entries it registered
    detectors: list[str] = dataclasses.field(default_factory=list)
    weights: list[str] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class PluginLoadError:
    name: str
    module: str
    error: str


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
        self.disabled: list[DisabledPlugin] = []
        self.warnings: list[str] = []
        self.slow: list[str] = []  # plugins slow to import, with the fix (`neuralfx plugins`)
        self.catalog = Catalog()
        #: Face detectors by name: the built-in ones and those plugins register.
        self.face_detectors: dict[str, FaceDetectorEntry] = {e.name: e for e in BUILTIN_DETECTORS}
        self._detector_owner: dict[str, str] = {}
        self._specs: dict[str, EffectSpec] = {}
        self._classes: dict[str, type[Effect]] = {}
        self._effect_owner: dict[str, str] = {}

    # -- loading ------------------------------------------------------------------------------
    def load_all(self) -> PluginHost:
        """Load entry-point plugins and ``NEURALFX_PLUGINS`` modules, honouring the filters."""
        only = _names_from_env("NEURALFX_LOAD_PLUGINS")
        skip = _names_from_env("NEURALFX_DISABLE_PLUGINS") or set()
        candidates: list[tuple[str, str, str | None, Callable[[], object]]] = []
        for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
            version = ep.dist.version if ep.dist is not None else "unknown"
            candidates.append((ep.name, ep.value, version, ep.load))
        extra = os.environ.get("NEURALFX_PLUGINS", "")
        for module_name in (m.strip() for m in extra.split(",")):
            if module_name:
                candidates.append(
                    (
                        module_name,
                        module_name,
                        None,
                        lambda m=module_name: importlib.import_module(m),
                    )
                )
        names = {c[0] for c in candidates}
        for var, listed in (
            ("NEURALFX_LOAD_PLUGINS", only or set()),
            ("NEURALFX_DISABLE_PLUGINS", skip),
        ):
            for unknown in sorted(listed - names):
                guess = did_you_mean(unknown, names)
                self.warnings.append(
                    f"{var} names {unknown!r}, which is not an installed "
                    f"plugin"
                    + (f" ({guess})" if guess else f" (plugins: {', '.join(sorted(names))})")
                )
        for name, where, version, importer in candidates:
            if only is not None and name not in only:
                self.disabled.append(
                    DisabledPlugin(name, where, "not in NEURALFX_LOAD_PLUGINS", importer)
                )
            elif name in skip:
                self.disabled.append(
                    DisabledPlugin(name, where, "in NEURALFX_DISABLE_PLUGINS", importer)
                )
            else:
                self._load_one(name, where, version, importer)
        return self

    def _load_one(self, name: str, where: str, version: str | None, importer) -> None:
        if any(p.name == name for p in self.plugins):
            return
        began = time.perf_counter()
        try:
            module = importer()
        except (Exception, SystemExit, KeyboardInterrupt) as exc:
            # none takes the others down; Ctrl-C itself does stop the command
            if isinstance(exc, KeyboardInterrupt) and not raised_without_a_signal(exc):
                raise
            self.errors.append(
                PluginLoadError(
                    name,
                    where,
                    (
                        f"SystemExit({exc.code!r}) while importing"
                        if isinstance(exc, SystemExit)
                        else f"{type(exc).__name__}: {exc}"
                    ),
                )
            )
            return
        if self.pm.is_registered(module):  # installed and listed in NEURALFX_PLUGINS too
            return
        took = time.perf_counter() - began
        if took > SLOW_IMPORT:
            self.slow.append(
                f"plugin {name!r} takes {took:.1f} s to import, which every command pays (each "
                "Blender panel refresh too): import torch and other heavy modules inside the "
                "effect's methods, or declare its effects with an EffectSpec whose "
                "implementation is a 'module:Class' path (docs/plugins.md)"
            )
        self.add_plugin(
            module, name=name, version=version or str(getattr(module, "__version__", "unknown"))
        )

    def add_plugin(
        self, module: ModuleType, *, name: str, version: str = "unknown"
    ) -> PluginInfo | None:
        """Register one plugin module and collect its effects and weights.

        Returns its :class:`PluginInfo`, or None when it was refused (see :attr:`errors`).
        """
        where = getattr(module, "__name__", type(module).__name__)
        added: list[str] = []
        try:
            if not isinstance(module, ModuleType):
                raise PluginError(
                    f"plugin {name!r} is a {type(module).__name__}, not a module",
                    hint="register a module (in tests: types.ModuleType with "
                    "the hook functions set on it)",
                )
            api = getattr(module, "NEURALFX_PLUGIN_API", None)
            check_api_version(name, api)
            unknown = unknown_hooks(module)
            if unknown:
                known = hook_names()
                named = []
                for u in unknown:
                    close = difflib.get_close_matches(u, known, n=1, cutoff=0.6)
                    named.append(u + (f" (did you mean {close[0]!r}?)" if close else ""))
                raise PluginError(
                    f"plugin {name!r} implements unknown hook(s): " + ", ".join(named),
                    hint="hooks: " + ", ".join(known),
                )
            self.pm.register(module, name=name)
            try:
                self.pm.check_pending()
                self._call_one(
                    module,
                    "register_effects",
                    register=lambda e: added.append(self._add_effect(e, name)),
                )
                self._call_one(
                    module, "register_weights", register=lambda entry: self.catalog.add(entry, name)
                )
                self._call_one(
                    module,
                    "register_face_detectors",
                    register=lambda entry: self._add_detector(entry, name),
                )
            except Exception:
                self.pm.unregister(module)
                raise
        except Exception as exc:
            self._forget(name, added)
            message = str(exc) if isinstance(exc, PluginError) else f"{type(exc).__name__}: {exc}"
            self.errors.append(PluginLoadError(name, where, message))
            return None
        hooks = sorted(impl.name for impl in self.pm.get_hookcallers(module) or [])
        info = PluginInfo(
            name=name,
            version=version,
            module=where,
            api=str(api),
            hooks=hooks,
            effects=added,
            detectors=sorted(d for d, owner in self._detector_owner.items() if owner == name),
            weights=sorted(
                k.partition(":")[2]
                for k, owner in self.catalog.owner.items()
                if owner == name and k.startswith("w:")
            ),
        )
        self.plugins.append(info)
        return info

    def _call_one(self, plugin: object, hook: str, **kwargs: Any) -> None:
        """Call ``hook`` of one plugin only, so a failure is that plugin's."""
        caller = self.pm.subset_hook_caller(
            hook, remove_plugins=[p for p in self.pm.get_plugins() if p is not plugin]
        )
        caller(**kwargs)

    def _add_effect(self, effect: object, plugin: str) -> str:
        spec = check_effect_spec(effect)
        owner = self._effect_owner.get(spec.name)
        if owner is not None:
            raise PluginError(f"effect {spec.name!r} is already registered by plugin {owner!r}")
        self._specs[spec.name] = spec
        self._effect_owner[spec.name] = plugin
        return spec.name

    def _add_detector(self, entry: object, plugin: str) -> None:
        if not isinstance(entry, FaceDetectorEntry):
            raise PluginError(f"register_face_detectors: {entry!r} is not a FaceDetectorEntry")
        if entry.name in self.face_detectors:
            raise PluginError(f"face detector {entry.name!r} is already registered")
        self.face_detectors[entry.name] = entry
        self._detector_owner[entry.name] = plugin

    def _forget(self, plugin: str, effects: list[str]) -> None:
        for name in [n for n, owner in self._detector_owner.items() if owner == plugin]:
            del self.face_detectors[name], self._detector_owner[name]
        for effect_name in effects:
            self._specs.pop(effect_name, None)
            self._classes.pop(effect_name, None)
            self._effect_owner.pop(effect_name, None)
        self.catalog.remove_owned_by(plugin)

    def register_commands(self, cli: click.Group) -> None:
        """Let each plugin add its commands. One that fails is reported as failed (and its
        effects withdrawn); the others still add theirs, and the built-in commands work."""
        for plugin in list(self.pm.get_plugins()):
            name = self.pm.get_name(plugin) or repr(plugin)
            before = dict(cli.commands)
            try:
                self._call_one(
                    plugin, "register_commands", cli=cli, train=cli.commands.get("train")
                )
            except Exception as exc:
                for command in set(cli.commands) - set(before):
                    del cli.commands[command]
                info = next((p for p in self.plugins if p.name == name), None)
                if info is not None:
                    self.plugins.remove(info)
                    self._forget(name, info.effects)
                self.pm.unregister(plugin)
                self.errors.append(
                    PluginLoadError(
                        name,
                        getattr(plugin, "__name__", type(plugin).__name__),
                        f"register_commands failed: {type(exc).__name__}: {exc}",
                    )
                )

    # -- lookup -------------------------------------------------------------------------------
    @property
    def effect_names(self) -> list[str]:
        return sorted(self._specs)

    def spec(self, name: str) -> EffectSpec:
        """The declaration of effect ``name`` (no import of its implementation); unknown
        names are refused with suggestions, disabled ones say which variable disabled them."""
        try:
            return self._specs[name]
        except KeyError:
            pass
        for plugin in self.disabled:
            if name in plugin.effect_names():
                raise UnknownNameError(
                    f"effect {name!r} is disabled: plugin {plugin.name!r} that provides it is "
                    f"{plugin.reason}",
                    hint="unset NEURALFX_LOAD_PLUGINS / NEURALFX_DISABLE_PLUGINS, or change "
                    "them to load it",
                )
        hint = did_you_mean(name, self._specs) or "installed effects: " + (
            ", ".join(self.effect_names) or "(none)"
        )
        if self.errors:  # the effect may be one of theirs
            failed = ", ".join(repr(e.name) for e in self.errors)
            hint = (
                f"plugin(s) {failed} failed to load and may provide it: see `neuralfx "
                f"plugins`; {hint}"
            )
        raise UnknownNameError(f"unknown effect {name!r}", hint=hint)

    def effect(self, name: str) -> type[Effect]:
        """The implementation class of effect ``name``, imported on first use."""
        if name not in self._classes:
            self._classes[name] = self.spec(name).load_class()
        return self._classes[name]

    def owner_of(self, effect_name: str) -> str:
        return self._effect_owner[effect_name]

    def version_of(self, effect_name: str) -> str:
        """The version of the distribution providing ``effect_name`` (for resume records)."""
        owner = self._effect_owner.get(effect_name)
        return next((p.version for p in self.plugins if p.name == owner), "unknown")

    def effects(self) -> Iterable[EffectSpec]:
        return (self._specs[n] for n in self.effect_names)


@dataclasses.dataclass
class DisabledPlugin:
    """An installed plugin left out by NEURALFX_LOAD_PLUGINS / NEURALFX_DISABLE_PLUGINS."""

    name: str
    module: str
    reason: str
    importer: Callable[[], object] = dataclasses.field(repr=False)

    def effect_names(self) -> list[str]:
        """The effects it would provide (loaded aside, only to explain an unknown name)."""
        try:
            module = self.importer()
        except Exception:
            return []
        if not isinstance(module, ModuleType):
            return []
        names: list[str] = []
        register = getattr(module, "register_effects", None)
        if register is not None:
            try:
                register(register=lambda e: names.append(check_effect_spec(e).name))
            except Exception:
                return names
        return names

    def as_dict(self) -> dict[str, str]:
        return {"name": self.name, "module": self.module, "reason": self.reason}


_host: PluginHost | None = None
#: The host of the run under way when one was given (``neuralfx.run(..., host=h)``): models,
#: weights and face detectors are looked up in it, not in the process-wide one.
_running: PluginHost | None = None


def get_host() -> PluginHost:
    """The host of the run under way, else the process-wide host, loaded on first use."""
    global _host
    if _running is not None:
        return _running
    if _host is None:
        _host = PluginHost().load_all()
    return _host


@contextlib.contextmanager
def hosting(host: PluginHost | None) -> Iterator[None]:
    """Within the block, :func:`get_host` is ``host`` (None: no change), in every thread."""
    global _running
    previous, _running = _running, host if host is not None else _running
    try:
        yield
    finally:
        _running = previous
