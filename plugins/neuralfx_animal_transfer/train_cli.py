"""``neuralfx train animal-transfer``: options, then the training code (imported only when the
command runs)."""

from __future__ import annotations

import os
from pathlib import Path

import click

from neuralfx.errors import ParameterError
from neuralfx.training import training_reporter


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
@click.option("--seed", type=int, default=42, show_default=True)
@click.option("--save-every", type=int, default=1000, show_default=True)
@click.option("--preview-every", type=int, default=1000, show_default=True)
@click.option("--device", default="auto", show_default=True)
@click.option("--fresh", is_flag=True, help="Start over even if a resumable run exists.")
@click.option("--progress", type=click.Choice(["auto", "bar", "json", "none"]), default="auto",
              show_default=True)
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
    from neuralfx.devices import prepare_process, resolve_device

    from .train import TrainConfig, state_path, train

    if out.suffix != ".safetensors":
        raise ParameterError(f"out: {out} should end in .safetensors")
    for name, value in (("iterations", iterations), ("batch-size", batch_size),
                        ("save-every", save_every), ("preview-every", preview_every)):
        if value < 1:
            raise ParameterError(f"--{name} must be at least 1")
    cfg = TrainConfig(images=images, out=out, iterations=iterations, batch_size=batch_size,
                      lr=lr, seed=seed, save_every=save_every, preview_every=preview_every)
    if fresh:
        for path in (out, state_path(out)):
            if path.exists():
                os.unlink(path)
    report = training_reporter(progress, cfg.iterations)
    try:
        target = resolve_device(device)
        prepare_process(target)
        train(cfg, target, report)
    finally:
        report({"event": "close"})
