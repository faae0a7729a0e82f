"""The Blender add-on in real Blender: install, preferences, generated properties, runs from the
panel's operators with results back in the sequencer, compositor and Image Editor, cancel and
resume, errors, the queue, and boxes from a tracking marker."""

from __future__ import annotations

import json
import os
import types
from pathlib import Path

import bpy
import numpy as np
import pytest
from conftest import EXECUTABLE, MODULE, pixels, run_to_end, write_sequence

pytestmark = pytest.mark.blender


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


# -- install and preferences --------------------------------------------------------------------
def test_extension_is_installed_and_enabled(addon):
    assert MODULE in bpy.context.preferences.addons
    for space in ("sequence_editor", "node_editor", "image_editor"):
        assert hasattr(bpy.types, f"NEURALFX_PT_{space}")
    prefs = bpy.context.preferences.addons[MODULE].preferences
    assert prefs.connection_ok and "NeuralFX 0.1.0" in prefs.connection
    for effect in ("convert", "painting-style", "mark-region", "slow-invert"):
        assert effect in prefs.connection


@pytest.mark.parametrize("make, words", [
    (lambda tmp: str(tmp / "missing" / "neuralfx"), "does not exist"),
    (lambda tmp: str(tmp), "is a folder"),
    (lambda tmp: (tmp / "plain.txt").write_text("x") and str(tmp / "plain.txt"),
     "is not executable"),
])
def test_connection_says_what_is_wrong(addon, tmp_path, make, words):
    prefs = bpy.context.preferences.addons[MODULE].preferences
    try:
        prefs.executable = make(tmp_path)
        with pytest.raises(RuntimeError):  # the operator reports an error
            bpy.ops.neuralfx.test_connection()
        assert words in prefs.connection and not prefs.connection_ok
        assert "Preferences" in prefs.connection or "chmod" in prefs.connection \
            or "bin" in prefs.connection
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
    assert props["mode"].type == "ENUM" and \
        [i.identifier for i in props["mode"].enum_items] == ["fill", "outline"]
    assert props["colour"].subtype == "COLOR_GAMMA" and \
        tuple(props["colour"].default_array) == (1.0, 0.0, 0.0)
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


# -- runs ----------------------------------------------------------------------------------------
def test_convert_from_the_active_strip_to_a_strip_above_it(scene, addon, tmp_path):
    strip = image_strip(scene, write_sequence(tmp_path / "plate"))
    scene.neuralfx.effect = "convert"
    scene.neuralfx.output_format = "PNG16"
    assert bpy.ops.neuralfx.run() == {"FINISHED"}
    run_to_end(addon)
    status = bpy.context.window_manager.neuralfx_status
    assert status.error == "" and "done, 6 frame(s)" in status.message
    new = next(s for s in strips(scene.sequence_editor) if s.name != strip.name)
    assert (new.channel, new.frame_final_start, new.frame_final_duration) == (3, 10, 6)
    assert new.colorspace_settings.name == "sRGB"
    folder = bpy.path.abspath(new.directory)
    assert frame_files(folder) == [f"shot_convert.{f}.png" for f in range(1001, 1007)]
    assert np.abs(pixels(os.path.join(folder, "shot_convert.1003.png"))
                  - pixels(tmp_path / "plate" / "shot.1003.png")).max() < 1 / 255


def _file_at(strip, scene_frame: int) -> str:
    """The file an image strip shows at ``scene_frame``."""
    return strip.elements[scene_frame - int(strip.frame_start)].filename


@pytest.mark.parametrize("destination", ["SEQUENCER", "COMPOSITOR"])
def test_frames_land_on_the_scene_frames_of_their_source_frames(scene, addon, tmp_path,
                                                                destination):
    """Files 1001-1012 at scene frames 1-12, Frames 1005-1007: the results sit at scene
    frames 5-7, each under the source frame it was made from."""
    plate = image_strip(scene, write_sequence(tmp_path / "plate", frames=range(1001, 1013)),
                        frame_start=1)
    scene.neuralfx.effect, scene.neuralfx.frames = "convert", "1005-1007"
    scene.neuralfx.destination = destination
    assert bpy.ops.neuralfx.run() == {"FINISHED"}
    run_to_end(addon)
    assert bpy.context.window_manager.neuralfx_status.error == ""
    if destination == "SEQUENCER":
        new = next(s for s in strips(scene.sequence_editor) if s.name != plate.name)
        assert (new.frame_final_start, new.frame_final_duration) == (5, 3)
        for frame in (5, 6, 7):
            assert _file_at(new, frame) == f"shot_convert.{1000 + frame}.png"
            assert _file_at(plate, frame) == f"shot.{1000 + frame}.png"
    else:
        node = addon.results.compositor_tree(scene).nodes.active
        assert node.image.source == "SEQUENCE" and node.frame_duration == 3
        for frame in (5, 6, 7):  # Blender's image-user rule: number = frame - start + 1 + offset
            assert node.frame_start <= frame < node.frame_start + node.frame_duration
            assert frame - node.frame_start + 1 + node.frame_offset == 1000 + frame


