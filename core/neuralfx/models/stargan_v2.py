"""StarGAN v2 (Choi et al., CVPR 2020), as in clovaai/stargan-v2 ``core/model.py``: the
generator, the mapping network and the style encoder, with the official state-dict keys, so
the released ``100000_nets_ema.ckpt`` files (celeba_hq: female/male with the high-pass
masks; afhq: cat/dog/wild) load as they are.

Facts (../shared/reference/MODELS.md section 2, the ``stargan_v2_*`` manifests):

* ``Generator.forward(x, s, masks=None)``: ``x`` ``(N, 3, 256, 256)`` RGB in [-1, 1], the
  style code ``s`` ``(N, 64)``; output unbounded (no tanh), shown as ``(y + 1) / 2`` clamped.
  Encoder: ``from_rgb`` 3x3 conv, downsampling residual blocks (4, or 5 with the high-pass
  ``w_hpf > 0``) 64→128→256→512→512(→512), then two at 512; the decoder mirrors it with
  AdaIN residual blocks (``(1 + γ)·IN(x) + β``, ``[γ, β] = Linear(s)``), nearest ×2
  upsampling; ``to_rgb``: affine IN, LeakyReLU(0.2), 1x1 conv. A block's output is
  (shortcut + residual)/√2, except the decoder's with ``w_hpf > 0`` (no shortcut at all).
* With masks (celeba_hq), the encoder's features at 32, 64 and 128 px are kept, and the
  decoder's output at those sizes gets ``hpf(mask · cache)`` added: ``masks[0]`` at 32,
  ``masks[1]`` at 64 and 128, resized bilinearly; ``hpf`` a depthwise 3x3 Laplacian divided
  by ``w_hpf`` (buffer ``hpf.filter``, which the released file lacks: it is put back).
* ``MappingNetwork.forward(z, y)``: ``z`` ``(N, 16)``; four shared Linear+ReLU of 512, then
  per domain three Linear+ReLU and a Linear to 64; ``y`` picks the domain of each row.
* ``StyleEncoder.forward(x, y)``: 3x3 conv, six downsampling residual blocks without norm
  (to 4x4 at 256 px), LeakyReLU, a valid 4x4 conv, LeakyReLU, a Linear to 64 per domain.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

STYLE_DIM, LATENT_DIM, IMAGE_SIZE = 64, 16, 256
#: domains in the official (alphabetical folder) order
DOMAINS = {"celeba_hq": ("female", "male"), "afhq": ("cat", "dog", "wild")}


class ResBlock(nn.Module):
    """The encoders' residual block: [IN] LeakyReLU conv3x3 [avgpool] [IN] LeakyReLU conv3x3,
    plus a 1x1 (bias-free) shortcut where the width changes; (sum) / √2."""

    def __init__(
        self, dim_in: int, dim_out: int, normalize: bool = False, downsample: bool = False
    ) -> None:
        super().__init__()
        self.normalize, self.downsample = normalize, downsample
        self.conv1 = nn.Conv2d(dim_in, dim_in, 3, 1, 1)
        self.conv2 = nn.Conv2d(dim_in, dim_out, 3, 1, 1)
        if normalize:
            self.norm1 = nn.InstanceNorm2d(dim_in, affine=True)
            self.norm2 = nn.InstanceNorm2d(dim_in, affine=True)
        if dim_in != dim_out:
            self.conv1x1 = nn.Conv2d(dim_in, dim_out, 1, 1, 0, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = self.conv1x1(x) if hasattr(self, "conv1x1") else x
        h = self.norm1(x) if self.normalize else x
        h = self.conv1(F.leaky_relu(h, 0.2))
        if self.downsample:
            shortcut, h = F.avg_pool2d(shortcut, 2), F.avg_pool2d(h, 2)
        h = self.norm2(h) if self.normalize else h
        h = self.conv2(F.leaky_relu(h, 0.2))
        return (shortcut + h) / math.sqrt(2)


class AdaIN(nn.Module):
    """Instance norm without its own affine, scaled by ``1 + γ`` and shifted by ``β`` from the
    style code (``fc``: style → [γ, β])."""

    def __init__(self, style_dim: int, channels: int) -> None:
        super().__init__()
        self.fc = nn.Linear(style_dim, channels * 2)

    def forward(self, x: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        gamma, beta = self.fc(s)[:, :, None, None].chunk(2, dim=1)
        return (1 + gamma) * F.instance_norm(x, eps=1e-5) + beta


class AdaINResBlock(nn.Module):
    """The decoder's block: AdaIN LeakyReLU [nearest ×2] conv3x3 AdaIN LeakyReLU conv3x3; with
    ``w_hpf == 0`` the (upsampled, 1x1-projected) input is added and the sum divided by √2."""

    def __init__(
        self,
        dim_in: int,
        dim_out: int,
        style_dim: int = STYLE_DIM,
        w_hpf: float = 0.0,
        upsample: bool = False,
    ) -> None:
        super().__init__()
        self.w_hpf, self.upsample = w_hpf, upsample
        self.conv1 = nn.Conv2d(dim_in, dim_out, 3, 1, 1)
        self.conv2 = nn.Conv2d(dim_out, dim_out, 3, 1, 1)
        self.norm1 = AdaIN(style_dim, dim_in)
        self.norm2 = AdaIN(style_dim, dim_out)
        if dim_in != dim_out:  # (kept with w_hpf > 0, where the official code never uses it)
            self.conv1x1 = nn.Conv2d(dim_in, dim_out, 1, 1, 0, bias=False)

    def forward(self, x: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        h = F.leaky_relu(self.norm1(x, s), 0.2)
        if self.upsample:
            h = F.interpolate(h, scale_factor=2, mode="nearest")
        h = self.conv2(F.leaky_relu(self.norm2(self.conv1(h), s), 0.2))
        if self.w_hpf > 0:
            return h
        shortcut = F.interpolate(x, scale_factor=2, mode="nearest") if self.upsample else x
        if hasattr(self, "conv1x1"):
            shortcut = self.conv1x1(shortcut)
        return (h + shortcut) / math.sqrt(2)


class HighPass(nn.Module):
    """A depthwise 3x3 Laplacian over every channel, divided by ``w_hpf``."""

    def __init__(self, w_hpf: float) -> None:
        super().__init__()
        kernel = torch.tensor([[-1.0, -1.0, -1.0], [-1.0, 8.0, -1.0], [-1.0, -1.0, -1.0]])
        self.register_buffer("filter", kernel / w_hpf)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c = x.shape[1]
        return F.conv2d(x, self.filter.expand(c, 1, 3, 3), padding=1, groups=c)


class Generator(nn.Module):
    """``forward(x, s, masks=None)`` (see the module docstring)."""

    def __init__(
        self,
        img_size: int = IMAGE_SIZE,
        style_dim: int = STYLE_DIM,
        max_conv_dim: int = 512,
        w_hpf: float = 1.0,
    ) -> None:
        super().__init__()
        dim_in = 2**14 // img_size
        self.from_rgb = nn.Conv2d(3, dim_in, 3, 1, 1)
        self.encode, self.decode = nn.ModuleList(), nn.ModuleList()
        self.to_rgb = nn.Sequential(
            nn.InstanceNorm2d(dim_in, affine=True), nn.LeakyReLU(0.2), nn.Conv2d(dim_in, 3, 1, 1, 0)
        )
        downsamplings = int(math.log2(img_size)) - 4 + (1 if w_hpf > 0 else 0)
        dim_out = dim_in
        for _ in range(downsamplings):
            dim_out = min(dim_in * 2, max_conv_dim)
            self.encode.append(ResBlock(dim_in, dim_out, normalize=True, downsample=True))
            self.decode.insert(0, AdaINResBlock(dim_out, dim_in, style_dim, w_hpf, upsample=True))
            dim_in = dim_out
        for _ in range(2):
            self.encode.append(ResBlock(dim_out, dim_out, normalize=True))
            self.decode.insert(0, AdaINResBlock(dim_out, dim_out, style_dim, w_hpf))
        if w_hpf > 0:
            self.hpf = HighPass(w_hpf)

    def forward(
        self,
        x: torch.Tensor,
        s: torch.Tensor,
        masks: tuple[torch.Tensor, torch.Tensor] | None = None,
    ) -> torch.Tensor:
        x = self.from_rgb(x)
        kept = {}
        for block in self.encode:
            if masks is not None and x.shape[2] in (32, 64, 128):
                kept[x.shape[2]] = x
            x = block(x)
        for block in self.decode:
            x = block(x, s)
            size = x.shape[2]
            if masks is not None and size in (32, 64, 128):
                mask = F.interpolate(
                    masks[0] if size == 32 else masks[1],
                    size=size,
                    mode="bilinear",
                    align_corners=False,
                )
                x = x + self.hpf(mask * kept[size])
        return self.to_rgb(x)


class MappingNetwork(nn.Module):
    """``forward(z, y)``: latent codes ``(N, 16)`` to style codes ``(N, 64)`` of domains
    ``y``."""

    def __init__(
        self, latent_dim: int = LATENT_DIM, style_dim: int = STYLE_DIM, num_domains: int = 2
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Linear(latent_dim, 512), nn.ReLU()]
        for _ in range(3):
            layers += [nn.Linear(512, 512), nn.ReLU()]
        self.shared = nn.Sequential(*layers)
        self.unshared = nn.ModuleList(
            nn.Sequential(
                nn.Linear(512, 512),
                nn.ReLU(),
                nn.Linear(512, 512),
                nn.ReLU(),
                nn.Linear(512, 512),
                nn.ReLU(),
                nn.Linear(512, style_dim),
            )
            for _ in range(num_domains)
        )

    def forward(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        h = self.shared(z)
        every = torch.stack([head(h) for head in self.unshared], dim=1)
        return every[torch.arange(len(y), device=y.device), y]


def _trunk(img_size: int, max_conv_dim: int) -> tuple[list[nn.Module], int]:
    """What the style encoder and the discriminator share (as the official code builds both):
    a 3x3 conv, downsampling residual blocks without norm down to 4x4, LeakyReLU, a valid 4x4
    conv, LeakyReLU; and its width."""
    dim_in = 2**14 // img_size
    blocks: list[nn.Module] = [nn.Conv2d(3, dim_in, 3, 1, 1)]
    dim_out = dim_in
    for _ in range(int(math.log2(img_size)) - 2):
        dim_out = min(dim_in * 2, max_conv_dim)
        blocks.append(ResBlock(dim_in, dim_out, downsample=True))
        dim_in = dim_out
    blocks += [nn.LeakyReLU(0.2), nn.Conv2d(dim_out, dim_out, 4, 1, 0), nn.LeakyReLU(0.2)]
    return blocks, dim_out


class StyleEncoder(nn.Module):
    """``forward(x, y)``: 256x256 images in [-1, 1] to the style codes ``(N, 64)`` of
    domains ``y``."""

    def __init__(
        self,
        img_size: int = IMAGE_SIZE,
        style_dim: int = STYLE_DIM,
        num_domains: int = 2,
        max_conv_dim: int = 512,
    ) -> None:
        super().__init__()
        blocks, dim_out = _trunk(img_size, max_conv_dim)
        self.shared = nn.Sequential(*blocks)
        self.unshared = nn.ModuleList(nn.Linear(dim_out, style_dim) for _ in range(num_domains))

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        h = self.shared(x).flatten(1)
        every = torch.stack([head(h) for head in self.unshared], dim=1)
        return every[torch.arange(len(y), device=y.device), y]


class Discriminator(nn.Module):
    """``forward(x, y)``: 256x256 images in [-1, 1] to one real/fake logit each, for domains
    ``y`` (the style encoder's trunk, then a 1x1 conv to a logit per domain). Training only:
    the releases hold the EMA networks, not it."""

    def __init__(self, img_size: int = IMAGE_SIZE, num_domains: int = 2, max_conv_dim: int = 512):
        super().__init__()
        blocks, dim_out = _trunk(img_size, max_conv_dim)
        blocks.append(nn.Conv2d(dim_out, num_domains, 1, 1, 0))
        self.main = nn.Sequential(*blocks)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        out = self.main(x).flatten(1)
        return out[torch.arange(len(y), device=y.device), y]


def he_init(module: nn.Module) -> None:
    """The official start: He normal (fan in, ReLU gain) for every conv and linear weight,
    biases 0 (``model.apply(he_init)``)."""
    if isinstance(module, (nn.Conv2d, nn.Linear)):
        nn.init.kaiming_normal_(module.weight, mode="fan_in", nonlinearity="relu")
        if module.bias is not None:
            nn.init.zeros_(module.bias)


class StarGANv2(nn.Module):
    """The three released networks of one dataset together, as ``nets_ema`` holds them:
    ``generator``, ``mapping_network``, ``style_encoder`` (keys prefixed by those names, as
    the released file's entries); ``domains`` their names in the official order."""

    def __init__(self, dataset: str) -> None:
        super().__init__()
        self.dataset, self.domains = dataset, DOMAINS[dataset]
        n = len(self.domains)
        self.generator = Generator(w_hpf=1.0 if dataset == "celeba_hq" else 0.0)
        self.mapping_network = MappingNetwork(num_domains=n)
        self.style_encoder = StyleEncoder(num_domains=n)


def celeba_hq() -> StarGANv2:
    return StarGANv2("celeba_hq")


def afhq() -> StarGANv2:
    return StarGANv2("afhq")


_NETS = ("generator.", "mapping_network.", "style_encoder.")


def convert_afhq(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The released file, flattened (``generator.…``, ``mapping_network.…``,
    ``style_encoder.…``; a ``fan.…`` entry, if any, is the FAN's): the three networks'
    tensors."""
    return {k: v for k, v in state.items() if k.startswith(_NETS)}


def convert_celeba_hq(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """As :func:`convert_afhq`, with the high-pass filter the released file lacks (a
    constant of the architecture: w_hpf = 1) put back."""
    out = convert_afhq(state)
    if out and "generator.hpf.filter" not in out:
        out["generator.hpf.filter"] = HighPass(1.0).filter
    return out


@torch.no_grad()
def latent_styles(
    mapping: MappingNetwork, y: torch.Tensor, seed: int, psi: float = 1.0, samples: int = 10_000
) -> torch.Tensor:
    """Style codes from random latents, as the official sampling makes them: ``z`` drawn from
    a generator seeded with ``seed`` (one per row of ``y``), mapped to their domains, then
    pulled towards the mean style of each domain (over ``samples`` latents) by the truncation
    ``psi``: ``mean + psi · (s - mean)`` (1: no truncation; the paper shows 0.5 to 1)."""
    weight = next(mapping.parameters())
    device, dtype = weight.device, weight.dtype  # (drawn in fp32 on the CPU: the same z anywhere)
    gen = torch.Generator().manual_seed(seed)
    z = torch.randn(len(y), LATENT_DIM, generator=gen).to(device, dtype)
    s = mapping(z, y.to(device))
    if psi == 1.0:
        return s
    many = torch.randn(samples, LATENT_DIM, generator=gen).to(device, dtype)
    means = {
        d: mapping(many, torch.full((samples,), d, device=device)).mean(0)
        for d in sorted(set(y.tolist()))
    }
    mean = torch.stack([means[d] for d in y.tolist()])
    return torch.lerp(mean, s, psi)
