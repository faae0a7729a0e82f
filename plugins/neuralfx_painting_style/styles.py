"""Style images and colour preservation."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import torch

from neuralfx.errors import NeuralFXError, ParameterError
from neuralfx.frames.images import read_image
from neuralfx.frames.samples import display_rgb

MIN_STYLE_SIDE = 32


def load_style(path: Path, size: int) -> torch.Tensor:
    """Read a style image as ``(1, 3, H, W)`` sRGB in [0, 1], longest side ``size``.

    Gray is expanded, alpha dropped, float (linear) images such as EXR encoded to sRGB; images
    much larger or smaller than ``size`` are resampled (area filter down, bicubic up).
    """
    try:
        pixels = read_image(str(path))
    except NeuralFXError as exc:
        raise ParameterError(
            f"style: {exc.message}", hint="give a readable PNG, JPEG, TIFF or EXR image to --style"
        ) from None
    h, w = pixels.shape[:2]
    if min(h, w) < MIN_STYLE_SIDE:
        raise ParameterError(
            f"style: {path} is only {w}x{h} pixels; a style needs at least "
            f"{MIN_STYLE_SIDE} on each side",
            hint="give a larger style image",
        )
    rgb = display_rgb(pixels)
    scale = size / max(h, w)
    if abs(scale - 1) > 1e-3:
        interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
        rgb = cv2.resize(
            rgb, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=interp
        )
    return torch.from_numpy(np.clip(rgb, 0, 1)).permute(2, 0, 1)[None].contiguous()


# YIQ (NTSC) transform: Y carries luminance, I and Q the colour.
_RGB_TO_YIQ = torch.tensor(
    [[0.299, 0.587, 0.114], [0.595716, -0.274453, -0.321263], [0.211456, -0.522591, 0.311135]]
)
_YIQ_TO_RGB = torch.linalg.inv(_RGB_TO_YIQ)


def preserve_colour(stylised: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
    """Luminance from ``stylised``, colour (I, Q) from ``content``: the colour-preserving
    variant of Gatys et al. 2016 ("Preserving color in neural artistic style transfer")."""
    to_yiq = _RGB_TO_YIQ.to(stylised.device, stylised.dtype)
    to_rgb = _YIQ_TO_RGB.to(stylised.device, stylised.dtype)
    s = torch.einsum("ij,njhw->nihw", to_yiq, stylised)
    c = torch.einsum("ij,njhw->nihw", to_yiq, content.to(stylised.dtype))
    mixed = torch.cat([s[:, :1], c[:, 1:]], dim=1)
    return torch.einsum("ij,njhw->nihw", to_rgb, mixed).clamp(0, 1)
