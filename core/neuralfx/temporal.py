"""Temporal consistency tools: optical flow, warping, occlusion masks, flicker measurement.

Flow comes from OpenCV's DIS (Kroeger et al. 2016), computed on the CPU on 8-bit luma; warping
and blending run on the frames' device. Conventions: ``flow_to_previous(cur, prev)`` gives, for
every pixel x of the current frame, the offset d such that ``prev(x + d) ≈ cur(x)``, so
``warp(prev_output, flow)`` aligns the previous output with the current frame.

A pixel is trusted where the forward-backward consistency check of Ruder et al. (2016),
"Artistic style transfer for videos", passes (following the flow to the previous frame and back
returns close to where it started) and where the warped previous frame matches the current one.
"""

from __future__ import annotations

import cv2
import numpy as np
import torch
import torch.nn.functional as F

_LUMA = torch.tensor([0.299, 0.587, 0.114])
#: Largest per-channel difference (in [0, 1]) between a frame and its warped predecessor for a
#: pixel to be trusted.
PHOTOMETRIC_TOLERANCE = 0.05
#: Luma step between neighbouring pixels (in [0, 1]) from which motion can be observed, and
#: the motion (pixels) below which a pixel counts as not moving.
TEXTURE = 0.01
STILL_MOTION = 0.5


def textured(rgb: torch.Tensor) -> torch.Tensor:
    """``(1, 1, H, W)`` bools: pixels with detail (a luma step of at least TEXTURE) within two
    pixels, where optical flow can be observed rather than guessed."""
    y = (rgb.float() * _LUMA.to(rgb.device).view(3, 1, 1)).sum(0)[None, None]
    step = torch.zeros_like(y)
    step[..., :, 1:] = (y[..., :, 1:] - y[..., :, :-1]).abs()
    step[..., 1:, :] = torch.maximum(step[..., 1:, :], (y[..., 1:, :] - y[..., :-1, :]).abs())
    return F.max_pool2d(step, 5, stride=1, padding=2) >= TEXTURE


def _gray_u8(rgb: torch.Tensor) -> np.ndarray:
    """``(3, H, W)`` float [0, 1] on any device → ``(H, W)`` uint8 luma on the host."""
    y = (rgb.float() * _LUMA.to(rgb.device).view(3, 1, 1)).sum(0)
    return (y.clamp(0, 1) * 255 + 0.5).to(torch.uint8).cpu().numpy()