def test_frames_of_a_trimmed_and_moved_movie_strip(scene, addon, tmp_path):
    """Source frames 11-22 shown at scene frames 30-41; Frames 1-48 makes the whole excerpt,
    which belongs where source frame 1 would be: scene frame 20."""
    movie = Path(__file__).resolve().parents[2] / "samples" / "bbb" / "bbb-excerpt.mp4"
    editor = scene.sequence_editor_create()
    strip = strips(editor).new_movie("bbb", str(movie), 1, 20)
    strip.frame_offset_start, strip.frame_offset_end = 10, 26
    assert (strip.frame_final_start, strip.frame_final_end) == (30, 42)
    editor.active_strip = strip
    scene.neuralfx.effect, scene.neuralfx.frames = "convert", "1-48"
    scene.neuralfx.output_format = "MP4"
    bpy.ops.neuralfx.run()
    run_to_end(addon)
    assert bpy.context.window_manager.neuralfx_status.error == ""
    new = next(s for s in strips(editor) if s.name != strip.name)
    assert (new.frame_final_start, new.frame_final_duration) == (20, 48)


@pytest.mark.skipif(bpy.app.version < (5, 0, 0), reason="5.0 keeps the compositor in a group")
def test_a_result_in_a_new_compositor_is_what_f12_renders(scene, addon, tmp_path):
    """A scene without a compositor: the one the add-on makes sends the result to its
    output, and a render of that frame is the result's pixels."""
    assert scene.compositing_node_group is None
    assert not (scene.sequence_editor and len(strips(scene.sequence_editor)))  # F12: no VSE
    write_sequence(tmp_path / "plate", frames=range(1, 7))
    scene.neuralfx.source, scene.neuralfx.source_path = "PATH", str(tmp_path / "plate")
    scene.neuralfx.effect, scene.neuralfx.destination = "convert", "COMPOSITOR"
    bpy.ops.neuralfx.run()
    run_to_end(addon)
    assert bpy.context.window_manager.neuralfx_status.error == ""
    scene.render.resolution_x, scene.render.resolution_y = 64, 48
    scene.render.resolution_percentage = 100
    scene.view_settings.view_transform = "Standard"
    scene.frame_set(3)
    bpy.ops.render.render()
    bpy.data.images["Render Result"].save_render(str(tmp_path / "f12.png"))
    result = tmp_path / "results" / "plate_convert" / "plate_convert.0003.png"
    assert np.abs(pixels(tmp_path / "f12.png")[..., :3] - pixels(result)[..., :3]).max() < 2 / 255


@pytest.mark.parametrize("destination", ["SEQUENCER", "COMPOSITOR"])
def test_a_rerun_updates_its_result_instead_of_adding_another(scene, addon, tmp_path,
                                                              destination):
    image_strip(scene, write_sequence(tmp_path / "plate"))
    scene.neuralfx.effect, scene.neuralfx.destination = "convert", destination
    for _ in range(2):  # the second run has nothing left to do
        bpy.ops.neuralfx.run()
        run_to_end(addon)
        assert bpy.context.window_manager.neuralfx_status.error == ""
    if destination == "SEQUENCER":
        assert sorted(s.name for s in strips(scene.sequence_editor)) == ["plate", "shot_convert"]
    else:
        tree = addon.results.compositor_tree(scene)
        assert len([n for n in tree.nodes if n.bl_idname == "CompositorNodeImage"]) == 1


