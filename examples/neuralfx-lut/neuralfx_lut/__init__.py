"""neuralfx-lut: apply a 3D LUT (.cube) to footage, on the GPU.

A complete NeuralFX plugin: one effect (``lut``) and one command (``lut-info``).
"""

from __future__ import annotations

import click
import torch
import torch.nn.functional as F

import neuralfx
from neuralfx import params

from .cube import CubeLUT, read_cube

__version__ = "1.0.0"
NEURALFX_PLUGIN_API = "1.0"  # the plugin API this plugin was written for


class LUTGrade(neuralfx.Effect):
    """Grade frames with a 3D LUT from a .cube file (trilinear interpolation).

    LUTs made for display-referred footage (the usual case) expect sRGB-encoded values, so the
    effect works in the srgb colour space; linear EXR plates are converted in and out.
    """

    name = "lut"
    summary = "Grade with a 3D LUT (.cube), on the GPU"
    working_space = "srgb"
    preferred_batch_size = 8
    params = (
        params.Path("lut", help="The .cube file (3D LUT).", suffixes=(".cube",), required=True),
        params.Float("strength", default=1.0, min=0.0, max=1.0,
                     help="Mix between the original (0) and the graded frame (1)."),
    )

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
        graded = F.grid_sample(self.table.to(rgb.dtype), grid.reshape(1, n, h, w, 3),
                               mode="bilinear", padding_mode="border", align_corners=True)
        graded = graded[0].permute(1, 0, 2, 3)  # (1, 3, N, H, W) -> (N, 3, H, W)
        strength = self.settings.strength
        return batch.replace(rgb=torch.lerp(rgb, graded, strength))

    def release(self) -> None:
        self.table = None


@neuralfx.hookimpl
def register_effects(register):
    register(LUTGrade)


@neuralfx.hookimpl
def register_commands(cli: click.Group):
    @cli.command("lut-info")
    @click.argument("path", type=click.Path(exists=True, dir_okay=False))
    def lut_info(path: str) -> None:
        """Print the size, domain and title of a .cube LUT."""
        lut: CubeLUT = read_cube(path)
        click.echo(f"{path}: {lut.size}x{lut.size}x{lut.size} 3D LUT"
                   + (f" '{lut.title}'" if lut.title else ""))
        click.echo(f"domain: {lut.domain_min.tolist()} to {lut.domain_max.tolist()}")
