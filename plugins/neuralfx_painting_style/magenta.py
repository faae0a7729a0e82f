"""Helpers for the Magenta methods (dumoulin, ghiasi) of painting-style."""

from __future__ import annotations

import torch
import torch.nn.functional as F

#: The style predictor sees 256x256 pictures (its graph fixes the size).
PREDICTOR_SIZE = 256


def predictor_input(rgb: torch.Tensor) -> torch.Tensor:
    """``(N, 3, H, W)`` in [0, 1] → the centre square, resized to 256x256 (area filter when
    shrinking), as the published pipeline feeds its style predictor."""
    h, w = rgb.shape[2:]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    square = rgb[:, :, top : top + side, left : left + side]
    if side == PREDICTOR_SIZE:
        return square
    mode = "area" if side > PREDICTOR_SIZE else "bicubic"
    return F.interpolate(square, size=(PREDICTOR_SIZE, PREDICTOR_SIZE), mode=mode).clamp(0, 1)


def style_embedding(
    predictor: torch.nn.Module, rgb: torch.Tensor, dtype: torch.dtype
) -> torch.Tensor:
    """The 100-d embedding(s) ``(N, 100)`` of pictures ``(N, 3, H, W)`` in [0, 1]."""
    x = predictor_input(rgb.float()).to(dtype)
    return predictor(x).float()
