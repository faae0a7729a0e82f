"""The built-in ``face-swap`` effect: DeepFakes-style identity swap, always labelled, always
watermarked, with a provenance record. Light at import."""

from __future__ import annotations

import neuralfx

from .spec import FACE_SWAP

NEURALFX_PLUGIN_API = "1.0"


@neuralfx.hookimpl
def register_effects(register):
    register(FACE_SWAP)


@neuralfx.hookimpl
def register_commands(train):
    from .train_cli import train_command

    train.add_command(train_command)
