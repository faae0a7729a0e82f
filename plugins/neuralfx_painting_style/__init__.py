"""The built-in ``painting-style`` effect and its ``neuralfx train painting-style`` command."""

from __future__ import annotations

import neuralfx

from .effect import PaintingStyle

NEURALFX_PLUGIN_API = "1.0"


@neuralfx.hookimpl
def register_effects(register):
    register(PaintingStyle)


@neuralfx.hookimpl
def register_commands(cli):
    from .train import train_command

    cli.commands["train"].add_command(train_command)
