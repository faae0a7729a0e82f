"""Temporal stabilisation shared by every effect that ties a frame's output to the previous
one: the :class:`Stabiliser` (flow-guided, per pixel) and :func:`steady_crop` (for crops, no
flow). The flow and where it is trusted come from :mod:`neuralfx.flow`; its public names are
re-exported here, the module plugins import.
"""

from __future__ import annotations

import dataclasses
from concurrent.futures import Future, ThreadPoolExecutor

import torch
import torch.nn.functional as F

from .flow import (
    MISREGISTRATION,
    PHOTOMETRIC_TOLERANCE,
    STILL_MOTION,
    SWEPT,
    TEXTURE,
    FlowEstimator,
    Observation,
    box_mean,
    luma_step,
    max_filter,
    textured,
)
from .warping import Along

__all__ = [
    "CUT_TRUST",
    "HOLD_CHANGING",
    "HOLD_STILL",
    "MISREGISTRATION",
    "PHOTOMETRIC_TOLERANCE",
    "SETTLE",
    "STILL_MOTION",
    "SWEPT",
    "TEXTURE",
    "UNSETTLED_FLOOR",
    "UNSETTLED_KEEP",
    "FlowEstimator",
    "Observation",
    "Stabiliser",
    "Tie",
    "box_mean",
    "luma_step",
    "max_filter",
    "steady_crop",
    "still_weight",
    "textured",
]

#: A pixel whose input changes by less than HOLD_STILL (any channel, anywhere in its 5x5
#: neighbourhood) since the previous frame is still; up to HOLD_CHANGING it fades to changing.
#: 4/255 covers the noise of compressed video.
HOLD_STILL = 4 / 255
HOLD_CHANGING = 12 / 255
#: After its input stops changing, a pixel goes on following the fresh look for a few frames:
#: each frame keeps this share of its remaining freedom (0.8: about a tenth is left after ten
#: frames, and it is held once below UNSETTLED_FLOOR).
SETTLE = 0.8
UNSETTLED_FLOOR = 1e-3
#: The share of its carried look that a still pixel keeps right after its input changed: low, so
#: that the look painted once the change is over replaces what was there (no wake), not zero,
#: so that compression noise and flat moving areas do not flicker.
UNSETTLED_KEEP = 0.4
#: A frame whose share of pixels the flow explains exactly (:attr:`Observation.exact`) falls
#: below this, while most of it changes, starts a new shot: nothing is carried across it.
CUT_TRUST = 0.15


def still_weight(current: torch.Tensor, previous: torch.Tensor) -> torch.Tensor:
    """``(N, 1, H, W)`` in [0, 1]: 1 where the input did not change since the previous frame
    (at the same place: no flow involved, so flat still areas where flow is unreliable count
    too), 0 where it changed by HOLD_CHANGING or more."""
    change = (current.float() - previous.float()).abs_().amax(1, keepdim=True)
    change = max_filter(change, 5)
    return 1 - ((change - HOLD_STILL) / (HOLD_CHANGING - HOLD_STILL)).clamp(0, 1)


@dataclasses.dataclass
class Tie:
    """How one frame is tied to the previous: ``flow`` to it ``(1, 2, H, W)``, ``trusted``
    (where what the previous frame held belongs here too: along trusted flow where the input
    moves; where it stands still, as far as the pixel has settled since its input last
    changed, so that nothing painted while an object passed stays behind it), ``hold`` (where
    the previous frame's look is taken in place: the input did not change here,
    :func:`still_weight`, and the flow does not show the picture drifting,
    :meth:`FlowEstimator.observe`) and ``weight``, the share of the carried previous output in
    the result, each ``(1, 1, H, W)``."""

    flow: torch.Tensor
    trusted: torch.Tensor
    hold: torch.Tensor
    weight: torch.Tensor
    #: the unsettled map after this frame (the stabiliser keeps it once the frame is blended)
    unsettled: torch.Tensor
    #: moves images along ``flow`` (its sampling grid built once for the frame)
    along: Along | None = None

    def carry(self, previous: torch.Tensor) -> torch.Tensor:
        """What of the previous frame's ``(1, C, H, W)`` image (its output, or any per-pixel
        state an effect carries) lands on each pixel of this frame: warped along the flow
        where things move, taken as it is where the input stands still."""
        along = self.along or Along(self.flow)
        return torch.lerp(along.warp(previous), previous.float(), self.hold)


