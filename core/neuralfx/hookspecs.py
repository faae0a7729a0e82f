"""The hooks a NeuralFX plugin may implement: the whole plugin contract.

A plugin is a module registered under the ``neuralfx`` entry-point group (or named in
``NEURALFX_PLUGINS``). It declares the plugin API version it was written for and implements
any of the hooks below with :data:`neuralfx.hookimpl`::

    import neuralfx

    NEURALFX_PLUGIN_API = "1.0"

    MY_EFFECT = neuralfx.EffectSpec(
        name="my-effect", summary="...", params=(...),
        implementation="my_plugin.effect:MyEffect")   # imported only when a run needs it

    @neuralfx.hookimpl
    def register_effects(register):
        register(MY_EFFECT)

Hook implementations are called whenever the host loads, including for commands that only
describe (``neuralfx effects``, ``describe``, ``--help``), so the plugin's top module must stay
light: no torch, no model code at import time.

Hook specs only ever gain arguments, so a plugin written for an older 1.x keeps working; an
implementation may accept fewer arguments than the spec offers.
"""

from __future__ import annotations

from collections.abc import Callable

import click
import pluggy

from .host.catalog import Architecture, Weights
from .effect import Effect, EffectSpec
from .faces.registry import FaceDetectorEntry

hookspec = pluggy.HookspecMarker("neuralfx")
hookimpl = pluggy.HookimplMarker("neuralfx")


@hookspec
def register_effects(register: Callable[[EffectSpec | type[Effect]], None]) -> None:
    """Register the effects this plugin provides.

    Called once, when the plugins are loaded, before any command runs.

    :param register: call ``register(spec)`` once per effect with an
        :class:`neuralfx.EffectSpec` whose ``implementation`` names the class by import path
        (lazy: the class is imported only for a run). An :class:`neuralfx.Effect` subclass is
        accepted too (eager: whatever its module imports is paid by every command). Names are
        unique across all plugins; a duplicate or malformed effect is refused and reported as
        this plugin's load error.
    :return: nothing.
    """


@hookspec
def register_commands(cli: click.Group, train: click.Group) -> None:
    """Add commands to the ``neuralfx`` command line.

    Called once when the CLI is built, after the built-in commands exist.

    :param cli: the top-level click group; use ``@cli.command()`` or ``cli.add_command(...)``.
    :param train: the ``neuralfx train`` group, where a trainer for an effect goes:
        ``train.add_command(my_train_command)`` (plugin API 1.2; before it,
        ``cli.commands["train"]``, which still works). Take only the arguments you use.
    :return: nothing.
    """


@hookspec
def register_weights(register: Callable[[Architecture | Weights], None]) -> None:
    """Declare model architectures and official weights files, so they work with
    ``neuralfx models list|fetch|import|verify`` and ``neuralfx.models.load`` like the
    built-in ones.

    Called once, when the plugins are loaded.

    :param register: call ``register(neuralfx.Architecture(...))`` for each network
        (its ``build``/``convert`` named by import path, so nothing heavy loads here) and
        ``register(neuralfx.Weights(...))`` for each file (name, URL, sha256, licence
        and the architecture name that loads it). Names already taken are refused and
        reported as this plugin's load error.
    :return: nothing.
    """


@hookspec
def register_face_detectors(register: Callable[[FaceDetectorEntry], None]) -> None:
    """Offer face detectors to the face pipeline (:mod:`neuralfx.faces`), beside the built-in
    ``hog`` and ``cnn``; effects that work on faces let the user pick one by name.

    Called once, when the plugins are loaded.

    :param register: call ``register(neuralfx.faces.registry.FaceDetectorEntry(name, factory,
        description))`` per detector. ``factory(**options)`` (or its import path, so nothing
        heavy loads here) returns an object whose ``find(rgb) -> list[Detection]`` is safe
        to call from several threads; ``options`` include ``min_face`` (pixels).
    :return: nothing.
    """
