"""Measures of temporal consistency, the way the field reports them (bench/flicker.py,
docs/painting-style.md, the tests).

Every measure takes the *source* frames as well as the outputs, and finds motion and occlusion
in the source with its own optical flow: OpenCV's Farnebäck at full resolution, a different
algorithm from the DIS flow the stabiliser uses (:mod:`neuralfx.temporal`), so a stabiliser is
never judged by the flow it was built on.

* :func:`warping_error`: Lai et al., "Learning Blind Video Temporal Consistency" (ECCV 2018):
  the mean squared RGB difference between each output and the previous output warped to it,
  over the pixels the forward-backward check calls visible in both, over all of them and over
  the moving ones separately.
* :func:`wake_figure`: whether a look goes stale where motion passed: |temporal - per-frame| on
  pixels still now but crossed by motion earlier, over the same on pixels never crossed.
  A look held where the source changed scores high; about 1 is no wake.
* :func:`static_flicker` and :func:`static_drift`: on pixels whose source never changes, the
  shimmer between consecutive outputs and the change between first and last.

Frames are ``(3, H, W)`` float tensors in [0, 1] on the CPU; flows are computed once per clip
(:class:`SourceMotion`) and shared by every output measured on it.
"""

from __future__ import annotations

import dataclasses
import math

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from .warping import consistency_mask, inside, warp

#: Flow (pixels a frame) from which a source pixel counts as moving.
MOVING = 1.0
#: Change (in [0, 1], any channel, 3x3 mean) of a source pixel at the same place that counts as
#: motion for the wake figure, beside the flow: content that changes without moving (light).
CHANGED = 12 / 255
#: Largest change of a source pixel over the clip for it to count as static (compression noise
#: stays below it), and the margin kept from any pixel that changes more.
STATIC_TOLERANCE = 2 / 255
STATIC_MARGIN = 4


def _gray(frame: torch.Tensor) -> np.ndarray:
    y = frame[0] * 0.299 + frame[1] * 0.587 + frame[2] * 0.114
    return (y.clamp(0, 1) * 255 + 0.5).to(torch.uint8).numpy()


def reference_flow(src: np.ndarray, dst: np.ndarray) -> torch.Tensor:
    """``(1, 2, H, W)`` Farnebäck offsets d with ``dst(x + d) ≈ src(x)`` (8-bit luma)."""
    flow = cv2.calcOpticalFlowFarneback(
        src,
        dst,
        None,
        pyr_scale=0.5,
        levels=5,
        winsize=15,
        iterations=3,
        poly_n=5,
        poly_sigma=1.2,
        flags=0,
    )
    return torch.from_numpy(flow).permute(2, 0, 1)[None]


@dataclasses.dataclass
class SourceMotion:
    """Per consecutive pair of source frames (t-1, t), t >= 1: the flow from t to t-1, the
    pixels of t visible in t-1 (forward-backward check, Ruder et al. 2016), the pixels of t
    that move, and the pixels that moved or changed at the same place (the wake's motion)."""

    flows: list[torch.Tensor]
    visible: list[torch.Tensor]
    moving: list[torch.Tensor]
    changed: list[torch.Tensor]

    @classmethod
    def of(cls, inputs: list[torch.Tensor]) -> SourceMotion:
        flows, visible, moving, changed = [], [], [], []
        grays = [_gray(x) for x in inputs]
        for t in range(1, len(inputs)):
            back = reference_flow(grays[t], grays[t - 1])
            fwd = reference_flow(grays[t - 1], grays[t])
            flows.append(back)
            visible.append((consistency_mask(back, fwd) * inside(back))[0, 0] > 0)
            speed = back[0].norm(dim=0)
            moving.append(speed >= MOVING)
            change = F.avg_pool2d(
                (inputs[t] - inputs[t - 1]).abs().amax(0)[None, None], 3, stride=1, padding=1
            )[0, 0]
            changed.append((speed >= MOVING) | (change > CHANGED))
        return cls(flows, visible, moving, changed)


def warping_error(outputs: list[torch.Tensor], motion: SourceMotion) -> dict[str, float]:
    """Lai et al.'s E_warp: the mean over pairs of ``sum_x M(x) |O_t(x) - W(O_{t-1})(x)|² /
    sum_x M(x)`` (squared L2 over RGB), with M the visible pixels (``"all"``) or the visible
    moving ones (``"moving"``). Lower is steadier."""
    sums = {"all": [], "moving": []}
    for t, (flow, vis, mov) in enumerate(zip(motion.flows, motion.visible, motion.moving), 1):
        warped = warp(outputs[t - 1][None].float(), flow)[0]
        err = ((outputs[t].float() - warped) ** 2).sum(0)
        for key, mask in (("all", vis), ("moving", vis & mov)):
            if mask.any():
                sums[key].append(float(err[mask].mean()))
    return {k: float(np.mean(v)) if v else float("nan") for k, v in sums.items()}


def wake_figure(
    temporal: list[torch.Tensor], per_frame: list[torch.Tensor], motion: SourceMotion
) -> float:
    """Mean |temporal - per-frame| on pixels still now (no motion or change since the last
    frame) that motion crossed at an earlier frame, over the same on still pixels never
    crossed, pooled over the clip. NaN where either set is empty (a pan)."""
    crossed, never = wake_means(temporal, per_frame, motion)
    if math.isnan(crossed) or math.isnan(never):
        return float("nan")
    return crossed / max(never, 1e-6)


def wake_means(
    temporal: list[torch.Tensor], per_frame: list[torch.Tensor], motion: SourceMotion
) -> tuple[float, float]:
    """The two means of :func:`wake_figure` (in [0, 1] units): behind motion, and where motion
    never passed. The first says how visible a wake is; the ratio alone does not, when the
    per-frame look barely changes on still pixels and the second is tiny. NaN for an empty
    set."""
    crossed = torch.zeros_like(motion.changed[0])
    sums = np.zeros(2)
    counts = np.zeros(2)
    for t, changed in enumerate(motion.changed, 1):
        still = ~changed
        diff = (temporal[t].float() - per_frame[t].float()).abs().mean(0)
        for i, mask in enumerate((still & crossed, still & ~crossed)):
            sums[i] += float(diff[mask].sum())
            counts[i] += int(mask.sum())
        crossed |= changed
    means = [s / c if c else float("nan") for s, c in zip(sums, counts)]
    return means[0], means[1]


def static_mask(inputs: list[torch.Tensor], margin: int = STATIC_MARGIN) -> torch.Tensor:
    """``(H, W)`` bools: pixels whose source never changes by more than 2/255 over the clip
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
    if not static.any():
        return float("nan")
    diffs = [
        (b.float() - a.float()).abs().mean(0)[static].mean() for a, b in zip(outputs, outputs[1:])
    ]
    return float(torch.stack(diffs).mean()) if diffs else 0.0


def static_drift(outputs: list[torch.Tensor], static: torch.Tensor) -> float:
    """Mean absolute difference between the last and the first output on static pixels (a
    look that slowly changes where nothing moves)."""
    if not static.any():
        return float("nan")
    return float((outputs[-1].float() - outputs[0].float()).abs().mean(0)[static].mean())
