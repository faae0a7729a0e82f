"""The ``painting-style`` effect: Johnson (feed-forward), AdaIN (arbitrary style) and Gatys
(optimisation) style transfer, kept stable over time with optical flow."""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F

import neuralfx
from neuralfx import models, weights
from neuralfx.errors import NeuralFXError, ParameterError
from neuralfx.models.adain import adaptive_instance_norm, mean_std
from neuralfx.temporal import Stabiliser

from . import gatys, magenta
from .spec import PAINTING_STYLE, parse_preset
from .styles import load_style, preserve_colour

MIN_FRAME_SIDE = 16
#: The methods that paint the look of a style image (the others carry their styles).
STYLE_IMAGE_METHODS = ("ghiasi", "adain", "gatys")
#: Temporal-loss weight at --stability 1 (the losses are means over pixels in [0, 1]).
TEMPORAL_LOSS = 50.0
#: Peak memory a frame takes per pixel painted (fp32, CPU; peak RSS between 1080p and 4K
#: frames, 2026-12-06): the network's activations, and the stabiliser's flow and state.
#: adain and gatys are not measured (their default --style-scale paints at 512 px anyway).
BYTES_PER_PIXEL = {"dumoulin": 410, "ghiasi": 285, "johnson": 1215}
STABILISER_BYTES_PER_PIXEL = 155


