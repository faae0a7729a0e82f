"""The DeepFakes face-swap autoencoder: one encoder shared by two identities, one decoder
each (the "original" model of deepfakes/faceswap, and DeepFaceLab's SAE family). Trained to
rebuild A's faces through decoder A and B's through decoder B, it swaps by encoding A and
decoding with B.

Sizes are configurable: ``resolution`` 64 to 256 (a power of two), ``width`` (the first
layer's channels; the encoder doubles them up to 8x), ``latent`` (the bottleneck) and an
optional mask head on each decoder. The configuration travels in the checkpoint's metadata.

* encoder: 5x5 stride-2 convolutions with LeakyReLU(0.1) down to 4x4, a dense bottleneck of
  ``latent`` values, a dense layer back to 4x4x``latent``, one upscale (3x3 conv, pixel
  shuffle) to 8x8;
* decoder: upscales (3x3 conv, LeakyReLU, pixel shuffle) to the resolution, a 5x5 conv to RGB
  with a sigmoid, and, with ``mask``, a 5x5 conv to one sigmoid channel.
"""

from __future__ import annotations

import dataclasses
import math

import torch
import torch.nn.functional as F
from torch import nn


@dataclasses.dataclass(frozen=True)
class SwapConfig:
    resolution: int = 64
    width: int = 128
    latent: int = 512
    mask: bool = True

    def check(self) -> None:
        if self.resolution not in (64, 128, 256):
            raise ValueError(f"resolution {self.resolution}: use 64, 128 or 256")

    def metadata(self) -> dict[str, str]:
        return {k: str(v) for k, v in dataclasses.asdict(self).items()}

    @classmethod
    def from_metadata(cls, meta: dict[str, str]) -> SwapConfig:
        return cls(
            int(meta["resolution"]), int(meta["width"]), int(meta["latent"]), meta["mask"] == "True"
        )


class Upscale(nn.Module):
    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, cout * 4, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.pixel_shuffle(F.leaky_relu(self.conv(x), 0.1), 2)


class Encoder(nn.Module):
    def __init__(self, cfg: SwapConfig) -> None:
        super().__init__()
        downs = int(math.log2(cfg.resolution)) - 2
        layers, cin = [], 3
        for i in range(downs):
            cout = min(cfg.width * 2**i, cfg.width * 8)
            layers.append(nn.Conv2d(cin, cout, 5, stride=2, padding=2))
            cin = cout
        self.convs = nn.ModuleList(layers)
        self.dense = nn.Linear(cin * 16, cfg.latent)
        self.expand = nn.Linear(cfg.latent, 16 * cfg.latent)
        self.upscale = Upscale(cfg.latent, cfg.latent // 2)
        self.latent = cfg.latent

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for conv in self.convs:
            x = F.leaky_relu(conv(x), 0.1)
        x = self.expand(self.dense(x.flatten(1))).view(-1, self.latent, 4, 4)
        return self.upscale(x)


class Decoder(nn.Module):
    def __init__(self, cfg: SwapConfig) -> None:
        super().__init__()
        ups = int(math.log2(cfg.resolution)) - 3
        layers, cin = [], cfg.latent // 2
        for i in range(ups):
            cout = max(cfg.width * 4 // 2**i, 16)
            layers.append(Upscale(cin, cout))
            cin = cout
        self.ups = nn.ModuleList(layers)
        self.face = nn.Conv2d(cin, 3, 5, padding=2)
        self.mask = nn.Conv2d(cin, 1, 5, padding=2) if cfg.mask else None

    def forward(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        for up in self.ups:
            z = up(z)
        face = torch.sigmoid(self.face(z))
        return face, (torch.sigmoid(self.mask(z)) if self.mask is not None else None)


class SwapModel(nn.Module):
    """``forward(x, identity)``: faces ``(N, 3, R, R)`` in [0, 1] → (the faces decoded as
    ``identity`` ("a" or "b"), its mask or None)."""

    def __init__(self, cfg: SwapConfig) -> None:
        super().__init__()
        cfg.check()
        self.cfg = cfg
        self.encoder = Encoder(cfg)
        self.decoder_a = Decoder(cfg)
        self.decoder_b = Decoder(cfg)

    def forward(self, x: torch.Tensor, identity: str) -> tuple[torch.Tensor, torch.Tensor | None]:
        decoder = self.decoder_a if identity == "a" else self.decoder_b
        return decoder(self.encoder(x))
