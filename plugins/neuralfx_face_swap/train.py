"""Training the face-swap autoencoder, the DeepFakes way (deepfakes/faceswap, DeepFaceLab):
one shared encoder, a decoder per identity, each taught to rebuild its own faces from
*warped* copies (a random affine, then a random smooth grid warp: the network must learn the
face, not copy pixels), with a loss inside the face mask of SSIM (as DSSIM) plus L1, and an
optional mask head trained on the landmark-hull masks. Adam (5e-5, betas 0.5 and 0.999),
batch 16. Faces come from ``neuralfx faces extract --layout swap`` (``images/`` and
``masks/``). Runs resume exactly; previews show each identity rebuilt and swapped.
"""

from __future__ import annotations

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
from neuralfx.models.faceswap import SwapModel

from .train_cli import TrainConfig


class Faces:
    """One identity's aligned faces and masks, decoded once, resized to the model's size."""

    def __init__(self, folder: Path, size: int, name: str) -> None:
        import cv2

        images = folder / "images" if (folder / "images").is_dir() else folder
        files = sorted(p for p in images.iterdir() if p.suffix.lower() in (".png", ".jpg"))
        if len(files) < 2:
            raise ParameterError(
                f"{name}: {folder} has {len(files)} face(s); at least 2 are "
                "needed (hundreds for a real model)",
                hint=f"extract them with `neuralfx faces extract VIDEO "
                f"{folder} --layout swap --size {size}`",
            )
        self.faces, self.masks = [], []
        for path in files:
            rgb = cv2.resize(
                display_rgb(read_image(str(path), 0)), (size, size), interpolation=cv2.INTER_AREA
            )
            mask_path = folder / "masks" / path.name
            mask = (
                np.ones((size, size), np.float32)
                if not mask_path.is_file()
                else cv2.resize(display_rgb(read_image(str(mask_path), 0))[..., 0], (size, size))
            )
            self.faces.append(torch.from_numpy(rgb).permute(2, 0, 1))
            self.masks.append(torch.from_numpy(mask)[None])
        self.faces, self.masks = torch.stack(self.faces), torch.stack(self.masks)


def random_affine(x: torch.Tensor, rng: torch.Generator) -> torch.Tensor:
    """Sampling grids of a random affine: rotation ±10°, scale ±5 %, shift ±5 %."""
    n = len(x)
    angle = (torch.rand(n, generator=rng) * 2 - 1) * np.pi / 18
    scale = 1 + (torch.rand(n, generator=rng) * 2 - 1) * 0.05
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0], theta[:, 0, 1] = scale * torch.cos(angle), -scale * torch.sin(angle)
    theta[:, 1, 0], theta[:, 1, 1] = scale * torch.sin(angle), scale * torch.cos(angle)
    theta[:, :, 2] = (torch.rand(n, 2, generator=rng) * 2 - 1) * 0.1
    return F.affine_grid(theta, list(x.shape), align_corners=False)


def random_warp(x: torch.Tensor, rng: torch.Generator) -> torch.Tensor:
    """A smooth random displacement of the sampling grid: a 5x5 grid of offsets (up to 2.5 %
    of the side), upsampled bicubically."""
    offsets = (torch.rand(len(x), 2, 5, 5, generator=rng) * 2 - 1) * 0.05
    return F.interpolate(offsets, size=x.shape[-2:], mode="bicubic", align_corners=True).permute(
        0, 2, 3, 1
    )


