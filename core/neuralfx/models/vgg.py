"""Feature extractors for the perceptual losses of Gatys et al. and Johnson et al.

* :func:`vgg19` / :func:`vgg16`: torchvision's networks, loaded from the official files
  (``vgg19-dcbb9e9d.pth``, ``vgg16-397923af.pth``).
* :class:`RandomMultiScaleEncoder`: a training-free stand-in used when no VGG weights are
  available offline. Random-weight convolutional features still carry texture statistics
  (Ustyuzhaninov et al. 2017, "What does it take to generate natural textures?"; He et al. 2016,
  "A powerful generative model using random weights"): Gram matrices of a random multi-scale
  conv stack make a usable, if cruder, style loss.

Both return a dict of named activations (``relu1_1`` …) for RGB input in [0, 1].
"""

from __future__ import annotations

import torch
from torch import nn

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

#: torchvision ``features`` indices of the layers the losses use.
VGG19_LAYERS = {
    "relu1_1": 1,
    "relu2_1": 6,
    "relu3_1": 11,
    "relu4_1": 20,
    "relu4_2": 22,
    "relu5_1": 29,
}
VGG16_LAYERS = {"relu1_2": 3, "relu2_2": 8, "relu3_3": 15, "relu4_3": 22}


def vgg19() -> nn.Module:
    import torchvision  # 1.5 s to import (it brings torch._dynamo): only when a VGG is built

    return torchvision.models.vgg19(weights=None)


def vgg16() -> nn.Module:
    import torchvision

    return torchvision.models.vgg16(weights=None)


class VGGFeatures(nn.Module):
    """Taps named layers of a torchvision VGG's ``features`` (classifier dropped)."""

    def __init__(self, vgg: nn.Module, layers: dict[str, int]) -> None:
        super().__init__()
        last = max(layers.values())
        self.features = vgg.features[: last + 1]
        for m in self.features:
            if isinstance(m, nn.ReLU):
                m.inplace = False  # tapped activations must not be overwritten
        self.taps = {index: name for name, index in layers.items()}
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1))
        self.requires_grad_(False)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:  # x: (N, 3, H, W) in [0, 1]
        out: dict[str, torch.Tensor] = {}
        x = (x - self.mean) / self.std
        for i, layer in enumerate(self.features):
            x = layer(x)
            if i in self.taps:
                out[self.taps[i]] = x
        return out


class RandomMultiScaleEncoder(nn.Module):
    """Four random-weight conv stages (3x3 conv + ReLU, average-pooled between stages), seeded so
    that every run builds the same network. Taps are named like VGG's for drop-in use."""

    LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1")

    def __init__(self, widths: tuple[int, ...] = (32, 64, 128, 128), seed: int = 2017) -> None:
        super().__init__()
        gen = torch.Generator().manual_seed(seed)
        cin, stages = 3, []
        for cout in widths:
            conv = nn.Conv2d(cin, cout, 3, padding=1, padding_mode="reflect")
            bound = (6.0 / (cin * 9)) ** 0.5  # He-uniform: keeps activations at a steady scale
            with torch.no_grad():
                conv.weight.copy_(torch.rand(conv.weight.shape, generator=gen) * 2 * bound - bound)
                conv.bias.zero_()
            stages.append(conv)
            cin = cout
        self.stages = nn.ModuleList(stages)
        self.pool = nn.AvgPool2d(2, ceil_mode=True)
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1))
        self.requires_grad_(False)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        out: dict[str, torch.Tensor] = {}
        x = (x - self.mean) / self.std
        for i, (name, conv) in enumerate(zip(self.LAYERS, self.stages)):
            if i:
                x = self.pool(x)
            x = torch.relu(conv(x))
            out[name] = x
        return out
