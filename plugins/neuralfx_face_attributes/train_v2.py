"""Training StarGAN v2 on CelebA-HQ-aligned faces with the published recipe (clovaai/stargan-v2
``core/solver.py``, ../shared/reference/MODELS.md section 2).

Each iteration: a discriminator step with a latent-guided fake and one with a
reference-guided fake (non-saturating BCE, R1 = 0.5·‖∇D(x_real)‖² with λ_reg = 1), a step of
the generator, mapping network and style encoder with latent styles, and a generator-only step
with reference styles; the generator's loss is adversarial + λ_sty·style reconstruction −
λ_ds·diversity + λ_cyc·cycle, and λ_ds decays linearly to 0 over ``ds_iter`` iterations. Adam
(lr 1e-4, mapping network 1e-6, betas (0, 0.99), weight decay 1e-4), He-normal start, batch 8;
the exported networks are the EMA copies (β = 0.999, parameters). The generator learns with
the FAN's masks of the real faces (and of the fakes, for the cycle), as w_hpf = 1 does.

Data: ``images/female`` and ``images/male`` (the official ``data/celeba_hq/train``); source and
reference domains drawn evenly (the official balanced sampler); each image randomly cropped
(p = 0.5: 80-100 % of the area, aspect 0.9-1.1) and flipped (p = 0.5). Images are decoded once
at 256 px, so the random crop is taken from that copy rather than from the file.

Unlike the official code, a resumed run continues the diversity weight's decay where it was
(the official solver restarts it from λ_ds at every resume).
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math

import numpy as np
import torch
import torch.nn.functional as F

import neuralfx
import neuralfx.models
from neuralfx import training
from neuralfx.errors import NeuralFXError, ParameterError
from neuralfx.frames.images import read_image
from neuralfx.frames.samples import display_rgb
from neuralfx.host import weights
from neuralfx.models.stargan_v2 import (
    DOMAINS,
    IMAGE_SIZE,
    LATENT_DIM,
    Discriminator,
    StarGANv2,
    convert_celeba_hq,
    he_init,
)

from .train_cli import StarGANv2Config

IMAGE_TYPES = (".jpg", ".jpeg", ".png")
EMA_BETA = 0.999
NETWORKS = ("generator", "mapping_network", "style_encoder")


def load_image(path, size: int = IMAGE_SIZE) -> torch.Tensor:
    """An image resized to ``size`` square, ``(3, size, size)`` in [-1, 1]."""
    import cv2

    try:
        rgb = display_rgb(read_image(str(path), 0))
    except NeuralFXError as exc:
        raise ParameterError(f"images: {path} cannot be read ({exc.message})") from None
    rgb = cv2.resize(rgb, (size, size), interpolation=cv2.INTER_AREA)
    return torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1) * 2 - 1


class Domains:
    """The faces of each domain, decoded once, drawn with the official augmentation."""

    def __init__(self, cfg: StarGANv2Config) -> None:
        self.names = DOMAINS["celeba_hq"]
        self.images: list[torch.Tensor] = []
        for name in self.names:
            folder = cfg.images / name
            files = sorted(
                p for p in folder.glob("*") if p.suffix.lower() in IMAGE_TYPES
            ) if folder.is_dir() else []  # fmt: skip
            if not files:
                raise ParameterError(
                    f"images: {folder} has no faces (JPEG or PNG)",
                    hint="put the faces in female/ and male/ folders under --images, aligned "
                    "as CelebA-HQ (the official data/celeba_hq/train layout)",
                )
            self.images.append(torch.stack([load_image(f) for f in files]))

    def draw(self, rng: torch.Generator, domains: torch.Tensor) -> torch.Tensor:
        out = []
        for d in domains.tolist():
            pool = self.images[d]
            x = pool[int(torch.randint(len(pool), (1,), generator=rng))]
            if float(torch.rand(1, generator=rng)) < 0.5:
                x = random_resized_crop(x, rng)
            if float(torch.rand(1, generator=rng)) < 0.5:
                x = x.flip(-1)
            out.append(x)
        return torch.stack(out)


def random_resized_crop(x: torch.Tensor, rng: torch.Generator) -> torch.Tensor:
    """torchvision's RandomResizedCrop(scale=(0.8, 1), ratio=(0.9, 1.1)), back to the size."""
    size = x.shape[-1]
    for _ in range(10):
        area = size * size * (0.8 + 0.2 * float(torch.rand(1, generator=rng)))
        low, high = math.log(0.9), math.log(1.1)
        ratio = math.exp(low + (high - low) * float(torch.rand(1, generator=rng)))
        w, h = round(math.sqrt(area * ratio)), round(math.sqrt(area / ratio))
        if 0 < w <= size and 0 < h <= size:
            top = int(torch.randint(size - h + 1, (1,), generator=rng))
            left = int(torch.randint(size - w + 1, (1,), generator=rng))
            crop = x[None, :, top : top + h, left : left + w]
            return F.interpolate(crop, size=size, mode="bilinear", antialias=True)[0]
    return x


