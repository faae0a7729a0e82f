"""``neuralfx train animal-transfer``: the training settings, declared once (the config and the
command's options), then the training code (imported only when the command runs)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import click

from neuralfx import params, training


@dataclasses.dataclass(kw_only=True)
class TrainConfig:
    """FUNIT's published recipe (the official configs/funit_animals.yaml)."""

    images: Path = params.field(
        params.Path,
        required=True,
        folder=True,
        help="A folder per class of animal (images/CLASS/PICTURE.jpg), as FUNIT's animal faces.",
    )
    out: Path = params.field(
        params.Path,
        required=True,
        must_exist=False,
        help="Generator to write (.safetensors, the moving average the effect runs); previews "
        "go to NAME.previews/.",
    )
    iterations: int = params.field(params.Int, 100_000, min=1, help="Steps.")
    batch_size: int = params.field(params.Int, 64, min=1, help="Pictures per step.")
    lr: float = params.field(params.Float, 1e-4, min=0.0, help="Learning rate (RMSprop).")
    weight_decay: float = 1e-4
    gan_w: float = 1.0
    fm_w: float = 1.0
    r_w: float = 0.1
    gp_w: float = 10.0
    ema: float = 0.999
    seed: int = training.seed()
    save_every: int = training.save_every(1000)
    preview_every: int = training.preview_every(1000)


@click.command("animal-transfer")
@training.command(TrainConfig)
def train_command(device, fresh, progress, **given) -> None:
    """Train FUNIT (the animal-transfer model) with the published recipe.

    \b
    Example:
      neuralfx train animal-transfer --images animals/ --out funit.safetensors
      neuralfx run animal-transfer --checkpoint funit.safetensors --examples fox.jpg \\
          --box 100,80,200,200 --track cat.mp4 fox.mp4

    Running the same command again resumes an interrupted run.
    """
    from .train import train

    cfg = params.from_text(TrainConfig, given)
    training.check_out(cfg.out)
    training.run_command(
        train,
        cfg,
        iterations=cfg.iterations,
        device=device,
        progress=progress,
        fresh=fresh,
        outputs=(cfg.out, training.state_path(cfg.out)),
    )
