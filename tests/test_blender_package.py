"""The Blender extension as a package (its behaviour in Blender is tested in tests/blender/):
the build command, the manifest, and the rule that the add-on imports only the standard
library and bpy (never torch or NeuralFX, which live in another Python)."""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import neuralfx

ROOT = Path(__file__).resolve().parent.parent
ADDON = ROOT / "blender_addon"


def test_build_command_makes_an_installable_zip(tmp_path):
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "build_blender_addon.py"), "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        check=True,
    )
    zip_path = Path(done.stdout.strip())
    assert zip_path == tmp_path / f"neuralfx_blender-{neuralfx.__version__}.zip"
    names = zipfile.ZipFile(zip_path).namelist()
    assert "blender_manifest.toml" in names and "__init__.py" in names
    assert not any("__pycache__" in n or n.endswith(".pyc") for n in names)
    assert sorted(names) == sorted(
        p.relative_to(ADDON).as_posix()
        for p in ADDON.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    )


def test_manifest_declares_blender_42_and_the_package_version():
    manifest = tomllib.loads((ADDON / "blender_manifest.toml").read_text())
    assert manifest["id"] == "neuralfx" and manifest["type"] == "add-on"
    assert manifest["blender_version_min"] == "4.2.0"
    assert manifest["version"] == neuralfx.__version__


def test_manifest_texts_pass_blenders_validator():
    """`blender --command extension validate` (4.2 and 5.0) refuses a tagline or a permission
    reason over 64 characters, or one ending in punctuation."""
    manifest = tomllib.loads((ADDON / "blender_manifest.toml").read_text())
    texts = {"tagline": manifest["tagline"], **manifest.get("permissions", {})}
    for field, text in texts.items():
        assert 0 < len(text) <= 64 and text[-1] not in ".,;:!?", (field, len(text))


def test_the_addon_imports_only_the_standard_library_and_bpy():
    allowed = set(sys.stdlib_module_names) | {"bpy", "__future__"}
    for path in ADDON.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                roots = {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                roots = {node.module.split(".")[0]}
            else:
                continue
            assert roots <= allowed, f"{path.name} imports {roots - allowed}"
    bridge = ast.parse((ADDON / "bridge.py").read_text())
    assert not any(
        isinstance(n, (ast.Import, ast.ImportFrom)) and "bpy" in ast.dump(n)
        for n in ast.walk(bridge)
    ), "the process bridge must work without Blender"


def test_the_panels_run_options_are_the_declared_ones():
    """The add-on builds its run settings from blender_addon/run_options.json: it must be what
    NeuralFX declares (after changing a run option: python scripts/build_blender_addon.py
    --run-options)."""
    import json

    from neuralfx.options import run_options_schema

    shipped = json.loads((ADDON / "run_options.json").read_text(encoding="utf-8"))
    assert shipped == run_options_schema(), (
        "stale: run python scripts/build_blender_addon.py --run-options"
    )


def test_the_addon_takes_the_video_files_the_cli_reads():
    """A movie file is not a numbered frame (``clip0001.mts``): the add-on's list of video
    suffixes is the CLI's (read from its source: the add-on cannot be imported without bpy)."""
    from neuralfx.frames.video import VIDEO_SUFFIXES

    tree = ast.parse((ADDON / "sources.py").read_text())
    (listed,) = [
        ast.literal_eval(node.value)
        for node in tree.body
        if isinstance(node, ast.Assign) and node.targets[0].id == "MOVIE_SUFFIXES"
    ]
    assert set(listed) == set(VIDEO_SUFFIXES)
