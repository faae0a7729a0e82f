"""Training StarGAN on the user's faces with the published recipe (yunjey/stargan solver.py,
CelebA): WGAN-GP with λ_gp = 10, attribute classification (binary cross-entropy summed over
the attributes, averaged over the batch) with λ_cls = 1, L1 cycle reconstruction with
λ_rec = 10; Adam (lr 1e-4 for both networks, betas 0.5 and 0.999), batch 16, the generator
updated once per ``n_critic`` = 5 critic steps; target labels are the batch's own labels in a
random order; random horizontal flips. Images are CelebA-aligned 178x218 (what
``neuralfx faces extract`` writes), centre-cropped to 178 and resized, as the official loader
does.

The learning-rate decay follows the official code exactly: every 1000 iterations during the
last ``decay_iterations``, each rate drops by its initial value / ``decay_iterations``. (So
it barely moves, 0.1 % over 100k iterations, although the paper describes a linear decay to
zero; ``--decay-to-zero`` gives that instead.)

A run writes the generator (``--out``, safetensors in the official layout, which
``face-attributes --checkpoint`` loads), the discriminator beside it (``NAME-d.safetensors``,
which face-attributes finds on its own), and a resumable state; running again resumes.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

import neuralfx
from neuralfx import training
from neuralfx.host import weights
from neuralfx.errors import ParameterError
from neuralfx.frames.images import read_image
from neuralfx.frames.samples import display_rgb
from neuralfx.models.stargan import ATTRIBUTES, Discriminator, Generator

from .train_cli import TrainConfig

IMAGE_TYPES = (".jpg", ".jpeg", ".png")


def read_attributes(
    path: Path, select: tuple[str, ...], images: Path
) -> tuple[list[Path], np.ndarray]:
    """``list_attr_celeba.txt``: a count line, the attribute names, then ``file v1 v2 ...`` with
    1 / -1. Returns the image files found in ``images`` and their 0/1 labels for ``select``."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
        names = lines[1].split()
    except (OSError, IndexError, UnicodeDecodeError) as exc:
        raise ParameterError(
            f"attributes: cannot read {path} ({exc})",
            hint="give a file laid out as CelebA's list_attr_celeba.txt",
        ) from None
    missing = [a for a in select if a not in names]
    if missing:
        raise ParameterError(
            f"attributes: {path} has no {', '.join(missing)}",
            hint="its attributes are: " + " ".join(names),
        )
    columns = [names.index(a) for a in select]
    files, labels = [], []
    for number, line in enumerate(lines[2:], start=3):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != len(names) + 1:
            raise ParameterError(
                f"attributes: line {number} of {path} has {len(parts) - 1} values, not {len(names)}"
            )
        image = images / parts[0]
        if image.is_file():
            files.append(image)
            labels.append([1.0 if parts[1 + c] == "1" else 0.0 for c in columns])
    if not files:
        raise ParameterError(
            f"images: none of the files listed in {path} are in {images}",
            hint="give the folder of the aligned images the list names",
        )
    return files, np.array(labels, np.float32)


def load_face(path: Path, size: int) -> torch.Tensor:
    """CenterCrop(178) and Resize(size) of an aligned image, as a (3, size, size) tensor in
    [-1, 1] (the official preprocessing)."""
    import cv2

    rgb = display_rgb(read_image(str(path), 0))
    h, w = rgb.shape[:2]
    side = min(h, w, 178)
    top, left = round((h - side) / 2), round((w - side) / 2)
    square = rgb[top : top + side, left : left + side]
    square = cv2.resize(square, (size, size), interpolation=cv2.INTER_AREA)
    return torch.from_numpy(np.ascontiguousarray(square)).permute(2, 0, 1) * 2 - 1


class Faces:
    """The training set, decoded once (aligned crops are small), with random batches."""

    def __init__(self, cfg: TrainConfig) -> None:
        self.files, labels = read_attributes(cfg.attributes, cfg.select, cfg.images)
        self.images = torch.stack([load_face(f, cfg.image_size) for f in self.files])
        self.labels = torch.from_numpy(labels)

    def batch(self, rng: torch.Generator, size: int) -> tuple[torch.Tensor, torch.Tensor]:
        idx = torch.randint(len(self.files), (size,), generator=rng)
        x = self.images[idx]
        flip = torch.rand(size, generator=rng) < 0.5
        x[flip] = x[flip].flip(-1)
        return x, self.labels[idx]


