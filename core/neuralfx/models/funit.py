"""FUNIT (Liu et al., ICCV 2019), the few-shot generator of NVlabs/FUNIT ``networks.py``
(``FewShotGen``), with the official state-dict keys, so the released ``animal149_gen.pt``
loads (its ``gen_test`` part, the EMA copy every official test path uses).

Facts (../shared/reference/MODELS.md §3, funit_animals_generator.json):

* every conv is reflection-padded and has a bias;
* content encoder: 7×7 conv 3→64, IN, ReLU; three 4×4 stride-2 convs to 512 (IN, ReLU); two
  residual blocks (conv-IN-ReLU-conv-IN plus identity); 512×16×16 at 128²;
* class encoder, no norm: 7×7 conv 3→64, ReLU; 4×4 stride-2 convs 64→128→256→256→256 (ReLU);
  global average pool; 1×1 conv to a 64-d code, averaged over the K example images;
* MLP 64→256→256→4096 (ReLU between) gives the decoder's AdaIN parameters: for each AdaIN
  layer in module order the next 2C values, the first C the **bias** (mean), the next C the
  **weight** (std);
* decoder: two AdaIN residual blocks at 512; three × (nearest ×2, 5×5 conv, IN, ReLU) to 64;
  7×7 conv to 3 and tanh;
* IN is ``InstanceNorm2d`` without affine; AdaIN normalises each sample's channels with their
  own statistics (biased variance, eps 1e-5). Its running buffers are in the file but never
  read (the official layer rewrites them on every call; this one leaves them alone).
* Input: ``Resize((128, 128))`` of RGB in [-1, 1]; output tanh.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
import torch.nn.functional as F
from torch import nn


class AdaptiveInstanceNorm2d(nn.Module):
    """Instance norm scaled and shifted per sample by the class code's parameters, given with
    each call: ``styles`` yields the ``(bias, weight)`` pairs ``(N, C)`` of the decoder's norms
    in module order. (The official module stores them as attributes set before each call; passed
    along instead, one translation cannot see another's.)"""

    def __init__(self, channels: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.channels, self.eps = channels, eps
        self.register_buffer("running_mean", torch.zeros(channels))
        self.register_buffer("running_var", torch.ones(channels))

    def forward(self, x: torch.Tensor, styles: Iterator[tuple[torch.Tensor, torch.Tensor]]):
        bias, weight = next(styles)
        x = F.instance_norm(x, eps=self.eps)
        return x * weight[:, :, None, None] + bias[:, :, None, None]


class ConvBlock(nn.Module):
    """Reflection pad, conv with bias (``conv``), optional norm (``norm``), activation."""

    def __init__(
        self,
        cin: int,
        cout: int,
        kernel: int,
        stride: int,
        pad: int,
        norm: str = "none",
        act: str = "relu",
    ) -> None:
        super().__init__()
        self.pad, self.act = pad, act
        self.conv = nn.Conv2d(cin, cout, kernel, stride)
        if norm == "in":
            self.norm = nn.InstanceNorm2d(cout)
        elif norm == "adain":
            self.norm = AdaptiveInstanceNorm2d(cout)
        else:
            self.norm = None

    def forward(self, x: torch.Tensor, styles=None) -> torch.Tensor:
        x = self.conv(F.pad(x, (self.pad,) * 4, mode="reflect"))
        if isinstance(self.norm, AdaptiveInstanceNorm2d):
            x = self.norm(x, styles)
        elif self.norm is not None:
            x = self.norm(x)
        if self.act == "relu":
            return F.relu(x)
        return torch.tanh(x) if self.act == "tanh" else x


class ResBlock(nn.Module):
    def __init__(self, dim: int, norm: str) -> None:
        super().__init__()
        self.model = nn.Sequential(
            ConvBlock(dim, dim, 3, 1, 1, norm, "relu"), ConvBlock(dim, dim, 3, 1, 1, norm, "none")
        )

    def forward(self, x: torch.Tensor, styles=None) -> torch.Tensor:
        return x + _through(self.model, x, styles)


class Stack(nn.Module):
    """Layers in order under ``model`` (the official encoders, decoder, MLP and residual
    groups all keep their layers there, which names the state-dict keys)."""

    def __init__(self, *layers: nn.Module) -> None:
        super().__init__()
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor, styles=None) -> torch.Tensor:
        return _through(self.model, x, styles)


def _through(layers: nn.Sequential, x: torch.Tensor, styles) -> torch.Tensor:
    """``layers`` in order, ``styles`` (the AdaIN parameters) handed to those that take them."""
    for layer in layers:
        x = layer(x, styles) if isinstance(layer, (ConvBlock, ResBlock, Stack)) else layer(x)
    return x


def ResBlocks(count: int, dim: int, norm: str) -> Stack:  # noqa: N802 (the official name)
    return Stack(*(ResBlock(dim, norm) for _ in range(count)))


class LinearBlock(nn.Module):
    def __init__(self, cin: int, cout: int, relu: bool) -> None:
        super().__init__()
        self.fc, self.relu = nn.Linear(cin, cout), relu

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.fc(x)) if self.relu else self.fc(x)


