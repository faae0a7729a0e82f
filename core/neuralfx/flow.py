"""Optical flow between consecutive frames and where to trust it: the motion half of
:mod:`neuralfx.temporal` (which re-exports what plugins use from here).

Flow comes from OpenCV's DIS (Kroeger et al. 2016), computed on the CPU on 8-bit luma; warping
runs on the frames' device. Convention: ``flow_to_previous(cur, prev)`` gives, for every pixel x
of the current frame, the offset d such that ``prev(x + d) ≈ cur(x)``, so ``warp(prev_output,
flow)`` aligns the previous output with the current frame.

A pixel is trusted where the warped previous frame matches the current one, within a pixel
(occluded and newly revealed pixels land on something else) and where motion can be observed.
The forward-backward check of Ruder et al. (2016), "Artistic style transfer for videos"
(:func:`neuralfx.warping.consistency_mask`), is what :mod:`neuralfx.consistency` measures
occlusions with.
"""

from __future__ import annotations

from typing import NamedTuple

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from .warping import Along, inside

_LUMA = torch.tensor([0.299, 0.587, 0.114])
#: Largest per-channel difference (in [0, 1]) between a frame and its warped predecessor for a
#: pixel to be trusted: measured from the range the warped predecessor takes within
#: MISREGISTRATION pixels, so that a flow a fraction of a pixel off at a sharp edge still
#: explains it.
PHOTOMETRIC_TOLERANCE = 0.1
MISREGISTRATION = 1
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


def min_filter(x: torch.Tensor, size: int) -> torch.Tensor:
    """The smallest value in each ``size``x``size`` neighbourhood of ``(N, C, H, W)`` ``x``."""
    if x.device.type == "cpu":
        kernel = np.ones((size, size), np.uint8)
        return _per_plane(x, lambda p: cv2.erode(p, kernel, borderType=cv2.BORDER_REPLICATE))
    return -max_filter(-x.float(), size)


def misfit(
    x: torch.Tensor, reference: torch.Tensor, radius: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """How far ``(N, C, H, W)`` ``x`` lies from ``reference``, in the channel where it lies
    farthest, each ``(N, 1, H, W)``: at the very point, and outside the range ``reference``
    takes within ``radius`` pixels (0 inside it)."""
    size = 2 * radius + 1
    if x.device.type == "cpu":  # per plane through OpenCV: half of torch's time at 640x360
        kernel = np.ones((size, size), np.uint8)
        values = x.float().contiguous().numpy()
        references = reference.float().contiguous().numpy()
        point = np.empty((x.shape[0], 1, *x.shape[2:]), np.float32)
        outside = np.empty_like(point)
        # Two scratch planes, written in place: memory traffic, not arithmetic, is the cost
        # (a 1280x720 plane is 3.7 MB).
        lo, hi = np.empty(x.shape[2:], np.float32), np.empty(x.shape[2:], np.float32)
        for n, c in np.ndindex(*x.shape[:2]):
            v, r, at, off = values[n, c], references[n, c], point[n, 0], outside[n, 0]
            if c == 0:
                cv2.absdiff(v, r, dst=at)
            else:
                cv2.max(at, cv2.absdiff(v, r, dst=lo), dst=at)
            cv2.subtract(cv2.erode(r, kernel, dst=lo, borderType=cv2.BORDER_REPLICATE), v, dst=lo)
            cv2.subtract(v, cv2.dilate(r, kernel, dst=hi, borderType=cv2.BORDER_REPLICATE), dst=hi)
            if c == 0:
                cv2.max(lo, hi, dst=off)
            else:
                cv2.max(off, cv2.max(lo, hi, dst=lo), dst=off)
        return torch.from_numpy(point), torch.from_numpy(outside).clamp_(min=0)
    below = min_filter(reference, size) - x
    above = x - max_filter(reference, size)
    point = (x - reference).abs().amax(1, keepdim=True)
    return point, torch.maximum(below, above).clamp(min=0).amax(1, keepdim=True)


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


class Observation(NamedTuple):
    """What :meth:`FlowEstimator.observe` finds between a frame and the previous one, each
    ``(1, 1, H, W)`` but ``flow`` ``(1, 2, H, W)``."""

    flow: torch.Tensor
    #: 1 where the flow can be trusted (:meth:`FlowEstimator.to_previous`)
    trusted: torch.Tensor
    #: 1 where the trusted flow shows the picture drifting under a still-looking input
    drifting: torch.Tensor
    #: 1 where the warped previous frame matches at the very point, no misregistration
    #: allowed: the share of these says whether the frame continues the shot (a cut between
    #: busy textures leaves a third of its pixels within a pixel's range of something)
    exact: torch.Tensor


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
        current one shows within a pixel (an occluded or newly revealed pixel lands on
        something else), where motion can be seen at all, and where the flow stays inside the
        frame. (Ruder
        et al.'s forward-backward check was the occlusion test until 2026-12: it needs a
        second flow, a third of the stabiliser's time, and rejected so many pixels of visible
        moving content over DIS's sub-pixel disagreements that, on the bench clips, the
        warping error of moving pixels was 0.39 of the per-frame run with it and 0.27
        without; on pixels the reference check calls occluded, the stabilised frame keeps
        0.075 from the fresh look against 0.053, below the 0.086 of visible moving pixels.)"""
        seen = self.observe(cur, prev, flow)
        return seen.flow, seen.trusted

    def observe(
        self,
        cur: torch.Tensor,
        prev: torch.Tensor,
        flow: torch.Tensor | None = None,
        along: Along | None = None,
    ) -> Observation:
        """:meth:`to_previous`'s ``flow`` and ``mask`` (``trusted``), ``drifting``: 1 where
        the trusted flow moves the picture by half a pixel or more over detail and explains
        what changed better than no motion does (sums of squared differences over 5x5
        pixels), and ``exact``. A slow drift or pan over soft detail changes each pixel by
        less than the stabiliser's HOLD_STILL, and there the flow, not the input, says that
        the picture moved. ``along``: ``Along(flow)``, when the caller moves more images along
        the same flow (its sampling grid is then built once)."""
        if flow is None:
            flow = self.flow_to_previous(cur, prev)
        along = along if along is not None else Along(flow)
        current, warped = cur[None].float(), along.warp(prev[None].float())
        # Within a pixel of what the flow points at, not at the point itself: DIS is often a
        # fraction of a pixel off at sharp edges, where that alone changes the warped value by
        # more than the tolerance, and those pixels of visible moving content were painted
        # afresh. On the bench clips every warping error stayed level or fell, moving pixels' by
        # up to 0.06 of the per-frame run (street: dumoulin 0.23 to 0.18, ghiasi 0.30 to
        # 0.24), wakes moved by 0.01 at most, and the output on pixels the reference check
        # calls occluded stayed about as far from the fresh look as before (0.077 against
        # 0.074 on the bus clip; visible moving pixels: 0.091).
        here, off = misfit(current, warped, MISREGISTRATION)
        photometric = (off < PHOTOMETRIC_TOLERANCE).float()
        at_point = (here < PHOTOMETRIC_TOLERANCE).float()
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
        seen = observable * inside(flow)
        mask = photometric * seen
        # (Squared in place: each pass over a 1280x720 frame's three planes costs milliseconds.)
        explained = box_mean((warped - current).square_().sum(1, keepdim=True), 5) < box_mean(
            (prev - cur).float().square_().sum(0, keepdim=True)[None], 5
        )
        drifting = mask * ((length2 >= STILL_MOTION**2) & (step >= TEXTURE) & explained)
        return Observation(flow, mask, drifting, at_point * seen)
