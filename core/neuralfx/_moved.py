"""The import paths of the modules that moved into the layer folders (``pipeline/``,
``marks/``, ``host/``; NeuralFX 0.2, plugin API 1.2) keep working until plugin API 2.0:
``import neuralfx.stage`` gives ``neuralfx.pipeline.stage`` itself (the same module object,
so patching either patches both) with a DeprecationWarning naming the new path."""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
import warnings

MOVED = {
    **{
        f"neuralfx.{m}": f"neuralfx.pipeline.{m}"
        for m in (
            "runner",
            "plan",
            "stage",
            "encode",
            "record",
            "history",
            "streams",
            "progress",
            "output_lock",
            "executors",
        )
    },
    **{
        f"neuralfx.{m}": f"neuralfx.marks.{m}"
        for m in ("label", "marking", "credentials", "watermark")
    },
    **{
        f"neuralfx.{m}": f"neuralfx.host.{m}"
        for m in ("plugins", "plugin_checks", "catalog", "weights", "download", "archives")
    },
}


def new_name(name: str) -> str:
    """Where the module ``name`` lives now (``name`` itself when it did not move)."""
    for old, new in MOVED.items():
        if name == old or name.startswith(old + "."):
            return new + name[len(old) :]
    return name


class _Alias(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, fullname, path=None, target=None):
        if not fullname.startswith("neuralfx.") or new_name(fullname) == fullname:
            return None
        return importlib.util.spec_from_loader(fullname, self)

    def create_module(self, spec):
        new = new_name(spec.name)
        warnings.warn(
            f"{spec.name} is {new} now; the old path goes in plugin API 2.0",
            DeprecationWarning,
            stacklevel=2,
        )
        return importlib.import_module(new)

    def exec_module(self, module) -> None:
        pass  # the module is the one at its new path, already run


def install() -> None:
    if not any(isinstance(f, _Alias) for f in sys.meta_path):
        sys.meta_path.insert(0, _Alias())
