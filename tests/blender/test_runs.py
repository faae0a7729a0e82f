"""Runs from the panel in real Blender: the command (copy, resume from a terminal), refusals
before Run, warnings and errors in the panel's words, cancel and resume, the queue, runs that
go on through opening another file, Preview frame, boxes from a tracking marker."""

from __future__ import annotations

import json
import os
import types
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
    done = subprocess.run(
        shlex.split(command) + ["--progress", "json"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert '"written": 3' in done.stdout and '"skipped": 3' in done.stdout


def test_a_relative_output_folder_in_an_unsaved_file_is_refused(scene, addon, tmp_path):
    assert bpy.data.filepath == ""
    image_strip(scene, write_sequence(tmp_path / "plate"))
    scene.neuralfx.effect, scene.neuralfx.output_folder = "convert", "//neuralfx/"
    with pytest.raises(
        addon.sources.SourceError,
        match="Output folder //neuralfx/ is relative "
        "to the .blend file, which is not saved yet: save the file first",
    ):
        addon.jobs.job_from_scene(bpy.context)  # what Run reports, and queues nothing


def test_the_runs_warnings_are_shown(scene, addon, tmp_path, capfd):
    """painting-style carries its look from frame to frame: Frames 1004-1006 first goes
    through 1001-1003 again, and NeuralFX says so; the panel shows it, and the Info log gets
    it with the end-of-run report (Blender prints the Info log's reports when headless)."""
    image_strip(scene, write_sequence(tmp_path / "plate"))
    scene.neuralfx.effect, scene.neuralfx.frames = "painting-style", "1004-1006"
    settings_of(scene, "painting-style").preset = "7"
    capfd.readouterr()
    bpy.ops.neuralfx.run()
    run_to_end(addon, timeout=300)
    status = bpy.context.window_manager.neuralfx_status
    assert status.error == ""
    assert "processing frames 1001-1003 again (not written)" in status.warnings
    log = capfd.readouterr().out
    assert "Warning: NeuralFX painting-style: shot: painting-style carries state" in log
    assert "Info: NeuralFX painting-style: shot: done, 3 frame(s) in" in log


def test_a_failed_run_is_reported_in_the_info_log(scene, addon, tmp_path, capfd):
    image_strip(scene, write_sequence(tmp_path / "plate"))
    scene.neuralfx.effect = "painting-style"
    settings_of(scene, "painting-style").checkpoint = str(tmp_path / "missing.pth")
    capfd.readouterr()
    bpy.ops.neuralfx.run()
    run_to_end(addon)
    log = capfd.readouterr().out
    assert "Error: NeuralFX painting-style: shot: " in log and "missing.pth" in log


def test_a_run_goes_on_through_opening_another_file_and_lands_in_its_own(scene, addon, tmp_path):
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
    pids = []
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
            pids.append(addon.bridge.current_worker().popen.pid)
        # one worker, still there
        assert pids[0] == pids[1] and addon.bridge.current_worker().alive
        assert (
            not any(frame_files(tmp_path / "results")) if (tmp_path / "results").exists() else True
        )  # a preview is not a run: nothing in the output folder
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
    (tmp_path / "damaged-style.png").write_bytes(b"not a picture")  # the panel cannot tell
    group.style[0].value = str(tmp_path / "damaged-style.png")
    bpy.ops.neuralfx.run()
    run_to_end(addon)
    status = bpy.context.window_manager.neuralfx_status
    assert "style: " in status.error and "damaged-style.png cannot be read" in status.error
    # the panel's name, not --style
    assert status.hint == "give a readable PNG, JPEG, TIFF or EXR image to 'Style'"


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
    # both ran in the one warm worker, which is still there for the next run or preview
    assert all(isinstance(j.process, addon.bridge.WorkerRun) for j in (first, second))
    assert first.process.worker is second.process.worker and first.process.worker.alive


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


def test_the_time_left_counts_from_the_first_frame(addon):
    """Start-up (seconds before the first frame) is not part of the rate: 8 s of start-up,
    then frames 1-5 in 2 s, is 2 frames a second, not 0.5."""
    job = addon.jobs.Job(
        argv=[],
        label="x",
        scene="Scene",
        source=None,
        output="",
        destination="NONE",
        started=100.0,
        first_frame_at=108.0,
        first_done=1,
        done=5,
        total=20,
    )
    assert addon.jobs.rate(job, now=110.0) == 2.0
    assert (
        addon.jobs.rate(addon.jobs.Job([], "x", "Scene", None, "", "NONE", done=0), now=110.0)
        == 0.0
    )


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
        f"plate_convert.{f}.png" for f in (1001, 1002, 1004)
    ]
