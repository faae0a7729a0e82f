"""AdaIN arbitrary style transfer (Huang & Belongie 2017), as in naoto0804/pytorch-AdaIN.

``encoder()`` is the 53-layer normalised VGG-19 of ``vgg_normalised.pth`` (its first 1x1 conv
holds the Caffe preprocessing, so inputs are RGB in [0, 1]); only ``[:31]`` (up to relu4_1)
is used. ``decoder()`` is the 29-layer mirror that ``decoder.pth`` holds. Layer indices, and
so state-dict keys, match ``net.vgg`` and ``net.decoder`` exactly.
"""

from __future__ import annotations

import torch
from torch import nn

#: Slices of the encoder giving relu1_1, relu2_1, relu3_1 and relu4_1 (the style-loss layers).
ENCODER_SLICES = ((0, 4), (4, 11), (11, 18), (18, 31))


def _conv(cin: int, cout: int) -> list[nn.Module]:
    return [nn.ReflectionPad2d((1, 1, 1, 1)), nn.Conv2d(cin, cout, (3, 3)), nn.ReLU()]


def _pool() -> nn.Module:
    return nn.MaxPool2d((2, 2), (2, 2), (0, 0), ceil_mode=True)


def encoder() -> nn.Sequential:
    """The full 53-child normalised VGG-19 (load the file into this, then use ``[:31]``)."""
    layers: list[nn.Module] = [nn.Conv2d(3, 3, (1, 1))]
    layers += _conv(3, 64) + _conv(64, 64) + [_pool()]
    layers += _conv(64, 128) + _conv(128, 128) + [_pool()]
    layers += _conv(128, 256) + _conv(256, 256) + _conv(256, 256) + _conv(256, 256) + [_pool()]
    layers += _conv(256, 512) + _conv(512, 512) + _conv(512, 512) + _conv(512, 512) + [_pool()]
    layers += _conv(512, 512) + _conv(512, 512) + _conv(512, 512) + _conv(512, 512)
    return nn.Sequential(*layers)


def decoder() -> nn.Sequential:
    """relu4_1 features ``(N, 512, H/8, W/8)`` → RGB ``(N, 3, H, W)``, nominally [0, 1]."""
    up = nn.Upsample(scale_factor=2, mode="nearest")
    layers: list[nn.Module] = _conv(512, 256) + [up]
    layers += _conv(256, 256) + _conv(256, 256) + _conv(256, 256) + _conv(256, 128)
    layers += [nn.Upsample(scale_factor=2, mode="nearest")] + _conv(128, 128) + _conv(128, 64)
    layers += [nn.Upsample(scale_factor=2, mode="nearest")] + _conv(64, 64)
    layers += [nn.ReflectionPad2d((1, 1, 1, 1)), nn.Conv2d(64, 3, (3, 3))]  # no activation
    return nn.Sequential(*layers)


def mean_std(feat: torch.Tensor, eps: float = 1e-5) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel mean and std over H·W, ``(N, C, 1, 1)`` each; std from the unbiased
    variance plus ``eps``, as in the official ``calc_mean_std``."""
    n, c = feat.shape[:2]
    flat = feat.reshape(n, c, -1)
    return flat.mean(-1).view(n, c, 1, 1), (flat.var(-1) + eps).sqrt().view(n, c, 1, 1)


def adaptive_instance_norm(
    content: torch.Tensor, style_mean: torch.Tensor, style_std: torch.Tensor
) -> torch.Tensor:
    """``σ_s · (f_c − μ_c) / σ_c + μ_s`` per channel."""
    c_mean, c_std = mean_std(content)
    return (content - c_mean) / c_std * style_std + style_mean


def up_to_relu4_1(full: nn.Sequential) -> nn.Sequential:
    """The part of the loaded encoder that AdaIN uses: ``[:31]``, ending at relu4_1."""
    return full[:31]
