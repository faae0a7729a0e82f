"""The built-in ``painting-style`` effect and its ``neuralfx train painting-style`` command.

This module stays light (no torch): the effect is registered by its declaration and the
trainer's command only imports the training code when it runs.
"""

from __future__ import annotations

import neuralfx

from .spec import PAINTING_STYLE

NEURALFX_PLUGIN_API = "1.0"


@neuralfx.hookimpl
def register_effects(register):
    register(PAINTING_STYLE)


@neuralfx.hookimpl
def register_commands(train):
    from .train_cli import train_command

    train.add_command(train_command)
