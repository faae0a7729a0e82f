"""neuralfx-lut: apply a 3D LUT (.cube) to footage, on the GPU.

A complete NeuralFX plugin: one effect (``lut``) and one command (``lut-info``). This module is
what NeuralFX imports whenever it starts, so it holds only declarations: the effect's
implementation (``grade.py``, which needs torch) is named by import path and loaded for a run.
"""

from __future__ import annotations

import click

import neuralfx
from neuralfx import params

__version__ = "1.0.0"
NEURALFX_PLUGIN_API = "1.0"  # the plugin API this plugin was written for

LUT = neuralfx.EffectSpec(
    name="lut",
    summary="Grade with a 3D LUT (.cube), on the GPU",
    help="""Grade frames with a 3D LUT from a .cube file (trilinear interpolation).

    LUTs made for display-referred footage (the usual case) expect sRGB-encoded values, so the
    effect works in the srgb colour space; linear EXR plates are converted in and out.
    """,
    implementation="neuralfx_lut.grade:LUTGrade",
    working_space="srgb",
    preferred_batch_size=8,
    params=(
        params.Path("lut", help="The .cube file (3D LUT).", suffixes=(".cube",), required=True),
        params.Float(
            "strength",
            default=1.0,
            min=0.0,
            max=1.0,
            help="Mix between the original (0) and the graded frame (1).",
        ),
    ),
)


@neuralfx.hookimpl
def register_effects(register):
    register(LUT)


@neuralfx.hookimpl
def register_commands(cli: click.Group):
    @cli.command("lut-info")
    @click.argument("path", type=click.Path(exists=True, dir_okay=False))
    def lut_info(path: str) -> None:
        """Print the size, domain and title of a .cube LUT."""
        from .cube import read_cube

        lut = read_cube(path)
        click.echo(
            f"{path}: {lut.size}x{lut.size}x{lut.size} 3D LUT"
            + (f" '{lut.title}'" if lut.title else "")
        )
        click.echo(f"domain: {lut.domain_min.tolist()} to {lut.domain_max.tolist()}")
