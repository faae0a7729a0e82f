"""Executors schedule the frame stage (:mod:`neuralfx.pipeline.stage`) of a plan
(:mod:`neuralfx.pipeline.plan`): ``local`` on this machine's device, ``ray`` across the actors
of a Ray cluster."""

from __future__ import annotations

import dataclasses

from ...options import EXECUTORS  # noqa: F401  (declared with the run options)


@dataclasses.dataclass(frozen=True)
class RunSummary:
    """What a run did: frames written and skipped, seconds, and the device (or cluster)."""

    written: int
    skipped: int
    seconds: float
    device: str

    @property
    def fps(self) -> float:
        return self.written / self.seconds if self.seconds > 0 else 0.0