def test_copy_command_gives_what_a_terminal_runs_and_resumes(scene, addon, tmp_path):
    """The copied command, run in a terminal, finishes the panel's run (same recipe: floats
    as typed, NeuralFX's own float32 rounding)."""
    import shlex
    import subprocess

    image_strip(scene, write_sequence(tmp_path / "plate"))
    scene.neuralfx.effect, scene.neuralfx.frames = "slow-invert", "1001-1003"
    settings_of(scene, "slow-invert").seconds = 0.01  # stored as 0.009999999776482582
    bpy.ops.neuralfx.run()
    run_to_end(addon)
    assert bpy.context.window_manager.neuralfx_status.error == ""
    scene.neuralfx.frames = ""
    assert bpy.ops.neuralfx.copy_command() == {"FINISHED"}
    command = bpy.context.window_manager.neuralfx_status.command  # and on the clipboard
    assert "--seconds 0.01 " in command and "--progress" not in command
    done = subprocess.run(shlex.split(command) + ["--progress", "json"], capture_output=True,
                          text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert '"written": 3' in done.stdout and '"skipped": 3' in done.stdout


def test_a_relative_output_folder_in_an_unsaved_file_is_refused(scene, addon):
    assert bpy.data.filepath == ""
    image_strip(scene, write_sequence(Path(bpy.app.tempdir) / "plate"))
    scene.neuralfx.effect, scene.neuralfx.output_folder = "convert", "//neuralfx/"
    with pytest.raises(addon.sources.SourceError, match="Output folder //neuralfx/ is relative "
                       "to the .blend file, which is not saved yet: save the file first"):
        addon.jobs.job_from_scene(bpy.context)  # what Run reports, and queues nothing


def test_the_runs_warnings_are_shown(scene, addon, tmp_path):
    """painting-style carries its look from frame to frame: Frames 1004-1006 first goes
    through 1001-1003 again, and NeuralFX says so; the panel shows it."""
    image_strip(scene, write_sequence(tmp_path / "plate"))
    scene.neuralfx.effect, scene.neuralfx.frames = "painting-style", "1004-1006"
    settings_of(scene, "painting-style").preset = "7"
    bpy.ops.neuralfx.run()
    run_to_end(addon, timeout=300)
    status = bpy.context.window_manager.neuralfx_status
    assert status.error == ""
    assert "processing frames 1001-1003 again (not written)" in status.warnings


def test_a_run_goes_on_through_opening_another_file_and_lands_in_its_own(scene, addon,
                                                                           tmp_path):
    """The artist opens another .blend during a run: the queue keeps going (its timer is
    persistent), the result does not go into the other file, and it is placed, as one undo
    step, when the file that asked for it is open again."""
    image_strip(scene, write_sequence(tmp_path / "plate"))
    scene.neuralfx.effect = "convert"
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "shot.blend"))
    bpy.ops.neuralfx.run()
    bpy.ops.wm.read_homefile(use_empty=True)  # another file
    assert bpy.app.timers.is_registered(addon.jobs.pump)
    run_to_end(addon)
    other = bpy.context.scene
    assert not (other.sequence_editor and len(strips(other.sequence_editor)))
    status = bpy.context.window_manager.neuralfx_status
    assert "it goes into shot.blend when that file is open again" in status.message
    bpy.ops.wm.open_mainfile(filepath=str(tmp_path / "shot.blend"))
    placed = sorted(s.name for s in strips(bpy.context.scene.sequence_editor))
    assert placed == ["plate", "shot_convert"] and not addon.jobs.QUEUE.unplaced


def _preview_to_the_end(addon) -> None:
    import time

    deadline = time.monotonic() + 120
    while addon.preview.pump() is not None:  # what the timer does
        assert time.monotonic() < deadline, "the preview did not come"
        time.sleep(0.02)


def test_preview_shows_the_look_of_the_frame_under_the_playhead(scene, addon, tmp_path):
    """Files 1001-1006 at scene frames 10-15, playhead at 12: the preview is file 1003
    inverted (slow-invert), from a worker that stays for the next preview (frame 14)."""
    image_strip(scene, write_sequence(tmp_path / "plate"))
    scene.neuralfx.effect = "slow-invert"
    settings_of(scene, "slow-invert").seconds = 0.0
    try:
        for frame, number in ((12, 1003), (14, 1005)):
            scene.frame_set(frame)
            assert bpy.ops.neuralfx.preview() == {"FINISHED"}
            _preview_to_the_end(addon)
            status = bpy.context.window_manager.neuralfx_status
            assert status.error == "" and f"preview of frame {number}" in status.message
            image = bpy.data.images[addon.preview.IMAGE_NAME]
            shown = np.array(image.pixels[:]).reshape(image.size[1], image.size[0], 4)[::-1]
            plate = pixels(tmp_path / "plate" / f"shot.{number}.png")
            assert np.abs(shown[..., :3] - (1 - plate[..., :3])).max() < 2 / 255
            pid = addon.preview.WORKER.popen.pid if frame == 12 else pid
        assert addon.preview.WORKER.popen.pid == pid and addon.preview.WORKER.alive
        assert not any(frame_files(tmp_path / "results")) if (tmp_path / "results").exists() \
            else True  # a preview is not a run: nothing in the output folder
    finally:
        addon.preview.stop()


