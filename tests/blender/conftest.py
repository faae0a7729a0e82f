"""Fixtures for the add-on's tests in real Blender (the ``bpy`` module).

Run them with the Blender environment's Python (see README): ``.venv-blender/bin/python -m
pytest tests/blender``. They drive the main environment's ``neuralfx`` (``NEURALFX_EXECUTABLE``,
default ``.venv/bin/neuralfx``), with the test plugins of tests/plugin_modules on its path.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Blender reads this when bpy is imported: the extension and its settings go to a temporary
# folder, never to the user's own Blender configuration.
USER_RESOURCES = tempfile.mkdtemp(prefix="neuralfx-blender-user-")
os.environ["BLENDER_USER_RESOURCES"] = USER_RESOURCES
os.environ["PYTHONPATH"] = os.pathsep.join(
    [str(ROOT / "tests" / "plugin_modules")] + [p for p in [os.environ.get("PYTHONPATH")] if p]
)
os.environ["NEURALFX_PLUGINS"] = "region_plugin,slow_plugin"
os.environ.pop("NEURALFX_LOAD_PLUGINS", None)
os.environ.pop("NEURALFX_DISABLE_PLUGINS", None)

import bpy  # noqa: E402
import pytest  # noqa: E402

sys.path.insert(0, str(ROOT / "scripts"))
import build_blender_addon  # noqa: E402

EXECUTABLE = os.environ.get("NEURALFX_EXECUTABLE") or str(ROOT / ".venv" / "bin" / "neuralfx")
MODULE = "bl_ext.user_default.neuralfx"


def pytest_configure(config):
    if not os.access(EXECUTABLE, os.X_OK):
        raise pytest.UsageError(
            f"{EXECUTABLE} is not the neuralfx program: install the main "
            "environment first, or set NEURALFX_EXECUTABLE"
        )


@pytest.fixture(scope="session")
def addon(tmp_path_factory):
    """The extension built by scripts/build_blender_addon.py, installed and enabled, with its
    preferences pointing at the main environment's neuralfx and the effects read once."""
    zip_path = build_blender_addon.build(tmp_path_factory.mktemp("dist"))
    result = bpy.ops.extensions.package_install_files(
        filepath=str(zip_path), repo="user_default", enable_on_install=True
    )
    assert result == {"FINISHED"}
    module = sys.modules[MODULE]
    prefs = bpy.context.preferences.addons[MODULE].preferences
    prefs.executable = EXECUTABLE
    assert bpy.ops.neuralfx.test_connection() == {"FINISHED"}
    return module


@pytest.fixture
def scene(addon, tmp_path):
    """A fresh scene whose outputs go under tmp_path."""
    bpy.ops.wm.read_homefile(use_empty=True)
    s = bpy.context.scene
    s.neuralfx.output_folder = str(tmp_path / "results") + os.sep
    s.neuralfx.device = "cpu"
    yield s
    addon.jobs.QUEUE.cancel(all_queued=True)
    while addon.jobs.QUEUE.busy:
        addon.jobs.pump()
    addon.jobs.QUEUE.unplaced.clear()


def write_sequence(folder: Path, frames=range(1001, 1007), size=(64, 48)) -> Path:
    """PNG frames with contrast (a diagonal gradient with a moving square), written by Blender."""
    import numpy as np

    folder.mkdir(parents=True, exist_ok=True)
    w, h = size
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    for f in frames:
        rgba = np.ones((h, w, 4), np.float32)
        rgba[..., 0] = x / w
        rgba[..., 1] = y / h
        rgba[..., 2] = 0.5 + 0.5 * np.sin((x + y + 3 * f) / 5)
        k = (f * 5) % (w - 12)
        rgba[10:22, k : k + 12, :3] = (1.0, 0.9, 0.1)
        image = bpy.data.images.new(f"gen{f}", w, h, alpha=False)
        image.pixels.foreach_set(rgba[::-1].ravel())  # Blender's rows run bottom-up
        image.filepath_raw = str(folder / f"shot.{f:04d}.png")
        image.file_format = "PNG"
        image.save()
        bpy.data.images.remove(image)
    return folder / f"shot.{frames[0]:04d}.png"


def pixels(path):
    """An image file's pixels as sRGB-encoded float RGBA, top row first. Blender keeps 8-bit
    files as they are but decodes 16-bit and float files to linear light; those are encoded
    back with the sRGB transfer function (IEC 61966-2-1) so that every file compares alike."""
    import numpy as np

    image = bpy.data.images.load(str(path), check_existing=False)
    w, h = image.size
    out = np.empty(w * h * 4, np.float32)
    image.pixels.foreach_get(out)
    is_float = image.is_float
    bpy.data.images.remove(image)
    out = out.reshape(h, w, 4)[::-1].copy()
    if is_float:
        rgb = np.clip(out[..., :3], 0.0, None)
        out[..., :3] = np.where(
            rgb <= 0.0031308, 12.92 * rgb, 1.055 * np.power(rgb, 1 / 2.4) - 0.055
        )
    return out


def run_to_end(addon, timeout: float = 120.0) -> None:
    """Do what Blender's timer does until the queue is empty."""
    import time

    deadline = time.monotonic() + timeout
    while addon.jobs.pump() is not None:
        assert time.monotonic() < deadline, "the run did not finish"
        time.sleep(0.05)


def image_strip(scene, first_file, channel=2, frame_start=10):
    editor = scene.sequence_editor_create()
    folder = os.path.dirname(first_file)
    names = sorted(n for n in os.listdir(folder) if n.endswith(".png"))
    strip = strips(editor).new_image("plate", str(first_file), channel, frame_start)
    for name in names[1:]:
        strip.elements.append(name)
    editor.active_strip = strip
    return strip


def strips(editor):
    """``strips`` since Blender 4.4, ``sequences`` before (the add-on supports 4.2 to 5.0)."""
    return editor.strips if hasattr(editor, "strips") else editor.sequences


def frame_files(folder) -> list[str]:
    """The frames in ``folder``, without NeuralFX's hidden run record."""
    return sorted(n for n in os.listdir(folder) if not n.startswith("."))


def settings_of(scene, effect):
    return getattr(scene.neuralfx_effects, effect.replace("-", "_"))
