"""``neuralfx train animal-transfer``: options, then the training code (imported only when the
command runs)."""

from __future__ import annotations

from pathlib import Path

import click

from neuralfx import training


@click.command("animal-transfer")
@click.option("--images", type=click.Path(exists=True, file_okay=False, path_type=Path),
              required=True, help="A folder per class of animal (images/CLASS/PICTURE.jpg), "
                                  "as FUNIT's animal faces.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Generator to write (.safetensors, the moving average the effect runs); "
                   "previews go to NAME.previews/.")
@click.option("--iterations", type=int, default=100_000, show_default=True)
@click.option("--batch-size", type=int, default=64, show_default=True)
@click.option("--lr", type=float, default=1e-4, show_default=True)
@training.run_options(every=1000)
def train_command(images, out, iterations, batch_size, lr, seed, save_every, preview_every,
                  device, fresh, progress) -> None:
    """Train FUNIT (the animal-transfer model) with the published recipe.

    \b
    Example:
      neuralfx train animal-transfer --images animals/ --out funit.safetensors
      neuralfx run animal-transfer --checkpoint funit.safetensors --examples fox.jpg \\
          --box 100,80,200,200 --track cat.mp4 fox.mp4

    Running the same command again resumes an interrupted run.
    """

    from .train import TrainConfig, train

    training.check_out(out)
    training.check_counts(iterations=iterations, batch_size=batch_size, save_every=save_every,
                          preview_every=preview_every)
    cfg = TrainConfig(images=images, out=out, iterations=iterations, batch_size=batch_size,
                      lr=lr, seed=seed, save_every=save_every, preview_every=preview_every)
    training.run_command(train, cfg, iterations=cfg.iterations, device=device,
                         progress=progress, fresh=fresh, outputs=(out, training.state_path(out)))