def test_a_preview_that_fails_says_why(scene, addon, tmp_path):
    image_strip(scene, write_sequence(tmp_path / "plate"))
    scene.neuralfx.effect = "painting-style"
    settings_of(scene, "painting-style").checkpoint = str(tmp_path / "missing.pth")
    scene.frame_set(10)
    try:
        bpy.ops.neuralfx.preview()
        _preview_to_the_end(addon)
        status = bpy.context.window_manager.neuralfx_status
        assert status.error.startswith("preview: ") and "missing.pth" in status.error
    finally:
        addon.preview.stop()


def test_painting_style_to_the_compositor_as_linear_exr(scene, addon, tmp_path):
    image_strip(scene, write_sequence(tmp_path / "plate"))
    scene.neuralfx.effect = "painting-style"
    settings_of(scene, "painting-style").preset = "7"
    scene.neuralfx.output_format = "EXR_HALF"
    scene.neuralfx.destination = "COMPOSITOR"
    bpy.ops.neuralfx.run()
    run_to_end(addon, timeout=300)
    assert bpy.context.window_manager.neuralfx_status.error == ""
    tree = addon.results.compositor_tree(scene)
    node = tree.nodes.active
    assert node.bl_idname == "CompositorNodeImage" and node.image.source == "SEQUENCE"
    assert node.image.colorspace_settings.name == "Linear Rec.709"
    assert (node.frame_duration, node.frame_start, node.frame_offset) == (6, 10, 1000)
    out = bpy.path.abspath(node.image.filepath)
    assert out.endswith("shot_painting-style.1001.exr")
    painted, plate = pixels(out)[..., :3], pixels(tmp_path / "plate" / "shot.1001.png")[..., :3]
    assert np.abs(painted - plate).mean() > 0.05  # the look changed the picture
    assert painted.std() > 0.02  # and it is a picture, not a flat field


def test_render_output_to_the_image_editor(scene, addon, tmp_path):
    write_sequence(tmp_path / "render", frames=range(1, 4))
    scene.render.filepath = str(tmp_path / "render" / "shot.")
    scene.render.image_settings.file_format = "PNG"
    scene.frame_start, scene.frame_end = 1, 3
    area = bpy.context.window.screen.areas[0]
    area.type = "IMAGE_EDITOR"
    scene.neuralfx.source = "RENDER"
    scene.neuralfx.effect = "slow-invert"
    settings_of(scene, "slow-invert").seconds = 0.0
    scene.neuralfx.destination = "IMAGE_EDITOR"
    with bpy.context.temp_override(area=area, screen=bpy.context.window.screen):
        bpy.ops.neuralfx.run()
        run_to_end(addon)
    image = area.spaces.active.image
    assert image is not None and image.source == "SEQUENCE"
    assert image.colorspace_settings.name == "sRGB"
    inverted = pixels(bpy.path.abspath(image.filepath))[..., :3]
    source = pixels(tmp_path / "render" / "shot.0001.png")[..., :3]
    assert np.abs(inverted - (1 - source)).max() < 1 / 255


def test_cancel_keeps_finished_frames_and_a_rerun_resumes(scene, addon, tmp_path):
    image_strip(scene, write_sequence(tmp_path / "plate"))
    scene.neuralfx.effect = "slow-invert"
    settings_of(scene, "slow-invert").seconds = 0.4
    bpy.ops.neuralfx.run()
    job = addon.jobs.QUEUE.pending[0]
    while job.done < 2:
        addon.jobs.pump()
    status = bpy.context.window_manager.neuralfx_status
    assert status.running and status.total == 6 and status.progress > 0
    # Esc, as the modal operator sees it
    op = types.SimpleNamespace(job=job)
    esc = types.SimpleNamespace(type="ESC", value="PRESS")
    assert addon.operators.NEURALFX_OT_run.modal(op, bpy.context, esc) == {"CANCELLED"}
    run_to_end(addon)
    assert "cancelled" in status.message and "Run again to resume" in status.message
    folder = os.path.dirname(job.output)
    kept = frame_files(folder)
    assert 2 <= len(kept) < 6 and not any(".tmp" in n for n in os.listdir(folder))

    bpy.ops.neuralfx.run()  # the same settings: a different --seconds would be refused
    again = addon.jobs.QUEUE.pending[0]
    run_to_end(addon)
    assert again.total == 6 - len(kept) and status.error == ""
    assert len(frame_files(folder)) == 6


