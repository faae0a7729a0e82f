"""``neuralfx train face-swap``: options, then the training code (imported only when the
command runs)."""

from __future__ import annotations

from pathlib import Path

import click

from neuralfx import training


@click.command("face-swap")
@click.option("--a", "a", type=click.Path(exists=True, file_okay=False, path_type=Path),
              required=True, help="Identity A's faces (`neuralfx faces extract --layout swap`).")
@click.option("--b", "b", type=click.Path(exists=True, file_okay=False, path_type=Path),
              required=True, help="Identity B's faces.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Model to write (.safetensors); previews go to NAME.previews/.")
@click.option("--resolution", type=click.Choice(["64", "128", "256"]), default="128",
              show_default=True)
@click.option("--width", type=int, default=128, show_default=True,
              help="Channels of the first layer (the encoder doubles them up to 8x).")
@click.option("--latent", type=int, default=512, show_default=True, help="Bottleneck size.")
@click.option("--mask/--no-mask", default=True, show_default=True,
              help="Train a mask head on each decoder (face-swap --mask learned).")
@click.option("--iterations", type=int, default=100_000, show_default=True)
@click.option("--batch-size", type=int, default=16, show_default=True)
@click.option("--lr", type=float, default=5e-5, show_default=True)
@training.run_options(every=1000)
def train_command(a, b, out, resolution, width, latent, mask, iterations, batch_size, lr, seed,
                  save_every, preview_every, device, fresh, progress) -> None:
    """Train a face-swap model: a shared encoder and a decoder for each of A and B.

    \b
    Example:
      neuralfx faces extract actor_a.mp4 a/ --layout swap --size 128
      neuralfx faces extract actor_b.mp4 b/ --layout swap --size 128
      neuralfx train face-swap --a a/ --b b/ --out ab.safetensors

    Running the same command again resumes an interrupted run.
    """
    from neuralfx.models.faceswap import SwapConfig

    from .train import TrainConfig, train

    training.check_out(out)
    training.check_counts(iterations=iterations, batch_size=batch_size, width=width,
                          latent=latent, save_every=save_every, preview_every=preview_every)
    cfg = TrainConfig(a=a, b=b, out=out,
                      model=SwapConfig(int(resolution), width, latent, mask),
                      iterations=iterations, batch_size=batch_size, lr=lr, seed=seed,
                      save_every=save_every, preview_every=preview_every)
    training.run_command(train, cfg, iterations=cfg.iterations, device=device,
                         progress=progress, fresh=fresh, outputs=(out, training.state_path(out)))
