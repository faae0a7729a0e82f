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
from neuralfx import training, weights
from neuralfx.errors import NeuralFXError, ParameterError
from neuralfx.frames.atomic import AtomicFile
from neuralfx.frames.images import read_image
from neuralfx.frames.pixels import display_rgb
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
            raise ParameterError(f"images: {root} needs a folder per class (at least two) of "
                                 "images", hint="lay it out as images/CLASS/PICTURE.jpg")

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
        rgb = cv2.resize(rgb, (max(128, round(w * scale)), max(128, round(h * scale))),
                         interpolation=cv2.INTER_AREA)
        top = rng.integers(rgb.shape[0] - 127)
        left = rng.integers(rgb.shape[1] - 127)
        crop = rgb[top:top + 128, left:left + 128]
        if rng.random() < 0.5:
            crop = crop[:, ::-1]
        return torch.from_numpy(np.ascontiguousarray(crop)).permute(2, 0, 1) * 2 - 1


def _kaiming(module: nn.Module) -> None:
    if isinstance(module, (nn.Conv2d, nn.Linear)):
        nn.init.kaiming_normal_(module.weight, a=0, mode="fan_in")
        if module.bias is not None:
            nn.init.zeros_(module.bias)


class FUNITTrainer:
    def __init__(self, cfg: TrainConfig, classes: int, device: torch.device) -> None:
        torch.manual_seed(cfg.seed)
        self.cfg, self.device = cfg, device
        self.gen = FewShotGenerator().to(device)
        self.dis = PatchDiscriminator(classes).to(device)
        self.gen.apply(_kaiming)
        self.dis.apply(_kaiming)
        self.gen_test = copy.deepcopy(self.gen).requires_grad_(False)
        self.gen_opt = torch.optim.RMSprop(self.gen.parameters(), cfg.lr,
                                           weight_decay=cfg.weight_decay)
        self.dis_opt = torch.optim.RMSprop(self.dis.parameters(), cfg.lr,
                                           weight_decay=cfg.weight_decay)

    def step(self, xa, la, xb, lb) -> dict[str, float]:
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
        match = (feat_r.mean((2, 3)) - feat_a.mean((2, 3))).abs().mean() + \
            (feat_t.mean((2, 3)) - feat_b.mean((2, 3))).abs().mean()
        recon = (xr - xa).abs().mean()
        total = cfg.gan_w * adv + cfg.r_w * recon + cfg.fm_w * match
        total.backward()
        self.gen_opt.step()
        with torch.no_grad():  # the moving average that is saved and used
            for ema, p in zip(self.gen_test.parameters(), self.gen.parameters(), strict=True):
                ema.lerp_(p, 1 - cfg.ema)
        losses = {"loss": total, "d_real": loss_real, "d_fake": loss_fake, "d_gp": penalty,
                  "g_adv": adv, "g_fm": match, "g_rec": recon}
        return {k: float(v.detach()) for k, v in losses.items()}

    @torch.no_grad()
    def preview(self, content: torch.Tensor, examples: torch.Tensor) -> np.ndarray:
        """Rows: content images; columns: the image, then it as each example's class."""
        columns = [content] + [self.gen_test(content, e[None]) for e in examples]
        grid = torch.cat([torch.cat(list(col), dim=1) for col in columns], dim=2)
        return ((grid.clamp(-1, 1) + 1) / 2).permute(1, 2, 0).cpu().numpy()


def train(cfg: TrainConfig, device: torch.device, report=None) -> int:
    report = report or (lambda event: None)
    data = Classes(cfg.images)
    trainer = FUNITTrainer(cfg, len(data.names), device)
    rng = np.random.default_rng(cfg.seed)
    start = 0
    if training.resumable(cfg.out):
        start, rng = _resume(trainer, cfg)
        report({"event": "resume", "iteration": start})
    report({"event": "start", "classes": len(data.names), "images": len(data.files),
            "iterations": cfg.iterations, "from": start})
    shown = np.random.default_rng(0)
    preview_content, _ = data.batch(shown, min(4, len(data.files)))
    preview_examples, _ = data.batch(shown, 3)

    def step(iteration: int) -> dict[str, float]:
        xa, la = data.batch(rng, cfg.batch_size)
        xb, lb = data.batch(rng, cfg.batch_size)
        return trainer.step(xa, la, xb, lb)

    return training.loop(
        out=cfg.out, iterations=cfg.iterations, start=start, step=step,
        preview=lambda: trainer.preview(preview_content.to(device), preview_examples.to(device)),
        save=lambda done: _save(trainer, cfg, done, rng, data.names), save_every=cfg.save_every,
        preview_every=cfg.preview_every, report=report,
        diverged_hint="lower --lr; run the same command to resume from the last checkpoint")


def _comparable(cfg: TrainConfig) -> dict[str, str]:
    return {k: str(getattr(cfg, k)) for k in ("images", "batch_size", "seed")}


def _save(trainer: FUNITTrainer, cfg: TrainConfig, iteration: int, rng, classes) -> None:
    cfg.out.parent.mkdir(parents=True, exist_ok=True)
    weights.save_safetensors(cfg.out, trainer.gen_test.state_dict(), {
        "format": "neuralfx-funit", "classes": ",".join(classes), "iteration": str(iteration),
        "neuralfx": neuralfx.__version__,
        "config": json.dumps({k: str(v) for k, v in dataclasses.asdict(cfg).items()})})
    target = AtomicFile(str(training.state_path(cfg.out)))
    torch.save({"iteration": iteration, "gen": trainer.gen.state_dict(),
                "dis": trainer.dis.state_dict(), "gen_opt": trainer.gen_opt.state_dict(),
                "dis_opt": trainer.dis_opt.state_dict(),
                "rng": json.dumps(rng.bit_generator.state), "config": _comparable(cfg)},
               target.tmp)
    target.commit()


def _resume(trainer: FUNITTrainer, cfg: TrainConfig):
    state = training.read_state(cfg.out, _comparable(cfg), "--images/--batch-size/--seed")
    trainer.gen.load_state_dict(state["gen"])
    trainer.dis.load_state_dict(state["dis"])
    trainer.gen_test.load_state_dict(weights.read_state_dict(cfg.out))
    trainer.gen_opt.load_state_dict(state["gen_opt"])
    trainer.dis_opt.load_state_dict(state["dis_opt"])
    rng = np.random.default_rng()
    rng.bit_generator.state = json.loads(state["rng"])
    return int(state["iteration"]), rng
