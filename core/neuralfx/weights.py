"""Where downloaded and imported model weights live.

The cache folder is ``$NEURALFX_CACHE`` if set, else ``$XDG_CACHE_HOME/neuralfx``, else
``~/.cache/neuralfx``.
"""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    if os.environ.get("NEURALFX_CACHE"):
        return Path(os.environ["NEURALFX_CACHE"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "neuralfx"


def cached_files() -> list[tuple[str, int]]:
    """``(relative path, size in bytes)`` of every file in the cache, sorted."""
    root = cache_dir()
    if not root.is_dir():
        return []
    return sorted((str(p.relative_to(root)), p.stat().st_size)
                  for p in root.rglob("*") if p.is_file())
