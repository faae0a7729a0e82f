"""The plan of a run: what is read, what is written, what is skipped and why it is safe.

Everything here happens before the effect loads or a frame is decoded, and creates nothing:
the output folder, the resume record and the snapshots folder are made by
:meth:`Plan.prepare_output` when the first file is about to be written, so a run that fails
early (bad device, missing weights) leaves no trace.

Resume rules (see :mod:`neuralfx.pipeline.record` for the journal):

* frames whose outputs exist are skipped unless ``--overwrite``;
* every output that stays as it is must have been made by the same recipe (input, effect and
  its version, settings, file contents, output options) from the same source frame; otherwise
  the run is refused and the message names what changed, because finishing it would leave a
  sequence made two ways. With ``--overwrite`` such frames outside ``--frames`` are only
  warned about;
* a stateful effect is fed every frame from the clip's start (or from a snapshot) up to the
  last frame to do (:mod:`neuralfx.pipeline.history`).
"""

from __future__ import annotations

import collections
import dataclasses
import json
import os
from collections.abc import Callable
from typing import Any

from ..effect import Effect, EffectSpec
from ..errors import OutputError
from ..frames.io import Sink, Source, create_folder, open_sink, open_source
from ..frames.sequence import describe_frames
from .history import SnapshotStore, source_digests
from ..options import RunOptions
from ..marks.label import DEFAULT_TEXT as DEFAULT_LABEL
from .output_lock import OutputLock
from .record import FrameEntry, ResumeRecord, describe_changes, file_digest, fingerprint, recipe_id


@dataclasses.dataclass
class Plan:
    spec: EffectSpec
    effect: Effect
    input: str
    output: str
    opts: RunOptions
    source: Source
    sink: Sink
    todo: list[int]
    skipped: int
    recipe: dict[str, Any]
    recipe_id: str
    fingerprints: dict[int, list[int]]
    record: ResumeRecord | None = None
    #: Record entries of the outputs that stay as they are.
    keep: list[FrameEntry] = dataclasses.field(default_factory=list)
    #: Record entries of outputs about to be redone (--overwrite): kept in the journal until
    #: each frame is rewritten, so an interrupted run still knows how the old frames were made.
    redo: list[FrameEntry] = dataclasses.field(default_factory=list)
    snapshots: SnapshotStore | None = None
    feed: list[int] = dataclasses.field(default_factory=list)
    start_state: dict | None = None
    prepared: bool = False
    lock: OutputLock | None = None

    @property
    def resumable(self) -> bool:
        return not self.sink.is_video

    def prepare_output(self) -> None:
        """Before the first write: create the folder, remove temporary files a killed run
        left (only this output's), compact and open the record."""
        if self.prepared:
            return
        create_folder(self.sink.directory())
        if self.lock is not None and not self.lock.held:
            # The folder was new when this run planned, so it locks now; another run may have
            # written there meanwhile, and what it wrote must not be overwritten unasked.
            self.lock.acquire(self.output, self.opts.wait)
            self._refuse_what_appeared()
        if self.opts.shard is not None:  # one of several runs at once: the driver cleaned up
            if self.record is not None:
                self.record.start_part(self.opts.shard)
            self.prepared = True
            return
        for stale in self.sink.stale_temps():
            try:
                os.unlink(stale)
            except OSError:
                pass
        if self.record is not None:
            self.record.start(self.recipe_id, self.recipe, self.keep + self.redo)
        if self.snapshots is not None:
            self.snapshots.forget_other_recipes({self.recipe_id} | {e.recipe for e in self.keep})
        self.prepared = True

    def _refuse_what_appeared(self) -> None:
        if self.opts.overwrite:
            return
        if self.sink.is_video:
            appeared = [self.todo[0]] if self.todo and os.path.exists(self.output) else []
        else:
            appeared = sorted(set(self.sink.existing(self.source.frames)) & set(self.todo))
        if appeared:
            raise OutputError(
                f"{self.output}: another run wrote frames "
                f"{describe_frames(appeared)} while this one was starting",
                hint="run again: it will see them (and resume, or say how they differ)",
            )

    def close(self) -> None:
        """Close the record and let go of the lock (again: nothing happens)."""
        if self.record is not None:
            self.record.close()
        if self.lock is not None:
            self.lock.release()


def make_plan(
    spec: EffectSpec,
    effect: Effect,
    input: str,
    output: str,
    opts: RunOptions,
    *,
    version: str,
    warn: Callable[[str], None],
) -> Plan:
    source = open_source(input, frames=opts.frames, missing=opts.missing, layer=opts.layer)
    sink = open_sink(output, source, codec=opts.codec)
    fingerprints = _source_fingerprints(source)
    recipe = make_recipe(spec, effect, input, sink, opts, version)
    plan = Plan(
        spec,
        effect,
        input,
        output,
        opts,
        source,
        sink,
        todo=[],
        skipped=0,
        recipe=recipe,
        recipe_id=recipe_id(recipe),
        fingerprints=fingerprints,
    )
    if opts.shard is None:  # (a Ray shard writes under its driver's lock)
        plan.lock = OutputLock(sink.lock_base())
        if os.path.isdir(sink.directory()):  # before looking at what exists
            plan.lock.acquire(output, opts.wait)
    try:
        _plan_outputs(plan, source, sink, opts, output, warn)
    except BaseException:
        plan.close()
        raise
    return plan