def test_errors_show_the_clis_message_and_hint(scene, addon, tmp_path):
    image_strip(scene, write_sequence(tmp_path / "plate", frames=range(1, 3)))
    scene.neuralfx.effect = "painting-style"
    group = settings_of(scene, "painting-style")
    group.method = "ghiasi"
    bpy.ops.neuralfx.item_add(effect="painting-style", param="style")
    group.style[0].value = str(tmp_path / "no-such-style.png")
    bpy.ops.neuralfx.run()
    run_to_end(addon)
    status = bpy.context.window_manager.neuralfx_status
    assert "style: " in status.error and "no-such-style.png' does not exist" in status.error
    assert status.hint == "check the path given to 'Style'"  # the panel's name, not --style


def test_runs_queue_one_after_another(scene, addon, tmp_path):
    image_strip(scene, write_sequence(tmp_path / "plate", frames=range(1, 4)))
    scene.neuralfx.effect = "slow-invert"
    settings_of(scene, "slow-invert").seconds = 0.1
    bpy.ops.neuralfx.run()
    scene.neuralfx.effect = "convert"
    bpy.ops.neuralfx.run()
    first, second = addon.jobs.QUEUE.pending
    addon.jobs.pump()
    assert addon.jobs.QUEUE.current is first
    assert bpy.context.window_manager.neuralfx_status.queued == 1
    run_to_end(addon)
    assert addon.jobs.QUEUE.finished[-2:] == [first, second]
    assert bpy.context.window_manager.neuralfx_status.error == ""
    names = {s.name for s in strips(scene.sequence_editor)}
    assert {"shot_slow-invert", "shot_convert"} <= names


def test_boxes_from_a_tracking_marker_drive_the_effect(scene, addon, tmp_path):
    first = write_sequence(tmp_path / "plate")
    clip = bpy.data.movieclips.load(str(first))
    scene.active_clip = clip
    track = clip.tracking.tracks.new(name="dog", frame=1)
    corners = ((-0.1, -0.125), (0.1, -0.125), (0.1, 0.125), (-0.1, 0.125))
    # Blender's y runs up: a marker high in the picture (y 0.75) is near the top of the file.
    for frame, co in ((1, (0.25, 0.75)), (5, (0.75, 0.75))):
        marker = track.markers.insert_frame(frame, co=co)
        marker.pattern_corners = corners
    track.markers.find_frame(1).co = (0.25, 0.75)  # the marker made with the track
    track.markers.find_frame(1).pattern_corners = corners
    clip.tracking.tracks.active = track

    scene.neuralfx.effect = "mark-region"
    assert bpy.ops.neuralfx.boxes_from_marker(effect="mark-region", param="region") == {"FINISHED"}
    path = settings_of(scene, "mark-region").region
    doc = json.loads(Path(path).read_text())
    assert doc["neuralfx"] == "boxes" and doc["frame_size"] == [64, 48]
    # x: (0.25 ± 0.1) × 64; y from the top: (1 - (0.75 ± 0.125)) × 48
    assert doc["boxes"]["1001"] == pytest.approx([9.6, 6.0, 22.4, 18.0])
    assert doc["boxes"]["1005"] == pytest.approx([41.6, 6.0, 54.4, 18.0])

    image_strip(scene, first)
    bpy.ops.neuralfx.run()
    run_to_end(addon)
    assert bpy.context.window_manager.neuralfx_status.error == ""
    out = tmp_path / "results" / "shot_mark-region" / "shot_mark-region.1003.png"
    got, plate = pixels(out)[..., :3], pixels(tmp_path / "plate" / "shot.1003.png")[..., :3]
    changed = np.abs(got - plate).max(-1) > 1 / 255
    # frame 1003 is halfway: the box is at x 25.6-38.4, y 6-18
    assert changed[12, 32] and not changed[12, 10] and not changed[30, 32]
    assert np.allclose(got[changed], (1.0, 0.0, 0.0), atol=1 / 255)


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
    assert {p.bl_space_type for p in addon.panels.CLASSES} == \
        {"SEQUENCE_EDITOR", "NODE_EDITOR", "IMAGE_EDITOR"}
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
        assert {"effect", "source", "output_folder", "output_format", "destination", "frames",
                "device", "precision", "overwrite"} <= set(drawn)


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


