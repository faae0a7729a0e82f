"""``neuralfx train face-attributes``: the training settings, declared once (the config and the
command's options), then the training code (imported only when the command runs, so the CLI
stays quick)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import ClassVar

import click

from neuralfx import params, training
from neuralfx.errors import ParameterError

DEFAULT_SELECT = "Black_Hair,Blond_Hair,Brown_Hair,Male,Young"


@dataclasses.dataclass(kw_only=True)
class TrainConfig:
    """StarGAN's published recipe (the official solver's defaults for CelebA)."""

    MODEL: ClassVar[str] = "stargan"

    images: Path = params.field(
        params.Path,
        required=True,
        folder=True,
        help="Folder of aligned faces (CelebA's img_align_celeba, or `neuralfx faces extract` "
        "output's images/).",
    )
    attributes: Path = params.field(
        params.Path, required=True, help="Labels laid out as CelebA's list_attr_celeba.txt."
    )
    #: the attributes, in order (given as text: "A,B,C")
    select: tuple[str, ...] = params.field(
        params.Text,
        DEFAULT_SELECT,
        help="Attributes to learn, in order (face-attributes expects the default five).",
    )
    out: Path = params.field(
        params.Path,
        required=True,
        must_exist=False,
        help="Generator to write (.safetensors); the discriminator goes beside it as "
        "NAME-d.safetensors, previews in NAME.previews/.",
    )
    iterations: int = params.field(params.Int, 200_000, min=1, help="Steps.")
    batch_size: int = params.field(params.Int, 16, min=1, help="Faces per step.")
    image_size: int = params.field(
        params.Choice, "128", choices=("128", "256"), help="The faces' side in pixels."
    )
    g_lr: float = params.field(params.Float, 1e-4, min=0.0, help="Generator learning rate.")
    d_lr: float = params.field(params.Float, 1e-4, min=0.0, help="Discriminator learning rate.")
    n_critic: int = params.field(params.Int, 5, min=1, help="Critic steps per generator step.")
    lambda_cls: float = params.field(
        params.Float, 1.0, min=0.0, help="Weight of the attribute classification loss."
    )
    lambda_rec: float = params.field(
        params.Float, 10.0, min=0.0, help="Weight of the reconstruction loss."
    )
    lambda_gp: float = params.field(
        params.Float, 10.0, min=0.0, help="Weight of the gradient penalty."
    )
    decay_iterations: int = params.field(
        params.Int,
        100_000,
        min=1,
        help="Learning rates decay over these last iterations (at most --iterations).",
    )
    decay_every: int = 1000
    decay_to_zero: bool = params.field(
        params.Bool,
        False,
        help="Decay linearly to zero (the paper) instead of the official code's step.",
    )
    seed: int = training.seed()
    save_every: int = training.save_every(1000)
    preview_every: int = training.preview_every(1000)

    def __post_init__(self) -> None:
        if isinstance(self.select, str):
            self.select = tuple(a.strip() for a in self.select.split(",") if a.strip())
        if not self.select:
            raise ParameterError("select: name at least one attribute")
        self.image_size = int(self.image_size)
        self.decay_iterations = min(self.decay_iterations, self.iterations)


@dataclasses.dataclass(kw_only=True)
class StarGANv2Config:
    """StarGAN v2's published recipe for CelebA-HQ (the official solver's defaults)."""

    MODEL: ClassVar[str] = "stargan-v2"

    images: Path = params.field(
        params.Path,
        required=True,
        folder=True,
        help="Folder with female/ and male/ folders of faces aligned as CelebA-HQ (the "
        "official data/celeba_hq/train layout, or `neuralfx faces extract --layout celeba-hq` "
        "output sorted into them); each image is resized to 256x256.",
    )
    out: Path = params.field(
        params.Path,
        required=True,
        must_exist=False,
        help="Networks to write (.safetensors: the EMA generator, mapping network and style "
        "encoder, which face-attributes --model stargan-v2 --checkpoint loads); previews in "
        "NAME.previews/.",
    )
    fan: str = params.field(
        params.Path,
        "wing-fan",
        must_exist=False,
        help="The landmark network whose masks the generator learns with: wing.ckpt or a "
        "registry name.",
    )
    iterations: int = params.field(params.Int, 100_000, min=1, help="Steps.")
    batch_size: int = params.field(params.Int, 8, min=1, help="Faces per step.")
    lr: float = params.field(
        params.Float, 1e-4, min=0.0, help="Learning rate of the generator, style encoder and "
        "discriminator."
    )  # fmt: skip
    f_lr: float = params.field(
        params.Float, 1e-6, min=0.0, help="Learning rate of the mapping network."
    )
    weight_decay: float = params.field(params.Float, 1e-4, min=0.0, help="Adam's weight decay.")
    lambda_reg: float = params.field(
        params.Float, 1.0, min=0.0, help="Weight of the R1 penalty on real images."
    )
    lambda_sty: float = params.field(
        params.Float, 1.0, min=0.0, help="Weight of the style reconstruction loss."
    )
    lambda_ds: float = params.field(
        params.Float, 1.0, min=0.0, help="Starting weight of the diversity-sensitive loss."
    )
    ds_iter: int = params.field(
        params.Int, 100_000, min=1, help="The diversity weight decays linearly to 0 over these."
    )
    lambda_cyc: float = params.field(
        params.Float, 1.0, min=0.0, help="Weight of the cycle-consistency loss."
    )
    seed: int = params.field(params.Int, 777, help="Seed of the weights' start and the data order.")
    save_every: int = training.save_every(5000)
    preview_every: int = training.preview_every(1000)

    def __post_init__(self) -> None:
        self.fan = str(self.fan)


CONFIGS = (TrainConfig, StarGANv2Config)


@click.command("face-attributes")
@training.command(*CONFIGS)
def train_command(device, fresh, progress, **given) -> None:
    """Train StarGAN or StarGAN v2 (the face-attributes models) with the published recipe.

    \b
    Examples:
      neuralfx train face-attributes --images celeba/img_align_celeba \\
          --attributes celeba/list_attr_celeba.txt --out stargan.safetensors
      neuralfx faces extract interview.mp4 faces/      # then label faces/images
      neuralfx run face-attributes --checkpoint stargan.safetensors --hair blond in.mp4 out.mp4
      neuralfx train face-attributes --model stargan-v2 --images celeba_hq/train \\
          --out stargan-v2.safetensors

    Running the same command again resumes an interrupted run.
    """
    cfg = training.config_of(CONFIGS, given)
    training.check_out(cfg.out)
    if isinstance(cfg, StarGANv2Config):
        from .train_v2 import train

        outputs = (cfg.out, training.state_path(cfg.out))
    else:
        from .train import discriminator_path, train

        outputs = (cfg.out, discriminator_path(cfg.out), training.state_path(cfg.out))
    training.run_command(
        train,
        cfg,
        iterations=cfg.iterations,
        device=device,
        progress=progress,
        fresh=fresh,
        outputs=outputs,
    )
