"""The ``neuralfx train painting-style`` command: its options, and a callback that imports the
training code (torch, models) only when it runs, so the CLI stays quick to start."""

from __future__ import annotations

from pathlib import Path

import click

from neuralfx import training
from neuralfx.errors import ParameterError


# -- the command ------------------------------------------------------------------------------
@click.command("painting-style")
@click.option("--method", type=click.Choice(["johnson", "adain"]), default="johnson",
              show_default=True, help="johnson: one network per style; adain: a decoder for "
                                      "arbitrary styles.")
@click.option("--content", type=click.Path(exists=True, file_okay=False, path_type=Path),
              required=True, help="Folder of content images (COCO in the papers).")
@click.option("--style", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="johnson: the style image.")
@click.option("--styles", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="adain: folder of style images (WikiArt in the paper).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Checkpoint to write (.safetensors); previews go beside it.")
@click.option("--iterations", type=int, help="Steps (recipe: johnson 40000, adain 160000).")
@click.option("--batch-size", type=int, help="Images per step (recipe: johnson 4, adain 8).")
@click.option("--lr", type=float, help="Learning rate (recipe: johnson 1e-3, adain 1e-4).")
@click.option("--content-weight", type=float, help="Recipe: johnson 1e5, adain 1.")
@click.option("--style-weight", type=float, help="Recipe: johnson 1e10, adain 10.")
@click.option("--image-size", type=int, help="Training crop size (recipe: 256).")
@click.option("--loss-net", help="johnson: VGG-16 loss network (file or registry name, default "
                                 "vgg16); adain: encoder (default adain-encoder).")
@training.run_options(every=500)
def train_command(method, content, style, styles, out, iterations, batch_size, lr,
                  content_weight, style_weight, image_size, loss_net, seed, save_every,
                  preview_every, device, fresh, progress) -> None:
    """Train a painting-style model on your own images, with the published recipe.

    \b
    Examples:
      neuralfx train painting-style --content coco/ --style starry.jpg --out starry.safetensors
      neuralfx train painting-style --method adain --content coco/ --styles wikiart/ \\
          --out decoder.safetensors

    Running the same command again resumes an interrupted run.
    """
    from .train import RECIPES, TrainConfig, train  # torch: imported only now

    if method == "johnson" and style is None:
        raise ParameterError("--method johnson needs --style IMAGE")
    if method == "adain" and styles is None:
        raise ParameterError("--method adain needs --styles FOLDER")
    training.check_out(out)
    recipe = RECIPES[method]
    cfg = TrainConfig(
        method=method, content=content, style=style, styles=styles, out=out,
        iterations=iterations or recipe["iterations"],
        batch_size=batch_size or recipe["batch_size"],
        lr=lr or recipe["lr"], content_weight=content_weight or recipe["content_weight"],
        style_weight=style_weight or recipe["style_weight"],
        image_size=image_size or recipe["image_size"],
        loss_net=loss_net or ("vgg16" if method == "johnson" else "adain-encoder"),
        seed=seed, save_every=save_every, preview_every=preview_every)
    training.run_command(train, cfg, iterations=cfg.iterations, device=device,
                         progress=progress, fresh=fresh,
                         outputs=(out, training.state_path(out)))