def test_a_trimmed_movie_strip_gives_a_movie_strip_over_the_same_frames(scene, addon, tmp_path):
    """Big Buck Bunny excerpt (c) Blender Foundation, CC-BY 3.0 (samples/README.md)."""
    movie = Path(__file__).resolve().parents[2] / "samples" / "bbb" / "bbb-excerpt.mp4"
    editor = scene.sequence_editor_create()
    strip = strips(editor).new_movie("bbb", str(movie), 1, 1)
    strip.frame_offset_start = 40  # keeps source frames 41-48, at scene frames 41-48
    editor.active_strip = strip
    scene.neuralfx.effect = "slow-invert"
    settings_of(scene, "slow-invert").seconds = 0.0
    scene.neuralfx.output_format = "MP4"
    bpy.ops.neuralfx.run()
    job = addon.jobs.QUEUE.pending[0]
    assert job.argv[job.argv.index("--frames") + 1] == "41-48"
    run_to_end(addon)
    assert bpy.context.window_manager.neuralfx_status.error == ""
    new = next(s for s in strips(editor) if s.name != strip.name)
    assert new.type == "MOVIE" and new.channel == 2
    assert (new.frame_final_start, new.frame_final_duration) == (41, 8)
    assert new.colorspace_settings.name == "sRGB"


def test_a_folder_of_frames_as_input(scene, addon, tmp_path):
    write_sequence(tmp_path / "plates", frames=range(7, 10))
    scene.neuralfx.source = "PATH"
    scene.neuralfx.source_path = str(tmp_path / "plates")
    scene.neuralfx.effect = "convert"
    scene.neuralfx.destination = "NONE"
    bpy.ops.neuralfx.run()
    run_to_end(addon)
    assert bpy.context.window_manager.neuralfx_status.error == ""
    assert frame_files(tmp_path / "results" / "plates_convert") == [
        f"plates_convert.{f:04d}.png" for f in range(7, 10)]


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
    assert restored.preset == "3:0.5,12:0.5" and restored.style_weight[0].value == \
        pytest.approx(0.7)
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
    (broken / "blender_manifest.toml").write_text(manifest.replace(
        'files = "Read frames and write results; run the NeuralFX program"',
        'files = "Read input frames and write the results; run the NeuralFX program"'))
    passed, said = build_blender_addon.validate(broken)
    assert not passed and "no longer than 64 characters" in said


def test_the_time_left_counts_from_the_first_frame(addon):
    """Start-up (seconds before the first frame) is not part of the rate: 8 s of start-up,
    then frames 1-5 in 2 s, is 2 frames a second, not 0.5."""
    job = addon.jobs.Job(argv=[], label="x", scene="Scene", source=None, output="",
                         destination="NONE", started=100.0, first_frame_at=108.0,
                         first_done=1, done=5, total=20)
    assert addon.jobs.rate(job, now=110.0) == 2.0
    assert addon.jobs.rate(addon.jobs.Job([], "x", "Scene", None, "", "NONE", done=0),
                           now=110.0) == 0.0


def test_missing_frames_can_be_skipped_from_the_panel(scene, addon, tmp_path):
    write_sequence(tmp_path / "plate", frames=[1001, 1002, 1004])
    scene.neuralfx.source, scene.neuralfx.source_path = "PATH", str(tmp_path / "plate")
    scene.neuralfx.effect, scene.neuralfx.destination = "convert", "NONE"
    bpy.ops.neuralfx.run()
    run_to_end(addon)
    assert "1003" in bpy.context.window_manager.neuralfx_status.error
    scene.neuralfx.missing = "skip"
    bpy.ops.neuralfx.run()
    run_to_end(addon)
    assert bpy.context.window_manager.neuralfx_status.error == ""
    assert frame_files(tmp_path / "results" / "plate_convert") == [
        f"plate_convert.{f}.png" for f in (1001, 1002, 1004)]
