"""pytest fixtures for plugin authors, the ones NeuralFX's own tests use. In a conftest.py::

    pytest_plugins = ["neuralfx.testing"]

* ``neuralfx_host``: a plugin host of its own for the test (the installed plugins only, none
  from ``NEURALFX_PLUGINS``), with a weights cache of its own: ``neuralfx.run`` and the CLI use
  it. ``neuralfx_host.add_plugin(plugin_module(MyEffect), name="mine")`` adds a plugin that is
  not installed.
* :func:`plugin_module`: a plugin module made of effect classes or specs and hook functions,
  as an entry point gives one.
* ``make_clip``: a numbered PNG sequence of a real photograph (scikit-image's, a public
  domain portrait by default) moved a few pixels a frame, or of the arrays given; returns its
  ``####`` pattern.
* ``quick_snapshots``: a stateful effect's state is saved after every batch (not every 30 s),
  so that a test that stops a run finds a snapshot to resume from.
"""

from __future__ import annotations

import os
import types
from collections.abc import Callable

import numpy as np
import pytest

import neuralfx
import neuralfx.host.plugins

#: Variables that would bring plugins from outside the test into its host.
PLUGIN_VARIABLES = ("NEURALFX_LOAD_PLUGINS", "NEURALFX_DISABLE_PLUGINS", "NEURALFX_PLUGINS")


def plugin_module(*effects, name: str = "test_plugin", api: str = "1.1", **hooks):
    """A plugin module registering ``effects`` (Effect classes or EffectSpecs) and any other
    hooks given as functions (``register_weights=...``), for ``PluginHost.add_plugin``."""
    module = types.ModuleType(name)
    module.NEURALFX_PLUGIN_API = api

    @neuralfx.hookimpl
    def register_effects(register):
        for effect in effects:
            register(effect)

    module.register_effects = register_effects
    for hook, fn in hooks.items():
        setattr(module, hook, neuralfx.hookimpl(fn))
    return module


@pytest.fixture
def neuralfx_host(monkeypatch, tmp_path) -> neuralfx.host.plugins.PluginHost:
    for var in PLUGIN_VARIABLES:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NEURALFX_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))  # no stray hub downloads
    host = neuralfx.host.plugins.PluginHost().load_all()
    monkeypatch.setattr(neuralfx.host.plugins, "_host", host)
    return host


@pytest.fixture
def make_clip(tmp_path) -> Callable[..., str]:
    def make(
        frames: dict[int, np.ndarray] | None = None,
        *,
        count: int = 6,
        first: int = 1,
        step: int = 3,
        name: str = "clip/shot",
    ) -> str:
        import cv2

        if frames is None:
            from skimage import data

            photo = data.astronaut()
            frames = {first + k: np.roll(photo, step * k, axis=1) for k in range(count)}
        pattern = str(tmp_path / f"{name}.####.png")
        os.makedirs(os.path.dirname(pattern), exist_ok=True)
        for number, rgb in frames.items():
            cv2.imwrite(
                pattern.replace("####", f"{number:04d}"),
                cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2BGR),
            )
        return pattern

    return make


@pytest.fixture
def quick_snapshots(monkeypatch) -> None:
    from neuralfx.pipeline import history

    monkeypatch.setattr(history, "SNAPSHOT_SECONDS", 0.0)