class StarGANTrainer(training.Trainer):
    COMPARABLE = ("images", "attributes", "select", "batch_size", "image_size", "seed")
    DIVERGED_HINT = "lower --g-lr/--d-lr; run the same command to resume from the last checkpoint"

    def __init__(self, cfg: TrainConfig, device: torch.device) -> None:
        self.data = Faces(cfg)
        torch.manual_seed(cfg.seed)
        self.cfg, self.device = cfg, device
        c = len(cfg.select)
        self.G = Generator(64, c, 6).to(device)
        self.D = Discriminator(cfg.image_size, 64, c, 6).to(device)
        self.g_opt = torch.optim.Adam(self.G.parameters(), cfg.g_lr, betas=(0.5, 0.999))
        self.d_opt = torch.optim.Adam(self.D.parameters(), cfg.d_lr, betas=(0.5, 0.999))
        self.rng = torch.Generator().manual_seed(cfg.seed)
        fixed = min(4, len(self.data.files))  # the same faces in every preview
        self.shown = (self.data.images[:fixed], self.data.labels[:fixed])

    def summary(self) -> dict:
        return {"faces": len(self.data.files)}

    def step(self, iteration: int) -> dict[str, float]:
        cfg = self.cfg
        x, label_org = self.data.batch(self.rng, cfg.batch_size)
        label_trg = label_org[torch.randperm(len(label_org), generator=self.rng)]
        x, label_org, label_trg = (t.to(self.device) for t in (x, label_org, label_trg))
        n = len(x)

        out_src, out_cls = self.D(x)
        d_real = -out_src.mean()
        d_cls = F.binary_cross_entropy_with_logits(out_cls, label_org, reduction="sum") / n
        fake = self.G(x, label_trg)
        out_src, _ = self.D(fake.detach())
        d_fake = out_src.mean()
        alpha = torch.rand(n, 1, 1, 1, generator=self.rng).to(self.device)
        x_hat = (alpha * x + (1 - alpha) * fake.detach()).requires_grad_(True)
        out_src, _ = self.D(x_hat)
        grad = torch.autograd.grad(
            out_src, x_hat, torch.ones_like(out_src), create_graph=True, retain_graph=True
        )[0]
        d_gp = ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()
        d_loss = d_real + d_fake + cfg.lambda_cls * d_cls + cfg.lambda_gp * d_gp
        self.d_opt.zero_grad()
        d_loss.backward()
        self.d_opt.step()
        losses = {"loss": d_loss, "d_real": d_real, "d_fake": d_fake, "d_cls": d_cls, "d_gp": d_gp}

        if (iteration + 1) % cfg.n_critic == 0:
            fake = self.G(x, label_trg)
            out_src, out_cls = self.D(fake)
            g_fake = -out_src.mean()
            g_cls = F.binary_cross_entropy_with_logits(out_cls, label_trg, reduction="sum") / n
            g_rec = (x - self.G(fake, label_org)).abs().mean()
            g_loss = g_fake + cfg.lambda_rec * g_rec + cfg.lambda_cls * g_cls
            self.g_opt.zero_grad()
            g_loss.backward()
            self.g_opt.step()
            losses.update(g_fake=g_fake, g_cls=g_cls, g_rec=g_rec)

        self._decay(iteration + 1)
        return {k: float(v.detach()) for k, v in losses.items()}

    def _decay(self, done: int) -> None:
        cfg = self.cfg
        if done % cfg.decay_every or done <= cfg.iterations - cfg.decay_iterations:
            return
        for opt, initial in ((self.g_opt, cfg.g_lr), (self.d_opt, cfg.d_lr)):
            for group in opt.param_groups:
                if cfg.decay_to_zero:
                    left = max(cfg.iterations - done, 0)
                    group["lr"] = initial * left / cfg.decay_iterations
                else:  # the official code's step
                    group["lr"] -= initial / cfg.decay_iterations

    @torch.no_grad()
    def preview(self) -> np.ndarray:
        """Rows: the preview faces; columns: the original, then one attribute changed at a
        time (hair colours set one-hot, the others flipped), as the official sample grid."""
        x, labels = (t.to(self.device) for t in self.shown)
        self.G.eval()
        columns = [x]
        hair = [i for i, a in enumerate(self.cfg.select) if a in ATTRIBUTES[:3]]
        for i in range(len(self.cfg.select)):
            c = labels.clone()
            if i in hair:
                c[:, hair] = 0
                c[:, i] = 1
            else:
                c[:, i] = 1 - c[:, i]
            columns.append(self.G(x, c))
        self.G.train()
        grid = torch.cat([torch.cat(list(col), dim=1) for col in columns], dim=2)
        return ((grid.clamp(-1, 1) + 1) / 2).permute(1, 2, 0).cpu().numpy()

    def export(self, iteration: int) -> None:
        cfg = self.cfg
        meta = {
            "format": "neuralfx-stargan",
            "attributes": ",".join(cfg.select),
            "image_size": str(cfg.image_size),
            "iteration": str(iteration),
            "neuralfx": neuralfx.__version__,
            "config": json.dumps({k: str(v) for k, v in dataclasses.asdict(cfg).items()}),
        }
        weights.save_safetensors(cfg.out, self.G.state_dict(), meta)
        weights.save_safetensors(discriminator_path(cfg.out), self.D.state_dict(), meta)

    def state_dict(self) -> dict:
        return {
            "g_opt": self.g_opt.state_dict(),
            "d_opt": self.d_opt.state_dict(),
            "rng": self.rng.get_state(),
        }

    def load_state_dict(self, state: dict) -> None:
        self.G.load_state_dict(weights.read_state_dict(self.cfg.out))
        self.D.load_state_dict(weights.read_state_dict(discriminator_path(self.cfg.out)))
        self.g_opt.load_state_dict(state["g_opt"])
        self.d_opt.load_state_dict(state["d_opt"])
        self.rng.set_state(state["rng"])


def discriminator_path(out: Path) -> Path:
    return out.with_name(out.stem + "-d" + out.suffix)


def train(cfg: TrainConfig, device: torch.device, report=None) -> int:
    """Run or resume; returns the iteration reached. ``report(event)`` gets progress."""
    return training.fit(StarGANTrainer(cfg, device), report)
