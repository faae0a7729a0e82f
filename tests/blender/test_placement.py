"""Where a run's results land in real Blender: sequencer strips, compositor nodes and the
Image Editor, on the scene frames of the source frames they were made from, for strips,
trimmed movie strips, render output and folders; and a rerun that updates its result."""

from __future__ import annotations

import os
from pathlib import Path

import bpy
import numpy as np
import pytest

from conftest import (
    frame_files,
    image_strip,
    pixels,
    run_to_end,
    settings_of,
    strips,
    write_sequence,
)

pytestmark = pytest.mark.blender


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
    assert (
        np.abs(
            pixels(os.path.join(folder, "shot_convert.1003.png"))
            - pixels(tmp_path / "plate" / "shot.1003.png")
        ).max()
        < 1 / 255
    )


def _file_at(strip, scene_frame: int) -> str:
    """The file an image strip shows at ``scene_frame``."""
    return strip.elements[scene_frame - int(strip.frame_start)].filename


@pytest.mark.parametrize("destination", ["SEQUENCER", "COMPOSITOR"])
def test_frames_land_on_the_scene_frames_of_their_source_frames(
    scene, addon, tmp_path, destination
):
    """Files 1001-1012 at scene frames 1-12, Frames 1005-1007: the results sit at scene
    frames 5-7, each under the source frame it was made from."""
    plate = image_strip(
        scene, write_sequence(tmp_path / "plate", frames=range(1001, 1013)), frame_start=1
    )
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
def test_a_rerun_updates_its_result_instead_of_adding_another(scene, addon, tmp_path, destination):
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
        f"plates_convert.{f:04d}.png" for f in range(7, 10)
    ]
