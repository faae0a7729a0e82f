"""The ``neuralfx`` command line.

Built-in commands: ``run`` (one sub-command per effect, its options generated from the
effect's parameter declarations), ``effects``, ``describe``, ``plugins``, ``doctor``,
``models`` and ``train``. Plugins add commands through the ``register_commands`` hook.
"""

from . import info, models, run  # noqa: F401  (each module adds its commands to main)
from .main import cli, main

__all__ = ["cli", "main"]
