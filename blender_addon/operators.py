"""The add-on's operators: test the connection, refresh the effects, run (queued, modal for
Esc), cancel, edit multiple-value parameters, export boxes from a tracking marker."""

from __future__ import annotations

import os
import queue
import threading

import bpy
from bpy.props import BoolProperty, IntProperty, StringProperty

from . import bridge, jobs, properties, schema, sources


def _report_error(op, message: str, hint: str = "") -> set[str]:
    op.report({"ERROR"}, f"{message}. {hint}" if hint else message)
    return {"CANCELLED"}


def apply_connection(context, connection: bridge.Connection) -> None:
    """Generate the effects' settings from what NeuralFX said (main thread only)."""
    properties.install_effects(connection.effects, connection.descriptions)
    settings = context.scene.neuralfx
    if connection.effects and settings.get("effect") is None:
        settings.effect = connection.effects[0]["name"]


def _connection_report(
    context, connection: bridge.Connection | None, error: bridge.BridgeError | None
) -> tuple[str, str]:
    """Write the outcome into the preferences; returns (report level, message)."""
    prefs = properties.preferences(context)
    if error is not None:
        prefs.connection, prefs.connection_ok = f"{error.message}\n{error.hint}".strip(), False
        return "ERROR", f"{error.message}. {error.hint}" if error.hint else error.message
    lines = [connection.summary()]
    for failed in connection.plugin_errors:
        lines.append(
            f"plugin {failed['name']} failed to load: {failed['error']} "
            "(reinstall or update that plugin; the other effects work)"
        )
    prefs.connection = "\n".join(lines)
    prefs.connection_ok = not connection.plugin_errors
    return ("WARNING" if connection.plugin_errors else "INFO"), lines[0]


# -- asking from a thread, so the UI never waits -----------------------------------------------
_ANSWERS: queue.Queue = queue.Queue()


def _ask_in_background(setting: str) -> None:
    def work():
        try:
            _ANSWERS.put((bridge.check_connection(setting), None))
        except bridge.BridgeError as exc:
            _ANSWERS.put((None, exc))

    threading.Thread(target=work, daemon=True).start()
    if not bpy.app.timers.is_registered(take_answer):
        bpy.app.timers.register(take_answer, first_interval=0.1)
    bpy.context.window_manager.neuralfx_status.message = "reading the effects from NeuralFX..."


def take_answer() -> float | None:
    """The timer that applies a background answer on the main thread (tests call it)."""
    try:
        connection, error = _ANSWERS.get_nowait()
    except queue.Empty:
        return 0.1
    context = bpy.context
    _, message = _connection_report(context, connection, error)
    status = context.window_manager.neuralfx_status
    if connection is not None:
        apply_connection(context, connection)
        status.message, status.error, status.hint = message, "", ""
    else:
        status.message, status.error, status.hint = "", error.message, error.hint
    for window in context.window_manager.windows:
        for area in window.screen.areas:
            area.tag_redraw()
    return None


class _ConnectionOperator:
    """Run from a script (execute) it answers before returning; pressed in the UI (invoke) it
    asks from a thread and the panel fills in when NeuralFX answers."""

    def execute(self, context):
        prefs = properties.preferences(context)
        try:
            connection, error = bridge.check_connection(prefs.executable), None
        except bridge.BridgeError as exc:
            connection, error = None, exc
        level, message = _connection_report(context, connection, error)
        if connection is not None:
            apply_connection(context, connection)
        self.report({level}, message)
        return {"CANCELLED"} if error is not None else {"FINISHED"}

    def invoke(self, context, event):
        _ask_in_background(properties.preferences(context).executable)
        return {"FINISHED"}


class NEURALFX_OT_test_connection(_ConnectionOperator, bpy.types.Operator):
    """Check that Blender can run NeuralFX, and list the effects it has"""

    bl_idname = "neuralfx.test_connection"
    bl_label = "Test connection"


class NEURALFX_OT_refresh_effects(_ConnectionOperator, bpy.types.Operator):
    """Read the effects and their parameters from NeuralFX again"""

    bl_idname = "neuralfx.refresh_effects"
    bl_label = "Refresh effects"


class NEURALFX_OT_run(bpy.types.Operator):
    """Run the effect with these settings (queued after any run in progress); Esc cancels"""

    bl_idname = "neuralfx.run"
    bl_label = "Run"

    def execute(self, context):
        try:
            job = jobs.job_from_scene(context)
        except (sources.SourceError, bridge.BridgeError) as exc:
            return _report_error(self, str(exc))
        jobs.QUEUE.submit(job)
        context.window_manager.neuralfx_status.command = terminal_command(job.argv)
        self.job = job
        self.report({"INFO"}, f"NeuralFX: queued {job.label}")
        return {"FINISHED"}

    def invoke(self, context, event):
        if "FINISHED" not in self.execute(context):
            return {"CANCELLED"}
        context.window_manager.modal_handler_add(self)
        return {"RUNNING_MODAL"}

    def modal(self, context, event):
        """Watches for Esc while the job it queued waits or runs; the timer does the work."""
        if event.type == "ESC" and event.value == "PRESS":
            if self.job is jobs.QUEUE.current:
                jobs.QUEUE.cancel()
            elif self.job in jobs.QUEUE.pending:
                jobs.QUEUE.pending.remove(self.job)
            return {"CANCELLED"}
        if self.job in jobs.QUEUE.finished:
            return {"FINISHED"}
        return {"PASS_THROUGH"}


