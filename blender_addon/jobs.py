"""The run queue: jobs built from the panel, run one after another in subprocesses, their
progress and errors shown in the UI, their results placed back into Blender.

:func:`pump` is the one place that turns the bridge's events into Blender data. It runs on the
main thread as a ``bpy.app.timers`` function (tests call it directly, as the timer would).
"""

from __future__ import annotations

import os
import queue
import re
import time
from collections import deque
from dataclasses import dataclass, field

import bpy

from . import bridge, properties, results, schema, sources

INTERVAL = 0.2  # seconds between timer calls while something runs


@dataclass
class Job:
    argv: list[str]  # the whole command (Copy command); argv[first_arg:] is `run ...`
    label: str
    scene: str
    source: sources.Source
    output: str
    destination: str
    process: bridge.Process | None = None
    started: float = 0.0
    first_frame_at: float = 0.0
    first_done: int = 0
    done: int = 0
    total: int = 0
    error: str = ""
    hint: str = ""
    cancelled: bool = False
    warnings: list[str] = field(default_factory=list)
    effect: str = ""
    #: the .blend file that asked for the run (its results go there, not into a file opened
    #: since); "" for an unsaved file
    blend: str = ""
    #: where `run` starts in argv (after the program, or python -m neuralfx)
    first_arg: int = 0


class JobQueue:
    def __init__(self) -> None:
        self.pending: deque[Job] = deque()
        self.current: Job | None = None
        self.finished: list[Job] = []  # newest last; what tests and the UI look at
        self.unplaced: list[Job] = []  # finished while another .blend file was open

    def submit(self, job: Job) -> None:
        self.pending.append(job)
        keep_pumping()

    def cancel(self, *, all_queued: bool = False) -> None:
        """Stop the current run (finished frames stay; a rerun resumes) and, with
        ``all_queued``, drop the jobs waiting behind it. Asked a second time, the run is
        killed (its temporary files are cleaned up by the next run)."""
        if all_queued:
            self.pending.clear()
        if self.current and self.current.process:
            if self.current.cancelled:  # asked twice: it did not stop, so end it now
                self.current.process.kill()
            self.current.cancelled = True
            self.current.process.cancel()

    @property
    def busy(self) -> bool:
        return self.current is not None or bool(self.pending)


QUEUE = JobQueue()


def keep_pumping() -> None:
    """Run :func:`pump` from a timer that survives opening another file (a run goes on while
    the artist opens another .blend)."""
    if not bpy.app.timers.is_registered(pump):
        bpy.app.timers.register(pump, first_interval=0.0, persistent=True)


@bpy.app.handlers.persistent
def after_file_load(_filepath) -> None:
    """Place the results that finished while their .blend file was closed, now it is open;
    keep the queue's timer going."""
    for job in [j for j in QUEUE.unplaced if j.blend == bpy.data.filepath]:
        QUEUE.unplaced.remove(job)
        _place(job, bpy.context.window_manager.neuralfx_status)
    if QUEUE.busy:
        keep_pumping()


def output_path(folder: str, source: sources.Source, effect: str, fmt: str) -> str:
    ext, _ = properties.OUTPUT_FORMATS[fmt]
    name = f"{source.stem}_{effect}"
    folder = sources.absolute(folder or "//neuralfx/", "Output folder")
    if ext in ("mp4", "mov"):
        return os.path.join(folder, f"{name}.{ext}")
    return os.path.join(folder, name, f"{name}.####.{ext}")


