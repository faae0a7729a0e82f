"""NeuralFX: published neural image-translation models for VFX pipelines.

The public API for plugin authors and scripts::

    import neuralfx
    from neuralfx import params

    neuralfx.run("convert", "in.####.exr", "out.####.png")
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from .effect import ClipInfo, Effect, FrameBatch, RunContext, Settings
from .errors import NeuralFXError
from .hookspecs import hookimpl
from .plugins import PLUGIN_API_VERSION, PluginHost, get_host
from .runner import RunOptions, RunSummary, run

try:
    __version__ = version("neuralfx")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"

__all__ = [
    "PLUGIN_API_VERSION", "ClipInfo", "Effect", "FrameBatch", "NeuralFXError", "PluginHost",
    "RunContext", "RunOptions", "RunSummary", "Settings", "__version__", "get_host", "hookimpl",
    "run",
]
