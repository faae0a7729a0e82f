"""``neuralfx train face-attributes``: options, then the training code (imported only when the
command runs, so the CLI stays quick)."""

from __future__ import annotations

from pathlib import Path

import click

from neuralfx import training
from neuralfx.errors import ParameterError

DEFAULT_SELECT = "Black_Hair,Blond_Hair,Brown_Hair,Male,Young"


@click.command("face-attributes")
@click.option("--images", type=click.Path(exists=True, file_okay=False, path_type=Path),
              required=True, help="Folder of aligned faces (CelebA's img_align_celeba, or "
                                  "`neuralfx faces extract` output's images/).")
@click.option("--attributes", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              required=True, help="Labels laid out as CelebA's list_attr_celeba.txt.")
@click.option("--select", default=DEFAULT_SELECT, show_default=True,
              help="Attributes to learn, in order (face-attributes expects the default five).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Generator to write (.safetensors); the discriminator goes beside it as "
                   "NAME-d.safetensors, previews in NAME.previews/.")
@click.option("--iterations", type=int, default=200_000, show_default=True)
@click.option("--batch-size", type=int, default=16, show_default=True)
@click.option("--image-size", type=click.Choice(["128", "256"]), default="128",
              show_default=True)
@click.option("--g-lr", type=float, default=1e-4, show_default=True)
@click.option("--d-lr", type=float, default=1e-4, show_default=True)
@click.option("--n-critic", type=int, default=5, show_default=True,
              help="Critic steps per generator step.")
@click.option("--lambda-cls", type=float, default=1.0, show_default=True)
@click.option("--lambda-rec", type=float, default=10.0, show_default=True)
@click.option("--lambda-gp", type=float, default=10.0, show_default=True)
@click.option("--decay-iterations", type=int, default=100_000, show_default=True,
              help="Learning rates decay over these last iterations.")
@click.option("--decay-to-zero", is_flag=True,
              help="Decay linearly to zero (the paper) instead of the official code's step.")
@training.run_options(every=1000)
def train_command(images, attributes, select, out, iterations, batch_size, image_size, g_lr,
                  d_lr, n_critic, lambda_cls, lambda_rec, lambda_gp, decay_iterations,
                  decay_to_zero, seed, save_every, preview_every, device, fresh,
                  progress) -> None:
    """Train StarGAN (the face-attributes model) with the published recipe.

    \b
    Examples:
      neuralfx train face-attributes --images celeba/img_align_celeba \\
          --attributes celeba/list_attr_celeba.txt --out stargan.safetensors
      neuralfx faces extract interview.mp4 faces/      # then label faces/images
      neuralfx run face-attributes --checkpoint stargan.safetensors --hair blond in.mp4 out.mp4

    Running the same command again resumes an interrupted run.
    """

    from .train import TrainConfig, discriminator_path, train

    training.check_out(out)
    chosen = tuple(a.strip() for a in select.split(",") if a.strip())
    if not chosen:
        raise ParameterError("select: name at least one attribute")
    training.check_counts(iterations=iterations, batch_size=batch_size, n_critic=n_critic,
                          save_every=save_every, preview_every=preview_every)
    cfg = TrainConfig(images=images, attributes=attributes, select=chosen, out=out,
                      iterations=iterations, batch_size=batch_size, image_size=int(image_size),
                      g_lr=g_lr, d_lr=d_lr, n_critic=n_critic, lambda_cls=lambda_cls,
                      lambda_rec=lambda_rec, lambda_gp=lambda_gp,
                      decay_iterations=min(decay_iterations, iterations),
                      decay_to_zero=decay_to_zero, seed=seed, save_every=save_every,
                      preview_every=preview_every)
    training.run_command(train, cfg, iterations=cfg.iterations, device=device,
                         progress=progress, fresh=fresh,
                         outputs=(out, discriminator_path(out), training.state_path(out)))
