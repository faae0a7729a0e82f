"""A visible label on every output frame ("AI-generated" by default): ``--label TEXT`` on any
run, always on for effects that declare ``always_label`` (face-swap). The text is drawn once
with OpenCV into a small alpha mask and blended onto the frames on the run's device. (Light at
import; its corners are a run option's vocabulary, declared in neuralfx.options.)"""

from __future__ import annotations

import functools

from ..options import LABEL_CORNERS as CORNERS  # noqa: F401  (re-exported)

DEFAULT_TEXT = "AI-generated"


@functools.cache
def _mask(text: str, height: int):
    """The text as an alpha mask about ``height`` pixels tall (white text on a dark plate)."""
    import cv2
    import numpy as np

    scale = height / 30.0
    thickness = max(1, round(scale * 1.6))
    (w, h), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)
    pad = max(2, round(height * 0.25))
    plate = np.zeros((h + base + 2 * pad, w + 2 * pad, 2), np.float32)  # (text, plate)
    plate[..., 1] = 1.0
    text_layer = np.zeros(plate.shape[:2], np.uint8)
    cv2.putText(
        text_layer,
        text,
        (pad, pad + h),
        cv2.FONT_HERSHEY_SIMPLEX,
        scale,
        255,
        thickness,
        cv2.LINE_AA,
    )
    plate[..., 0] = text_layer / 255.0
    return plate


def draw(rgb, text: str, corner: str = "bottom-right", opacity: float = 0.8):
    """``rgb`` ``(N, 3, H, W)`` in [0, 1] with the label in ``corner``: white text on a dark
    plate (the plate at half the text's opacity), sized to 3 % of the frame height."""
    import torch

    n, _, height, width = rgb.shape
    plate = _mask(text, max(12, round(height * 0.03)))
    ph, pw = plate.shape[:2]
    ph, pw = min(ph, height), min(pw, width)
    margin = max(4, round(height * 0.02))
    y = margin if corner.startswith("top") else max(0, height - ph - margin)
    x = margin if corner.endswith("left") else max(0, width - pw - margin)
    layers = torch.from_numpy(plate[:ph, :pw]).to(rgb.device, torch.float32)
    text_alpha = opacity * layers[..., 0]
    plate_alpha = 0.5 * opacity * layers[..., 1] * (1 - layers[..., 0])
    out = rgb.clone()
    region = out[:, :, y : y + ph, x : x + pw].float()
    region = region * (1 - plate_alpha)  # darken behind the text
    region = region + text_alpha * (1 - region)  # white text
    out[:, :, y : y + ph, x : x + pw] = region.to(out.dtype)
    return out
