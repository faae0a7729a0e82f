"""The local executor: one plan, one device, one process.

The frame stage yields processed batches; the encoder packs them, writes each frame atomically
(appending its record line first) or feeds the video writer, with at most ``lookahead`` frames
in flight. Ctrl-C lets running writes finish, so only complete files remain; the provenance
record is written at the end.
"""

from __future__ import annotations

import contextlib
import time

import torch

from . import RunSummary
from ..encode import Encoder
from ...frames import video
from ...frames.pixels import Picture
from ...frames.sequence import describe_frames
from ...marks.marking import OutputMarks
from ..plan import Plan
from ..progress import Reporter
from ..stage import FrameStage


class LocalExecutor:
    def __init__(
        self, plan: Plan, device: torch.device, dtype: torch.dtype, reporter: Reporter
    ) -> None:
        self.plan, self.device, self.reporter = plan, device, reporter
        self.marks = OutputMarks(plan.spec, plan.opts, plan)  # label, watermark, provenance, C2PA
        if self.marks.credentials is not None and not self.marks.can_sign(plan.output):
            reporter.warning(
                f"{plan.output}: C2PA has no way to embed a manifest in this "
                "format; only the provenance record beside it is written"
            )
        self.stage = FrameStage(plan, device, dtype, reporter, self.marks)
        self.encoder = Encoder(
            plan,
            self.stage.spaces,
            self.stage.decoder,
            device,
            reporter,
            lookahead=self.stage.lookahead,
            sign=self.marks.sign,
        )
        self.stage.on_first = self.encoder.plan_layout
        self.encoder.nonfinite_sources = self.stage.nonfinite_sources
        if plan.source.video_path:
            video.note_how_read(
                plan.source.video_path,
                plan.source.video_info,
                reporter.warning,
                colour_given=plan.opts.input_colorspace is not None,
            )
            video.warn_if_variable_rate(plan.source.video_path, reporter.warning)

    def run(self) -> RunSummary:
        started = time.perf_counter()
        plan, stage = self.plan, self.stage
        self.reporter.start(
            effect=plan.spec.name,
            input=plan.input,
            output=plan.output,
            total=len(plan.todo),
            skipped=plan.skipped,
            device=str(self.device),
            batch_size=stage.batch_size,
            **self.marks.info(),
            **({"layer": plan.source.layer_read} if plan.source.layer_read else {}),
        )
        replay = [f for f in plan.feed if f not in stage.todo]
        if replay:
            self.reporter.warning(
                f"{plan.spec.name} carries state from frame to frame: processing frames "
                f"{describe_frames(replay)} again (not written) so the frames to do come out "
                "exactly as in one uninterrupted run"
            )
        try:
            if plan.todo:
                self._write_all()
        finally:
            plan.close()
        seconds = time.perf_counter() - started
        written = self.encoder.written
        summary = RunSummary(written, plan.skipped, seconds, str(self.device))
        # A shard's driver writes the record for the whole run.
        record = self.marks.write_provenance(written) if written and not plan.opts.shard else None
        self.reporter.done(
            written=written,
            skipped=plan.skipped,
            seconds=round(seconds, 3),
            fps=round(summary.fps, 3),
            **({"provenance": record} if record else {}),
        )
        return summary

    def _write_all(self) -> None:
        encoder = self.encoder
        try:
            with contextlib.closing(self.stage.results()) as results:
                for result in results:
                    self.plan.prepare_output()
                    if isinstance(result, Picture):  # passed through: no device round trip
                        encoder.submit_picture(result)
                    else:
                        encoder.submit(result)
            encoder.finish()
        except KeyboardInterrupt:
            encoder.stop()
            self.reporter.interrupted(encoder.written, resumable=self.plan.resumable)
            raise
        except BaseException:
            encoder.stop()
            raise
        finally:
            encoder.shutdown()
