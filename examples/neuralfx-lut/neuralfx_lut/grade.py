"""The ``lut`` effect's implementation (imported only when a run uses it)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

import neuralfx

from . import LUT
from .cube import read_cube


class LUTGrade(neuralfx.Effect):
    spec = LUT

    def load(self, ctx: neuralfx.RunContext) -> None:
        lut = read_cube(self.settings.lut)
        # grid_sample wants the table as a volume (1, C, D, H, W): D indexes blue, H green and
        # W red, because .cube files list entries with red changing fastest.
        self.table = lut.table.permute(3, 0, 1, 2).unsqueeze(0).to(ctx.device, ctx.dtype)
        self.domain_min = lut.domain_min.to(ctx.device, ctx.dtype).view(1, 3, 1, 1)
        self.domain_max = lut.domain_max.to(ctx.device, ctx.dtype).view(1, 3, 1, 1)

    def process(self, batch: neuralfx.FrameBatch) -> neuralfx.FrameBatch:
        rgb = batch.rgb  # (N, 3, H, W) in [0, 1]
        n, _, h, w = rgb.shape
        unit = (rgb - self.domain_min) / (self.domain_max - self.domain_min)
        grid = (unit.clamp(0, 1) * 2 - 1).permute(0, 2, 3, 1)  # (N, H, W, 3) as (x=r, y=g, z=b)
        graded = F.grid_sample(
            self.table.to(rgb.dtype),
            grid.reshape(1, n, h, w, 3),
            mode="bilinear",
            padding_mode="border",
            align_corners=True,
        )
        graded = graded[0].permute(1, 0, 2, 3)  # (1, 3, N, H, W) -> (N, 3, H, W)
        return batch.replace(rgb=torch.lerp(rgb, graded, self.settings.strength))

    def release(self) -> None:
        self.table = None