def job_from_scene(context) -> Job:
    """The job the panel describes; sources.SourceError or bridge.BridgeError if it cannot."""
    scene, prefs = context.scene, properties.preferences(context)
    settings = scene.neuralfx
    effect = settings.effect
    known = {e["name"] for e in properties.EFFECTS}
    effect_settings = properties.effect_settings(scene, effect) if effect in known else None
    if effect_settings is None:
        raise sources.SourceError("choose an effect (press Refresh if the list is empty)")
    missing = schema.missing_required(effect_settings)
    if missing:
        raise sources.SourceError(
            f"{effect} needs {', '.join(missing)}: fill in the settings marked (required)"
        )
    invalid = schema.invalid_values(effect_settings)
    if invalid:
        raise sources.SourceError("; ".join(invalid))
    source = sources.resolve(scene)
    output = output_path(settings.output_folder, source, effect, settings.output_format)
    device = prefs.device if settings.device == "PREFS" else settings.device
    precision = prefs.precision if settings.precision == "PREFS" else settings.precision
    prefix = bridge.command_prefix(prefs.executable)
    argv = prefix + [
        "run",
        effect,
        *schema.cli_arguments(effect_settings),
        source.input,
        output,
        "--progress",
        "json",
        "--device",
        device,
        "--precision",
        precision,
        *properties.OUTPUT_FORMATS[settings.output_format][1],
    ]
    if source.frames:
        argv += ["--frames", source.frames]
    argv += schema.run_arguments(settings)
    return Job(
        argv,
        f"{effect}: {source.stem}",
        scene.name,
        source,
        output,
        settings.destination,
        effect=effect,
        blend=bpy.data.filepath,
        first_arg=len(prefix),
    )


def outputs_of(job: Job) -> list[str]:
    """Every output file of the job's frames, including those a resumed run skipped."""
    if "#" not in job.output:
        return [job.output] if os.path.exists(job.output) else []
    folder, name = os.path.split(job.output)
    hashes = re.search(r"#+", name)
    number = re.compile(
        re.escape(name[: hashes.start()]) + r"(-?\d+)" + re.escape(name[hashes.end() :]) + "$"
    )
    wanted = re.fullmatch(r"(-?\d+)-(-?\d+)", job.source.frames or "")
    found = []
    for entry in os.listdir(folder) if os.path.isdir(folder) else ():
        m = number.match(entry)
        if m and (not wanted or int(wanted[1]) <= int(m[1]) <= int(wanted[2])):
            found.append((int(m[1]), os.path.join(folder, entry)))
    return [path for _, path in sorted(found)]


# -- the timer -------------------------------------------------------------------------------------
def pump() -> float | None:
    """Advance the queue: start the next job, read events, finish. Returns the timer's next
    interval, or None when the queue is empty (the timer then stops)."""
    if QUEUE.current is None:
        if not QUEUE.pending:
            _show(None)
            return None
        job = QUEUE.pending.popleft()
        QUEUE.current = job
        job.started = time.monotonic()
        try:
            job.process = _runner(job)
            job.process.start()
        except bridge.BridgeError as exc:
            job.error, job.hint = exc.message, exc.hint
            _finish(job, returncode=None)
            return INTERVAL
    job = QUEUE.current
    while True:
        try:
            event = job.process.events.get_nowait()
        except queue.Empty:
            break
        kind = event.get("event")
        if kind == "start":
            job.total = int(event.get("total", 0))
        elif kind == "frame":
            job.done, job.total = int(event["done"]), int(event["total"])
            if not job.first_frame_at:  # the rate counts from here: start-up is not work
                job.first_frame_at, job.first_done = time.monotonic(), job.done
        elif kind == "warning":
            job.warnings.append(event.get("message", ""))
        elif kind == "error":
            words = properties.effect_settings(
                bpy.data.scenes.get(job.scene) or bpy.context.scene, job.effect
            )
            job.error = schema.in_panel_words(event.get("message", ""), words)
            job.hint = schema.in_panel_words(event.get("hint") or "", words)
        elif kind == "exit":
            _finish(job, event["returncode"])
            return INTERVAL
    _show(job)
    return INTERVAL


def _runner(job: Job) -> bridge.Process | bridge.WorkerRun:
    """The warm worker runs the job (no start-up before the first frame, and the networks of
    the last preview or run are still loaded); a job without a known program runs as a
    process of its own."""
    if job.first_arg:
        setting = properties.preferences(bpy.context).executable
        return bridge.WorkerRun(bridge.shared_worker(setting), job.argv[job.first_arg :])
    return bridge.Process(job.argv)


