"""The built-in ``face-attributes`` effect: StarGAN on every face of a shot. Light at import
(no torch): the effect class is imported only for a run."""

from __future__ import annotations

import neuralfx

from .spec import FACE_ATTRIBUTES

NEURALFX_PLUGIN_API = "1.0"


@neuralfx.hookimpl
def register_effects(register):
    register(FACE_ATTRIBUTES)


@neuralfx.hookimpl
def register_commands(train):
    from .train_cli import train_command

    train.add_command(train_command)
