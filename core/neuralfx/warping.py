"""Images moved along optical flow: where each pixel's flow lands, sampling along it, whether it
lands inside the frame, and Ruder et al.'s forward-backward consistency check. Flows are pixel
offsets ``(N, 2, H, W)`` (x, then y) from each pixel of one frame to where it is in another;
shared by the stabiliser (:mod:`neuralfx.temporal`) and the measures (:mod:`neuralfx.consistency`).
"""

from __future__ import annotations

import functools

import torch
import torch.nn.functional as F


@functools.lru_cache(maxsize=1)
def _positions(
    h: int, w: int, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Every pixel's own position: x ``(W,)`` and y ``(H, 1)`` in pixels, and ``(1, H, W, 2)``
    in ``grid_sample``'s coordinates (-1 to 1 corner to corner). Kept for the last size seen
    (8 bytes a pixel): building them took most of a warp's time (7.5 of 11 ms at 640x360)."""
    xs = torch.arange(w, device=device, dtype=torch.float32)
    ys = torch.arange(h, device=device, dtype=torch.float32)[:, None]
    grid = torch.stack(
        torch.broadcast_tensors(xs * (2.0 / max(w - 1, 1)) - 1.0, ys * (2.0 / max(h - 1, 1)) - 1.0),
        -1,
    )
    return xs, ys, grid[None]


def _landing(flow: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Where ``x + flow(x)`` lands, in pixels: ``(N, H, W)`` x and y for offsets
    ``(N, 2, H, W)``."""
    xs, ys, _ = _positions(*flow.shape[2:], flow.device)
    return xs + flow[:, 0], ys + flow[:, 1]


def _grid(flow: torch.Tensor) -> torch.Tensor:
    """Sampling grid for ``grid_sample`` from pixel offsets ``(N, 2, H, W)``."""
    h, w = flow.shape[2:]
    _, _, base = _positions(h, w, flow.device)
    per_pixel = flow.new_tensor([2.0 / max(w - 1, 1), 2.0 / max(h - 1, 1)])
    return torch.addcmul(base, flow.permute(0, 2, 3, 1), per_pixel)


class Along:
    """Moves images ``(N, C, H, W)`` along one flow ``(N, 2, H, W)``: sampled at ``x + flow(x)``
    (bilinear, border-clamped), the sampling grid built once for all of them (the stabiliser
    moves the previous input and then the previous output along each frame's flow; the grid
    took a third of a warp's time at 1280x720).
    (Bicubic, tried for carrying outputs, kept sharper strokes that then measured less steady
    under an independent flow: 0.30 against 0.27 of the per-frame warping error.)"""

    def __init__(self, flow: torch.Tensor) -> None:
        self.flow = flow
        self._grid: torch.Tensor | None = None

    def warp(self, image: torch.Tensor) -> torch.Tensor:
        if self._grid is None or self._grid.device != image.device:
            self._grid = _grid(self.flow.to(image.device, torch.float32))
        return F.grid_sample(
            image.float(), self._grid, mode="bilinear", padding_mode="border", align_corners=True
        ).to(image.dtype)


def warp(image: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """Sample ``image`` ``(N, C, H, W)`` at ``x + flow(x)``: :class:`Along` for one image."""
    return Along(flow).warp(image)


def inside(flow: torch.Tensor) -> torch.Tensor:
    """``(N, 1, H, W)``: 1 where ``x + flow(x)`` lies within the frame (content that entered
    across the frame's edge has nothing to come from, whatever the clamped border looks like)."""
    h, w = flow.shape[2:]
    x, y = _landing(flow)
    return ((x >= 0) & (x <= w - 1) & (y >= 0) & (y <= h - 1)).float()[:, None]


def consistency_mask(back: torch.Tensor, fwd: torch.Tensor) -> torch.Tensor:
    """1 where ``back`` (cur→prev) and ``fwd`` (prev→cur) agree, 0 at occlusions and motion
    boundaries: ``|b + f(x+b)|² ≤ 0.01 (|b|² + |f(x+b)|²) + 0.5`` (Ruder et al. 2016)."""
    f_at = warp(fwd, back)
    total = back + f_at
    lhs = (total**2).sum(1, keepdim=True)
    rhs = 0.01 * ((back**2).sum(1, keepdim=True) + (f_at**2).sum(1, keepdim=True)) + 0.5
    return (lhs <= rhs).float()