def terminal_command(argv: list[str]) -> str:
    """The run's command as a terminal takes it: quoted, without the JSON progress the panel
    reads (a terminal shows a progress bar)."""
    import shlex

    shown = list(argv)
    if "--progress" in shown:
        at = shown.index("--progress")
        del shown[at : at + 2]
    return shlex.join(shown)


class NEURALFX_OT_log(bpy.types.Operator):
    """Put a NeuralFX message in Blender's Info log (the job queue's timer, which cannot
    report itself, calls it at the end of a run)"""

    bl_idname = "neuralfx.log"
    bl_label = "NeuralFX message"
    bl_options = {"INTERNAL"}

    level: bpy.props.EnumProperty(items=[(x, x, "") for x in ("INFO", "WARNING", "ERROR")])
    message: bpy.props.StringProperty()

    def execute(self, context):
        self.report({self.level}, self.message)
        return {"FINISHED"}


class NEURALFX_OT_copy_command(bpy.types.Operator):
    """Copy the NeuralFX command these settings run, to rerun or resume it from a terminal or
    a render farm"""

    bl_idname = "neuralfx.copy_command"
    bl_label = "Copy command"

    def execute(self, context):
        try:
            job = jobs.job_from_scene(context)
        except (sources.SourceError, bridge.BridgeError) as exc:
            return _report_error(self, str(exc))
        command = terminal_command(job.argv)
        context.window_manager.clipboard = command
        context.window_manager.neuralfx_status.command = command
        self.report({"INFO"}, command)
        return {"FINISHED"}


class NEURALFX_OT_preview(bpy.types.Operator):
    """Show the look of the frame under the playhead with these settings, in the Image
    Editor, without a run (a warm NeuralFX worker answers in a fraction of a second after
    the first preview)"""

    bl_idname = "neuralfx.preview"
    bl_label = "Preview frame"

    def execute(self, context):
        from . import preview

        try:
            preview.ask(context)
        except (sources.SourceError, bridge.BridgeError) as exc:
            return _report_error(self, str(exc))
        return {"FINISHED"}


class NEURALFX_OT_cancel(bpy.types.Operator):
    """Stop the current run; finished frames are kept and running again resumes"""

    bl_idname = "neuralfx.cancel"
    bl_label = "Cancel"

    all_queued: BoolProperty(name="Clear the queue too", default=False)

    def execute(self, context):
        jobs.QUEUE.cancel(all_queued=self.all_queued)
        return {"FINISHED"}


class _ParamOperator:
    effect: StringProperty()
    param: StringProperty()

    def collection(self, context):
        settings = properties.effect_settings(context.scene, self.effect)
        return getattr(settings, schema.attribute(self.param))


class NEURALFX_OT_item_add(_ParamOperator, bpy.types.Operator):
    """Add a value"""

    bl_idname = "neuralfx.item_add"
    bl_label = "Add"
    bl_options = {"UNDO", "INTERNAL"}

    def execute(self, context):
        self.collection(context).add()
        return {"FINISHED"}


class NEURALFX_OT_item_remove(_ParamOperator, bpy.types.Operator):
    """Remove this value"""

    bl_idname = "neuralfx.item_remove"
    bl_label = "Remove"
    bl_options = {"UNDO", "INTERNAL"}

    index: IntProperty()

    def execute(self, context):
        self.collection(context).remove(self.index)
        return {"FINISHED"}


class NEURALFX_OT_boxes_from_marker(_ParamOperator, bpy.types.Operator):
    """Write the active tracking marker of the scene's movie clip as keyframed boxes, and use
    that file for this parameter"""

    bl_idname = "neuralfx.boxes_from_marker"
    bl_label = "From tracking marker"
    bl_options = {"UNDO", "INTERNAL"}

    def execute(self, context):
        clip = context.scene.active_clip
        if clip is None:
            return _report_error(
                self, "the scene has no movie clip", "set Scene > Active Clip to the tracked clip"
            )
        track = (
            clip.tracking.objects.active.tracks.active
            if clip.tracking.objects.active
            else clip.tracking.tracks.active
        )
        if track is None:
            return _report_error(
                self,
                f"clip {clip.name!r} has no active track",
                "select a track in the Movie Clip Editor",
            )
        try:
            document = sources.marker_boxes(clip, track)
        except sources.SourceError as exc:
            return _report_error(self, str(exc))
        try:
            folder = sources.absolute(
                context.scene.neuralfx.output_folder or "//neuralfx/", "Output folder"
            )
        except sources.SourceError as exc:
            return _report_error(self, str(exc))
        path = os.path.join(folder, "regions", f"{clip.name}-{track.name}.json")
        sources.write_boxes(document, path)
        settings = properties.effect_settings(context.scene, self.effect)
        setattr(settings, schema.attribute(self.param), path)
        self.report({"INFO"}, f"{len(document['boxes'])} boxes written to {path}")
        return {"FINISHED"}


CLASSES = (
    NEURALFX_OT_test_connection,
    NEURALFX_OT_refresh_effects,
    NEURALFX_OT_run,
    NEURALFX_OT_log,
    NEURALFX_OT_copy_command,
    NEURALFX_OT_preview,
    NEURALFX_OT_cancel,
    NEURALFX_OT_item_add,
    NEURALFX_OT_item_remove,
    NEURALFX_OT_boxes_from_marker,
)
