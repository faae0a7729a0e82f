"""Temporal consistency tools: optical flow, warping, occlusion masks, flicker measurement.

Flow comes from OpenCV's DIS (Kroeger et al. 2016), computed on the CPU on 8-bit luma; warping
and blending run on the frames' device. Conventions: ``flow_to_previous(cur, prev)`` gives, for
every pixel x of the current frame, the offset d such that ``prev(x + d) ≈ cur(x)``, so
``warp(prev_output, flow)`` aligns the previous output with the current frame.

A pixel is trusted where the warped previous frame matches the current one (occluded and newly
revealed pixels land on something else) and where motion can be observed. The forward-backward
check of Ruder et al. (2016), "Artistic style transfer for videos"
(:func:`neuralfx.warping.consistency_mask`),
is what :mod:`neuralfx.consistency` measures occlusions with.
"""

from __future__ import annotations

import dataclasses
from concurrent.futures import Future, ThreadPoolExecutor

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from .warping import inside, warp

_LUMA = torch.tensor([0.299, 0.587, 0.114])
#: Largest per-channel difference (in [0, 1]) between a frame and its warped predecessor for a
#: pixel to be trusted.
PHOTOMETRIC_TOLERANCE = 0.1
#: Luma step between neighbouring pixels (in [0, 1]) from which motion can be observed, and
#: the motion (pixels) below which a pixel counts as not moving.
TEXTURE = 0.01
STILL_MOTION = 0.5
#: Below TEXTURE, motion can still be seen where it sweeps a gentle gradient far enough to
#: change what the pixel shows by this much (luma step per pixel x pixels moved): a surface
#: blurred by its own speed, a shaded wall in a fast pan.
SWEPT = 0.03


def _per_plane(x: torch.Tensor, op) -> torch.Tensor:
    """``op`` (an OpenCV filter of one float32 image) over every plane of CPU ``(N, C, H, W)``
    ``x``: OpenCV's filters take a fraction of torch's stride-1 pooling time on the CPU."""
    flat = x.float().reshape(-1, *x.shape[2:]).numpy()
    return torch.from_numpy(np.stack([op(plane) for plane in flat])).reshape(x.shape)


def max_filter(x: torch.Tensor, size: int) -> torch.Tensor:
    """The largest value in each ``size``x``size`` neighbourhood of ``(N, C, H, W)`` ``x``.
    On the CPU through OpenCV's dilation (0.2 ms at 640x360, where torch's stride-1 max pool
    takes 13 ms); elsewhere a separable max pool."""
    if x.device.type == "cpu":
        kernel = np.ones((size, size), np.uint8)
        return _per_plane(x, lambda p: cv2.dilate(p, kernel, borderType=cv2.BORDER_REPLICATE))
    pad = size // 2
    x = F.max_pool2d(x.float(), (1, size), stride=1, padding=(0, pad))
    return F.max_pool2d(x, (size, 1), stride=1, padding=(pad, 0))


