"""The installed distribution's version (its own module, so that any layer may read it)."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("neuralfx")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"
