"""Per-frame work done in the decode and encode workers, around the effect.

Decoding side (:class:`FrameDecoder`): split colour and alpha, expand gray to RGB and convert
the colour into the effect's working space. Integer samples stay integers when no colour
conversion is needed: they cross to the device at a quarter of the size and are scaled there.

Encoding side (:func:`pack`): convert the colour to the output space, restore the output
channel layout (gray, alpha) and quantise to the output depth.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from ..colour import ColourSpaces, Converter
from ..errors import FrameError
from .images import depth_of
from .samples import INTEGER_SCALE, to_unit_float

# Rec.709 luma weights, to store an RGB result as gray when the source was gray.
_LUMA = np.array([0.2126, 0.7152, 0.0722], dtype=np.float32)


@dataclasses.dataclass
class Picture:
    """One decoded frame ready to be batched.

    ``rgb`` is ``(H, W, 3)``: integer samples (uint8/uint16, scaled to [0, 1] on the device) or
    float32/float16 in the working space. ``alpha`` is ``(H, W, 1)`` or None. ``channels`` and
    ``depth`` describe the source file (1-4 channels; "8", "16", "half" or "float");
    ``finite`` is False when a float source holds NaN or infinity. ``notes`` is what the
    effect's ``inspect`` made of the frame in the decode worker. ``pixels`` are the samples
    as decoded (any layout), for frames written unchanged; ``bgr``: colour in ``pixels`` and
    ``rgb`` is in the codec's BGR order (frames that pass through, from OpenCV's formats).
    """

    frame: int
    rgb: np.ndarray
    alpha: np.ndarray | None
    channels: int
    depth: str
    finite: bool = True
    notes: Any = None
    pixels: np.ndarray | None = None
    bgr: bool = False

    @property
    def size(self) -> tuple[int, int]:
        return self.rgb.shape[1], self.rgb.shape[0]


def __getattr__(name: str):
    if name == "display_rgb":  # moved to the torch-free .samples; gone in plugin API 2.0
        import warnings

        from . import samples

        warnings.warn(
            "neuralfx.frames.pixels.display_rgb is neuralfx.frames.samples.display_rgb now",
            DeprecationWarning,
            stacklevel=2,
        )
        return samples.display_rgb
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def to_tensor(arrays: list[np.ndarray], device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """``(H, W, C)`` arrays (integer samples or float, as decoded) → an ``(N, C, H, W)`` tensor
    in [0, 1] on ``device``: how the host batches frames for ``Effect.process``, so that work
    an effect does in ``inspect`` on a frame sees the same values."""
    if len({a.dtype for a in arrays}) > 1:
        arrays = [to_unit_float(a) for a in arrays]
    scale = INTEGER_SCALE.get(arrays[0].dtype)
    # One copy into (pinned, for CUDA) host memory, then a non-blocking copy to the device.
    host = torch.empty(
        (len(arrays),) + arrays[0].shape,
        dtype=torch.from_numpy(arrays[0][:0]).dtype,
        pin_memory=device.type == "cuda",
    )
    np.stack(arrays, out=host.numpy())
    # Convert while the layout is still contiguous NHWC (much faster on the CPU than on the
    # permuted view); the permuted result is an NCHW tensor in channels_last memory format.
    x = host.to(device, non_blocking=True).to(torch.float32)
    if scale is not None:
        x.mul_(1.0 / scale)
    return x.permute(0, 3, 1, 2).to(dtype)


def count_nonfinite(pixels: np.ndarray) -> str:
    """``"12 NaN and 3 infinite samples"``: what a float frame holds that is not a number."""
    nan = int(np.isnan(pixels).sum())
    inf = int(np.isinf(pixels).sum())
    parts = [f"{nan} NaN"] * bool(nan) + [f"{inf} infinite"] * bool(inf)
    return " and ".join(parts) + (" sample" if nan + inf == 1 else " samples")


#: What ``--nonfinite clamp`` makes of infinities: the largest half float, far above any
#: scene-linear value, and not so large that a colour conversion overflows again.
CLAMP_TO = 65504.0


def replace_nonfinite(x, policy: str):
    """``x`` (numpy or torch, float) with NaN and infinities replaced as ``--nonfinite``
    ``policy`` says: ``clamp`` NaN 0 and infinities ±CLAMP_TO (so white or black once stored
    as integers), ``zero`` all 0."""
    big = CLAMP_TO if policy == "clamp" else 0.0
    if isinstance(x, np.ndarray):
        return np.nan_to_num(x, nan=0.0, posinf=big, neginf=-big)
    return torch.nan_to_num(x, nan=0.0, posinf=big, neginf=-big)


class FrameDecoder:
    """Turns decoded pixels into a :class:`Picture` in the effect's working space, with NaN
    and infinities replaced where ``nonfinite`` (``--nonfinite``) says so."""

    def __init__(
        self,
        spaces: ColourSpaces,
        input_space: str | None,
        working_space: str | None,
        nonfinite: str = "error",
        warn: Callable[[str], None] | None = None,
    ):
        self.spaces = spaces
        self.input_space = input_space
        self.working_space = working_space
        self.nonfinite = nonfinite
        self._warn = warn

    def source_space(self, depth: str) -> str:
        """The colour space of decoded pixels: as told, else linear for float, sRGB for ints."""
        if self.input_space:
            return self.input_space
        return "linear" if depth in ("half", "float") else "srgb"

    def __call__(self, frame: int, pixels: np.ndarray) -> Picture:
        # A sum is non-finite if any term is (one pass, no temporary the size of the frame).
        finite = pixels.dtype.kind != "f" or bool(np.isfinite(pixels.sum(dtype=np.float64)))
        if not finite and self.nonfinite != "error":
            if self._warn is not None:  # once: a plate with NaN usually has them throughout
                self._warn(
                    f"frame {frame}: {count_nonfinite(pixels)} replaced (--nonfinite "
                    f"{self.nonfinite}); later frames are not reported"
                )
                self._warn = None
            pixels, finite = replace_nonfinite(pixels, self.nonfinite), True
        channels = pixels.shape[2]
        if channels in (1, 2):
            rgb = np.repeat(pixels[:, :, :1], 3, axis=2)
        else:
            rgb = pixels[:, :, :3]
        alpha = pixels[:, :, channels - 1 :] if channels in (2, 4) else None
        convert = None
        if self.working_space is not None:
            convert = self.spaces.converter(self.source_space(depth_of(pixels)), self.working_space)
        if convert is not None:
            rgb = convert(to_unit_float(rgb))
        return Picture(
            frame,
            np.ascontiguousarray(rgb),
            alpha,
            channels,
            depth_of(pixels),
            finite,
            pixels=pixels,
        )


@dataclasses.dataclass(frozen=True)
class OutputLayout:
    """What is written: channel count (1-4), depth, and the colour conversion from the
    effect's working space to the output space (None: none needed)."""

    channels: int
    depth: str
    convert: Converter | None


