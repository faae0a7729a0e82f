"""The Blender add-on in real Blender: install, preferences, the connection to NeuralFX,
generated properties, what the panel draws, settings saved with the file, and Blender's own
validator on the extension (runs: test_runs.py; where results land: test_placement.py)."""

from __future__ import annotations

import os
import types
from pathlib import Path

import bpy
import pytest

from conftest import (
    EXECUTABLE,
    MODULE,
    image_strip,
    settings_of,
    write_sequence,
)

pytestmark = pytest.mark.blender


# -- install and preferences --------------------------------------------------------------------
def test_extension_is_installed_and_enabled(addon):
    assert MODULE in bpy.context.preferences.addons
    for space in ("sequence_editor", "node_editor", "image_editor"):
        assert hasattr(bpy.types, f"NEURALFX_PT_{space}")
    prefs = bpy.context.preferences.addons[MODULE].preferences
    assert prefs.connection_ok and "NeuralFX 0.1.0" in prefs.connection
    for effect in ("convert", "painting-style", "mark-region", "slow-invert"):
        assert effect in prefs.connection


@pytest.mark.parametrize(
    "make, words",
    [
        (lambda tmp: str(tmp / "missing" / "neuralfx"), "does not exist"),
        (lambda tmp: str(tmp), "is a folder"),
        (
            lambda tmp: (tmp / "plain.txt").write_text("x") and str(tmp / "plain.txt"),
            "is not executable",
        ),
    ],
)
def test_connection_says_what_is_wrong(addon, tmp_path, make, words):
    prefs = bpy.context.preferences.addons[MODULE].preferences
    try:
        prefs.executable = make(tmp_path)
        with pytest.raises(RuntimeError):  # the operator reports an error
            bpy.ops.neuralfx.test_connection()
        assert words in prefs.connection and not prefs.connection_ok
        assert (
            "Preferences" in prefs.connection
            or "chmod" in prefs.connection
            or "bin" in prefs.connection
        )
    finally:
        prefs.executable = EXECUTABLE
        bpy.ops.neuralfx.test_connection()


def test_connection_names_a_plugin_that_failed(addon, monkeypatch):
    monkeypatch.setenv("NEURALFX_PLUGINS", "region_plugin,slow_plugin,broken_plugin")
    prefs = bpy.context.preferences.addons[MODULE].preferences
    assert bpy.ops.neuralfx.test_connection() == {"FINISHED"}
    assert "plugin broken_plugin failed to load: ModuleNotFoundError" in prefs.connection
    assert not prefs.connection_ok
    monkeypatch.setenv("NEURALFX_PLUGINS", "region_plugin,slow_plugin")
    bpy.ops.neuralfx.test_connection()


def test_connection_finds_neuralfx_on_path(addon, monkeypatch):
    prefs = bpy.context.preferences.addons[MODULE].preferences
    monkeypatch.setenv("PATH", os.path.dirname(EXECUTABLE) + os.pathsep + os.environ["PATH"])
    prefs.executable = ""
    try:
        assert bpy.ops.neuralfx.test_connection() == {"FINISHED"}
        assert prefs.connection_ok
        monkeypatch.setenv("PATH", "/nonexistent")
        with pytest.raises(RuntimeError):
            bpy.ops.neuralfx.test_connection()
        assert "not found on PATH" in prefs.connection
    finally:
        prefs.executable = EXECUTABLE


def test_refresh_from_the_panel_never_waits_for_neuralfx(scene, addon, monkeypatch):
    """Pressed in the UI, Refresh asks NeuralFX from a thread: the button returns at once
    even when NeuralFX takes seconds (a slow plugin), and the effects fill in when it answers;
    one command answers everything."""
    import time

    asked = []
    real = addon.bridge.query

    def slow_query(setting, *args):
        asked.append(args)
        time.sleep(1.5)
        return real(setting, *args)

    monkeypatch.setattr(addon.bridge, "query", slow_query)
    started = time.monotonic()
    # What pressing the button calls (without a window, bpy.ops never invokes)
    pressed = addon.operators.NEURALFX_OT_refresh_effects.invoke(None, bpy.context, None)
    assert pressed == {"FINISHED"} and time.monotonic() - started < 0.5
    assert "reading the effects" in bpy.context.window_manager.neuralfx_status.message
    while addon.operators.take_answer() is not None:  # what the timer does
        assert time.monotonic() - started < 60
        time.sleep(0.05)
    assert asked == [("describe", "--all", "--json")]
    assert "convert" in {e["name"] for e in addon.properties.EFFECTS}
    assert "NeuralFX 0.1.0" in bpy.context.window_manager.neuralfx_status.message


