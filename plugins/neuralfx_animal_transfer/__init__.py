"""The built-in ``animal-transfer`` effect: FUNIT re-renders an animal as another species learnt
from a few example images. Light at import: the effect class loads only for a run."""

from __future__ import annotations

import neuralfx

from .spec import ANIMAL_TRANSFER

NEURALFX_PLUGIN_API = "1.0"


@neuralfx.hookimpl
def register_effects(register):
    register(ANIMAL_TRANSFER)


@neuralfx.hookimpl
def register_commands(train):
    from .train_cli import train_command

    train.add_command(train_command)