class FlowEstimator:
    """DIS optical flow between consecutive frames.

    Flow is estimated on luma scaled down to at most ``max_side`` pixels (DIS runs on the CPU;
    at 1080p this keeps it to a few milliseconds) and scaled back up.
    """

    def __init__(self, preset: int = cv2.DISOPTICAL_FLOW_PRESET_MEDIUM,
                 max_side: int = 640) -> None:
        self.preset = preset
        self.max_side = max_side

    def flow(self, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
        """``(H, W, 2)`` float32 offsets d with ``dst(x + d) ≈ src(x)``.

        A fresh DIS instance per call: a reused one carries buffers from its previous call
        into the next result (measured: up to 1.25 px apart), so the flow between two frames
        would depend on what was computed before, and a resumed run would differ from a whole
        one."""
        return cv2.DISOpticalFlow_create(self.preset).calc(src, dst, None)

    def to_previous(self, cur: torch.Tensor, prev: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Flow from ``cur`` to ``prev`` (``(3, H, W)`` each) and the consistency mask.

        Returns ``flow`` ``(1, 2, H, W)`` and ``mask`` ``(1, 1, H, W)`` (1 = trusted) on the
        frames' device.
        """
        h, w = cur.shape[1:]
        scale = min(1.0, self.max_side / max(h, w))
        small = (max(1, round(h * scale)), max(1, round(w * scale)))
        g_cur, g_prev = (_gray_u8(F.interpolate(x[None].float(), size=small, mode="area")[0]
                                  if scale < 1 else x) for x in (cur, prev))
        back, fwd = (torch.from_numpy(self.flow(a, b)).permute(2, 0, 1)[None].to(cur.device)
                     for a, b in ((g_cur, g_prev), (g_prev, g_cur)))
        if scale < 1:  # back to full resolution, offsets in full-resolution pixels
            back, fwd = (F.interpolate(f, size=(h, w), mode="bilinear", align_corners=False)
                         / scale for f in (back, fwd))
        # Dense flow bleeds across the edges of moving objects on flat backgrounds, and both
        # directions bleed alike; the photometric check catches what the consistency check
        # passes: the previous frame warped by the flow must look like the current one.
        warped_prev = warp(prev[None].float(), back)
        photometric = ((warped_prev - cur[None].float()).abs().amax(1, keepdim=True)
                       < PHOTOMETRIC_TOLERANCE).float()
        # In flat areas any small shift looks right, so motion there is a guess (typically
        # the motion of a nearby object bleeding into sky): trust it only where it is none.
        # Carrying painted texture along such guesses drew streaks behind a moving sun.
        observable = (textured(cur) | (back.norm(dim=1, keepdim=True) < STILL_MOTION)).float()
        return back, consistency_mask(back, fwd) * photometric * observable


#: A pixel whose input changes by less than HOLD_STILL (any channel, anywhere in its 5x5
#: neighbourhood) since the previous frame is still: it keeps its painted look. Up to
#: HOLD_CHANGING the hold fades out; beyond, the pixel is blended as usual. 4/255 covers the
#: noise of compressed video.
HOLD_STILL = 4 / 255
HOLD_CHANGING = 12 / 255


def still_weight(current: torch.Tensor, previous: torch.Tensor) -> torch.Tensor:
    """``(N, 1, H, W)`` in [0, 1]: 1 where the input did not change since the previous frame
    (at the same place: no flow involved, so flat still areas where flow is unreliable count
    too), 0 where it changed by HOLD_CHANGING or more."""
    change = (current.float() - previous.float()).abs().amax(1, keepdim=True)
    change = F.max_pool2d(change, 5, stride=1, padding=2)
    return 1 - ((change - HOLD_STILL) / (HOLD_CHANGING - HOLD_STILL)).clamp(0, 1)


def stabilise(fresh: torch.Tensor, previous_output: torch.Tensor, current: torch.Tensor,
              previous: torch.Tensor, flow: torch.Tensor, mask: torch.Tensor,
              stability: float) -> torch.Tensor:
    """A stabilised frame ``(1, C, H, W)``: the fresh stylisation blended, where the flow is
    trusted (``mask``), with the previous output warped to this frame, by ``stability``.

    Where the input did not change (:func:`still_weight`), the previous output is held as it
    is, unwarped: a still background keeps its painted look instead of following the small
    changes of the stylisation (which sees the whole frame, so a moving object elsewhere
    changes it), and neither flow noise in flat areas nor repeated resampling can move or blur
    it. Where the input changes, the blend is as above. (The price: a perfectly flat moving
    area, whose pixels do not change, keeps its painted texture on the screen.)
    """
    if stability <= 0:
        return fresh
    hold = still_weight(current, previous)
    weight = (stability + (1 - stability) * hold) * torch.maximum(mask, hold)
    return torch.lerp(fresh, carry(previous_output, flow, hold).to(fresh.dtype), weight)


def carry(previous: torch.Tensor, flow: torch.Tensor, hold: torch.Tensor) -> torch.Tensor:
    """What of the previous frame's ``(1, C, H, W)`` image (its output, or any per-pixel state
    such as Gatys' starting noise) lands on each pixel of this frame: warped along the flow
    where things move, taken as it is where the input stands still (weight ``hold``)."""
    return torch.lerp(warp(previous, flow), previous.float(), hold)


def _grid(flow: torch.Tensor) -> torch.Tensor:
    """Sampling grid for ``grid_sample`` from pixel offsets ``(N, 2, H, W)``."""
    h, w = flow.shape[2:]
    ys, xs = torch.meshgrid(torch.arange(h, device=flow.device, dtype=flow.dtype),
                            torch.arange(w, device=flow.device, dtype=flow.dtype), indexing="ij")
    x = (xs + flow[:, 0]) * (2.0 / max(w - 1, 1)) - 1.0
    y = (ys + flow[:, 1]) * (2.0 / max(h - 1, 1)) - 1.0
    return torch.stack([x, y], dim=-1)


def warp(image: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """Sample ``image`` ``(N, C, H, W)`` at ``x + flow(x)`` (bilinear, border-clamped)."""
    grid = _grid(flow.to(image.device, torch.float32))
    return F.grid_sample(image.float(), grid, mode="bilinear", padding_mode="border",
                         align_corners=True).to(image.dtype)


def consistency_mask(back: torch.Tensor, fwd: torch.Tensor) -> torch.Tensor:
    """1 where ``back`` (cur→prev) and ``fwd`` (prev→cur) agree, 0 at occlusions and motion
    boundaries: ``|b + f(x+b)|² ≤ 0.01 (|b|² + |f(x+b)|²) + 0.5`` (Ruder et al. 2016)."""
    f_at = warp(fwd, back)
    total = back + f_at
    lhs = (total ** 2).sum(1, keepdim=True)
    rhs = 0.01 * ((back ** 2).sum(1, keepdim=True) + (f_at ** 2).sum(1, keepdim=True)) + 0.5
    return (lhs <= rhs).float()


def warping_error(outputs: list[torch.Tensor], inputs: list[torch.Tensor],
                  estimator: FlowEstimator | None = None) -> float:
    """Flicker figure: mean over consecutive pairs of the masked mean squared difference
    between output t and output t-1 warped to t (flow from the *inputs*). Lower is steadier.

    ``outputs`` and ``inputs`` are lists of ``(3, H, W)`` float tensors in [0, 1].
    """
    estimator = estimator or FlowEstimator()
    errors = []
    for t in range(1, len(outputs)):
        flow, mask = estimator.to_previous(inputs[t], inputs[t - 1])
        warped = warp(outputs[t - 1][None].float(), flow)
        diff = ((outputs[t][None].float() - warped) ** 2).mean(1, keepdim=True)
        errors.append(float((diff * mask).sum() / mask.sum().clamp(min=1)))
    return float(np.mean(errors)) if errors else 0.0


# -- what a viewer sees: flicker, drift and smear (bench/flicker.py, docs/painting-style.md) --------
#: Largest change (in [0, 1], any channel) of an input pixel over the clip to count as static.
STATIC_TOLERANCE = 2 / 255
#: Smallest change of an input pixel, unexplained by the motion, that counts as new content.
NEW_CONTENT = 0.1


def static_mask(inputs: list[torch.Tensor], margin: int = 4) -> torch.Tensor:
    """``(H, W)`` bools: pixels whose input never changes by more than 2/255 over the clip
    (and not within ``margin`` pixels of one that does, where outputs may bleed)."""
    first = inputs[0].float()
    change = torch.stack([(x.float() - first).abs().amax(0) for x in inputs]).amax(0)
    moving = (change > STATIC_TOLERANCE).float()[None, None]
    if margin:
        moving = F.max_pool2d(moving, 2 * margin + 1, stride=1, padding=margin)
    return moving[0, 0] == 0


def static_flicker(outputs: list[torch.Tensor], static: torch.Tensor) -> float:
    """Mean absolute change between consecutive outputs on static pixels (what shimmers
    where nothing moves)."""
    diffs = [(b.float() - a.float()).abs().mean(0)[static].mean() for a, b in
             zip(outputs, outputs[1:])]
    return float(torch.stack(diffs).mean()) if diffs else 0.0


def static_drift(outputs: list[torch.Tensor], static: torch.Tensor) -> float:
    """Mean absolute difference between the last and the first output on static pixels (a
    look that slowly changes where nothing moves)."""
    return float((outputs[-1].float() - outputs[0].float()).abs().mean(0)[static].mean())


def new_content(inputs: list[torch.Tensor], estimator: FlowEstimator | None = None
                ) -> list[torch.Tensor]:
    """For each frame after the first, ``(H, W)`` bools: pixels whose input the motion from the
    previous frame does not explain (disoccluded, or newly lit): the previous frame warped by
    the flow differs by more than 0.1. Independent of the stabiliser's own trust mask."""
    estimator = estimator or FlowEstimator()
    masks = []
    for prev, cur in zip(inputs, inputs[1:]):
        flow, _ = estimator.to_previous(cur, prev)
        warped = warp(prev[None].float(), flow)[0]
        masks.append((warped - cur.float()).abs().amax(0) > NEW_CONTENT)
    return masks


def new_content_error(outputs: list[torch.Tensor], fresh: list[torch.Tensor],
                      masks: list[torch.Tensor]) -> tuple[float, float]:
    """Smear and halo: on new content, the mean absolute difference between each output and
    the per-frame stylisation ``fresh`` of that frame; and, for scale, how much ``fresh``
    itself changes there from the previous frame (what an unstabilised output shows)."""
    errors, changes = [], []
    for t, mask in enumerate(masks, start=1):
        if mask.any():
            errors.append((outputs[t].float() - fresh[t].float()).abs().mean(0)[mask].mean())
            changes.append((fresh[t].float() - fresh[t - 1].float()).abs().mean(0)[mask].mean())
    if not errors:
        return 0.0, 0.0
    return float(torch.stack(errors).mean()), float(torch.stack(changes).mean())


CROP_CHANGE_SCALE = 0.04  # where a crop's source changed this much (in [0, 1]), it follows it


def steady_crop(out: torch.Tensor, source: torch.Tensor, before_out: torch.Tensor,
                before_source: torch.Tensor, stability: float) -> torch.Tensor:
    """Tie a generated crop ``(3, S, S)`` to the same subject's crop in the previous frame.

    In an aligned crop (a tracked face, a tracked animal) a still subject lines up pixel for
    pixel, so no flow is needed: the result keeps ``stability`` of the previous result where
    the subject's own pixels did not change, and follows the new frame where they did (a blink,
    a turn). The change is averaged over 5x5 pixels, so grain and sensor noise do not count."""
    change = F.avg_pool2d((source.float() - before_source.float()).abs().mean(0, keepdim=True)
                          [None], 5, stride=1, padding=2, count_include_pad=False)[0]
    keep = stability * torch.exp(-change / CROP_CHANGE_SCALE)
    return out + keep * (before_out - out)
