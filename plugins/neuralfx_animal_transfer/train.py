"""Training FUNIT with the published recipe (NVlabs/FUNIT trainer.py, configs/funit_animals.yaml):
a folder per class; each step translates a content batch into the class of a second batch;
hinge GAN loss with a gradient penalty on real images (weight 10), feature matching between
the discriminator's pooled features (fm_w 1), reconstruction of the content image from its own
class code (r_w 0.1), RMSprop (lr 1e-4, weight decay 1e-4) for both networks, Kaiming
initialisation, and an exponential moving average (0.999) of the generator, which is what is
saved and what the effect runs (the release's ``gen_test``). Images: the short side resized to
140, a random 128 crop, random flips.

``--out`` gets the EMA generator (safetensors, the official layout); the training state
(generator, discriminator, optimisers, data order) sits beside it, and running again resumes.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

import neuralfx
from neuralfx import training
from neuralfx.host import weights
from neuralfx.errors import NeuralFXError, ParameterError
from neuralfx.frames.images import read_image
from neuralfx.frames.samples import display_rgb
from neuralfx.models.funit import FewShotGenerator, PatchDiscriminator

from .train_cli import TrainConfig

IMAGE_TYPES = (".jpg", ".jpeg", ".png")


class Classes:
    """``images/<class>/<picture>``: the pictures and their class numbers, read per batch."""

    def __init__(self, root: Path) -> None:
        folders = sorted(p for p in root.iterdir() if p.is_dir())
        self.names = [f.name for f in folders]
        self.files, self.labels = [], []
        for label, folder in enumerate(folders):
            for picture in sorted(folder.iterdir()):
                if picture.suffix.lower() in IMAGE_TYPES:
                    self.files.append(picture)
                    self.labels.append(label)
        if len(folders) < 2 or not self.files:
            raise ParameterError(
                f"images: {root} needs a folder per class (at least two) of images",
                hint="lay it out as images/CLASS/PICTURE.jpg",
            )

    def batch(self, rng: np.random.Generator, size: int) -> tuple[torch.Tensor, torch.Tensor]:
        picks = rng.integers(len(self.files), size=size)
        x = torch.stack([self._load(self.files[i], rng) for i in picks])
        return x, torch.tensor([self.labels[i] for i in picks])

    @staticmethod
    def _load(path: Path, rng: np.random.Generator) -> torch.Tensor:
        import cv2

        try:
            rgb = display_rgb(read_image(str(path), 0))
        except NeuralFXError as exc:
            raise ParameterError(f"images: {path} cannot be read ({exc.message})") from None
        h, w = rgb.shape[:2]
        scale = 140 / min(h, w)
        rgb = cv2.resize(
            rgb,
            (max(128, round(w * scale)), max(128, round(h * scale))),
            interpolation=cv2.INTER_AREA,
        )
        top = rng.integers(rgb.shape[0] - 127)
        left = rng.integers(rgb.shape[1] - 127)
        crop = rgb[top : top + 128, left : left + 128]
        if rng.random() < 0.5:
            crop = crop[:, ::-1]
        return torch.from_numpy(np.ascontiguousarray(crop)).permute(2, 0, 1) * 2 - 1


def _kaiming(module: nn.Module) -> None:
    if isinstance(module, (nn.Conv2d, nn.Linear)):
        nn.init.kaiming_normal_(module.weight, a=0, mode="fan_in")
        if module.bias is not None:
            nn.init.zeros_(module.bias)


class FUNITTrainer(training.Trainer):
    COMPARABLE = ("images", "batch_size", "seed")
    DIVERGED_HINT = "lower --lr; run the same command to resume from the last checkpoint"

    def __init__(self, cfg: TrainConfig, device: torch.device) -> None:
        self.data = Classes(cfg.images)
        torch.manual_seed(cfg.seed)
        self.cfg, self.device = cfg, device
        self.gen = FewShotGenerator().to(device)
        self.dis = PatchDiscriminator(len(self.data.names)).to(device)
        self.gen.apply(_kaiming)
        self.dis.apply(_kaiming)
        self.gen_test = copy.deepcopy(self.gen).requires_grad_(False)
        self.gen_opt = torch.optim.RMSprop(
            self.gen.parameters(), cfg.lr, weight_decay=cfg.weight_decay
        )
        self.dis_opt = torch.optim.RMSprop(
            self.dis.parameters(), cfg.lr, weight_decay=cfg.weight_decay
        )
        self.rng = np.random.default_rng(cfg.seed)  # the data order
        shown = np.random.default_rng(0)  # the same pictures in every preview
        self.shown = (
            self.data.batch(shown, min(4, len(self.data.files)))[0],
            self.data.batch(shown, 3)[0],
        )

    def summary(self) -> dict:
        return {"classes": len(self.data.names), "images": len(self.data.files)}

    def step(self, iteration: int) -> dict[str, float]:
        xa, la = self.data.batch(self.rng, self.cfg.batch_size)
        xb, lb = self.data.batch(self.rng, self.cfg.batch_size)
        return self._update(xa, la, xb, lb)

    def _update(self, xa, la, xb, lb) -> dict[str, float]:
        cfg = self.cfg
        xa, la, xb, lb = (t.to(self.device) for t in (xa, la, xb, lb))
        # the discriminator: hinge on real (with the gradient penalty) and on translated
        self.dis_opt.zero_grad()
        xb.requires_grad_(True)
        real, _ = self.dis(xb, lb)
        loss_real = cfg.gan_w * F.relu(1 - real).mean()
        grad = torch.autograd.grad(real.mean(), xb, create_graph=True)[0]
        penalty = cfg.gp_w * grad.pow(2).sum() / len(xb)
        with torch.no_grad():
            codes_b = self.gen.enc_class_model(xb).flatten(1)
            fake = self.gen.translate(xa, codes_b)
        fake_score, _ = self.dis(fake, lb)
        loss_fake = cfg.gan_w * F.relu(1 + fake_score).mean()
        (loss_real + penalty + loss_fake).backward()
        self.dis_opt.step()
        xb = xb.detach()
        # the generator: fool the critic, match its features, reconstruct
        self.gen_opt.zero_grad()
        codes_a = self.gen.enc_class_model(xa).flatten(1)
        codes_b = self.gen.enc_class_model(xb).flatten(1)
        xt, xr = self.gen.translate(xa, codes_b), self.gen.translate(xa, codes_a)
        score_t, feat_t = self.dis(xt, lb)
        score_r, feat_r = self.dis(xr, la)
        _, feat_b = self.dis(xb, lb)
        _, feat_a = self.dis(xa, la)
        adv = -0.5 * (score_t.mean() + score_r.mean())
        match = (feat_r.mean((2, 3)) - feat_a.mean((2, 3))).abs().mean() + (
            feat_t.mean((2, 3)) - feat_b.mean((2, 3))
        ).abs().mean()
        recon = (xr - xa).abs().mean()
        total = cfg.gan_w * adv + cfg.r_w * recon + cfg.fm_w * match
        total.backward()
        self.gen_opt.step()
        with torch.no_grad():  # the moving average that is saved and used
            for ema, p in zip(self.gen_test.parameters(), self.gen.parameters(), strict=True):
                ema.lerp_(p, 1 - cfg.ema)
        losses = {
            "loss": total,
            "d_real": loss_real,
            "d_fake": loss_fake,
            "d_gp": penalty,
            "g_adv": adv,
            "g_fm": match,
            "g_rec": recon,
        }
        return {k: float(v.detach()) for k, v in losses.items()}

    @torch.no_grad()
    def preview(self) -> np.ndarray:
        """Rows: content images; columns: the image, then it as each example's class."""
        content, examples = (t.to(self.device) for t in self.shown)
        columns = [content] + [self.gen_test(content, e[None]) for e in examples]
        grid = torch.cat([torch.cat(list(col), dim=1) for col in columns], dim=2)
        return ((grid.clamp(-1, 1) + 1) / 2).permute(1, 2, 0).cpu().numpy()

    def export(self, iteration: int) -> None:
        cfg = self.cfg
        weights.save_safetensors(
            cfg.out,
            self.gen_test.state_dict(),
            {
                "format": "neuralfx-funit",
                "classes": ",".join(self.data.names),
                "iteration": str(iteration),
                "neuralfx": neuralfx.__version__,
                "config": json.dumps({k: str(v) for k, v in dataclasses.asdict(cfg).items()}),
            },
        )

    def state_dict(self) -> dict:
        return {
            "gen": self.gen.state_dict(),
            "dis": self.dis.state_dict(),
            "gen_opt": self.gen_opt.state_dict(),
            "dis_opt": self.dis_opt.state_dict(),
            "rng": json.dumps(self.rng.bit_generator.state),
        }

    def load_state_dict(self, state: dict) -> None:
        self.gen.load_state_dict(state["gen"])
        self.dis.load_state_dict(state["dis"])
        self.gen_test.load_state_dict(weights.read_state_dict(self.cfg.out))
        self.gen_opt.load_state_dict(state["gen_opt"])
        self.dis_opt.load_state_dict(state["dis_opt"])
        self.rng.bit_generator.state = json.loads(state["rng"])


def train(cfg: TrainConfig, device: torch.device, report=None) -> int:
    return training.fit(FUNITTrainer(cfg, device), report)
