"""``neuralfx train painting-style``: train a Johnson network or an AdaIN decoder.

The published recipes (facts from the official code, see docs/painting-style.md):

* Johnson et al. (pytorch/examples fast_neural_style): Adam lr 1e-3, batch 4, 256x256 crops
  (resize 256 + centre crop), VGG-16 loss network; content MSE at relu2_2 x 1e5; style: sum of
  Gram MSEs (Gram / C·H·W) at relu1_2, relu2_2, relu3_3, relu4_3 x 1e10; no TV loss; seed 42.
* AdaIN (naoto0804/pytorch-AdaIN train.py): Adam lr 1e-4 decayed as lr / (1 + 5e-5·iter),
  batch 8, resize 512 then random crop 256; content weight 1, style weight 10; content loss MSE
  between relu4_1 of the output and the AdaIN target; style loss: mean and std MSE at
  relu1_1…relu4_1; the encoder (normalised VGG-19) stays fixed.

Checkpoints are safetensors with metadata and load with ``neuralfx.models.load`` (``johnson``
or ``adain-decoder``); a ``.train-state.pt`` beside the checkpoint holds the optimiser and the
iteration so an interrupted run resumes where it stopped.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F

import neuralfx
from neuralfx import models, training
from neuralfx.host import weights
from neuralfx.errors import ParameterError
from neuralfx.frames.images import image_format, read_image
from neuralfx.frames.samples import display_rgb
from neuralfx.models.adain import ENCODER_SLICES, adaptive_instance_norm, mean_std
from neuralfx.models.vgg import VGG16_LAYERS, VGGFeatures

from .gatys import gram
from .train_cli import TrainConfig


# -- data -------------------------------------------------------------------------------------
def list_images(folder: Path, what: str) -> list[Path]:
    files = sorted(p for p in folder.iterdir() if p.is_file() and image_format(str(p)))
    if not files:
        raise ParameterError(
            f"{what}: {folder} holds no PNG, JPEG, TIFF or EXR images",
            hint=f"point --{what} at a folder of images",
        )
    return files


def read_rgb(path: Path) -> np.ndarray:
    return display_rgb(read_image(str(path)))


def resize_short(rgb: np.ndarray, size: int) -> np.ndarray:
    h, w = rgb.shape[:2]
    s = size / min(h, w)
    return cv2.resize(
        rgb,
        (max(size, round(w * s)), max(size, round(h * s))),
        interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR,
    )


def johnson_crop(rgb: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """Resize(size) + CenterCrop(size), as the official training transform."""
    rgb = resize_short(rgb, size)
    h, w = rgb.shape[:2]
    top, left = (h - size) // 2, (w - size) // 2
    return rgb[top : top + size, left : left + size]


def adain_crop(rgb: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """Resize to 2·size square, then a random size crop (the official 512 → 256)."""
    rgb = cv2.resize(rgb, (2 * size, 2 * size), interpolation=cv2.INTER_AREA)
    top, left = rng.integers(0, size + 1, size=2)
    return rgb[top : top + size, left : left + size]


class Batches:
    """Deterministic batches: epoch e visits the images in permutation(seed + e), so a resumed
    run sees exactly the images the interrupted one would have."""

    def __init__(self, files: list[Path], size: int, batch: int, seed: int, crop) -> None:
        self.files, self.size, self.batch, self.seed, self.crop = files, size, batch, seed, crop

    def get(self, iteration: int) -> torch.Tensor:
        out = []
        for k in range(self.batch):
            index = iteration * self.batch + k
            epoch, pos = divmod(index, len(self.files))
            order = np.random.default_rng(self.seed + epoch).permutation(len(self.files))
            rng = np.random.default_rng((self.seed, index))
            out.append(self.crop(read_rgb(self.files[order[pos]]), self.size, rng))
        return torch.from_numpy(np.stack(out)).permute(0, 3, 1, 2).contiguous()


# -- methods ----------------------------------------------------------------------------------
class StyleTrainer(training.Trainer):
    """What both methods share: the checkpoint (``model``, with the metadata that
    ``neuralfx.models.load`` reads), the optimiser, the preview (``stylise`` of one content
    crop); each brings its ``step`` and ``stylise``."""

    COMPARABLE = ("method", "content", "style", "styles", "batch_size", "image_size", "seed")
    DIVERGED_HINT = (
        "lower --lr or --style-weight; resume from the last checkpoint by running the same command"
    )
    cfg: TrainConfig
    optimiser: torch.optim.Optimizer
    device: torch.device
    model: torch.nn.Module

    def summary(self) -> dict:
        return {"method": self.cfg.method}

    def preview(self) -> np.ndarray:
        if not hasattr(self, "_preview_source"):
            self._preview_source = _preview_input(self.cfg, self.device)
        return self.stylise(self._preview_source)[0].permute(1, 2, 0).cpu().numpy()

    def stylise(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def export(self, iteration: int) -> None:
        weights.save_safetensors(
            self.cfg.out, self.model.state_dict(), _metadata(self.cfg, iteration)
        )

    def state_dict(self) -> dict:
        return {"optimiser": self.optimiser.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.model.load_state_dict(weights.read_state_dict(self.cfg.out))
        self.optimiser.load_state_dict(state["optimiser"])

    def optimise(self, content: torch.Tensor, style: torch.Tensor) -> dict[str, float]:
        loss = content + style
        self.optimiser.zero_grad(set_to_none=True)
        loss.backward()
        self.optimiser.step()
        return {
            "loss": loss.detach().item(),
            "content": content.detach().item(),
            "style": style.detach().item(),
        }


class JohnsonTrainer(StyleTrainer):
    layers = ("relu1_2", "relu2_2", "relu3_3", "relu4_3")

    def __init__(self, cfg: TrainConfig, device: torch.device) -> None:
        self.cfg = cfg
        self.data = Batches(
            list_images(cfg.content, "content"),
            cfg.image_size,
            cfg.batch_size,
            cfg.seed,
            johnson_crop,
        )
        torch.manual_seed(cfg.seed)
        self.net = models.spec_of("johnson").build().to(device).train()
        vgg = models.load("vgg16", cfg.loss_net, device)
        self.loss_net = VGGFeatures(vgg, {k: VGG16_LAYERS[k] for k in self.layers}).to(device)
        style = torch.from_numpy(read_rgb(cfg.style)).permute(2, 0, 1)[None].to(device)
        with torch.no_grad():
            feats = self.loss_net(style)
            self.style_grams = {k: gram(feats[k]) for k in self.layers}
        self.optimiser = torch.optim.Adam(self.net.parameters(), lr=cfg.lr)
        self.device = device

    def step(self, iteration: int) -> dict[str, float]:
        x = self.data.get(iteration).to(self.device)  # [0, 1]
        y = self.net(x * 255) / 255  # the network works in 0..255, as the original
        fy, fx = self.loss_net(y), self.loss_net(x)
        content = self.cfg.content_weight * F.mse_loss(fy["relu2_2"], fx["relu2_2"])
        style = self.cfg.style_weight * sum(
            F.mse_loss(gram(fy[k]), self.style_grams[k].expand(len(x), -1, -1)) for k in self.layers
        )
        return self.optimise(content, style)

    def stylise(self, x: torch.Tensor) -> torch.Tensor:
        self.net.eval()
        with torch.no_grad():
            y = (self.net(x * 255) / 255).clamp(0, 1)
        self.net.train()
        return y

    @property
    def model(self) -> torch.nn.Module:
        return self.net


class AdaINTrainer(StyleTrainer):
    def __init__(self, cfg: TrainConfig, device: torch.device) -> None:
        self.cfg = cfg
        self.content = Batches(
            list_images(cfg.content, "content"),
            cfg.image_size,
            cfg.batch_size,
            cfg.seed,
            adain_crop,
        )
        self.styles = Batches(
            list_images(cfg.styles, "styles"),
            cfg.image_size,
            cfg.batch_size,
            cfg.seed + 1,
            adain_crop,
        )
        torch.manual_seed(cfg.seed)
        self.encoder = models.load("adain-encoder", cfg.loss_net, device)
        self.decoder = models.spec_of("adain-decoder").build().to(device).train()
        self.optimiser = torch.optim.Adam(self.decoder.parameters(), lr=cfg.lr)
        self.device = device
        self._preview_style = self.styles.get(0)[:1].to(device)

    def encode(self, x: torch.Tensor) -> list[torch.Tensor]:
        feats = []
        for start, stop in ENCODER_SLICES:
            x = self.encoder[start:stop](x)
            feats.append(x)
        return feats

    def step(self, iteration: int) -> dict[str, float]:
        for group in self.optimiser.param_groups:  # the official decay
            group["lr"] = self.cfg.lr / (1.0 + 5e-5 * iteration)
        c = self.content.get(iteration).to(self.device)
        s = self.styles.get(iteration).to(self.device)
        style_feats = self.encode(s)
        content_feat = self.encode(c)[-1]
        t = adaptive_instance_norm(content_feat, *mean_std(style_feats[-1]))
        g_feats = self.encode(self.decoder(t))
        content = self.cfg.content_weight * F.mse_loss(g_feats[-1], t)
        style = 0.0
        for gf, sf in zip(g_feats, style_feats):
            gm, gs = mean_std(gf)
            sm, ss = mean_std(sf)
            style = style + F.mse_loss(gm, sm) + F.mse_loss(gs, ss)
        style = self.cfg.style_weight * style
        return self.optimise(content, style)

    def stylise(self, x: torch.Tensor) -> torch.Tensor:
        self.decoder.eval()
        with torch.no_grad():
            f = self.encode(x)[-1]
            t = adaptive_instance_norm(f, *mean_std(self.encode(self._preview_style)[-1]))
            y = self.decoder(t).clamp(0, 1)
        self.decoder.train()
        return y

    @property
    def model(self) -> torch.nn.Module:
        return self.decoder


# -- the loop ---------------------------------------------------------------------------------
def train(cfg: TrainConfig, device: torch.device, report=None) -> int:
    """Run (or resume) training; returns the iteration reached. ``report(event_dict)`` gets
    progress events."""
    trainer = (JohnsonTrainer if cfg.method == "johnson" else AdaINTrainer)(cfg, device)
    return training.fit(trainer, report)


def _preview_input(cfg: TrainConfig, device: torch.device) -> torch.Tensor:
    first = list_images(cfg.content, "content")[0]
    rgb = johnson_crop(read_rgb(first), cfg.image_size, np.random.default_rng(0))
    return torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1)[None].to(device)


def _metadata(cfg: TrainConfig, iteration: int) -> dict[str, str]:
    return {
        "format": "neuralfx-painting-style",
        "method": cfg.method,
        "model": "johnson" if cfg.method == "johnson" else "adain-decoder",
        "iteration": str(iteration),
        "neuralfx": neuralfx.__version__,
        "config": json.dumps({k: str(v) for k, v in dataclasses.asdict(cfg).items()}),
    }
