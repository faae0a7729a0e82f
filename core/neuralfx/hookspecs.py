"""The hooks a NeuralFX plugin may implement: the whole plugin contract.

A plugin is a module registered under the ``neuralfx`` entry-point group (or named in
``NEURALFX_PLUGINS``). It declares the plugin API version it was written for and implements
any of the hooks below with :data:`neuralfx.hookimpl`::

    import neuralfx

    NEURALFX_PLUGIN_API = "1.0"

    @neuralfx.hookimpl
    def register_effects(register):
        register(MyEffect)

Hook specs only ever gain arguments, so a plugin written for an older 1.x keeps working; an
implementation may accept fewer arguments than the spec offers.
"""

from __future__ import annotations

from collections.abc import Callable

import click
import pluggy

from .effect import Effect

hookspec = pluggy.HookspecMarker("neuralfx")
hookimpl = pluggy.HookimplMarker("neuralfx")


@hookspec
def register_effects(register: Callable[[type[Effect]], None]) -> None:
    """Register the effects this plugin provides.

    Called once, when the plugins are loaded, before any command runs.

    :param register: call ``register(EffectSubclass)`` once per effect. The class must set
        ``name`` (unique across all plugins) and subclass :class:`neuralfx.Effect`; a duplicate
        or malformed effect is refused and reported as this plugin's load error.
    :return: nothing.
    """


@hookspec
def register_commands(cli: click.Group) -> None:
    """Add commands to the ``neuralfx`` command line.

    Called once when the CLI is built, after the built-in commands exist.

    :param cli: the top-level click group; use ``@cli.command()`` or ``cli.add_command(...)``.
        A trainer for an effect goes under the ``train`` group:
        ``cli.commands["train"].add_command(my_train_command)``.
    :return: nothing.
    """