_TORCH_DTYPES = {
    "8": torch.uint8,
    "16": torch.uint16,
    "half": torch.float16,
    "float": torch.float32,
}


def pack(rgb: torch.Tensor, alpha: torch.Tensor | None, layout: OutputLayout) -> torch.Tensor:
    """Float ``(N, H, W, 3)`` colour and ``(N, H, W, 1)`` alpha → ``(N, H, W, C)`` samples in
    the output channel layout and storage dtype (integers rounded and clipped).

    Runs wherever the tensors are: on the device when no colour conversion is needed (so only
    the final samples cross back to the host), else in the encode workers after converting.
    """
    channels = layout.channels
    colour = rgb @ torch.as_tensor(_LUMA, device=rgb.device)[:, None] if channels in (1, 2) else rgb
    if channels in (2, 4):
        if alpha is None:
            alpha = torch.ones_like(colour[..., :1])
        colour = torch.cat([colour, alpha.to(colour.dtype)], dim=-1)
    dtype = _TORCH_DTYPES[layout.depth]
    if dtype.is_floating_point:
        return colour.to(dtype)
    scale = float(torch.iinfo(dtype).max)
    # clamp, scale, +0.5 and truncate: rounds half up in three passes over the frame.
    return colour.clamp(0, 1).mul_(scale).add_(0.5).to(dtype)


def finite_frames(rgb: torch.Tensor) -> torch.Tensor:
    """``(N,)`` bools: which frames of an effect's output hold no NaN or infinity. Computed on
    the device without waiting for it; the encode workers read it with the frames."""
    # A sum is non-finite if any term is, and reads the frame once without copying it.
    return torch.isfinite(rgb.sum(dim=(1, 2, 3)))


def unstorable_error(frame: int, path: str | None, what: str, output: str) -> FrameError:
    """NaN or infinity from the source that an integer output cannot hold."""
    where = f"frame {frame}" + (f" ({path})" if path else "")
    return FrameError(
        f"{where} holds {what}, which {output} cannot store (NaN would become 0, infinity white)",
        hint="pass --nonfinite clamp or --nonfinite zero to "
        "replace them, or write a float EXR (--depth half or float) to keep them",
        frame=frame,
        path=path,
    )


def nonfinite_error(frame: int) -> FrameError:
    return FrameError(
        f"frame {frame}: the effect produced NaN or infinite values",
        hint="try --precision fp32; if it persists, report it to the effect's authors",
        frame=frame,
    )