# -- generated properties -------------------------------------------------------------------------
def test_every_parameter_kind_becomes_a_blender_property(scene):
    group = settings_of(scene, "mark-region")
    props = type(group).bl_rna.properties
    opacity = props["opacity"]
    assert (opacity.type, opacity.hard_min, opacity.hard_max) == ("FLOAT", 0.0, 1.0)
    assert (opacity.soft_min, opacity.soft_max) == (0.25, 0.75)
    assert opacity.description == "how much of the colour" and opacity.default == 1.0
    grow = props["grow"]
    assert (grow.type, grow.hard_min, grow.soft_max) == ("INT", -64, 8)
    assert props["mode"].type == "ENUM" and [i.identifier for i in props["mode"].enum_items] == [
        "fill",
        "outline",
    ]
    assert props["colour"].subtype == "COLOR_GAMMA" and tuple(props["colour"].default_array) == (
        1.0,
        0.0,
        0.0,
    )
    assert props["invert"].type == "BOOLEAN" and props["note"].type == "STRING"
    assert props["region"].subtype == "FILE_PATH" and props["scratch"].subtype == "DIR_PATH"
    assert props["reference"].type == "COLLECTION" and props["weights"].type == "COLLECTION"
    item = props["weights"].fixed_type.bl_rna.properties["value"]
    assert item.type == "FLOAT" and item.hard_min == 0.0


def test_options_come_from_the_properties(scene, addon):
    group = settings_of(scene, "mark-region")
    group.opacity, group.grow, group.mode, group.invert = 0.5, 3, "outline", True
    group.colour = (0.0, 1.0, 0.0)
    group.region = "/tmp/r.json"
    bpy.ops.neuralfx.item_add(effect="mark-region", param="weights")
    bpy.ops.neuralfx.item_add(effect="mark-region", param="weights")
    group.weights[0].value, group.weights[1].value = 0.25, 0.75
    args = addon.schema.cli_arguments(group)
    pairs = dict(zip(args[::2], args[1::2], strict=False))
    assert pairs["--opacity"] == "0.5" and pairs["--grow"] == "3" and pairs["--mode"] == "outline"
    assert pairs["--colour"] == "#00ff00" and pairs["--region"] == "/tmp/r.json"
    assert "--invert" in args and "--note" not in args and "--reference" not in args
    assert [args[i + 1] for i, a in enumerate(args) if a == "--weights"] == ["0.25", "0.75"]
    group.opacity = 0.6  # stored as 0.6000000238418579: written as typed
    assert addon.schema.cli_arguments(group)[args.index("--opacity") + 1] == "0.6"
    bpy.ops.neuralfx.item_remove(effect="mark-region", param="weights", index=0)
    assert [w.value for w in group.weights] == [0.75]


def test_switching_effects_keeps_each_effects_settings(scene):
    scene.neuralfx.effect = "painting-style"
    settings_of(scene, "painting-style").strength = 0.3
    scene.neuralfx.effect = "mark-region"
    settings_of(scene, "mark-region").opacity = 0.6
    bpy.ops.neuralfx.refresh_effects()  # the classes are generated again
    scene.neuralfx.effect = "painting-style"
    assert settings_of(scene, "painting-style").strength == pytest.approx(0.3)
    assert settings_of(scene, "mark-region").opacity == pytest.approx(0.6)


