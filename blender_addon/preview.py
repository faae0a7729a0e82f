"""*Preview frame*: the look of the frame under the playhead, with the panel's settings, in
seconds and without a run. A warm ``neuralfx serve`` worker (bridge.Worker) keeps torch and
the networks loaded, so only the first preview pays for starting NeuralFX; each preview asks
for one frame with ``history: false`` (no replay of earlier frames) into a temporary file,
shown as the image "NeuralFX preview" in every Image Editor."""

from __future__ import annotations

import os
import queue
import tempfile

import bpy

from . import bridge, jobs, properties, schema, sources

IMAGE_NAME = "NeuralFX preview"
_waiting: dict[int, dict] = {}  # request id -> what to do with its answer


def source_frame(scene, source: sources.Source) -> int:
    """The source's frame number under the playhead."""
    return source.first_number + (scene.frame_current - source.frame_start)


def request(context) -> dict:
    """The worker request for the current frame; SourceError when the panel cannot say."""
    scene = context.scene
    job = jobs.job_from_scene(context)  # the same checks as Run
    effect = scene.neuralfx.effect
    folder = bpy.app.tempdir or tempfile.gettempdir()
    return {
        "effect": effect,
        "input": job.source.input,
        "output": os.path.join(folder, f"neuralfx-preview-{effect}.png"),
        "settings": schema.settings_by_name(properties.effect_settings(scene, effect)),
        "options": {
            "frames": str(source_frame(scene, job.source)),
            "history": False,
            "overwrite": True,
            "device": job.argv[job.argv.index("--device") + 1],
            "precision": job.argv[job.argv.index("--precision") + 1],
        },
    }


def ask(context) -> int:
    """Send the preview request to the worker (started if need be); returns its id."""
    wanted = request(context)
    worker = bridge.shared_worker(properties.preferences(context).executable)
    rid = worker.send(wanted)
    _waiting[rid] = {
        "output": wanted["output"],
        "frame": wanted["options"]["frames"],
        "effect": wanted["effect"],
        "error": None,
    }
    frame = wanted["options"]["frames"]
    after = " (after the run under way)" if jobs.QUEUE.current is not None else ""
    context.window_manager.neuralfx_status.message = f"previewing frame {frame}...{after}"
    if not bpy.app.timers.is_registered(pump):
        bpy.app.timers.register(pump, first_interval=0.05)
    return rid


def pump() -> float | None:
    """The timer: take the worker's answers and show finished previews (tests call it)."""
    worker = bridge.current_worker()
    while worker is not None:
        try:
            event = worker.events.get_nowait()
        except queue.Empty:
            break
        waiting = _waiting.get(event.get("id"))
        if waiting is None:
            continue
        if event["event"] == "error":
            words = properties.effect_settings(bpy.context.scene, waiting["effect"])
            waiting["error"] = (
                schema.in_panel_words(event.get("message", ""), words),
                schema.in_panel_words(event.get("hint") or "", words),
            )
        elif event["event"] == "end":
            del _waiting[event["id"]]
            _show(waiting, ok=event.get("ok", False))
    if worker is not None and not worker.alive and _waiting:
        _waiting.clear()
        _status().error = "the NeuralFX worker stopped; press Preview again"
    return 0.05 if _waiting else None


def _status():
    return bpy.context.window_manager.neuralfx_status


def _show(waiting: dict, ok: bool) -> None:
    status = _status()
    if not ok:
        message, hint = waiting["error"] or ("the preview failed", "")
        status.message, status.error, status.hint = "", f"preview: {message}", hint
        return
    image = bpy.data.images.get(IMAGE_NAME)
    if image is None:
        image = bpy.data.images.load(waiting["output"], check_existing=False)
        image.name = IMAGE_NAME
    else:
        image.filepath = waiting["output"]
        image.reload()
    for window in bpy.context.window_manager.windows:
        for area in window.screen.areas:
            if area.type == "IMAGE_EDITOR":
                area.spaces.active.image = image
            area.tag_redraw()
    status.error = status.hint = ""
    status.message = f"preview of frame {waiting['frame']} in the Image Editor ({IMAGE_NAME})"


def stop() -> None:
    bridge.stop_shared_worker()
    _waiting.clear()
