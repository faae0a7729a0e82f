"""``neuralfx train face-swap``: the training settings, declared once (the config and the
command's options), then the training code (imported only when the command runs)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import click

from neuralfx import params, training


@dataclasses.dataclass(kw_only=True)
class TrainConfig:
    """The DeepFakes recipe (Adam 5e-5, batch 16; SSIM + L1 in the mask)."""

    a: Path = params.field(
        params.Path,
        required=True,
        folder=True,
        help="Identity A's faces (`neuralfx faces extract --layout swap`).",
    )
    b: Path = params.field(params.Path, required=True, folder=True, help="Identity B's faces.")
    out: Path = params.field(
        params.Path,
        required=True,
        must_exist=False,
        help="Model to write (.safetensors); previews go to NAME.previews/.",
    )
    resolution: str = params.field(
        params.Choice, "128", choices=("64", "128", "256"), help="The crop's side in pixels."
    )
    width: int = params.field(
        params.Int,
        128,
        min=1,
        help="Channels of the first layer (the encoder doubles them up to 8x).",
    )
    latent: int = params.field(params.Int, 512, min=1, help="Bottleneck size.")
    mask: bool = params.field(
        params.Bool, True, help="Train a mask head on each decoder (face-swap --mask learned)."
    )
    iterations: int = params.field(params.Int, 100_000, min=1, help="Steps.")
    batch_size: int = params.field(params.Int, 16, min=1, help="Faces per step.")
    lr: float = params.field(params.Float, 5e-5, min=0.0, help="Learning rate (Adam).")
    ssim_weight: float = 1.0
    l1_weight: float = 1.0
    mask_weight: float = 1.0
    seed: int = training.seed()
    save_every: int = training.save_every(1000)
    preview_every: int = training.preview_every(1000)

    @property
    def model(self):
        """The network's shape (``neuralfx.models.faceswap.SwapConfig``)."""
        from neuralfx.models.faceswap import SwapConfig

        return SwapConfig(int(self.resolution), self.width, self.latent, self.mask)


@click.command("face-swap")
@training.command(TrainConfig)
def train_command(device, fresh, progress, **given) -> None:
    """Train a face-swap model: a shared encoder and a decoder for each of A and B.

    \b
    Example:
      neuralfx faces extract actor_a.mp4 a/ --layout swap --size 128
      neuralfx faces extract actor_b.mp4 b/ --layout swap --size 128
      neuralfx train face-swap --a a/ --b b/ --out ab.safetensors

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