def test_each_editors_panel_draws_every_parameter(scene, addon):
    """Blender draws panels only with a window; this layout records what the panel asks for."""
    drawn = []

    class Layout:
        def prop(self, data, attr, **kw):
            drawn.append(attr)

        def operator(self, idname, **kw):
            drawn.append(idname)
            return types.SimpleNamespace()

        def __getattr__(self, name):  # row, box, label...
            return lambda *a, **k: Layout() if name in ("row", "box", "column") else None

    group = settings_of(scene, "mark-region")
    group.reference.add()
    assert {p.bl_space_type for p in addon.panels.CLASSES} == {
        "SEQUENCE_EDITOR",
        "NODE_EDITOR",
        "IMAGE_EDITOR",
    }
    scene.neuralfx.effect = "mark-region"
    for panel in addon.panels.CLASSES:
        drawn.clear()
        panel.draw(types.SimpleNamespace(layout=Layout()), bpy.context)
        singles = [p for p, spec in group.neuralfx_params.items() if spec.get("type") != "array"]
        assert set(singles) <= set(drawn)
        assert "value" in drawn  # the one reference item
        assert drawn.count("neuralfx.item_add") == 2  # reference and weights
        assert "neuralfx.boxes_from_marker" in drawn and "neuralfx.run" in drawn
        assert "neuralfx.copy_command" in drawn
        assert {
            "effect",
            "source",
            "output_folder",
            "output_format",
            "destination",
            "frames",
            "device",
            "precision",
            "overwrite",
        } <= set(drawn)


def _drawn_settings(scene):
    """The parameters the effect box of the panel draws, with the labels it gives them."""
    drawn = {}

    class Layout:
        def prop(self, data, attr, text=None, **kw):
            drawn[attr] = text

        def operator(self, idname, **kw):
            return types.SimpleNamespace()

        def __getattr__(self, name):
            return lambda *a, **k: Layout() if name in ("row", "box", "column") else None

    import sys

    sys.modules[MODULE].panels.draw_effect_settings(Layout(), scene)
    return drawn


def test_the_panel_shows_a_parameter_only_where_it_applies(scene, addon):
    """painting-style declares Gatys' iterations for --method gatys and stability for
    --temporal: the panel follows, and the command leaves out what does not apply."""
    scene.neuralfx.effect = "painting-style"
    group = settings_of(scene, "painting-style")
    assert "iterations" not in _drawn_settings(scene) and "preset" in _drawn_settings(scene)
    group.method = "gatys"
    assert {"iterations", "texture", "style_scale"} <= set(_drawn_settings(scene))
    assert "preset" not in _drawn_settings(scene)
    assert "--iterations" in addon.schema.cli_arguments(group)
    group.method, group.temporal = "dumoulin", False
    assert "stability" not in _drawn_settings(scene)
    args = addon.schema.cli_arguments(group)
    assert "--iterations" not in args and "--stability" not in args and "--preset" in args


def test_required_parameters_are_marked_and_checked_before_run(scene, addon, tmp_path):
    image_strip(scene, write_sequence(tmp_path / "plate"))
    scene.neuralfx.effect = "mark-region"
    assert _drawn_settings(scene)["region"] == "Region (required)"
    with pytest.raises(addon.sources.SourceError, match="mark-region needs Region: fill in"):
        addon.jobs.job_from_scene(bpy.context)


def test_patterns_files_and_kinds_are_checked_before_run(scene, addon, tmp_path):
    image_strip(scene, write_sequence(tmp_path / "plate"))
    scene.neuralfx.effect = "painting-style"
    group = settings_of(scene, "painting-style")
    group.preset = "7;3"
    with pytest.raises(
        addon.sources.SourceError, match=r"Preset: '7;3' is not in the form it takes \(for example"
    ):
        addon.jobs.job_from_scene(bpy.context)
    group.preset, group.method = "7", "ghiasi"
    bpy.ops.neuralfx.item_add(effect="painting-style", param="style")
    group.style[0].value = str(tmp_path / "nowhere.jpg")
    with pytest.raises(addon.sources.SourceError, match="Style: .*nowhere.jpg does not exist"):
        addon.jobs.job_from_scene(bpy.context)
    (tmp_path / "notes.txt").write_text("not a picture")
    group.style[0].value = str(tmp_path / "notes.txt")
    with pytest.raises(addon.sources.SourceError, match=r"Style: notes.txt is not one of \.png"):
        addon.jobs.job_from_scene(bpy.context)
    group.style[0].value = str(tmp_path / "plate" / "shot.1001.png")
    addon.jobs.job_from_scene(bpy.context)  # now it runs


