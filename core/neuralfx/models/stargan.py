"""StarGAN (Choi et al., CVPR 2018), as in yunjey/stargan ``model.py``: the generator and the
discriminator, with the official state-dict keys, so ``200000-G.ckpt`` (CelebA 128², 5
attributes) and the 256² release load as they are (strictly).

Facts (../shared/reference/MODELS.md, stargan_v1_celeba128_generator.json):

* ``Generator.forward(x, c)``: ``x`` ``(N, 3, H, W)`` RGB in [-1, 1], H and W multiples of 4;
  ``c`` ``(N, 5)`` 0/1 labels in the order Black_Hair, Blond_Hair, Brown_Hair, Male, Young,
  tiled over the image and concatenated after the three colour channels. Output: tanh, [-1, 1].
* ``main``: 7×7 conv 8→64, two 4×4 stride-2 convs to 256, six residual blocks (conv-IN-ReLU-
  conv-IN plus identity), two 4×4 stride-2 transposed convs back to 64, 7×7 conv to 3, tanh.
  No conv has a bias; padding is zeros.
* Every norm is ``InstanceNorm2d(affine=True, track_running_stats=True)``, but the official test
  never calls ``eval()``: the norms use each image's own statistics and the running buffers,
  carried in the checkpoint, are never read. :class:`InstanceNormIgnoringRunningStats` does
  exactly that in both modes (``eval()`` here changes nothing, unlike the official module).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

ATTRIBUTES = ("Black_Hair", "Blond_Hair", "Brown_Hair", "Male", "Young")
HAIR = ATTRIBUTES[:3]  # one-hot


class InstanceNormIgnoringRunningStats(nn.InstanceNorm2d):
    """Affine instance norm with the official buffers (so checkpoints load strictly) that always
    normalises with the input's own statistics, as the official test effectively does."""

    def __init__(self, channels: int) -> None:
        super().__init__(channels, affine=True, track_running_stats=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.instance_norm(
            x, None, None, self.weight, self.bias, use_input_stats=True, eps=self.eps
        )


class ResidualBlock(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.main = nn.Sequential(
            nn.Conv2d(channels, channels, 3, 1, 1, bias=False),
            InstanceNormIgnoringRunningStats(channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(channels, channels, 3, 1, 1, bias=False),
            InstanceNormIgnoringRunningStats(channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.main(x)


class Generator(nn.Module):
    """``forward(x, c)`` as the official generator (see the module docstring)."""

    def __init__(self, conv_dim: int = 64, c_dim: int = 5, repeat_num: int = 6) -> None:
        super().__init__()
        self.c_dim = c_dim
        layers: list[nn.Module] = [
            nn.Conv2d(3 + c_dim, conv_dim, 7, 1, 3, bias=False),
            InstanceNormIgnoringRunningStats(conv_dim),
            nn.ReLU(inplace=True),
        ]
        width = conv_dim
        for _ in range(2):
            layers += [
                nn.Conv2d(width, width * 2, 4, 2, 1, bias=False),
                InstanceNormIgnoringRunningStats(width * 2),
                nn.ReLU(inplace=True),
            ]
            width *= 2
        layers += [ResidualBlock(width) for _ in range(repeat_num)]
        for _ in range(2):
            layers += [
                nn.ConvTranspose2d(width, width // 2, 4, 2, 1, bias=False),
                InstanceNormIgnoringRunningStats(width // 2),
                nn.ReLU(inplace=True),
            ]
            width //= 2
        layers += [nn.Conv2d(width, 3, 7, 1, 3, bias=False), nn.Tanh()]
        self.main = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        c = c.to(x.dtype)[:, :, None, None].expand(-1, -1, x.shape[2], x.shape[3])
        return self.main(torch.cat([x, c], dim=1))


class Discriminator(nn.Module):
    """PatchGAN critic plus attribute classifier: ``forward(x) → (patch map, logits)``."""

    def __init__(
        self, image_size: int = 128, conv_dim: int = 64, c_dim: int = 5, repeat_num: int = 6
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(3, conv_dim, 4, 2, 1), nn.LeakyReLU(0.01)]
        width = conv_dim
        for _ in range(1, repeat_num):
            layers += [nn.Conv2d(width, width * 2, 4, 2, 1), nn.LeakyReLU(0.01)]
            width *= 2
        self.main = nn.Sequential(*layers)
        self.conv1 = nn.Conv2d(width, 1, 3, 1, 1, bias=False)
        self.conv2 = nn.Conv2d(width, c_dim, image_size // 2**repeat_num, bias=False)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.main(x)
        return self.conv1(h), self.conv2(h).flatten(1)


def generator() -> Generator:
    """The released configuration (both the 128² and the 256² checkpoints)."""
    return Generator(64, 5, 6)


def discriminator_128() -> Discriminator:
    return Discriminator(128)


def discriminator_256() -> Discriminator:
    return Discriminator(256)


def convert_checkpoint(state: dict) -> dict:
    """Checkpoints saved before PyTorch 0.4.1 lack ``num_batches_tracked``; add it (a counter
    the norms never read) so the strict load names only real differences."""
    state = dict(state)
    for key in [k for k in state if k.endswith(".running_mean")]:
        state.setdefault(
            key[: -len("running_mean")] + "num_batches_tracked", torch.tensor(0, dtype=torch.long)
        )
    return state
