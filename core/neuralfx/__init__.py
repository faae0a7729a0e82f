"""NeuralFX: published neural image-translation models for VFX pipelines.

The public API for plugin authors and scripts::

    import neuralfx
    from neuralfx import params

    neuralfx.run("convert", "in.####.exr", "out.####.png", settings={}, options=None)

Importing ``neuralfx`` is cheap: torch and the codecs load only when a run (``neuralfx.run``)
or a model needs them, so commands that only describe answer at once.

The public modules (:data:`PUBLIC_MODULES`, docs/plugins.md "The public API") are this one
and the ones below; everything else (the run's pipeline, the marks, the CLI) is the host's
own and may change in any release. The built-in effects use nothing else (a test checks).
"""

from __future__ import annotations

from . import console as _console

if _console.started_as_the_command():  # before anything slower loads (see console.py)
    _console.note_early_signals()

from . import _moved

_moved.install()  # the old import paths of moved modules (neuralfx.stage...) still work

from typing import TYPE_CHECKING, Any

from .host.catalog import Architecture, Weights
from .effect import ClipInfo, Effect, EffectSpec, FrameBatch, RunContext, Settings
from .errors import NeuralFXError
from .hookspecs import hookimpl
from .options import RunOptions
from .host.plugins import PLUGIN_API_VERSION, PluginHost, get_host

if TYPE_CHECKING:
    from .pipeline.runner import RunSummary, run

from ._version import __version__

_LAZY = {"run": "pipeline.runner", "RunSummary": "pipeline.runner"}


def __getattr__(name: str) -> Any:  # PEP 562: the runner (and torch) load on first use
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module 'neuralfx' has no attribute {name!r}")


#: What plugins and scripts may import (a package: its submodules too). See docs/plugins.md.
PUBLIC_MODULES = (
    "neuralfx",
    "neuralfx.params",
    "neuralfx.errors",
    "neuralfx.host.catalog",
    "neuralfx.host.weights",
    "neuralfx.models",
    "neuralfx.training",
    "neuralfx.faces",
    "neuralfx.temporal",
    "neuralfx.regions",
    "neuralfx.smoothing",
    "neuralfx.frames.images",
    "neuralfx.frames.pixels",
    "neuralfx.frames.samples",
    "neuralfx.frames.atomic",
    "neuralfx.contact_sheet",
    "neuralfx.testing",
)

__all__ = [
    "PLUGIN_API_VERSION",
    "PUBLIC_MODULES",
    "Architecture",
    "ClipInfo",
    "Effect",
    "EffectSpec",
    "FrameBatch",
    "NeuralFXError",
    "PluginHost",
    "RunContext",
    "RunOptions",
    "RunSummary",
    "Settings",
    "Weights",
    "__version__",
    "get_host",
    "hookimpl",
    "run",
]