def test_settings_are_saved_with_the_blend_file(scene, addon, tmp_path):
    settings_of(scene, "painting-style").preset = "3:0.5,12:0.5"
    bpy.ops.neuralfx.item_add(effect="painting-style", param="style_weight")
    settings_of(scene, "painting-style").style_weight[0].value = 0.7
    scene.neuralfx.effect = "painting-style"
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "shot.blend"))
    bpy.ops.wm.read_homefile(use_empty=True)
    assert settings_of(bpy.context.scene, "painting-style").preset == "19"  # the default
    bpy.ops.wm.open_mainfile(filepath=str(tmp_path / "shot.blend"))
    restored = settings_of(bpy.context.scene, "painting-style")
    assert restored.preset == "3:0.5,12:0.5" and restored.style_weight[0].value == pytest.approx(
        0.7
    )
    assert bpy.context.scene.neuralfx.effect == "painting-style"


def test_without_effects_the_panel_asks_for_a_refresh(scene, addon):
    addon.properties.install_effects([], {}, save=False)
    try:
        assert scene.neuralfx.effect == "NONE"
        with pytest.raises(RuntimeError, match="choose an effect"):
            bpy.ops.neuralfx.run()
    finally:
        assert bpy.ops.neuralfx.refresh_effects() == {"FINISHED"}
    assert "painting-style" in [e["name"] for e in addon.properties.EFFECTS]


def test_blenders_own_validator_passes_the_extension(tmp_path):
    """`extension validate`, as the extensions platform runs it, on the zip the build script
    makes; the same validator refuses the 65-character permission reason the manifest had."""
    import build_blender_addon

    passed, said = build_blender_addon.validate(build_blender_addon.build(tmp_path / "dist"))
    assert passed, said
    broken = tmp_path / "broken"
    broken.mkdir()
    manifest = (build_blender_addon.ADDON / "blender_manifest.toml").read_text()
    (broken / "__init__.py").write_text("")
    (broken / "blender_manifest.toml").write_text(
        manifest.replace(
            'files = "Read frames and write results; run the NeuralFX program"',
            'files = "Read input frames and write the results; run the NeuralFX program"',
        )
    )
    passed, said = build_blender_addon.validate(broken)
    assert not passed and "no longer than 64 characters" in said


def test_the_docs_show_the_panel_as_it_draws(scene, addon):
    """docs/blender-panel.md is the panel as it draws for each shipped effect (the docs
    cannot have screenshots: no window here)."""
    from panel_text import panel_text

    for setting in ("output_folder", "device"):  # the defaults, not the test's
        scene.neuralfx.property_unset(setting)
    text = panel_text(addon, scene)
    doc = Path(__file__).resolve().parents[2] / "docs" / "blender-panel.md"
    if os.environ.get("NEURALFX_WRITE_DOCS"):
        doc.write_text(text, encoding="utf-8")
    assert doc.read_text(encoding="utf-8") == text, (
        "docs/blender-panel.md is out of date: rerun this test with NEURALFX_WRITE_DOCS=1"
    )
    assert "## painting-style" in text and "Preset: 19" in text and "[Run]" in text


def test_the_run_settings_are_neuralfx_declared_run_options(scene, addon, tmp_path):
    """Every run option NeuralFX marks for the panel (blender_addon/run_options.json, from
    neuralfx.options) is a setting of the panel, drawn, and passed on when it differs from
    NeuralFX's default."""
    import json

    declared = json.loads((Path(addon.__file__).parent / "run_options.json").read_text())
    panel = [d for d in declared if d["x-panel"]]
    assert {d["name"] for d in panel} >= {"overwrite", "missing", "layer", "nonfinite"}
    image_strip(scene, write_sequence(tmp_path / "plate"))
    scene.neuralfx.effect = "convert"
    argv = addon.jobs.job_from_scene(bpy.context).argv
    assert not {d["x-option"] for d in panel} & set(argv)  # defaults: left to NeuralFX
    scene.neuralfx.layer, scene.neuralfx.nonfinite = "diffuse", "clamp"
    scene.neuralfx.overwrite = True
    argv = addon.jobs.job_from_scene(bpy.context).argv
    assert argv[argv.index("--layer") + 1] == "diffuse"
    assert argv[argv.index("--nonfinite") + 1] == "clamp" and "--overwrite" in argv
    drawn = set()

    class Layout:
        def prop(self, data, attr, **kw):
            drawn.add(attr)

        def __getattr__(self, name):
            return lambda *a, **k: self

    addon.panels.draw(types.SimpleNamespace(layout=Layout()), bpy.context)
    assert {d["name"] for d in panel} <= drawn
