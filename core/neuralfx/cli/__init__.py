"""The ``neuralfx`` command line.

Built-in commands: ``run`` (one sub-command per effect, its options generated from the
effect's declaration), ``effects``, ``describe``, ``plugins``, ``doctor``, ``models``,
``train``, ``faces``, ``watermark`` and ``contact-sheet``. Plugins add commands through the
``register_commands`` hook.
Modules here import torch and the codecs only inside the commands that need them.
"""

from . import faces, info, models, run, serve, watermark  # noqa: F401  (each adds its commands)
from .main import cli, main

__all__ = ["cli", "main"]
