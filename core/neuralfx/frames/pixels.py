"""Per-frame work done in the decode and encode workers, around the effect.

Decoding side (:class:`FrameDecoder`): split colour and alpha, expand gray to RGB and convert
the colour into the effect's working space. Integer samples stay integers when no colour
conversion is needed: they cross to the device at a quarter of the size and are scaled there.

Encoding side (:class:`FrameEncoder`): convert the colour to the output space, restore the
output channel layout (gray, alpha), quantise to the output depth and write atomically.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ..colour import ColourSpaces, Converter
from ..errors import FrameError
from .images import DEPTH_DTYPE, depth_of

# Rec.709 luma weights, to store an RGB result as gray when the source was gray.
_LUMA = np.array([0.2126, 0.7152, 0.0722], dtype=np.float32)
INTEGER_SCALE = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0}


@dataclasses.dataclass
class Picture:
    """One decoded frame ready to be batched.

    ``rgb`` is ``(H, W, 3)``: integer samples (uint8/uint16, scaled to [0, 1] on the device) or
    float32/float16 in the working space. ``alpha`` is ``(H, W, 1)`` or None. ``channels`` and
    ``depth`` describe the source file (1-4 channels; "8", "16", "half" or "float").
    """

    frame: int
    rgb: np.ndarray
    alpha: np.ndarray | None
    channels: int
    depth: str

    @property
    def size(self) -> tuple[int, int]:
        return self.rgb.shape[1], self.rgb.shape[0]


def to_unit_float(a: np.ndarray) -> np.ndarray:
    scale = INTEGER_SCALE.get(a.dtype)
    return a.astype(np.float32) / scale if scale else a.astype(np.float32, copy=False)


class FrameDecoder:
    """Turns decoded pixels into a :class:`Picture` in the effect's working space."""

    def __init__(self, spaces: ColourSpaces, input_space: str | None, working_space: str | None):
        self.spaces = spaces
        self.input_space = input_space
        self.working_space = working_space

    def source_space(self, depth: str) -> str:
        """The colour space of decoded pixels: as told, else linear for float, sRGB for ints."""
        if self.input_space:
            return self.input_space
        return "linear" if depth in ("half", "float") else "srgb"

    def __call__(self, frame: int, pixels: np.ndarray) -> Picture:
        channels = pixels.shape[2]
        if channels in (1, 2):
            rgb = np.repeat(pixels[:, :, :1], 3, axis=2)
        else:
            rgb = pixels[:, :, :3]
        alpha = pixels[:, :, channels - 1:] if channels in (2, 4) else None
        convert = None
        if self.working_space is not None:
            convert = self.spaces.converter(self.source_space(depth_of(pixels)), self.working_space)
        if convert is not None:
            rgb = convert(to_unit_float(rgb))
        return Picture(frame, np.ascontiguousarray(rgb), alpha, channels, depth_of(pixels))


@dataclasses.dataclass(frozen=True)
class OutputLayout:
    """What the encoder writes: channel count (1-4), depth and colour conversion."""

    channels: int
    depth: str
    convert: Converter | None


def quantise(a: np.ndarray, depth: str) -> np.ndarray:
    """Float samples → the storage dtype of ``depth`` (integers are rounded and clipped)."""
    dtype = DEPTH_DTYPE[depth]
    scale = INTEGER_SCALE.get(dtype)
    if scale is None:
        return a.astype(dtype)
    return np.clip(np.rint(a * scale), 0, scale).astype(dtype)


class FrameEncoder:
    """Turns an effect's output frame into stored pixels in the output layout."""

    def __init__(self, layout: OutputLayout):
        self.layout = layout

    def __call__(self, frame: int, rgb: np.ndarray, alpha: np.ndarray | None) -> np.ndarray:
        """``rgb``: ``(H, W, 3)`` float32; ``alpha``: ``(H, W, 1)`` float32 or None."""
        if not np.isfinite(rgb).all():
            raise FrameError(f"frame {frame}: the effect produced NaN or infinite values",
                             hint="try --precision fp32; if it persists, report it to the "
                                  "effect's authors", frame=frame)
        if self.layout.convert is not None:
            rgb = self.layout.convert(rgb)
        channels = self.layout.channels
        colour = rgb @ _LUMA[:, None] if channels in (1, 2) else rgb
        if channels in (2, 4):
            if alpha is None:
                alpha = np.ones(rgb.shape[:2] + (1,), dtype=np.float32)
            planes = np.concatenate([colour, alpha], axis=2)
        else:
            planes = colour
        return quantise(planes, self.layout.depth)