def _plan_outputs(
    plan: Plan, source, sink, opts: RunOptions, output: str, warn: Callable[[str], None]
) -> None:
    """What to do and to keep: every frame of a video; for a sequence, the frames without an
    output (all with --overwrite), the kept ones checked against the record."""
    if sink.is_video:
        if os.path.exists(output) and not opts.overwrite:
            raise OutputError(
                f"{output} exists; a video cannot be resumed",
                hint="pass --overwrite to replace it, or choose another name",
            )
        plan.todo = list(source.frames)
    else:
        existing = sink.existing(source.frames)
        plan.todo = [f for f in source.frames if opts.overwrite or f not in existing]
        plan.record = ResumeRecord.load(sink.record_path())
        todo = set(plan.todo)
        plan.keep = _check_kept(plan, {f: p for f, p in existing.items() if f not in todo}, warn)
        redone = (plan.record.made_by(f, p) for f, p in existing.items() if f in todo)
        plan.redo = [e for e in redone if e is not None]
    plan.skipped = len(source.frames) - len(plan.todo)
    _plan_feed(plan)


def make_recipe(
    spec: EffectSpec, effect: Effect, input: str, sink: Sink, opts: RunOptions, version: str
) -> dict[str, Any]:
    """What the outputs depend on besides the source frames."""
    output = {
        k: getattr(opts, k)
        for k in ("depth", "channels", "ocio", "input_colorspace", "output_colorspace", "precision")
    }
    for name, default in (("layer", None), ("nonfinite", "error")):  # recorded when changed
        if getattr(opts, name) != default:
            output[name] = getattr(opts, name)
    if sink.image_format is not None and sink.image_format.name == "JPEG":
        output["quality"] = opts.quality
    if opts.watermark or spec.always_watermark:  # marked and unmarked frames never mix
        output["watermark"] = True
    label = opts.label or (DEFAULT_LABEL if spec.always_label else None)
    if label:
        output["label"] = [label, opts.label_corner, opts.label_opacity]
    if opts.compile:  # compiled kernels may round differently in the last bit
        output["compile"] = True
    if opts.c2pa_cert:  # signed and unsigned files never mix
        output["c2pa"] = True
    if not opts.history and getattr(effect, "stateful", False):
        output["history"] = False  # a stateful effect's frames without their history differ
    return {
        "input": os.path.abspath(input),
        "effect": spec.name,
        "version": version,
        "settings": json.loads(json.dumps(dict(effect.settings), default=str)),
        "files": {os.path.abspath(p): file_digest(p) for p in sorted(set(effect.files()))},
        "output": output,
    }


def _source_fingerprints(source: Source) -> dict[int, list[int]]:
    if source.video_path is not None:
        fp = fingerprint(source.video_path)
        return {f: fp for f in source.all_frames}
    out = {}
    for f in source.all_frames:
        try:
            out[f] = fingerprint(source.paths[f])
        except OSError:  # vanished since it was listed: reading it will say so
            pass
    return out


def _check_kept(plan: Plan, kept: dict[int, str], warn: Callable[[str], None]) -> list[FrameEntry]:
    """Refuse (or, with --overwrite, warn about) outputs that stay but were made otherwise.
    Returns the record entries of the outputs that stay."""
    record = plan.record
    assert record is not None
    entries: list[FrameEntry] = []
    other: dict[str, list[int]] = collections.defaultdict(list)
    unknown: list[int] = []
    changed_input: list[int] = []
    for frame in sorted(kept):
        entry = record.made_by(frame, kept[frame])
        if entry is None:
            unknown.append(frame)
            continue
        entries.append(entry)
        if entry.recipe != plan.recipe_id:
            other[entry.recipe].append(frame)
        elif frame in plan.fingerprints and entry.source != plan.fingerprints[frame]:
            changed_input.append(frame)
    problems = [
        f"frames {describe_frames(frames)} were made differently ("
        f"{describe_changes(record.recipes[rid], plan.recipe)})"
        for rid, frames in other.items()
    ]
    if unknown:
        problems.append(
            f"frames {describe_frames(unknown)} were not made by NeuralFX, or were "
            "changed after it wrote them"
        )
    if changed_input:
        problems.append(
            f"the input of frames {describe_frames(changed_input)} changed after "
            f"they were made ({plan.source.file_of(changed_input[0])})"
        )
    if not problems:
        return entries
    text = f"{plan.output}: " + "; ".join(problems)
    if not plan.opts.overwrite:
        raise OutputError(
            text,
            hint="pass --overwrite to redo the frames asked for (--frames "
            "for a part), or write to another output",
        )
    warn(
        text + "; they are outside --frames and stay as they are, so the sequence now mixes "
        "two ways of making frames"
    )
    return entries


def _plan_feed(plan: Plan) -> None:
    """The frames the effect is fed, and the state to start from (see neuralfx.pipeline.history)."""
    if not plan.todo or not getattr(plan.effect, "stateful", False) or not plan.opts.history:
        plan.feed = list(plan.todo)
        return
    clip = plan.source.all_frames
    digests = source_digests(clip, plan.fingerprints)
    start = None
    if plan.resumable:
        plan.snapshots = SnapshotStore(plan.sink.state_dir(), plan.recipe_id, digests)
        start = plan.snapshots.latest_before(min(plan.todo))
    last = max(plan.todo)
    after = start[0] if start is not None else None
    plan.feed = [f for f in clip if (after is None or f > after) and f <= last]
    plan.start_state = start[1] if start is not None else None