class FewShotGenerator(nn.Module):
    """``forward(content, class_images)``: ``content`` ``(N, 3, 128, 128)`` in [-1, 1], the
    target animal's ``class_images`` ``(K, 3, 128, 128)`` → ``(N, 3, 128, 128)`` in [-1, 1].
    ``class_code(images)`` and ``translate(content, code)`` split it, so a clip computes its
    class code once."""

    def __init__(
        self,
        nf: int = 64,
        n_res: int = 2,
        nf_mlp: int = 256,
        latent: int = 64,
        n_mlp: int = 3,
        downs_content: int = 3,
        downs_class: int = 4,
    ) -> None:
        super().__init__()
        cls = [ConvBlock(3, nf, 7, 1, 3)]
        width = nf
        for _ in range(2):
            cls.append(ConvBlock(width, width * 2, 4, 2, 1))
            width *= 2
        for _ in range(downs_class - 2):
            cls.append(ConvBlock(width, width, 4, 2, 1))
        cls += [nn.AdaptiveAvgPool2d(1), nn.Conv2d(width, latent, 1)]
        self.enc_class_model = Stack(*cls)

        content = [ConvBlock(3, nf, 7, 1, 3, "in")]
        width = nf
        for _ in range(downs_content):
            content.append(ConvBlock(width, width * 2, 4, 2, 1, "in"))
            width *= 2
        content.append(ResBlocks(n_res, width, "in"))
        self.enc_content = Stack(*content)

        dec: list[nn.Module] = [ResBlocks(n_res, width, "adain")]
        for _ in range(downs_content):
            dec += [nn.Upsample(scale_factor=2), ConvBlock(width, width // 2, 5, 1, 2, "in")]
            width //= 2
        dec.append(ConvBlock(width, 3, 7, 1, 3, "none", "tanh"))
        self.dec = Stack(*dec)

        adain_params = sum(
            2 * m.channels for m in self.dec.modules() if isinstance(m, AdaptiveInstanceNorm2d)
        )
        mlp = [LinearBlock(latent, nf_mlp, True)]
        mlp += [LinearBlock(nf_mlp, nf_mlp, True) for _ in range(n_mlp - 2)]
        mlp.append(LinearBlock(nf_mlp, adain_params, False))
        self.mlp = Stack(*mlp)

    def class_code(self, images: torch.Tensor) -> torch.Tensor:
        """The mean class code ``(1, latent)`` of the example images (each encoded alone: the
        class encoder has no normalisation, so a batch gives the same codes)."""
        return self.enc_class_model(images).flatten(1).mean(0, keepdim=True)

    def translate(self, content: torch.Tensor, code: torch.Tensor) -> torch.Tensor:
        """``content`` in the class of ``code``: one code ``(1, latent)`` for every image, or
        one per image ``(N, latent)`` (training)."""
        params = self.mlp(code.expand(len(content), -1))
        styles = []  # (bias, weight) per AdaIN, in module order: the first C, then the next C
        for m in self.dec.modules():
            if isinstance(m, AdaptiveInstanceNorm2d):
                styles.append((params[:, : m.channels], params[:, m.channels : 2 * m.channels]))
                params = params[:, 2 * m.channels :]
        return self.dec(self.enc_content(content), iter(styles))

    def forward(self, content: torch.Tensor, class_images: torch.Tensor) -> torch.Tensor:
        return self.translate(content, self.class_code(class_images))


def animals() -> FewShotGenerator:
    """The released configuration (configs/funit_animals.yaml)."""
    return FewShotGenerator()


def convert_checkpoint(state: dict) -> dict:
    """``animal149_gen.pt`` holds ``gen`` and ``gen_test``; every official test path uses
    ``gen_test`` (the EMA copy). A file saved with ``gen`` only (the trainer's copy, as some
    re-uploads hold) is taken as it is; a plain generator state dict passes through."""
    for prefix in ("gen_test.", "gen."):
        if any(k.startswith(prefix) for k in state):
            return {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}
    return state


# -- training: the discriminator (not released; `neuralfx train animal-transfer` makes one) -------
class ActFirstResBlock(nn.Module):
    """LeakyReLU(0.2) → reflect pad → conv, twice, plus a (1×1, bias-free when learned)
    shortcut: FUNIT's discriminator block."""

    def __init__(self, fin: int, fout: int) -> None:
        super().__init__()
        hidden = min(fin, fout)
        self.conv_0 = nn.Conv2d(fin, hidden, 3)
        self.conv_1 = nn.Conv2d(hidden, fout, 3)
        self.conv_s = nn.Conv2d(fin, fout, 1, bias=False) if fin != fout else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        dx = self.conv_0(F.pad(F.leaky_relu(x, 0.2), (1,) * 4, mode="reflect"))
        dx = self.conv_1(F.pad(F.leaky_relu(dx, 0.2), (1,) * 4, mode="reflect"))
        return (x if self.conv_s is None else self.conv_s(x)) + dx


class PatchDiscriminator(nn.Module):
    """FUNIT's GPPatchMcResDis: a 7×7 conv, then ``n_res // 2`` stages of two act-first
    residual blocks (widths doubling to 1024, average-pooled between stages), and a 1×1 conv
    to one patch map per training class. ``forward(x, y) -> (map of class y, features)``."""

    def __init__(self, classes: int, nf: int = 64, n_res: int = 10) -> None:
        super().__init__()
        layers: list[nn.Module] = [ConvBlock(3, nf, 7, 1, 3, "none", "none")]
        stages = n_res // 2
        for _ in range(stages - 1):
            out = min(nf * 2, 1024)
            layers += [
                ActFirstResBlock(nf, nf),
                ActFirstResBlock(nf, out),
                nn.ReflectionPad2d(1),
                nn.AvgPool2d(3, 2),
            ]
            nf = out
        out = min(nf * 2, 1024)
        layers += [ActFirstResBlock(nf, nf), ActFirstResBlock(nf, out)]
        self.cnn_f = nn.Sequential(*layers)
        self.cnn_c = nn.Conv2d(out, classes, 1)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.cnn_f(x)
        maps = self.cnn_c(F.leaky_relu(features, 0.2))
        return maps[torch.arange(len(y), device=y.device), y], features
