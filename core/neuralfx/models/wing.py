"""The FAN landmark network of StarGAN v2 (clovaai/stargan-v2 ``core/wing.py``, after
face-alignment and AdaptiveWingLoss), with the official state-dict keys, so the released
``wing.ckpt`` loads as it is; and the two high-pass masks that the CelebA-HQ generator takes.

Facts (../shared/reference/MODELS.md section 2, the ``stargan_v2_wing_fan`` manifest):

* ``FAN.forward(x)``: ``x`` ``(N, 3, 256, 256)`` RGB in [0, 1] → ``(outputs,
  boundary_channels)``, ``outputs[0]`` the ``(N, 99, 64, 64)`` heatmaps (98 landmarks and a
  boundary channel). A CoordConv stem (the image with its row and column coordinates in
  [-1, 1] and their normalised radius; 7x7, stride 2), BatchNorm, ReLU, a ConvBlock, 2x2
  average pooling, two ConvBlocks, one hourglass of depth 4 whose input also gets coordinates,
  a ConvBlock, a 1x1 conv + BatchNorm + ReLU, and a 1x1 conv to the heatmaps. A ConvBlock is
  three BN-ReLU-conv3x3 steps of halving width whose outputs are concatenated, plus the input
  (through BN-ReLU-conv1x1 where the width changes). BatchNorm runs on its stored statistics.
* ``get_heatmap(x)``: ``x`` in [-1, 1], resized to 256 (bilinear), rescaled to [0, 1], the
  heatmaps without the boundary channel upsampled ×4 (bilinear, corners aligned), then
  :func:`masks_from_heatmaps` (the official ``preprocess``): the two masks
  ``(N, 1, 256, 256)`` in [0, 1] — the whole face, and the face without its outline, mouth and
  brows.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

LANDMARKS = 98
INPUT_SIZE = 256


def coordinates(x: torch.Tensor) -> torch.Tensor:
    """``x`` with three channels more: the row coordinate and the column coordinate, each from
    -1 to 1, and their radius divided by its maximum (the official ``AddCoordsTh`` with
    ``with_r``; made on ``x``'s device, not kept in the state dict)."""
    n, _, h, w = x.shape
    rows = torch.linspace(-1, 1, h, device=x.device, dtype=torch.float32)[:, None].expand(h, w)
    cols = torch.linspace(-1, 1, w, device=x.device, dtype=torch.float32)[None, :].expand(h, w)
    radius = torch.sqrt(rows**2 + cols**2)
    coords = torch.stack([rows, cols, radius / radius.max()]).to(x.dtype)
    return torch.cat([x, coords.expand(n, -1, -1, -1)], dim=1)


class CoordConv(nn.Module):
    """A conv over the input and its coordinates (:func:`coordinates`)."""

    def __init__(self, in_channels: int, out_channels: int, kernel: int, stride: int = 1):
        super().__init__()
        self.conv = nn.Conv2d(in_channels + 3, out_channels, kernel, stride, kernel // 2)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        with_coords = coordinates(x)
        return self.conv(with_coords), with_coords[:, -2:]


class ConvBlock(nn.Module):
    def __init__(self, in_planes: int, out_planes: int) -> None:
        super().__init__()
        half, quarter = out_planes // 2, out_planes // 4
        self.bn1 = nn.BatchNorm2d(in_planes)
        self.conv1 = nn.Conv2d(in_planes, half, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(half)
        self.conv2 = nn.Conv2d(half, quarter, 3, 1, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(quarter)
        self.conv3 = nn.Conv2d(quarter, quarter, 3, 1, 1, bias=False)
        self.downsample = None
        if in_planes != out_planes:
            self.downsample = nn.Sequential(
                nn.BatchNorm2d(in_planes),
                nn.ReLU(),
                nn.Conv2d(in_planes, out_planes, 1, bias=False),
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out1 = self.conv1(F.relu(self.bn1(x)))
        out2 = self.conv2(F.relu(self.bn2(out1)))
        out3 = self.conv3(F.relu(self.bn3(out2)))
        residual = x if self.downsample is None else self.downsample(x)
        return torch.cat([out1, out2, out3], dim=1) + residual


class HourGlass(nn.Module):
    """Depth ``depth``: at each level a full-resolution branch (``b1_L``) and a half-resolution
    one (``b2_L``, the next level or ``b2_plus_1``, ``b3_L``) upsampled (nearest) and added."""

    def __init__(self, depth: int = 4, features: int = 256) -> None:
        super().__init__()
        self.depth = depth
        self.coordconv = CoordConv(features, features, 1)
        for level in range(depth, 0, -1):  # the official registration order (its keys)
            self.add_module(f"b1_{level}", ConvBlock(features, features))
            self.add_module(f"b2_{level}", ConvBlock(features, features))
        self.add_module("b2_plus_1", ConvBlock(features, features))
        for level in range(1, depth + 1):
            self.add_module(f"b3_{level}", ConvBlock(features, features))

    def _level(self, level: int, x: torch.Tensor) -> torch.Tensor:
        up = self._modules[f"b1_{level}"](x)
        low = self._modules[f"b2_{level}"](F.avg_pool2d(x, 2))
        low = self._level(level - 1, low) if level > 1 else self._modules["b2_plus_1"](low)
        low = self._modules[f"b3_{level}"](low)
        return up + F.interpolate(low, scale_factor=2, mode="nearest")

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x, last = self.coordconv(x)
        return self._level(self.depth, x), last


class FAN(nn.Module):
    """``forward(x)`` and ``get_heatmap(x)`` (see the module docstring)."""

    def __init__(self, num_landmarks: int = LANDMARKS) -> None:
        super().__init__()
        self.conv1 = CoordConv(3, 64, 7, stride=2)
        self.bn1 = nn.BatchNorm2d(64)
        self.conv2 = ConvBlock(64, 128)
        self.conv3 = ConvBlock(128, 128)
        self.conv4 = ConvBlock(128, 256)
        self.m0 = HourGlass(4, 256)
        self.top_m_0 = ConvBlock(256, 256)
        self.conv_last0 = nn.Conv2d(256, 256, 1)
        self.bn_end0 = nn.BatchNorm2d(256)
        self.l0 = nn.Conv2d(256, num_landmarks + 1, 1)

    def forward(self, x: torch.Tensor) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        x, _ = self.conv1(x)
        x = F.avg_pool2d(self.conv2(F.relu(self.bn1(x))), 2)
        x = self.conv4(self.conv3(x))
        x, boundary = self.m0(x)
        x = F.relu(self.bn_end0(self.conv_last0(self.top_m_0(x))))
        return [self.l0(x)], [boundary]

    @torch.no_grad()
    def get_heatmap(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Images in [-1, 1] → the generator's two masks ``(N, 1, 256, 256)``."""
        x = F.interpolate(x, size=INPUT_SIZE, mode="bilinear", align_corners=False)
        heatmaps = self(x * 0.5 + 0.5)[0][-1][:, :-1]
        heatmaps = F.interpolate(
            heatmaps, scale_factor=INPUT_SIZE // heatmaps.shape[2], mode="bilinear",
            align_corners=True,
        )  # fmt: skip
        return masks_from_heatmaps(heatmaps.float())


# The landmark groups of the 98-point (WFLW) layout, [start, end)
CHIN, BROWS, NOSE, NOSTRILS, EYES = (8, 25), (33, 51), (51, 55), (55, 60), (60, 76)
LIP_UPPER, LIP_LOWER, LIP_INNER = (77, 82), (83, 88), (88, 96)
LIP_EDGES, BROW_EDGES = (76, 82), (33, 46)
#: (group, rows to move up (negative: down) at 256 px, power), in the official order
SHAPING = (
    (CHIN, 0, 3),
    (BROWS, -7, 2),
    (NOSTRILS, 8, 4),
    (LIP_UPPER, -8, 4),
    (LIP_LOWER, 8, 4),
    (LIP_INNER, -2, 3),
)


def _up(x: torch.Tensor, rows: int) -> torch.Tensor:
    """Content moved ``rows`` up (down when negative), wrapping round, as the official
    ``shift``."""
    return torch.roll(x, -rows, dims=2)


def masks_from_heatmaps(x: torch.Tensor, eps: float = 1e-6) -> tuple[torch.Tensor, torch.Tensor]:
    """The official ``wing.preprocess``: heatmaps ``(N, 98, H, W)`` → two masks
    ``(N, 1, H, W)``. Each heatmap loses values under 0.1 and is min-max normalised; parts are
    moved and sharpened by a power (brows up, lips apart, nostrils and the nose below its
    bridge up, the eyes widened upwards); the outline but for the chin and the brow and lip
    corners are dropped; the sum of all is the first mask, the sum without chin, lips and
    brows the second; NaN becomes 0 and both are clamped to [0, 1]."""
    n, c, h, w = x.shape
    x = torch.where(x < 0.1, torch.zeros_like(x), x).reshape(n * c, -1)
    low, high = x.min(dim=1, keepdim=True)[0], x.max(dim=1, keepdim=True)[0]
    x = ((x - low) / (high - low + eps)).reshape(n, c, h, w)
    scale = h // INPUT_SIZE
    for (start, end), rows, power in SHAPING:
        x[:, start:end] = _up(x[:, start:end], rows * scale) ** power
    dropped = [*range(CHIN[0]), *range(CHIN[1], 33)]
    dropped += [BROW_EDGES[0], BROW_EDGES[1], LIP_EDGES[0], LIP_EDGES[1]]
    x[:, dropped] = 0
    x[:, NOSE[0] + 1 : NOSE[1]] = _up(x[:, NOSE[0] + 1 : NOSE[1]], 4 * scale)
    eyes = x[:, EYES[0] : EYES[1]]
    x[:, EYES[0] : EYES[1]] = _up(eyes, -8) ** 3 + _up(eyes, -24)
    inner = x.clone()
    inner[:, CHIN[0] : CHIN[1]] = 0
    inner[:, LIP_EDGES[0] : LIP_INNER[1]] = 0
    inner[:, BROWS[0] : BROWS[1]] = 0
    whole, inner = x.sum(dim=1, keepdim=True), inner.sum(dim=1, keepdim=True)
    nan = torch.isnan(whole)  # (the official code takes both masks' NaN from the first)
    whole, inner = whole.masked_fill(nan, 0), inner.masked_fill(nan, 0)
    return whole.clamp(0, 1), inner.clamp(0, 1)


def convert_checkpoint(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """``wing.ckpt`` (``{'state_dict': ...}``, unwrapped by the reader) or a ``fan.`` entry of a
    ``nets_ema`` file → the FAN's keys. Keys the model does not have are dropped, as the
    official loader drops them."""
    with torch.device("meta"):
        known = FAN().state_dict().keys()
    if any(k.startswith("fan.") for k in state):
        state = {k[4:]: v for k, v in state.items() if k.startswith("fan.")}
    return {k: v for k, v in state.items() if k in known}
