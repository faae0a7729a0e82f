"""``neuralfx train painting-style``: the training settings, declared once (the config and the
command's options), and a callback that imports the training code (torch, models) only when it
runs, so the CLI stays quick to start."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import click

from neuralfx import params, training
from neuralfx.errors import ParameterError

#: The published recipes (train.py's docstring has the sources): the defaults of the settings
#: left out, by method.
RECIPES = {
    "johnson": dict(
        iterations=40000,
        batch_size=4,
        lr=1e-3,
        content_weight=1e5,
        style_weight=1e10,
        image_size=256,
        loss_net="vgg16",
    ),
    "adain": dict(
        iterations=160000,
        batch_size=8,
        lr=1e-4,
        content_weight=1.0,
        style_weight=10.0,
        image_size=256,
        loss_net="adain-encoder",
    ),
}


@dataclasses.dataclass(kw_only=True)
class TrainConfig:
    """What a training run does; settings left None take the method's recipe."""

    method: str = params.field(
        params.Choice,
        "johnson",
        choices=tuple(RECIPES),
        help="johnson: one network per style; adain: a decoder for arbitrary styles.",
    )
    content: Path = params.field(
        params.Path,
        required=True,
        folder=True,
        help="Folder of content images (COCO in the papers).",
    )
    style: Path | None = params.field(params.Path, help="johnson: the style image.")
    styles: Path | None = params.field(
        params.Path, folder=True, help="adain: folder of style images (WikiArt in the paper)."
    )
    out: Path = params.field(
        params.Path,
        required=True,
        must_exist=False,
        help="Checkpoint to write (.safetensors); previews go beside it.",
    )
    iterations: int | None = params.field(
        params.Int, min=1, help="Steps (recipe: johnson 40000, adain 160000)."
    )
    batch_size: int | None = params.field(
        params.Int, min=1, help="Images per step (recipe: johnson 4, adain 8)."
    )
    lr: float | None = params.field(
        params.Float, min=0.0, help="Learning rate (recipe: johnson 1e-3, adain 1e-4)."
    )
    content_weight: float | None = params.field(
        params.Float, min=0.0, help="Recipe: johnson 1e5, adain 1."
    )
    style_weight: float | None = params.field(
        params.Float, min=0.0, help="Recipe: johnson 1e10, adain 10."
    )
    image_size: int | None = params.field(
        params.Int, min=16, help="Training crop size (recipe: 256)."
    )
    loss_net: str | None = params.field(
        params.Text,
        help="johnson: VGG-16 loss network (file or registry name, default "
        "vgg16); adain: encoder (default adain-encoder).",
    )
    seed: int = training.seed()
    save_every: int = training.save_every(500)
    preview_every: int = training.preview_every(500)

    def __post_init__(self) -> None:
        if self.method == "johnson" and self.style is None:
            raise ParameterError("--method johnson needs --style IMAGE")
        if self.method == "adain" and self.styles is None:
            raise ParameterError("--method adain needs --styles FOLDER")
        for name, value in RECIPES[self.method].items():
            if getattr(self, name) is None:
                setattr(self, name, value)


@click.command("painting-style")
@training.command(TrainConfig)
def train_command(device, fresh, progress, **given) -> None:
    """Train a painting-style model on your own images, with the published recipe.

    \b
    Examples:
      neuralfx train painting-style --content coco/ --style starry.jpg --out starry.safetensors
      neuralfx train painting-style --method adain --content coco/ --styles wikiart/ \\
          --out decoder.safetensors

    Running the same command again resumes an interrupted run.
    """
    from .train import train  # torch: imported only now

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