def _finish(job: Job, returncode: int | None) -> None:
    QUEUE.current = None
    QUEUE.finished.append(job)
    status = bpy.context.window_manager.neuralfx_status
    status.warnings = "\n".join(dict.fromkeys(job.warnings))  # each once
    if returncode == 0:
        status.error = status.hint = ""
        status.output = job.output
        if bpy.data.filepath == job.blend:
            _place(job, status)
        else:
            QUEUE.unplaced.append(job)
            status.message = (
                f"{job.label}: done, in {job.output}; it goes into "
                f"{os.path.basename(job.blend) or 'the unsaved file'} when that "
                "file is open again"
            )
    elif job.cancelled:
        status.message = (
            f"{job.label}: cancelled after {job.done} of {job.total} frame(s); "
            "finished frames are kept, Run again to resume"
        )
        status.error = status.hint = ""
    else:
        if not job.error:
            tail = job.process.stderr_tail if job.process else []
            job.error = tail[-1] if tail else f"NeuralFX stopped (exit {returncode})"
        status.message = ""
        status.error, status.hint = f"{job.label}: {job.error}", job.hint
    _log_report(job, status)
    _show(None)


def _log_report(job: Job, status) -> None:
    """The end-of-run report in Blender's Info log: each warning once, then the outcome (the
    panel shows the same until the next run)."""
    lines = [("WARNING", f"NeuralFX {job.label}: {w}") for w in dict.fromkeys(job.warnings)]
    if status.error:
        lines.append(
            ("ERROR", f"NeuralFX {status.error}" + (f" ({status.hint})" if status.hint else ""))
        )
    else:
        took = time.monotonic() - job.started if job.started else 0.0
        lines.append(("INFO", f"NeuralFX {status.message} [{took:.1f} s]"))
    for level, message in lines:
        try:
            bpy.ops.neuralfx.log(level=level, message=message)
        except RuntimeError:  # no context to report in (Blender is closing): the panel has it
            pass


def _place(job: Job, status) -> None:
    """Put a finished job's result into its scene, as one undo step."""
    scene = bpy.data.scenes.get(job.scene) or bpy.context.scene
    paths = outputs_of(job)
    with bpy.context.temp_override(scene=scene):
        placed = results.place(
            bpy.context,
            job.destination,
            job.source,
            paths,
            os.path.basename(job.output).split(".")[0],
        )
    status.message = f"{job.label}: done, {len(paths)} frame(s) in {job.output}" + (
        f" (now {placed.name})" if placed is not None else ""
    )
    if placed is not None and bpy.ops.ed.undo_push.poll():
        bpy.ops.ed.undo_push(message=f"NeuralFX: {job.label}")


def rate(job: Job, now: float) -> float:
    """Frames a second since the first frame came (NeuralFX's start-up, a second or more
    before it, would make the first estimates of the time left far too long); 0 until two
    frames have."""
    frames, seconds = job.done - job.first_done, now - job.first_frame_at
    return frames / seconds if job.first_frame_at and frames > 0 and seconds > 0 else 0.0


def _show(job: Job | None) -> None:
    """Copy the current run's progress into the UI (panels and the status bar)."""
    wm = bpy.context.window_manager
    status = wm.neuralfx_status
    status.running, status.queued = job is not None, len(QUEUE.pending)
    text = None
    if job is not None:
        status.label, status.done, status.total = job.label, job.done, job.total
        status.fps = rate(job, time.monotonic())
        left = (job.total - job.done) / status.fps if status.fps else 0.0
        status.eta = time.strftime("%H:%M:%S", time.gmtime(left)) if status.fps else "--:--:--"
        status.progress = 100.0 * job.done / job.total if job.total else 0.0
        text = (
            f"NeuralFX {job.label}: {job.done}/{job.total} frames, {status.fps:.1f} fps, "
            f"ETA {status.eta}" + (f", {status.queued} queued" if status.queued else "")
        )
    workspace = getattr(bpy.context, "workspace", None)
    if workspace is not None:
        workspace.status_text_set(text)
    for window in wm.windows:
        for area in window.screen.areas:
            area.tag_redraw()
