"""Gatys et al. (2015) style transfer by optimisation, with Ruder et al.'s (2016) temporal loss.

The image is optimised (Adam on the pixels, kept in [0, 1]) so that its deep features match
the content frame at one layer and the Gram matrices of the style images at several layers.
"""

from __future__ import annotations

import dataclasses

import torch
import torch.nn.functional as F
from torch import nn

from neuralfx.models.vgg import VGG19_LAYERS, RandomMultiScaleEncoder, VGGFeatures


@dataclasses.dataclass
class Features:
    """A feature extractor and the layers the losses use."""

    net: nn.Module  # x (N, 3, H, W) in [0, 1] -> {layer: activation}
    style_layers: tuple[str, ...]
    content_layer: str
    style_weight: float
    description: str


def vgg_features(vgg: nn.Module, device: torch.device) -> Features:
    """VGG-19 with the paper's layers: style relu1_1…relu5_1, content relu4_2."""
    layers = {
        k: VGG19_LAYERS[k]
        for k in ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu4_2", "relu5_1")
    }
    net = VGGFeatures(vgg.float(), layers).to(device)
    return Features(
        net,
        ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"),
        "relu4_2",
        style_weight=1e6,
        description="VGG-19",
    )


def random_features(device: torch.device) -> Features:
    """The training-free fallback; content is matched at a shallower layer, because random
    deep features keep less of the layout."""
    return Features(
        RandomMultiScaleEncoder().to(device),
        RandomMultiScaleEncoder.LAYERS,
        "relu3_1",
        style_weight=1e5,
        description="random multi-scale encoder",
    )


def gram(feat: torch.Tensor) -> torch.Tensor:
    """``(N, C, H, W)`` → ``(N, C, C)`` Gram matrices normalised by C·H·W."""
    n, c, h, w = feat.shape
    f = feat.reshape(n, c, h * w)
    return f @ f.transpose(1, 2) / (c * h * w)


class GatysStyle:
    def __init__(
        self,
        styles: list[torch.Tensor],
        mix: list[float],
        features: Features,
        *,
        device: torch.device,
        content_weight: float = 1.0,
        lr: float = 0.02,
    ) -> None:
        self.features = features
        self.content_weight = content_weight
        self.lr = lr
        with torch.no_grad():
            grams = []
            for style in styles:
                feats = features.net(style.to(device).float())
                grams.append({layer: gram(feats[layer]) for layer in features.style_layers})
        # Several styles mix as a weighted sum of their Gram matrices.
        self.targets = {
            layer: sum(w * g[layer] for w, g in zip(mix, grams)) for layer in features.style_layers
        }

    def run(
        self,
        content: torch.Tensor,
        init: torch.Tensor,
        steps: int,
        temporal: tuple[torch.Tensor, torch.Tensor, float] | None = None,
    ) -> torch.Tensor:
        """Optimise from ``init`` for ``steps`` Adam steps; ``temporal`` is (warped previous
        output, trust mask, weight). Returns ``(1, 3, H, W)`` in [0, 1]."""
        f = self.features
        # The runner processes under inference mode; optimisation needs autograd, and tensors
        # made in inference mode must be cloned before they enter a graph.
        with torch.inference_mode(False), torch.enable_grad():
            content = content.detach().clone().float()
            image = init.detach().clone().float().requires_grad_(True)
            if temporal is not None:
                warped, mask, weight = (
                    t.detach().clone() if torch.is_tensor(t) else t for t in temporal
                )
            with torch.no_grad():
                content_target = f.net(content)[f.content_layer]
            optimiser = torch.optim.Adam([image], lr=self.lr)
            # Anneal the step to zero: Adam's steps are about lr per pixel whatever the gradient,
            # so a constant lr leaves lr-sized jitter that shows as flicker between frames.
            schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, T_max=steps)
            for _ in range(steps):
                optimiser.zero_grad(set_to_none=True)
                feats = f.net(image)
                loss = self.content_weight * F.mse_loss(feats[f.content_layer], content_target)
                style = sum(
                    F.mse_loss(gram(feats[layer]), self.targets[layer]) for layer in f.style_layers
                )
                loss = loss + f.style_weight * style
                if temporal is not None:
                    loss = loss + weight * (mask * (image - warped) ** 2).mean()
                loss.backward()
                optimiser.step()
                schedule.step()
                with torch.no_grad():
                    image.clamp_(0, 1)
            return image.detach()