def adversarial(logits: torch.Tensor, target: float) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))


class StarGANv2Trainer(training.Trainer):
    COMPARABLE = ("images", "fan", "batch_size", "seed")
    DIVERGED_HINT = "lower --lr; run the same command to resume from the last checkpoint"

    def __init__(self, cfg: StarGANv2Config, device: torch.device) -> None:
        self.cfg, self.device = cfg, device
        self.data = Domains(cfg)
        try:
            self.fan = neuralfx.models.load("wing-fan", cfg.fan, device)
        except NeuralFXError as exc:
            raise NeuralFXError(
                f"fan: {exc.message}",
                hint=(exc.hint or "") + "; `neuralfx models fetch wing-fan` gets the official "
                "FAN (CC BY-NC 4.0)",
            ) from None
        torch.manual_seed(cfg.seed)
        self.nets = StarGANv2("celeba_hq").apply(he_init).to(device)
        self.D = Discriminator(num_domains=len(self.data.names)).apply(he_init).to(device)
        self.ema = copy.deepcopy(self.nets).requires_grad_(False)

        def adam(module, lr):
            return torch.optim.Adam(
                module.parameters(), lr, betas=(0.0, 0.99), weight_decay=cfg.weight_decay
            )

        self.opts = {
            "generator": adam(self.nets.generator, cfg.lr),
            "mapping_network": adam(self.nets.mapping_network, cfg.f_lr),
            "style_encoder": adam(self.nets.style_encoder, cfg.lr),
            "discriminator": adam(self.D, cfg.lr),
        }
        self.rng = torch.Generator().manual_seed(cfg.seed)
        # the previews: the first face of each domain, a fixed latent per domain
        self.shown = torch.stack([images[0] for images in self.data.images])
        self.shown_z = torch.randn(len(self.data.names), LATENT_DIM, generator=self.rng)

    def summary(self) -> dict:
        return {"faces": sum(len(i) for i in self.data.images)} | {
            n: len(i) for n, i in zip(self.data.names, self.data.images, strict=True)
        }

    # -- one iteration -----------------------------------------------------------------------
    def _inputs(self):
        n, b = len(self.data.names), self.cfg.batch_size
        y_org = torch.randint(n, (b,), generator=self.rng)
        y_trg = torch.randint(n, (b,), generator=self.rng)
        x_real = self.data.draw(self.rng, y_org)
        x_ref, x_ref2 = self.data.draw(self.rng, y_trg), self.data.draw(self.rng, y_trg)
        z, z2 = (torch.randn(b, LATENT_DIM, generator=self.rng) for _ in range(2))
        return (t.to(self.device) for t in (x_real, y_org, y_trg, x_ref, x_ref2, z, z2))

    def _style(self, y, z=None, ref=None):
        if z is not None:
            return self.nets.mapping_network(z, y)
        return self.nets.style_encoder(ref, y)

    def _d_loss(self, x_real, y_org, y_trg, masks, z=None, ref=None):
        x_real = x_real.detach().requires_grad_(True)
        out = self.D(x_real, y_org)
        real = adversarial(out, 1.0)
        (grad,) = torch.autograd.grad(out.sum(), x_real, create_graph=True)
        r1 = 0.5 * grad.pow(2).flatten(1).sum(1).mean()
        with torch.no_grad():
            fake = self.nets.generator(x_real, self._style(y_trg, z, ref), masks=masks)
        fake_loss = adversarial(self.D(fake, y_trg), 0.0)
        return real + fake_loss + self.cfg.lambda_reg * r1, {"d_real": real, "d_r1": r1}

    def _g_loss(self, x_real, y_org, y_trg, masks, lambda_ds, zs=(None, None), refs=(None, None)):
        cfg, G = self.cfg, self.nets.generator
        s_trg = self._style(y_trg, zs[0], refs[0])
        fake = G(x_real, s_trg, masks=masks)
        adv = adversarial(self.D(fake, y_trg), 1.0)
        sty = (self.nets.style_encoder(fake, y_trg) - s_trg).abs().mean()
        fake2 = G(x_real, self._style(y_trg, zs[1], refs[1]), masks=masks).detach()
        ds = (fake - fake2).abs().mean()
        rec = G(fake, self.nets.style_encoder(x_real, y_org), masks=self.fan.get_heatmap(fake))
        cyc = (rec - x_real).abs().mean()
        loss = adv + cfg.lambda_sty * sty - lambda_ds * ds + cfg.lambda_cyc * cyc
        return loss, {"g_adv": adv, "g_sty": sty, "g_ds": ds, "g_cyc": cyc}

    def _update(self, loss: torch.Tensor, *names: str) -> None:
        for opt in self.opts.values():
            opt.zero_grad()
        loss.backward()
        for name in names:
            self.opts[name].step()

    def step(self, iteration: int) -> dict[str, float]:
        cfg = self.cfg
        x_real, y_org, y_trg, x_ref, x_ref2, z, z2 = self._inputs()
        masks = self.fan.get_heatmap(x_real)
        lambda_ds = max(cfg.lambda_ds * (1 - iteration / cfg.ds_iter), 0.0)
        d_latent, shown = self._d_loss(x_real, y_org, y_trg, masks, z=z)
        self._update(d_latent, "discriminator")
        d_ref, _ = self._d_loss(x_real, y_org, y_trg, masks, ref=x_ref)
        self._update(d_ref, "discriminator")
        g_latent, g_shown = self._g_loss(x_real, y_org, y_trg, masks, lambda_ds, zs=(z, z2))
        self._update(g_latent, "generator", "mapping_network", "style_encoder")
        g_ref, _ = self._g_loss(x_real, y_org, y_trg, masks, lambda_ds, refs=(x_ref, x_ref2))
        self._update(g_ref, "generator")
        with torch.no_grad():
            for name in NETWORKS:
                live, ema = getattr(self.nets, name), getattr(self.ema, name)
                for p, p_ema in zip(live.parameters(), ema.parameters(), strict=True):
                    p_ema.copy_(torch.lerp(p, p_ema, EMA_BETA))
        losses = {"loss": d_latent + g_latent, "d_latent": d_latent, "d_ref": d_ref}
        losses.update(shown, g_latent=g_latent, g_ref=g_ref, **g_shown)
        return {k: float(v.detach()) for k, v in losses.items()} | {"lambda_ds": lambda_ds}

    # -- what the run shows and keeps ---------------------------------------------------------
    @torch.no_grad()
    def preview(self) -> np.ndarray:
        """Rows: the first face of each domain. Columns: the face, then (EMA networks) each
        domain with its fixed latent, then each domain in the style of the other rows' faces."""
        x = self.shown.to(self.device)
        masks = self.fan.get_heatmap(x)
        n = len(x)
        columns = [x]
        for d in range(n):
            y = torch.full((n,), d, device=self.device)
            s = self.ema.mapping_network(self.shown_z[d : d + 1].to(self.device).expand(n, -1), y)
            columns.append(self.ema.generator(x, s, masks=masks))
        for d in range(n):
            y = torch.full((n,), d, device=self.device)
            s = self.ema.style_encoder(x.roll(1, 0), y)
            columns.append(self.ema.generator(x, s, masks=masks))
        grid = torch.cat([torch.cat(list(col), dim=1) for col in columns], dim=2)
        return ((grid.clamp(-1, 1) + 1) / 2).permute(1, 2, 0).cpu().numpy()

    def export(self, iteration: int) -> None:
        cfg = self.cfg
        meta = {
            "format": "neuralfx-stargan-v2",
            "domains": ",".join(self.data.names),
            "iteration": str(iteration),
            "neuralfx": neuralfx.__version__,
            "config": json.dumps({k: str(v) for k, v in dataclasses.asdict(cfg).items()}),
        }
        state = {f"{name}.{k}": v for name in NETWORKS for k, v in _state(self.ema, name).items()}
        weights.save_safetensors(cfg.out, state, meta)

    def state_dict(self) -> dict:
        return {
            "nets": self.nets.state_dict(),
            "discriminator": self.D.state_dict(),
            "opts": {name: opt.state_dict() for name, opt in self.opts.items()},
            "rng": self.rng.get_state(),
        }

    def load_state_dict(self, state: dict) -> None:
        self.ema.load_state_dict(convert_celeba_hq(weights.read_state_dict(self.cfg.out)))
        self.nets.load_state_dict(state["nets"])
        self.D.load_state_dict(state["discriminator"])
        for name, opt in self.opts.items():
            opt.load_state_dict(state["opts"][name])
        self.rng.set_state(state["rng"])


def _state(nets: StarGANv2, name: str) -> dict[str, torch.Tensor]:
    return {k: v.detach().contiguous() for k, v in getattr(nets, name).state_dict().items()}


def train(cfg: StarGANv2Config, device: torch.device, report=None) -> int:
    """Run or resume; returns the iteration reached. ``report(event)`` gets progress."""
    return training.fit(StarGANv2Trainer(cfg, device), report)