class PaintingStyle(neuralfx.Effect):
    spec = PAINTING_STYLE

    def __init__(self, settings) -> None:
        super().__init__(settings)
        s = self.settings
        if s.method in ("johnson", "dumoulin") and s.style:
            raise ParameterError(f"style: {s.method} networks carry their styles; --style is "
                                 "for adain and gatys",
                                 hint="choose one of the 26 styles with --preset" if
                                 s.method == "dumoulin" else "choose the network with "
                                 "--checkpoint (johnson-candy, johnson-mosaic, … or a trained "
                                 "file)")
        try:
            self.preset = parse_preset(s.preset)
        except ValueError as exc:
            raise ParameterError(f"preset: {s.preset!r}: {exc}",
                                 hint="pass --preset N with N from 0 to 25, or a blend such as "
                                      "3:0.5,12:0.5") from None
        if s.method not in ("johnson", "dumoulin") and not s.style:
            raise ParameterError(f"style: --method {s.method} needs at least one --style image",
                                 hint="pass --style IMAGE")
        if s.style_weight and len(s.style_weight) != len(s.style):
            raise ParameterError(f"style_weight: {len(s.style_weight)} weight(s) for "
                                 f"{len(s.style)} style image(s)",
                                 hint="give one --style-weight per --style, or none")
        if s.style_weight and sum(s.style_weight) <= 0:
            raise ParameterError("style_weight: the weights add up to 0",
                                 hint="give at least one positive weight")
        # With --temporal each output depends on the ones before it (see neuralfx.history).
        self.stateful = bool(s.temporal)

    def files(self) -> list[str]:
        """Style images, plus the checkpoints the method will load (resolved from registry
        names), so that a changed file is noticed by the resume record."""
        found = super().files()
        for model, checkpoint in self._checkpoints():
            try:
                found.append(models.resolve_checkpoint(model, checkpoint))
            except NeuralFXError:
                pass  # not in the cache: load() says what to do
        return found

    def _checkpoints(self) -> list[tuple[str, object]]:
        s = self.settings
        if s.method == "johnson":
            return [("johnson", s.checkpoint or "johnson-candy")]
        if s.method == "dumoulin":
            return [("dumoulin", s.checkpoint or "magenta-dumoulin-26")]
        if s.method == "ghiasi":
            return [("ghiasi-predictor", s.encoder or "magenta-ghiasi-predictor"),
                    ("ghiasi-transformer", s.checkpoint or "magenta-ghiasi-transformer")]
        if s.method == "adain":
            return [("adain-encoder", s.encoder or "adain-encoder"),
                    ("adain-decoder", s.checkpoint or "adain-decoder")]
        if s.checkpoint is not None or weights.cached_path("vgg19") is not None:
            return [("vgg19", s.checkpoint or "vgg19")]
        return []

    # -- state across frames (the host saves and restores it; see docs/plugins.md) -------------
    def state_dict(self) -> dict[str, torch.Tensor]:
        state = self.stabiliser.state_dict() if self.stabiliser else {}
        if state and self.noise is not None:
            state["noise"] = self.noise
        return state

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        if self.stabiliser:
            self.stabiliser.load_state_dict(state, self.device)
        self.noise = state["noise"].to(self.device) if "noise" in state else None

    # -- loading ------------------------------------------------------------------------------
    def load(self, ctx: neuralfx.RunContext) -> None:
        s = self.settings
        self.device, self.dtype = ctx.device, ctx.dtype
        weights_ = list(s.style_weight) or [1.0] * len(s.style)
        self.mix = [w / sum(weights_) for w in weights_] if weights_ else []
        styles = [load_style(p, s.style_size).to(ctx.device) for p in s.style]
        if s.method == "johnson":
            self.net = _load_model("johnson", s.checkpoint or "johnson-candy", ctx)
        elif s.method == "dumoulin":
            self.net = _load_model("dumoulin", s.checkpoint or "magenta-dumoulin-26", ctx)
            mix = torch.zeros(self.net.n_styles)
            for index, weight in self.preset.items():
                mix[index] = weight
            self.preset_weights = mix.to(ctx.device, ctx.dtype)
        elif s.method == "ghiasi":
            self.encoder = _load_model("ghiasi-predictor", s.encoder or
                                       "magenta-ghiasi-predictor", ctx)
            self.net = _load_model("ghiasi-transformer", s.checkpoint or
                                   "magenta-ghiasi-transformer", ctx)
            with torch.no_grad():  # the styles' embeddings, mixed (Ghiasi et al. section 4)
                self.style_embedding = sum(w * magenta.style_embedding(self.encoder, x, ctx.dtype)
                                           for w, x in zip(self.mix, styles))
        elif s.method == "adain":
            self.encoder = _load_model("adain-encoder", s.encoder or "adain-encoder", ctx)
            self.decoder = _load_model("adain-decoder", s.checkpoint or "adain-decoder", ctx)
            with torch.no_grad():
                self.style_stats = [mean_std(self.encoder(_pad(x, 8)[0].to(ctx.dtype)).float())
                                    for x in styles]
        else:
            self.optimiser = gatys.GatysStyle(styles, self.mix, _gatys_features(s.checkpoint, ctx),
                                              device=ctx.device)
        self.stabiliser = Stabiliser(s.stability) if s.temporal else None
        #: gatys: the noise the last frame's start was made with, carried to the next
        self.noise: torch.Tensor | None = None
        self.base_noise: torch.Tensor | None = None

    def release(self) -> None:
        for attr in ("net", "preset_weights", "style_embedding", "encoder", "decoder",
                     "optimiser", "style_stats", "stabiliser", "noise", "base_noise"):
            if hasattr(self, attr):
                delattr(self, attr)

    # -- processing ---------------------------------------------------------------------------
    def process(self, batch: neuralfx.FrameBatch) -> neuralfx.FrameBatch:
        s = self.settings
        frames = batch.rgb.float()
        h, w = frames.shape[2:]
        work = _resize_long_side(frames, self._working_side(max(h, w)))
        if min(work.shape[2:]) < MIN_FRAME_SIDE:
            raise ParameterError(
                f"frame {batch.frames[0]} is processed at {work.shape[3]}x{work.shape[2]}; "
                f"painting-style needs at least {MIN_FRAME_SIDE} pixels on each side (the "
                "networks work on 1/8-size features)",
                hint="raise --max-size, lower --style-scale or give larger frames")
        # The stabiliser and gatys' noise change only once the whole batch has succeeded
        # (a batch is retried smaller after a CUDA out-of-memory error).
        state = self.state_dict()
        try:
            if s.method == "gatys":
                stylised = self._gatys(work)
            else:
                if self.stabiliser:  # flows in the background while the frames are painted
                    self.stabiliser.prepare(work)
                stylised = self._stabilise(work, self._feed_forward(work).clamp(0, 1))
        except BaseException:
            self.load_state_dict(state)
            raise
        if s.preserve_color:
            stylised = preserve_colour(stylised, work)
        if s.method not in ("adain", "ghiasi") and s.strength < 1:  # those two mix inside
            stylised = torch.lerp(work, stylised, s.strength)
        if stylised.shape[2:] != (h, w):
            stylised = F.interpolate(stylised, size=(h, w), mode="bicubic",
                                     align_corners=False).clamp(0, 1)
        return batch.replace(rgb=stylised.to(batch.rgb.dtype))

    def memory_needed(self, width: int, height: int) -> int | None:
        per_pixel = BYTES_PER_PIXEL.get(self.settings.method)
        if per_pixel is None:
            return None
        if self.settings.temporal:
            per_pixel += STABILISER_BYTES_PER_PIXEL
        side = max(width, height)
        scale = self._working_side(side) / side
        scale *= 0.5 if self.dtype == torch.bfloat16 else 1.0
        return int(per_pixel * width * height * scale * scale)

    def when_too_large(self, width: int, height: int, free: int) -> str:
        need = self.memory_needed(width, height) or 1
        side = max(width, height)
        fits = int(self._working_side(side) * (free / need) ** 0.5) // 8 * 8
        if fits < MIN_FRAME_SIDE * 8:
            return super().when_too_large(width, height, free)
        return (f"paint it at a smaller size and scale the result up: --max-size {fits} (the "
                "largest long side that fits now)")

    def _working_side(self, side: int) -> int:
        """The long side a frame whose long side is ``side`` is painted at: its own, less
        where --style-scale (methods that take a style image: a network paints strokes at the
        scale of the pixels it is given, so the frame goes in at the style image's scale) or
        --max-size ask; never more."""
        s = self.settings
        if s.method in STYLE_IMAGE_METHODS and s.style_scale > 0:
            side = min(side, max(MIN_FRAME_SIDE, round(s.style_size / s.style_scale)))
        return min(side, s.max_size) if s.max_size else side

    def _feed_forward(self, x: torch.Tensor) -> torch.Tensor:
        s = self.settings
        if s.method == "johnson":
            padded, crop = _pad(x, 4)
            return crop(self.net(padded.to(self.dtype) * 255).float() / 255)
        if s.method == "ghiasi":
            embedding = self.style_embedding
            if s.strength < 1:  # towards the frame's own style, as Magenta's interpolation
                own = magenta.style_embedding(self.encoder, x, self.dtype)
                embedding = s.strength * embedding + (1 - s.strength) * own
            padded, crop = _pad(x, 4)
            padded = padded.to(self.dtype).contiguous(memory_format=torch.channels_last)
            return crop(self.net(padded, embedding).float())
        if s.method == "dumoulin":
            padded, crop = _pad(x, 4)
            # channels_last: measured 1.5x faster on the CPU (oneDNN convolutions), as on GPUs
            padded = padded.to(self.dtype).contiguous(memory_format=torch.channels_last)
            return crop(self.net(padded, self.preset_weights).float())
        padded, crop = _pad(x, 8)
        content = self.encoder(padded.to(self.dtype)).float()
        target = sum(w * adaptive_instance_norm(content, m, sd)
                     for w, (m, sd) in zip(self.mix, self.style_stats))
        target = s.strength * target + (1 - s.strength) * content  # the official alpha
        return crop(self.decoder(target.to(self.dtype)).float())

    def _stabilise(self, inputs: torch.Tensor, stylised: torch.Tensor) -> torch.Tensor:
        """Each frame tied to the previous output (:class:`neuralfx.temporal.Stabiliser`)."""
        if self.stabiliser is None:
            return stylised
        return torch.cat([self.stabiliser.blend(x, u[None], self.stabiliser.tie(x))
                          for x, u in zip(inputs, stylised)])

    def _gatys(self, inputs: torch.Tensor) -> torch.Tensor:
        """Each frame is optimised with a temporal loss towards the previous output carried
        to it, on trusted pixels (Ruder et al. 2016), then blended with it like the
        feed-forward methods. Frames start from their own content plus noise (--texture)
        rather than from the carried output as Ruder et al. do: with the small iteration
        budgets used on footage, a warped start freezes disoccluded areas in colours of their
        own (see docs/painting-style.md). The noise is carried like the output, so the painted
        texture moves with the picture instead of sticking to the screen."""
        s, stab = self.settings, self.stabiliser
        out = []
        for frame in inputs:
            content = frame[None]
            base = self._base_noise(content)
            tie = stab.tie(frame) if stab else None
            temporal, noise = None, base
            if tie is not None:
                temporal = (tie.carry(stab.previous_output[None]), tie.trusted,
                            TEMPORAL_LOSS * s.stability)
                if self.noise is not None:
                    noise = torch.lerp(base, tie.carry(self.noise), tie.trusted)
            start = (content + s.texture * (noise - 0.5)).clamp(0, 1)
            result = self.optimiser.run(content, start, s.iterations, temporal=temporal)
            if stab:
                result = stab.blend(frame, result, tie)
                self.noise = noise
            out.append(result)
        return torch.cat(out)

    def _base_noise(self, like: torch.Tensor) -> torch.Tensor:
        """Seeded uniform noise of the frame's size: the same for every run and every frame
        that has nothing to inherit, so results do not depend on where a run started."""
        if self.base_noise is None or self.base_noise.shape != like.shape:
            gen = torch.Generator().manual_seed(0)
            self.base_noise = torch.rand(like.shape, generator=gen).to(like.device)
        return self.base_noise


