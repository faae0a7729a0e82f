"""Contact sheets: a grid of labelled thumbnails of a clip, for review."""

from __future__ import annotations

import math

import cv2
import numpy as np

from .errors import ParameterError
from .frames.images import write_image
from .frames.io import open_source
from .frames.samples import display_rgb
from .frames.video import read_frames


def _display(pixels: np.ndarray) -> np.ndarray:
    """Any decoded frame → 8-bit sRGB RGB for viewing (float files are taken as linear)."""
    return (display_rgb(pixels) * 255 + 0.5).astype(np.uint8)


def make_contact_sheet(
    input: str,
    output: str,
    *,
    columns: int = 6,
    width: int = 1600,
    frames: str | None = None,
    max_frames: int = 48,
) -> int:
    """Write a PNG grid of up to ``max_frames`` frames of ``input`` (evenly spread), each
    labelled with its frame number. Returns the number of frames shown."""
    if columns < 1 or width < 64 or max_frames < 1:
        raise ParameterError("contact sheet: columns >= 1, width >= 64 and max frames >= 1")
    source = open_source(input, frames=frames)
    picked = source.frames
    if len(picked) > max_frames:
        picked = (
            [picked[round(i * (len(picked) - 1) / (max_frames - 1))] for i in range(max_frames)]
            if max_frames > 1
            else picked[:1]
        )
    if source.video_path:
        images = dict(read_frames(source.video_path, set(picked)))
    else:
        images = {f: source.read(f) for f in picked}
    first = images[picked[0]]
    cell_w = max(16, width // columns)
    cell_h = max(16, round(cell_w * first.shape[0] / first.shape[1]))
    label_h = 18
    rows = math.ceil(len(picked) / columns)
    sheet = np.full((rows * (cell_h + label_h), columns * cell_w, 3), 24, np.uint8)
    for i, frame in enumerate(picked):
        thumb = cv2.resize(
            _display(images[frame]), (cell_w - 4, cell_h - 4), interpolation=cv2.INTER_AREA
        )
        r, c = divmod(i, columns)
        y, x = r * (cell_h + label_h), c * cell_w
        sheet[y + 2 : y + cell_h - 2, x + 2 : x + cell_w - 2] = thumb
        cv2.putText(
            sheet,
            str(frame),
            (x + 4, y + cell_h + 13),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.45,
            (230, 230, 230),
            1,
            cv2.LINE_AA,
        )
    write_image(output, sheet)
    return len(picked)
