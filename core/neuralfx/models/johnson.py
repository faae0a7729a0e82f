"""Johnson et al. (2016) feed-forward style network, as in pytorch/examples fast_neural_style.

Layout and state-dict keys match ``transformer_net.TransformerNet`` exactly, so the released
``candy/mosaic/rain_princess/udnie.pth`` files load as they are (after dropping the
pre-0.4 InstanceNorm running-stat keys, see :func:`convert_checkpoint`).

Input: ``(N, 3, H, W)`` RGB in **[0, 255]** (no normalisation); output the same range,
unbounded. Keep H and W divisible by 4 so the size is preserved.
"""

from __future__ import annotations

import re

import torch
import torch.nn.functional as F
from torch import nn


class ConvLayer(nn.Module):
    """Reflection padding of k//2, then a strided conv with bias."""

    def __init__(self, cin: int, cout: int, kernel_size: int, stride: int) -> None:
        super().__init__()
        self.reflection_pad = nn.ReflectionPad2d(kernel_size // 2)
        self.conv2d = nn.Conv2d(cin, cout, kernel_size, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv2d(self.reflection_pad(x))


class ResidualBlock(nn.Module):
    """conv-IN-ReLU-conv-IN plus identity (no activation after the sum)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = ConvLayer(channels, channels, 3, 1)
        self.in1 = nn.InstanceNorm2d(channels, affine=True)
        self.conv2 = ConvLayer(channels, channels, 3, 1)
        self.in2 = nn.InstanceNorm2d(channels, affine=True)
        self.relu = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.in2(self.conv2(self.relu(self.in1(self.conv1(x))))) + x


class UpsampleConvLayer(nn.Module):
    """Nearest-neighbour upsampling, then a ConvLayer (not a transposed conv: no checkerboard)."""

    def __init__(self, cin: int, cout: int, kernel_size: int, stride: int, upsample: int) -> None:
        super().__init__()
        self.upsample = upsample
        self.reflection_pad = nn.ReflectionPad2d(kernel_size // 2)
        self.conv2d = nn.Conv2d(cin, cout, kernel_size, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(x, mode="nearest", scale_factor=self.upsample)
        return self.conv2d(self.reflection_pad(x))


class TransformerNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = ConvLayer(3, 32, 9, 1)
        self.in1 = nn.InstanceNorm2d(32, affine=True)
        self.conv2 = ConvLayer(32, 64, 3, 2)
        self.in2 = nn.InstanceNorm2d(64, affine=True)
        self.conv3 = ConvLayer(64, 128, 3, 2)
        self.in3 = nn.InstanceNorm2d(128, affine=True)
        self.res1, self.res2, self.res3, self.res4, self.res5 = (
            ResidualBlock(128) for _ in range(5)
        )
        self.deconv1 = UpsampleConvLayer(128, 64, 3, 1, upsample=2)
        self.in4 = nn.InstanceNorm2d(64, affine=True)
        self.deconv2 = UpsampleConvLayer(64, 32, 3, 1, upsample=2)
        self.in5 = nn.InstanceNorm2d(32, affine=True)
        self.deconv3 = ConvLayer(32, 3, 9, 1)
        self.relu = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, 3, H, W) in [0, 255]
        y = self.relu(self.in1(self.conv1(x)))
        y = self.relu(self.in2(self.conv2(y)))  # (N, 64, H/2, W/2)
        y = self.relu(self.in3(self.conv3(y)))  # (N, 128, H/4, W/4)
        y = self.res5(self.res4(self.res3(self.res2(self.res1(y)))))
        y = self.relu(self.in4(self.deconv1(y)))
        y = self.relu(self.in5(self.deconv2(y)))
        return self.deconv3(y)  # (N, 3, H, W), nominally [0, 255], unbounded


_OLD_RUNNING_STATS = re.compile(r"in\d+\.running_(mean|var)$")


def convert_checkpoint(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Drop the InstanceNorm running statistics that files saved before PyTorch 0.4 carry
    (as ``neural_style.stylize`` does); they are unused and refused by ``load_state_dict``."""
    return {k: v for k, v in state.items() if not _OLD_RUNNING_STATS.search(k)}