def _load_model(name: str, checkpoint, ctx: neuralfx.RunContext) -> torch.nn.Module:
    try:
        return ctx.optimise(models.load(name, str(checkpoint), ctx.device, ctx.dtype))
    except NeuralFXError:
        guess = models.identify(str(checkpoint)) if Path(str(checkpoint)).is_file() else None
        if guess and guess != name:
            method = {"adain-decoder": "adain", "adain-encoder": "adain",
                      "ghiasi-predictor": "ghiasi", "ghiasi-transformer": "ghiasi",
                      "vgg19": "gatys"}.get(guess, guess)
            raise NeuralFXError(
                f"{checkpoint} is a {guess} checkpoint, not a {name} one",
                hint=f"use it with --method {method}, or give a {name} checkpoint") from None
        raise


def _gatys_features(checkpoint, ctx: neuralfx.RunContext) -> gatys.Features:
    if checkpoint is None and weights.cached_path("vgg19") is None:
        ctx.warn("gatys: no VGG-19 weights in the cache, so the style loss uses a training-free "
                 "random multi-scale encoder (cruder textures); `neuralfx models fetch vgg19` "
                 "gives the published method")
        return gatys.random_features(ctx.device)
    return gatys.vgg_features(_load_model("vgg19", checkpoint or "vgg19", ctx), ctx.device)


def _pad(x: torch.Tensor, multiple: int):
    """Reflect-pad H and W up to a multiple (the networks down- and up-sample by it)."""
    h, w = x.shape[2:]
    ph, pw = (-h) % multiple, (-w) % multiple
    if not (ph or pw):
        return x, lambda y: y
    mode = "reflect" if ph < h and pw < w else "replicate"
    padded = F.pad(x, (0, pw, 0, ph), mode=mode)
    return padded, lambda y: y[:, :, :h, :w]


def _resize_long_side(x: torch.Tensor, side: int) -> torch.Tensor:
    """``x`` scaled down (area averaging) so that its long side is ``side``, aspect kept."""
    h, w = x.shape[2:]
    if side >= max(h, w):
        return x
    scale = side / max(h, w)
    size = (max(1, round(h * scale)), max(1, round(w * scale)))
    return F.interpolate(x, size=size, mode="area")
