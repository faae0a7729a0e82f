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
        return back, consistency_mask(back, fwd) * photometric


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