def box_mean(x: torch.Tensor, size: int) -> torch.Tensor:
    """The mean of each ``size``x``size`` neighbourhood of ``(N, C, H, W)`` ``x`` (OpenCV's box
    filter on the CPU, average pooling elsewhere)."""
    if x.device.type == "cpu":
        return _per_plane(x, lambda p: cv2.blur(p, (size, size)))
    return F.avg_pool2d(x.float(), size, stride=1, padding=size // 2, count_include_pad=False)


def luma_step(rgb: torch.Tensor) -> torch.Tensor:
    """``(1, 1, H, W)``: the largest luma step between neighbouring pixels of ``(3, H, W)``
    ``rgb`` within two pixels, in [0, 1] per pixel."""
    y = _luma_of(rgb)[None, None]
    step = torch.zeros_like(y)
    step[..., :, 1:] = (y[..., :, 1:] - y[..., :, :-1]).abs()
    step[..., 1:, :] = torch.maximum(step[..., 1:, :], (y[..., 1:, :] - y[..., :-1, :]).abs())
    return max_filter(step, 5)


def textured(rgb: torch.Tensor) -> torch.Tensor:
    """``(1, 1, H, W)`` bools: pixels with detail (a luma step of at least TEXTURE) within two
    pixels, where optical flow of any length can be observed rather than guessed."""
    return luma_step(rgb) >= TEXTURE


def _luma_of(rgb: torch.Tensor) -> torch.Tensor:
    """``(H, W)`` luma of ``(3, H, W)`` ``rgb``: one matrix-vector product (a weighted sum
    over a broadcast product took 4x as long at 640x360)."""
    return torch.tensordot(_LUMA.to(rgb.device), rgb.float(), dims=1)


def _gray_u8(rgb: torch.Tensor) -> np.ndarray:
    """``(3, H, W)`` float [0, 1] on any device → ``(H, W)`` uint8 luma on the host."""
    y = _luma_of(rgb)
    return (y.clamp(0, 1) * 255 + 0.5).to(torch.uint8).cpu().numpy()


class FlowEstimator:
    """DIS optical flow from each frame to the previous one, and where to trust it.

    Flow is estimated on luma scaled down to at most ``max_side`` pixels (DIS runs on the CPU;
    at 1080p this keeps it to a few milliseconds) and scaled back up. The luma of the last
    frame seen is kept, so a clip's frames are each converted once."""

    def __init__(
        self, preset: int = cv2.DISOPTICAL_FLOW_PRESET_MEDIUM, max_side: int = 640
    ) -> None:
        self.preset = preset
        self.max_side = max_side
        self._last: tuple[torch.Tensor, float, np.ndarray] | None = None

    def flow(self, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
        """``(H, W, 2)`` float32 offsets d with ``dst(x + d) ≈ src(x)``.

        A fresh DIS instance per call: a reused one carries buffers from its previous call
        into the next result (measured: up to 1.25 px apart), so the flow between two frames
        would depend on what was computed before, and a resumed run would differ from a whole
        one. Without the preset's variational refinement: it took 16 of DIS's 37 ms a frame at
        640x360 on one core, and the stabilised output measured as steady or steadier without
        it (dumoulin and ghiasi on the bench clips: every warping error within 0.01 or lower,
        up to 0.03 lower on moving pixels)."""
        dis = cv2.DISOpticalFlow_create(self.preset)
        dis.setVariationalRefinementIterations(0)
        return dis.calc(src, dst, None)

    def _luma(self, frame: torch.Tensor, scale: float) -> np.ndarray:
        last = self._last
        if last is not None and last[0] is frame and last[1] == scale:
            return last[2]
        h, w = frame.shape[1:]
        small = (max(1, round(h * scale)), max(1, round(w * scale)))
        luma = _gray_u8(
            F.interpolate(frame[None].float(), size=small, mode="area")[0] if scale < 1 else frame
        )
        self._last = (frame, scale, luma)
        return luma

    def flow_to_previous(self, cur: torch.Tensor, prev: torch.Tensor) -> torch.Tensor:
        """``(1, 2, H, W)`` flow from ``cur`` to ``prev`` (``(3, H, W)`` each), in full-size
        pixels: the costly part of :meth:`to_previous` (OpenCV, which releases the GIL), so
        that it can run in another thread while the frames are painted."""
        h, w = cur.shape[1:]
        scale = min(1.0, self.max_side / max(h, w))
        before = self._luma(prev, scale)
        flow = self.flow(self._luma(cur, scale), before)
        flow = torch.from_numpy(flow).permute(2, 0, 1)[None].to(cur.device)
        if scale < 1:
            flow = F.interpolate(flow, size=(h, w), mode="bilinear", align_corners=False) / scale
        return flow

    def to_previous(
        self, cur: torch.Tensor, prev: torch.Tensor, flow: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Flow from ``cur`` to ``prev`` (``(3, H, W)`` each) and where it can be trusted.

        Returns ``flow`` ``(1, 2, H, W)`` and ``mask`` ``(1, 1, H, W)`` (1 = trusted) on the
        frames' device. ``flow``: :meth:`flow_to_previous` of the same pair, if already
        computed.

        A pixel is trusted where the previous frame, warped along the flow, shows what the
        current one shows (an occluded or newly revealed pixel lands on something else),
        where motion can be seen at all, and where the flow stays inside the frame. (Ruder
        et al.'s forward-backward check was the occlusion test until 2026-12: it needs a
        second flow, a third of the stabiliser's time, and rejected so many pixels of visible
        moving content over DIS's sub-pixel disagreements that, on the bench clips, the
        warping error of moving pixels was 0.39 of the per-frame run with it and 0.27
        without; on pixels the reference check calls occluded, the stabilised frame keeps
        0.075 from the fresh look against 0.053, below the 0.086 of visible moving pixels.)"""
        flow, mask, _ = self.observe(cur, prev, flow)
        return flow, mask

    def observe(
        self, cur: torch.Tensor, prev: torch.Tensor, flow: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """:meth:`to_previous`'s ``flow`` and ``mask``, and ``drifting`` ``(1, 1, H, W)``: 1
        where the trusted flow moves the picture by half a pixel or more over detail and
        explains what changed better than no motion does (sums of squared differences over
        5x5 pixels). A slow drift or pan over soft detail changes each pixel by less than the
        stabiliser's HOLD_STILL, and there the flow, not the input, says that the picture
        moved."""
        if flow is None:
            flow = self.flow_to_previous(cur, prev)
        unexplained = warp(prev[None].float(), flow) - cur[None].float()
        photometric = (unexplained.abs().amax(1, keepdim=True) < PHOTOMETRIC_TOLERANCE).float()
        # In flat areas any small shift looks right, so motion there is a guess (typically
        # the motion of a nearby object bleeding into sky): trust it only where it is none.
        # Carrying painted texture along such guesses drew streaks behind a moving sun. A
        # gentle gradient shows a long motion as well as detail shows a short one (a bus
        # blurred by its speed, a fast pan over shading; SWEPT): on the bench clips, the
        # all-pixel warping error of the walker, pan and bus clips fell by 0.01-0.06 of the
        # per-frame run (ghiasi, dumoulin), wakes grew by 0.03 at most, and the other clips
        # moved by 0.01 at most.
        # (Squared lengths: torch's norm over the two flow channels of an NCHW tensor took
        # 70 ms at 720p on two cores, the stabiliser's largest cost.)
        length2 = flow.square().sum(1, keepdim=True)
        step = luma_step(cur)
        observable = (
            (step >= TEXTURE) | (length2 < STILL_MOTION**2) | (step.square() * length2 >= SWEPT**2)
        ).float()
        mask = photometric * observable * inside(flow)
        explained = box_mean(unexplained.square().sum(1, keepdim=True), 5) < box_mean(
            (prev - cur).float().square().sum(0, keepdim=True)[None], 5
        )
        drifting = mask * ((length2 >= STILL_MOTION**2) & (step >= TEXTURE) & explained)
        return flow, mask, drifting


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
#: A frame whose trusted share (flow consistent and explaining the picture) falls below this,
#: while most of it changes, starts a new shot: nothing is carried across it.
CUT_TRUST = 0.15


def still_weight(current: torch.Tensor, previous: torch.Tensor) -> torch.Tensor:
    """``(N, 1, H, W)`` in [0, 1]: 1 where the input did not change since the previous frame
    (at the same place: no flow involved, so flat still areas where flow is unreliable count
    too), 0 where it changed by HOLD_CHANGING or more."""
    change = (current.float() - previous.float()).abs().amax(1, keepdim=True)
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

    def carry(self, previous: torch.Tensor) -> torch.Tensor:
        """What of the previous frame's ``(1, C, H, W)`` image (its output, or any per-pixel
        state an effect carries) lands on each pixel of this frame: warped along the flow
        where things move, taken as it is where the input stands still."""
        return torch.lerp(warp(previous, self.flow), previous.float(), self.hold)


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
        flow, mask, drifting = self.estimator.observe(frame, previous, flow)
        hold = still_weight(frame[None], previous[None])
        if float(mask.mean()) < CUT_TRUST and float(hold.mean()) < 0.5:
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
        return Tie(flow, trusted, hold * (1 - drifting), weight, unsettled)

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