class Stabiliser:
    """Ties each output to the previous one (Ruder et al. 2016, as a blend): what a viewer
    should see is one painting that moves with the picture, not a new one every frame.

    Per pixel, the fresh stylisation ``U`` is blended with the carried previous output ``C``
    (:meth:`Tie.carry`) by a weight ``W``:

    * **moving and visible in the previous frame** (:meth:`FlowEstimator.to_previous`):
      ``W = stability``; the previous output travels along the flow, so moving content keeps
      its strokes and, through the recursion, carries every earlier frame in which the chain of
      visibility holds (long-term consistency without storing the frames);
    * **disoccluded or newly revealed** (no trusted flow): ``W = 0``, the current look;
    * **still** (input unchanged at this place): held, ``W = 1`` exactly, so a still background
      neither shimmers nor drifts; in place, unless the flow shows the picture drifting under
      it (a slow pan over soft detail, :meth:`FlowEstimator.observe`), where it is carried
      along the flow; but a pixel whose input changed recently (motion crossed it,
      the light changed) is *unsettled* and goes on following ``U`` as a moving pixel does,
      its freedom shrinking by SETTLE each frame until it is held. So the look that is held
      behind a moving object is the one painted once the object has gone, not a smear of it:
      no wake.
    * **a cut** (almost nothing trusted while most pixels change): nothing is carried; the new
      shot starts as the first frame does.

    The state (previous input and output, the unsettled map) is plain tensors
    (:meth:`state_dict`), so the host can snapshot and resume it exactly."""

    def __init__(self, stability: float, estimator: FlowEstimator | None = None) -> None:
        self.stability = stability
        self.estimator = estimator or FlowEstimator()
        self.previous_input: torch.Tensor | None = None
        self.previous_output: torch.Tensor | None = None
        self.unsettled: torch.Tensor | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._pending: list[tuple[int, Future]] = []

    def prepare(self, frames: torch.Tensor) -> None:
        """Start estimating the flows of a batch ``(N, 3, H, W)`` in a background thread, so
        that they overlap the painting of the same frames; :meth:`tie` then takes them. (The
        results are the same computed here or there.) Only when the frames are painted on
        another device: on the CPU the cores are busy painting, and the overlap only added
        contention (the README's main job: 5.8 s against 5.4 s on two cores)."""
        self._pending = []
        if self.stability <= 0 or frames.device.type == "cpu":
            return
        if self._pool is None:
            self._pool = ThreadPoolExecutor(1, thread_name_prefix="neuralfx-flow")
        previous = self.previous_input
        for frame in frames:
            if previous is not None and previous.shape == frame.shape:
                self._pending.append(
                    (
                        frame.data_ptr(),
                        self._pool.submit(self.estimator.flow_to_previous, frame, previous),
                    )
                )
            previous = frame

    def tie(self, frame: torch.Tensor) -> Tie | None:
        """The tie of ``frame`` ``(3, H, W)`` to the previous one; None for the first frame of
        a shot (the start, a cut, a change of size), whose output is its fresh look."""
        previous = self.previous_input
        if self.stability <= 0 or previous is None or previous.shape != frame.shape:
            return None
        flow = None
        while self._pending and flow is None:
            pointer, future = self._pending.pop(0)
            if pointer == frame.data_ptr():
                flow = future.result()
        if flow is None:
            flow = self.estimator.flow_to_previous(frame, previous)
        along = Along(flow)  # the previous input moves along it now, the output in blend()
        flow, mask, drifting, exact = self.estimator.observe(frame, previous, flow, along)
        hold = still_weight(frame[None], previous[None])
        if float(exact.mean()) < CUT_TRUST and float(hold.mean()) < 0.5:
            return None
        # Freedom to follow the fresh look: 1 where the input changes now, decaying by
        # SETTLE per frame once it stops; held exactly once below the floor.
        unsettled = torch.maximum(1 - hold, SETTLE * self.unsettled)
        unsettled = unsettled * (unsettled >= UNSETTLED_FLOOR)
        w = self.stability
        still = 1 - (1 - UNSETTLED_KEEP) * unsettled
        weight = hold * still + (1 - hold) * w * mask
        trusted = hold * (1 - unsettled) + (1 - hold) * mask
        # Where the picture drifts under a still-looking input, the look is carried along the
        # flow rather than held in place (it keeps its weight: held, it would have stayed on
        # the screen while the picture slid under it). gatys on the walker clip (a camera
        # drifting 0.8 px a frame), first 16 frames: all-pixel warping error 0.51 to 0.28 of
        # the per-frame run.
        return Tie(flow, trusted, hold * (1 - drifting), weight, unsettled, along)

    def blend(self, frame: torch.Tensor, fresh: torch.Tensor, tie: Tie | None) -> torch.Tensor:
        """The output ``(1, C, H, W)`` for ``frame`` ``(3, H, W)`` from its fresh look, and the
        state for the next frame."""
        if tie is None:
            out = fresh
            self.unsettled = torch.zeros_like(frame[:1])[None].float()
        else:
            carried = tie.carry(self.previous_output[None]).to(fresh.dtype)
            out = torch.lerp(fresh, carried, tie.weight.to(fresh.dtype))
            self.unsettled = tie.unsettled
        self.previous_input, self.previous_output = frame, out[0]
        return out

    def state_dict(self) -> dict[str, torch.Tensor]:
        if self.previous_input is None:
            return {}
        return {
            "input": self.previous_input,
            "output": self.previous_output,
            "unsettled": self.unsettled,
        }

    def load_state_dict(self, state: dict[str, torch.Tensor], device) -> None:
        self._pending = []
        if not state:
            self.previous_input = self.previous_output = self.unsettled = None
            return
        self.previous_input = state["input"].to(device)
        self.previous_output = state["output"].to(device)
        self.unsettled = state["unsettled"].to(device)


CROP_CHANGE_SCALE = 0.04  # where a crop's source changed this much (in [0, 1]), it follows it


def steady_crop(
    out: torch.Tensor,
    source: torch.Tensor,
    before_out: torch.Tensor,
    before_source: torch.Tensor,
    stability: float,
) -> torch.Tensor:
    """Tie a generated crop ``(3, S, S)`` to the same subject's crop in the previous frame.

    In an aligned crop (a tracked face, a tracked animal) a still subject lines up pixel for
    pixel, so no flow is needed: the result keeps ``stability`` of the previous result where
    the subject's own pixels did not change, and follows the new frame where they did (a blink,
    a turn). The change is averaged over 5x5 pixels, so grain and sensor noise do not count."""
    change = F.avg_pool2d(
        (source.float() - before_source.float()).abs().mean(0, keepdim=True)[None],
        5,
        stride=1,
        padding=2,
        count_include_pad=False,
    )[0]
    keep = stability * torch.exp(-change / CROP_CHANGE_SCALE)
    return out + keep * (before_out - out)
