"""painting-style's methods behind one interface: what each one loads and how it paints a
batch of frames. The effect (``effect.py``) does what they share: the working size, the
temporal stabiliser, --strength, --preserve-color and the memory check.

=========  ==========================================  ===============  ==================
method     networks (registry names: the defaults)      --style images   --strength
=========  ==========================================  ===============  ==================
johnson    johnson (johnson-candy)                      no (in the net)  blend after
dumoulin   dumoulin (magenta-dumoulin-26), --preset     no (26 styles)   blend after
ghiasi     predictor + transformer (magenta-ghiasi-*)   yes              in the embedding
adain      encoder + decoder (adain-encoder/-decoder)   yes              in the features
gatys      VGG-19 features (or a random encoder)        yes              blend after
=========  ==========================================  ===============  ==================
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import torch
import torch.nn.functional as F

import neuralfx
from neuralfx import models
from neuralfx.host import weights
from neuralfx.errors import NeuralFXError
from neuralfx.models.adain import adaptive_instance_norm, mean_std

from . import gatys, magenta

#: Temporal-loss weight at --stability 1 (the losses are means over pixels in [0, 1]).
TEMPORAL_LOSS = 50.0


class Method:
    """One way of painting. ``paint(frames, stabiliser)`` gives the painted frames, tied to the
    previous ones by ``stabiliser`` (None without --temporal)."""

    #: it paints the look of --style images (the others carry their styles)
    style_images: ClassVar[bool] = False
    #: --strength acts inside the method (the others blend with the frame afterwards)
    strength_inside: ClassVar[bool] = False
    #: peak memory a frame takes per pixel painted (fp32, CPU; peak RSS between 1080p and 4K
    #: frames, 2026-12-06): the network's activations; None where not measured
    bytes_per_pixel: ClassVar[int | None] = None
    #: a frame's fresh look depends on that frame alone (a network), so it can be painted
    #: ahead of the stabiliser, several frames at once (:meth:`fresh`)
    paints_frames_alone: ClassVar[bool] = True

    def __init__(self, settings, preset: dict[int, float]) -> None:
        self.settings, self.preset = settings, preset

    def checkpoints(self) -> list[tuple[str, object]]:
        """(architecture, checkpoint or registry name) of every network it loads."""
        return []

    def load(self, ctx: neuralfx.RunContext, styles: list[torch.Tensor], mix: list[float]) -> None:
        """Load the networks; ``styles`` the style images, ``mix`` their weights."""
        self.dtype = ctx.dtype
        for architecture, checkpoint in self.checkpoints():
            setattr(self, architecture.replace("-", "_"), load_model(architecture, checkpoint, ctx))

    def fresh(self, frames: torch.Tensor) -> torch.Tensor:
        """The frames' own looks, each painted alone (feed-forward methods)."""
        return self.network(frames).clamp(0, 1)

    def paint(
        self, frames: torch.Tensor, stabiliser, fresh: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Feed-forward methods: every frame through the network (unless its ``fresh`` look
        was painted ahead), then each tied to the previous output (the stabiliser computes its
        flows meanwhile)."""
        if stabiliser and fresh is None:
            stabiliser.prepare(frames)
        painted = self.fresh(frames) if fresh is None else fresh
        if stabiliser is None:
            return painted
        return torch.cat(
            [stabiliser.blend(x, u[None], stabiliser.tie(x)) for x, u in zip(frames, painted)]
        )

    def network(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


class Johnson(Method):
    bytes_per_pixel = 1215

    def checkpoints(self):
        return [("johnson", self.settings.checkpoint or "johnson-candy")]

    def network(self, x):
        padded, crop = pad(x, 4)
        return crop(self.johnson(padded.to(self.dtype) * 255).float() / 255)


class Dumoulin(Method):
    bytes_per_pixel = 410

    def checkpoints(self):
        return [("dumoulin", self.settings.checkpoint or "magenta-dumoulin-26")]

    def load(self, ctx, styles, mix):
        super().load(ctx, styles, mix)
        weights_ = torch.zeros(self.dumoulin.n_styles)
        for index, weight in self.preset.items():
            weights_[index] = weight
        self.preset_weights = weights_.to(ctx.device, ctx.dtype)

    def network(self, x):
        padded, crop = pad(x, 4)
        # channels_last: measured 1.5x faster on the CPU (oneDNN convolutions), as on GPUs
        padded = padded.to(self.dtype).contiguous(memory_format=torch.channels_last)
        return crop(self.dumoulin(padded, self.preset_weights).float())


class Ghiasi(Method):
    style_images = strength_inside = True
    bytes_per_pixel = 285

    def checkpoints(self):
        s = self.settings
        return [
            ("ghiasi-predictor", s.encoder or "magenta-ghiasi-predictor"),
            ("ghiasi-transformer", s.checkpoint or "magenta-ghiasi-transformer"),
        ]

    def load(self, ctx, styles, mix):
        super().load(ctx, styles, mix)
        with torch.no_grad():  # the styles' embeddings, mixed (Ghiasi et al. section 4)
            self.style_embedding = sum(
                w * magenta.style_embedding(self.ghiasi_predictor, x, ctx.dtype)
                for w, x in zip(mix, styles)
            )

    def network(self, x):
        strength, embedding = self.settings.strength, self.style_embedding
        if strength < 1:  # towards the frame's own style, as Magenta's interpolation
            own = magenta.style_embedding(self.ghiasi_predictor, x, self.dtype)
            embedding = strength * embedding + (1 - strength) * own
        padded, crop = pad(x, 4)
        padded = padded.to(self.dtype).contiguous(memory_format=torch.channels_last)
        return crop(self.ghiasi_transformer(padded, embedding).float())


class AdaIN(Method):
    style_images = strength_inside = True

    def checkpoints(self):
        s = self.settings
        return [
            ("adain-encoder", s.encoder or "adain-encoder"),
            ("adain-decoder", s.checkpoint or "adain-decoder"),
        ]

    def load(self, ctx, styles, mix):
        super().load(ctx, styles, mix)
        self.mix = mix
        with torch.no_grad():
            self.style_stats = [
                mean_std(self.adain_encoder(pad(x, 8)[0].to(ctx.dtype)).float()) for x in styles
            ]

    def network(self, x):
        padded, crop = pad(x, 8)
        content = self.adain_encoder(padded.to(self.dtype)).float()
        target = sum(
            w * adaptive_instance_norm(content, m, sd)
            for w, (m, sd) in zip(self.mix, self.style_stats)
        )
        strength = self.settings.strength
        target = strength * target + (1 - strength) * content  # the official alpha
        return crop(self.adain_decoder(target.to(self.dtype)).float())


class Gatys(Method):
    """Each frame optimised (Gatys et al.), with a temporal loss towards the previous output
    carried to it, on trusted pixels (Ruder et al. 2016), then blended with it like the
    feed-forward methods. Frames start from their own content plus noise (--texture) rather
    than from the carried output as Ruder et al. do: with the small iteration budgets used on
    footage, a warped start freezes disoccluded areas in colours of their own (see
    docs/painting-style.md). The noise is the same at every frame, as in a run without
    --temporal: carried along the flow, what had travelled with a moving object stayed behind
    it as a texture the per-frame look does not have (wake figures over 1.5 on five of the
    seven real bench clips, 1.53-1.78; with the noise fixed 1.09-1.53, over on one, for
    all-pixel warping errors up to 0.04 higher)."""

    style_images = True
    paints_frames_alone = False

    def checkpoints(self):
        checkpoint = self.settings.checkpoint
        if checkpoint is not None or weights.cached_path("vgg19") is not None:
            return [("vgg19", checkpoint or "vgg19")]
        return []

    def load(self, ctx, styles, mix):
        self.optimiser = gatys.GatysStyle(styles, mix, self._features(ctx), device=ctx.device)
        self.base_noise: torch.Tensor | None = None

    def _features(self, ctx) -> gatys.Features:
        if not self.checkpoints():
            ctx.warn(
                "gatys: no VGG-19 weights in the cache, so the style loss uses a "
                "training-free random multi-scale encoder (cruder textures); `neuralfx "
                "models fetch vgg19` gives the published method"
            )
            return gatys.random_features(ctx.device)
        ((name, checkpoint),) = self.checkpoints()
        return gatys.vgg_features(load_model(name, checkpoint, ctx), ctx.device)

    def paint(self, frames, stabiliser, fresh=None):
        s, out = self.settings, []
        for frame in frames:
            content = frame[None]
            tie = stabiliser.tie(frame) if stabiliser else None
            temporal = None
            if tie is not None:
                temporal = (
                    tie.carry(stabiliser.previous_output[None]),
                    tie.trusted,
                    TEMPORAL_LOSS * s.stability,
                )
            start = (content + s.texture * (self._base_noise(content) - 0.5)).clamp(0, 1)
            result = self.optimiser.run(content, start, s.iterations, temporal=temporal)
            if stabiliser:
                result = stabiliser.blend(frame, result, tie)
            out.append(result)
        return torch.cat(out)

    def _base_noise(self, like: torch.Tensor) -> torch.Tensor:
        """Seeded uniform noise of the frame's size: the same for every run and every frame, so
        results do not depend on where a run started."""
        if self.base_noise is None or self.base_noise.shape != like.shape:
            gen = torch.Generator().manual_seed(0)
            self.base_noise = torch.rand(like.shape, generator=gen).to(like.device)
        return self.base_noise


METHODS: dict[str, type[Method]] = {
    "johnson": Johnson,
    "dumoulin": Dumoulin,
    "ghiasi": Ghiasi,
    "adain": AdaIN,
    "gatys": Gatys,
}


def load_model(name: str, checkpoint, ctx: neuralfx.RunContext) -> torch.nn.Module:
    """``models.load`` on the run's device; a checkpoint of another network says which method
    takes it."""
    try:
        return ctx.optimise(ctx.load_model(name, checkpoint))
    except NeuralFXError:
        guess = models.identify(str(checkpoint)) if Path(str(checkpoint)).is_file() else None
        if guess and guess != name:
            method = {
                "adain-decoder": "adain",
                "adain-encoder": "adain",
                "ghiasi-predictor": "ghiasi",
                "ghiasi-transformer": "ghiasi",
                "vgg19": "gatys",
            }.get(guess, guess)
            raise NeuralFXError(
                f"{checkpoint} is a {guess} checkpoint, not a {name} one",
                hint=f"use it with --method {method}, or give a {name} checkpoint",
            ) from None
        raise


def pad(x: torch.Tensor, multiple: int):
    """Reflect-pad H and W up to a multiple (the networks down- and up-sample by it)."""
    h, w = x.shape[2:]
    ph, pw = (-h) % multiple, (-w) % multiple
    if not (ph or pw):
        return x, lambda y: y
    mode = "reflect" if ph < h and pw < w else "replicate"
    padded = F.pad(x, (0, pw, 0, ph), mode=mode)
    return padded, lambda y: y[:, :, :h, :w]
