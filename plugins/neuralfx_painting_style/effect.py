"""The ``painting-style`` effect: Johnson, Dumoulin and Ghiasi (Magenta), AdaIN and Gatys style
transfer (``methods.py``, one class each), kept stable over time with optical flow; here what
they share: the checks, the working size, the stabiliser, --strength and the memory check."""

from __future__ import annotations

import torch
import torch.nn.functional as F

import neuralfx
from neuralfx import models
from neuralfx.errors import NeuralFXError, ParameterError
from neuralfx.frames.pixels import to_tensor
from neuralfx.temporal import Stabiliser

from .methods import METHODS
from .spec import PAINTING_STYLE, parse_preset
from .styles import load_style, preserve_colour

MIN_FRAME_SIDE = 16
#: The stabiliser's flow and state, per pixel painted (measured with the methods' figures).
STABILISER_BYTES_PER_PIXEL = 155


class PaintingStyle(neuralfx.Effect):
    spec = PAINTING_STYLE

    def __init__(self, settings) -> None:
        super().__init__(settings)
        s = self.settings
        method = METHODS[s.method]
        if not method.style_images and s.style:
            raise ParameterError(
                f"style: {s.method} networks carry their styles; --style is for adain and gatys",
                hint="choose one of the 26 styles with --preset"
                if s.method == "dumoulin"
                else "choose the network with "
                "--checkpoint (johnson-candy, johnson-mosaic, … or a trained "
                "file)",
            )
        try:
            self.preset = parse_preset(s.preset)
        except ValueError as exc:
            raise ParameterError(
                f"preset: {s.preset!r}: {exc}",
                hint="pass --preset N with N from 0 to 25, or a blend such as 3:0.5,12:0.5",
            ) from None
        if method.style_images and not s.style:
            raise ParameterError(
                f"style: --method {s.method} needs at least one --style image",
                hint="pass --style IMAGE",
            )
        if s.style_weight and len(s.style_weight) != len(s.style):
            raise ParameterError(
                f"style_weight: {len(s.style_weight)} weight(s) for {len(s.style)} style image(s)",
                hint="give one --style-weight per --style, or none",
            )
        if s.style_weight and sum(s.style_weight) <= 0:
            raise ParameterError(
                "style_weight: the weights add up to 0", hint="give at least one positive weight"
            )
        # With --temporal each output depends on the ones before it (see neuralfx.pipeline.history).
        self.stateful = bool(s.temporal)
        self.method = method(s, self.preset)
        # On the CPU the host may paint frames in its decode workers, several at once
        # (inspect), and the stabiliser then ties them in order (process).
        self.parallel_inspect = method.paints_frames_alone

    def files(self) -> list[str]:
        """Style images, plus the checkpoints the method will load (resolved from registry
        names), so that a changed file is noticed by the resume record."""
        found = super().files()
        for model, checkpoint in self.method.checkpoints():
            try:
                found.append(models.resolve_checkpoint(model, checkpoint))
            except NeuralFXError:
                pass  # not in the cache: load() says what to do
        return found

    # -- state across frames (the host saves and restores it; see docs/plugins.md) -------------
    def state_dict(self) -> dict[str, torch.Tensor]:
        return self.stabiliser.state_dict() if self.stabiliser else {}

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        if self.stabiliser:
            self.stabiliser.load_state_dict(state, self.device)

    # -- loading ------------------------------------------------------------------------------
    def load(self, ctx: neuralfx.RunContext) -> None:
        s = self.settings
        self.device, self.dtype = ctx.device, ctx.dtype
        weights_ = list(s.style_weight) or [1.0] * len(s.style)
        mix = [w / sum(weights_) for w in weights_] if weights_ else []
        styles = [load_style(p, s.style_size).to(ctx.device) for p in s.style]
        self.method.load(ctx, styles, mix)
        self.stabiliser = Stabiliser(s.stability) if s.temporal else None

    def release(self) -> None:
        self.method = METHODS[self.settings.method](self.settings, self.preset)
        self.stabiliser = None

    # -- processing ---------------------------------------------------------------------------
    def inspect(self, frame: int, rgb) -> torch.Tensor | None:
        """The frame's fresh look at the working size, painted in a decode worker on the CPU,
        several frames at once (``parallel_inspect``; see neuralfx.Effect.inspect); None for
        gatys, whose optimisation needs the frames before (the host then calls this anyway:
        without ``parallel_inspect`` an inspect is an ordinary one)."""
        if not self.parallel_inspect:
            return None
        with torch.inference_mode():
            frames = to_tensor([rgb], self.device, self.dtype).float()
            return self.method.fresh(self._working(frames, frame))

    def process(self, batch: neuralfx.FrameBatch) -> neuralfx.FrameBatch:
        s = self.settings
        frames = batch.rgb.float()
        h, w = frames.shape[2:]
        work = self._working(frames, batch.frames[0])
        painted_ahead = batch.notes is not None and batch.notes[0] is not None
        fresh = torch.cat(batch.notes) if painted_ahead else None
        # The stabiliser's state changes only once the whole batch has succeeded
        # (a batch is retried smaller after a CUDA out-of-memory error).
        state = self.state_dict()
        try:
            stylised = self.method.paint(work, self.stabiliser, fresh)
        except BaseException:
            self.load_state_dict(state)
            raise
        if s.preserve_color:
            stylised = preserve_colour(stylised, work)
        if not self.method.strength_inside and s.strength < 1:
            stylised = torch.lerp(work, stylised, s.strength)
        if stylised.shape[2:] != (h, w):
            stylised = F.interpolate(
                stylised, size=(h, w), mode="bicubic", align_corners=False
            ).clamp(0, 1)
        return batch.replace(rgb=stylised.to(batch.rgb.dtype))

    def memory_needed(self, width: int, height: int) -> int | None:
        per_pixel = self.method.bytes_per_pixel
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
        return (
            f"paint it at a smaller size and scale the result up: --max-size {fits} (the "
            "largest long side that fits now)"
        )

    def _working(self, frames: torch.Tensor, first: int) -> torch.Tensor:
        """``frames`` (the first of them numbered ``first``) at the size they are painted at;
        a ParameterError where that is too small for the networks."""
        h, w = frames.shape[2:]
        work = _resize_long_side(frames, self._working_side(max(h, w)))
        if min(work.shape[2:]) < MIN_FRAME_SIDE:
            raise ParameterError(
                f"frame {first} is processed at {work.shape[3]}x{work.shape[2]}; "
                f"painting-style needs at least {MIN_FRAME_SIDE} pixels on each side (the "
                "networks work on 1/8-size features)",
                hint=self._too_small_hint(h, w),
            )
        return work

    def _too_small_hint(self, h: int, w: int) -> str:
        """What makes a frame big enough to paint: the settings that shrank it, or, where the
        frame itself is too small, larger footage (frames are never painted above their size)."""
        if min(h, w) < MIN_FRAME_SIDE:
            return (
                f"give frames at least {MIN_FRAME_SIDE} pixels on each side (scale them up first)"
            )
        s, asks = self.settings, []
        if s.max_size:
            asks.append(f"raise --max-size (now {s.max_size})")
        if self.method.style_images and s.style_scale > 0:
            asks.append(
                f"lower --style-scale (now {s.style_scale:g}; 0 paints at the frame's size)"
            )
        return " or ".join(asks) or "give larger frames"

    def _working_side(self, side: int) -> int:
        """The long side a frame whose long side is ``side`` is painted at: its own, less
        where --style-scale (methods that take a style image: a network paints strokes at the
        scale of the pixels it is given, so the frame goes in at the style image's scale) or
        --max-size ask; never more."""
        s = self.settings
        if self.method.style_images and s.style_scale > 0:
            side = min(side, max(MIN_FRAME_SIDE, round(s.style_size / s.style_scale)))
        return min(side, s.max_size) if s.max_size else side


def _resize_long_side(x: torch.Tensor, side: int) -> torch.Tensor:
    """``x`` scaled down (area averaging) so that its long side is ``side``, aspect kept."""
    h, w = x.shape[2:]
    if side >= max(h, w):
        return x
    scale = side / max(h, w)
    size = (max(1, round(h * scale)), max(1, round(w * scale)))
    return F.interpolate(x, size=size, mode="area")
