"""``neuralfx train face-attributes``: options, then the training code (imported only when the
command runs, so the CLI stays quick)."""

from __future__ import annotations

import os
from pathlib import Path

import click

from neuralfx.errors import ParameterError
from neuralfx.training import training_reporter

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
@click.option("--seed", type=int, default=42, show_default=True)
@click.option("--save-every", type=int, default=1000, show_default=True)
@click.option("--preview-every", type=int, default=1000, show_default=True)
@click.option("--device", default="auto", show_default=True)
@click.option("--fresh", is_flag=True, help="Start over even if a resumable run exists.")
@click.option("--progress", type=click.Choice(["auto", "bar", "json", "none"]), default="auto",
              show_default=True)
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
    from neuralfx.devices import prepare_process, resolve_device

    from .train import TrainConfig, discriminator_path, state_path, train

    if out.suffix != ".safetensors":
        raise ParameterError(f"out: {out} should end in .safetensors")
    chosen = tuple(a.strip() for a in select.split(",") if a.strip())
    if not chosen:
        raise ParameterError("select: name at least one attribute")
    for name, value in (("iterations", iterations), ("batch-size", batch_size),
                        ("n-critic", n_critic), ("save-every", save_every),
                        ("preview-every", preview_every)):
        if value < 1:
            raise ParameterError(f"--{name} must be at least 1")
    cfg = TrainConfig(images=images, attributes=attributes, select=chosen, out=out,
                      iterations=iterations, batch_size=batch_size, image_size=int(image_size),
                      g_lr=g_lr, d_lr=d_lr, n_critic=n_critic, lambda_cls=lambda_cls,
                      lambda_rec=lambda_rec, lambda_gp=lambda_gp,
                      decay_iterations=min(decay_iterations, iterations),
                      decay_to_zero=decay_to_zero, seed=seed, save_every=save_every,
                      preview_every=preview_every)
    if fresh:
        for path in (out, discriminator_path(out), state_path(out)):
            if path.exists():
                os.unlink(path)
    report = training_reporter(progress, cfg.iterations)
    try:
        target = resolve_device(device)
        prepare_process(target)
        train(cfg, target, report)
    finally:
        report({"event": "close"})