def ssim_map(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Per-pixel SSIM (11x11 Gaussian window, sigma 1.5; Wang et al. 2004), channel mean."""
    c1, c2 = 0.01**2, 0.03**2
    g = torch.exp(-((torch.arange(11, dtype=a.dtype, device=a.device) - 5) ** 2) / (2 * 1.5**2))
    g = g / g.sum()
    window = (g[:, None] * g[None, :]).expand(a.shape[1], 1, 11, 11)

    def blur(t):
        return F.conv2d(F.pad(t, (5,) * 4, mode="reflect"), window, groups=a.shape[1])

    ma, mb = blur(a), blur(b)
    va, vb, cov = blur(a * a) - ma**2, blur(b * b) - mb**2, blur(a * b) - ma * mb
    s = ((2 * ma * mb + c1) * (2 * cov + c2)) / ((ma**2 + mb**2 + c1) * (va + vb + c2))
    return s.mean(1, keepdim=True)


class SwapTrainer(training.Trainer):
    COMPARABLE = ("a", "b", "resolution", "width", "latent", "batch_size", "seed")
    DIVERGED_HINT = "lower --lr; run the same command to resume"

    def __init__(self, cfg: TrainConfig, device: torch.device) -> None:
        size = cfg.model.resolution
        self.a, self.b = Faces(cfg.a, size, "a"), Faces(cfg.b, size, "b")
        torch.manual_seed(cfg.seed)
        self.cfg, self.device = cfg, device
        self.model = SwapModel(cfg.model).to(device)
        self.opt = torch.optim.Adam(self.model.parameters(), cfg.lr, betas=(0.5, 0.999))
        self.rng = torch.Generator().manual_seed(cfg.seed)

    def _loss(self, faces: Faces, identity: str) -> tuple[torch.Tensor, float]:
        cfg = self.cfg
        pick = torch.randint(len(faces.faces), (cfg.batch_size,), generator=self.rng)
        x, m = faces.faces[pick], faces.masks[pick]
        grid = random_affine(x, self.rng)  # target and input share the pose ...
        target = F.grid_sample(x, grid, padding_mode="border", align_corners=False)
        mask = F.grid_sample(m, grid, padding_mode="zeros", align_corners=False)
        source = F.grid_sample(
            x,
            grid + random_warp(x, self.rng),  # ... the input is warped
            padding_mode="border",
            align_corners=False,
        )
        target, mask, source = (t.to(self.device) for t in (target, mask, source))
        face, predicted_mask = self.model(source, identity)
        weight = mask.sum().clamp_min(1.0)
        l1 = ((face - target).abs() * mask).sum() / (weight * 3)
        dssim = (((1 - ssim_map(face, target)) / 2) * mask).sum() / weight
        loss = cfg.l1_weight * l1 + cfg.ssim_weight * dssim
        if predicted_mask is not None:
            loss = loss + cfg.mask_weight * (predicted_mask - mask).abs().mean()
        return loss, float(l1.detach() + dssim.detach())

    def summary(self) -> dict:
        return {"faces_a": len(self.a.faces), "faces_b": len(self.b.faces)}

    def warnings(self) -> list[str]:
        a, b = len(self.a.faces), len(self.b.faces)
        if max(a, b) > 4 * min(a, b):
            return [
                f"A has {a} faces and B {b}: the smaller set will be learnt far less well; "
                "extract more faces of it (or fewer of the other, with --every)"
            ]
        return []

    def step(self, iteration: int) -> dict[str, float]:
        a, b = self.a, self.b
        self.opt.zero_grad()
        loss_a, face_a = self._loss(a, "a")
        loss_b, face_b = self._loss(b, "b")
        (loss_a + loss_b).backward()
        self.opt.step()
        return {"loss": float((loss_a + loss_b).detach()), "face_a": face_a, "face_b": face_b}

    @torch.no_grad()
    def preview(self) -> np.ndarray:
        """Rows: A's faces, then B's; columns: the face, rebuilt as itself, swapped."""
        a, b = self.a.faces[:4], self.b.faces[:4]
        rows = []
        for faces, own, other in ((a, "a", "b"), (b, "b", "a")):
            faces = faces.to(self.device)
            rows.append(
                torch.cat([faces, self.model(faces, own)[0], self.model(faces, other)[0]], dim=3)
            )
        grid = torch.cat([torch.cat(list(r), dim=1) for r in rows], dim=1)
        return grid.clamp(0, 1).permute(1, 2, 0).cpu().numpy()

    def comparable(self) -> dict[str, str]:
        cfg = self.cfg
        return {
            "a": str(cfg.a),
            "b": str(cfg.b),
            "model": json.dumps(cfg.model.metadata()),
            "batch_size": str(cfg.batch_size),
            "seed": str(cfg.seed),
        }

    def export(self, iteration: int) -> None:
        cfg = self.cfg
        weights.save_safetensors(
            cfg.out,
            self.model.state_dict(),
            {
                "format": "neuralfx-face-swap",
                **cfg.model.metadata(),
                "iteration": str(iteration),
                "a": str(cfg.a),
                "b": str(cfg.b),
                "neuralfx": neuralfx.__version__,
            },
        )

    def state_dict(self) -> dict:
        return {"opt": self.opt.state_dict(), "rng": self.rng.get_state()}

    def load_state_dict(self, state: dict) -> None:
        self.model.load_state_dict(weights.read_state_dict(self.cfg.out))
        self.opt.load_state_dict(state["opt"])
        self.rng.set_state(state["rng"])


def train(cfg: TrainConfig, device: torch.device, report=None) -> int:
    return training.fit(SwapTrainer(cfg, device), report)
