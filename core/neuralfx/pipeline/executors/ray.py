"""The Ray executor: one plan, sharded across the actors of a Ray cluster.

The driver (the ``neuralfx run`` process) makes the plan, with every resume check, and
prepares the output once: the folder, stale temporary files, the compacted journal with this
run's recipe. It then splits the frames to do into one contiguous shard per actor: one actor
per GPU, or CPU actors when the cluster has none. Each actor loads the effect once and runs
the local executor over its shard, with ``RunOptions.shard`` set.

- **Writes.** Every frame is written atomically by an actor to the shared output folder. Each
  actor appends its record lines to a journal part of its own (see :mod:`neuralfx.pipeline.record`).
- **History.** A stateful effect's shard starts from the clip's start, or from the latest
  snapshot before it, exactly as a resumed local run does (:mod:`neuralfx.pipeline.history`). Shard
  boundaries therefore change nothing in the output. The price is the replayed frames.
- **Progress.** Actors put their frame and warning events on one Ray queue. The driver
  forwards them to its own reporter, counting each frame once.
- **Failures.** A dead actor is restarted and its task retried (``max_restarts``,
  ``max_task_retries``). The retry skips the frames the dead attempt finished, since their
  files and record lines are complete, so no frame is missing or written twice.
- **Video.** Each actor encodes its shard into a hidden segment beside the output, with the
  run's codec settings and no audio. The driver then joins the segments by copying their
  packets, with no second encoding, adds the source's audio, signs the file if asked, and
  moves it into place. H.264 restarts its group of pictures at each shard, so the pixels are
  those of a local run to within the codec's tolerance, not bit for bit. A video still cannot
  be resumed.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import secrets
import time
from typing import Any

import torch

from . import RunSummary
from ... import errors
from ...errors import NeuralFXError, ParameterError
from ...frames.atomic import TEMP_MARK
from ...frames.sequence import describe_frames
from ...marks.marking import OutputMarks
from ...openmp import waiting_for_actors
from ..plan import Plan
from ..progress import Reporter

#: Restarts of a dead actor, and retries of its shard, before the run fails.
RETRIES = 3
INSTALL_HINT = "install it with: pip install 'neuralfx[ray]'"


def shards(frames: list[int], count: int) -> list[list[int]]:
    """``frames`` in ``count`` contiguous parts of nearly equal length (none empty)."""
    count = max(1, min(count, len(frames)))
    size, extra = divmod(len(frames), count)
    out, start = [], 0
    for i in range(count):
        stop = start + size + (1 if i < extra else 0)
        out.append(frames[start:stop])
        start = stop
    return out


def frame_ranges(frames: list[int]) -> str:
    """``[1, 2, 3, 7]`` → ``"1-3,7"``, the ``--frames`` syntax."""
    return describe_frames(frames, limit=max(1, len(frames))).replace(" ", "")


def forwarded_environment() -> dict[str, str]:
    """What travels to the actors: NeuralFX's own settings, the Python path and how OpenMP
    threads wait (:func:`neuralfx.openmp.waiting_for_actors`)."""
    own = {k: v for k, v in os.environ.items() if k.startswith("NEURALFX_") or k == "PYTHONPATH"}
    return own | waiting_for_actors()


class ShardReporter(Reporter):
    """An actor's reporter: frame and warning events go on the driver's queue."""

    def __init__(self, queue, shard: str) -> None:
        self.queue, self.shard = queue, shard

    def frame(self, frame: int, path: str, done: int, total: int) -> None:
        self.queue.put({"event": "frame", "frame": frame, "path": path, "shard": self.shard})

    def warning(self, message: str) -> None:
        self.queue.put({"event": "warning", "message": message})


class ShardWorker:
    """A Ray actor: runs shards of one run (as local runs with ``shard`` set)."""

    def __init__(
        self,
        effect,
        input: str,
        output: str,
        settings: dict[str, Any],
        options,
        compute_threads: int | None = None,
    ) -> None:
        self.effect, self.input, self.output = effect, input, output
        self.settings, self.options = settings, options
        self.compute_threads = compute_threads

    def run(self, frames: list[int], shard: str, queue, segment: str | None) -> dict[str, Any]:
        """Run the shard ``frames``; ``segment``: the video file to write them to, when the
        output is a video (the driver joins the segments)."""
        from ..runner import run

        if self.compute_threads:  # see RayExecutor._run_shards
            torch.set_num_threads(self.compute_threads)
        opts = dataclasses.replace(
            self.options,
            frames=frame_ranges(frames),
            executor="local",
            ray_address=None,
            actors=None,
            shard=shard,
            overwrite=self.options.overwrite or segment is not None,
        )
        try:
            summary = run(
                self.effect,
                self.input,
                segment or self.output,
                settings=self.settings,
                options=opts,
                reporter=ShardReporter(queue, shard),
            )
        except NeuralFXError as exc:  # rebuilt by the driver: exceptions' kwargs do not pickle
            return {
                "error": type(exc).__name__,
                "message": exc.message,
                "hint": exc.hint,
                "frame": getattr(exc, "frame", None),
                "path": getattr(exc, "path", None),
            }
        return {"written": summary.written, "device": summary.device}


class RayExecutor:
    def __init__(self, plan: Plan, effect, settings: dict[str, Any], reporter: Reporter) -> None:
        try:
            import ray  # noqa: F401
        except ImportError:
            raise ParameterError(
                "executor: --executor ray needs the package ray", hint=INSTALL_HINT
            ) from None
        self.plan, self.effect, self.settings, self.reporter = plan, effect, settings, reporter
        self.opts = plan.opts
        self.marks = OutputMarks(plan.spec, plan.opts, plan)

    def run(self) -> RunSummary:
        import ray
        from ray.util.queue import Queue

        plan, opts = self.plan, self.opts
        started = time.perf_counter()
        parts, share, where = [], {}, "ray (nothing to do)"
        if plan.todo:  # a cluster only when there is work for it
            parts, share, where = self._connect(ray)
        self.reporter.start(
            effect=plan.spec.name,
            input=plan.input,
            output=plan.output,
            total=len(plan.todo),
            skipped=plan.skipped,
            device=where,
            batch_size=opts.batch_size,
            **self.marks.info(),
        )
        written: set[int] = set()
        try:
            if plan.todo:
                plan.prepare_output()  # folder, stale temps, the journal: once, here
                self._run_shards(ray, Queue, parts, share, written)
        finally:
            plan.close()
        seconds = time.perf_counter() - started
        summary = RunSummary(len(written), plan.skipped, seconds, where)
        record = self.marks.write_provenance(len(written)) if written else None
        self.reporter.done(
            written=len(written),
            skipped=plan.skipped,
            seconds=round(seconds, 3),
            fps=round(summary.fps, 3),
            **({"provenance": record} if record else {}),
        )
        return summary

    def _connect(self, ray) -> tuple[list[list[int]], dict[str, float], str]:
        """Join (or start) the cluster; the shards, each actor's share of it, and a name."""
        opts = self.opts
        if not ray.is_initialized():
            local = {} if opts.ray_address else {"_node_ip_address": "127.0.0.1"}
            try:
                ray.init(
                    address=opts.ray_address,
                    include_dashboard=False,
                    log_to_driver=False,
                    logging_level="error",
                    **local,
                )
            except Exception as exc:  # Ray raises several kinds for an unreachable cluster
                where = opts.ray_address or "a local Ray instance"
                raise ParameterError(
                    f"address: cannot start or reach {where}: {exc}",
                    hint="check the cluster with `ray status` on its head "
                    "node; a cluster started with `ray start` uses "
                    "token authentication: set RAY_AUTH_MODE=token "
                    "and RAY_AUTH_TOKEN (`ray get-auth-token` on the "
                    "head); or leave --address out to start a local "
                    "one",
                ) from None
        resources = ray.cluster_resources()
        gpus, cpus = int(resources.get("GPU", 0)), max(1, int(resources.get("CPU", 1)))
        use_gpu = gpus > 0 and opts.device != "cpu"
        # CPU actors compute with the driver's thread count (see _run_shards): by default as
        # many as the cluster's CPUs hold without sharing cores
        count = opts.actors or (gpus if use_gpu else max(1, cpus // torch.get_num_threads()))
        parts = shards(self.plan.todo, count)
        # Shares of the cluster, so that more actors than devices still all get scheduled.
        share = (
            {"num_gpus": min(1.0, gpus / len(parts)), "num_cpus": 1}
            if use_gpu
            else {"num_gpus": 0, "num_cpus": min(float(cpus), cpus / len(parts))}
        )
        return parts, share, f"ray: {len(parts)} {'GPU' if use_gpu else 'CPU'} actor(s)"

    def _run_shards(self, ray, Queue, parts, share, written: set[int]) -> None:
        plan, opts = self.plan, self.opts
        threads = max(1, int(share["num_cpus"]))
        options = dataclasses.replace(opts, workers=opts.workers or threads)
        # On the CPU a network's sums (norms, matrix products) are split over the threads, so
        # their last bits depend on how many there are: actors compute with the driver's
        # count (Ray would give each one thread per CPU it holds), so that every shard, on
        # whatever node, gives the frames of a local run on the driver's machine. (Effects that
        # paint in the decode workers, Effect.parallel_inspect, use one thread per frame
        # everywhere.)
        compute = None if share["num_gpus"] else torch.get_num_threads()
        actor = ray.remote(ShardWorker).options(
            **share,
            max_restarts=RETRIES,
            max_task_retries=RETRIES,
            runtime_env={"env_vars": forwarded_environment()},
        )
        queue = Queue()
        workers = [
            actor.remote(
                self.effect, plan.input, plan.output, dict(self.settings), options, compute
            )
            for _ in parts
        ]
        segments = (
            [segment_path(plan.sink.target) for _ in parts]
            if plan.sink.is_video
            else [None] * len(parts)
        )
        pending = {
            w.run.remote(part, f"shard-{i + 1}", queue, segments[i]): i
            for i, (w, part) in enumerate(zip(workers, parts, strict=True))
        }
        warned: set[str] = set()
        try:
            while pending:
                ready, _ = ray.wait(list(pending), num_returns=1, timeout=0.2)
                self._drain(queue, written, warned)
                for ref in ready:
                    shard = pending.pop(ref)
                    try:
                        outcome = ray.get(ref)
                    except ray.exceptions.RayActorError as exc:  # died, and again on retry
                        raise NeuralFXError(
                            f"shard {shard + 1} (frames {frame_ranges(parts[shard])}): its "
                            f"actor died {RETRIES + 1} times: {exc.__class__.__name__}",
                            hint="look for the cause in the Ray logs (out of memory, a lost "
                            "node); frames already written are kept, so run the same "
                            "command again to resume",
                        ) from None
                    if "error" in outcome:
                        self._drain(queue, written, warned)
                        raise _rebuild(outcome)
            self._drain(queue, written, warned)
            if plan.sink.is_video:
                self._join(segments)
            # A frame written just before its actor died has no event; its file says it.
            for frame in plan.todo:
                if frame not in written and os.path.exists(plan.sink.path(frame)):
                    written.add(frame)
                    self.reporter.frame(frame, plan.sink.path(frame), len(written), len(plan.todo))
        except KeyboardInterrupt:
            self._drain(queue, written, warned)
            self.reporter.interrupted(len(written), resumable=plan.resumable)
            raise
        finally:
            for w in workers:  # running writes are atomic; a killed actor leaves temps only
                ray.kill(w, no_restart=True)
            ray.kill(queue.actor, no_restart=True)
            for path in plan.sink.stale_temps():  # ...which go now, with the video segments
                with contextlib.suppress(OSError):
                    os.unlink(path)

    def _join(self, segments: list[str]) -> None:
        """The shards' video segments, one after another, into the output (no re-encoding),
        with the source's audio, signed if asked; atomic."""
        from ..encode import audio_to_copy, timecode_of_output, video_rate, write_error
        from ...frames import video_out

        plan = self.plan
        fps = video_rate(plan)
        audio_from, span = audio_to_copy(plan, fps, self.reporter.warning)
        try:
            video_out.join_segments(
                plan.sink.target,
                segments,
                fps=fps,
                audio_from=audio_from,
                audio_span=span,
                timecode=timecode_of_output(plan, fps),
                before_commit=lambda tmp: self.marks.sign(tmp, None),
            )
        except OSError as exc:
            raise write_error("video", plan.sink.target, exc, resumable=False) from None

    def _drain(self, queue, written: set[int], warned: set[str]) -> None:
        while not queue.empty():
            for event in queue.get_nowait_batch(queue.size()):
                if event["event"] == "frame" and event["frame"] not in written:
                    written.add(event["frame"])
                    path = self.plan.output if self.plan.sink.is_video else event["path"]
                    self.reporter.frame(event["frame"], path, len(written), len(self.plan.todo))
                elif event["event"] == "warning" and event["message"] not in warned:
                    warned.add(event["message"])
                    self.reporter.warning(event["message"])


def segment_path(target: str) -> str:
    """A hidden file beside the output for one shard's video; the name of a temporary file of
    the output, so a later run removes it if this one is killed."""
    directory, name = os.path.split(target)
    return os.path.join(
        directory, f".{name}{TEMP_MARK}{secrets.token_hex(4)}{os.path.splitext(name)[1]}"
    )


def _rebuild(outcome: dict[str, Any]) -> NeuralFXError:
    cls = getattr(errors, outcome["error"], NeuralFXError)
    if not (isinstance(cls, type) and issubclass(cls, NeuralFXError)):
        cls = NeuralFXError
    exc = NeuralFXError.__new__(cls)
    NeuralFXError.__init__(exc, outcome["message"], hint=outcome["hint"])
    exc.frame, exc.path = outcome["frame"], outcome["path"]
    return exc
