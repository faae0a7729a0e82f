"""A region per frame, as keyframed boxes in a small JSON file.

Effects that work on part of the frame (animal-transfer's animal, a face to leave alone) take
one through a :class:`~neuralfx.params.Boxes` parameter. The Blender add-on writes the file from
a tracking marker; a pipeline can write it by hand. The layout::

    {"neuralfx": "boxes", "version": 1,
     "frame_size": [1280, 720],
     "boxes": {"1001": [412, 120, 655, 390], "1010": [430, 118, 672, 388]}}

``boxes`` maps frame numbers (the source's own, as strings: JSON keys) to ``[x0, y0, x1, y1]``
in pixels of a frame of ``frame_size`` (width, height), origin at the top left, y down; x1 and y1
are exclusive. Between keyframes the box moves linearly; before the first and after the last
it holds. A box given for another size (a proxy) is scaled with :meth:`BoxTrack.at`.
This module imports nothing heavy: the add-on's format is the host's contract.
"""

from __future__ import annotations

import bisect
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from .errors import ParameterError

FORMAT, VERSION = "boxes", 1
Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class BoxTrack:
    """Keyframed boxes: :meth:`at` gives the box at any frame."""

    frame_size: tuple[int, int]
    keys: tuple[tuple[int, Box], ...]  # sorted by frame

    def at(self, frame: int, size: tuple[int, int] | None = None) -> Box:
        """The box at ``frame`` (interpolated between keyframes, held outside them), in pixels
        of a frame of ``size`` (width, height; default the track's own)."""
        frames = [f for f, _ in self.keys]
        i = bisect.bisect_left(frames, frame)
        if i < len(frames) and frames[i] == frame:
            box = self.keys[i][1]
        elif i == 0:
            box = self.keys[0][1]
        elif i == len(frames):
            box = self.keys[-1][1]
        else:
            (f0, b0), (f1, b1) = self.keys[i - 1], self.keys[i]
            t = (frame - f0) / (f1 - f0)
            box = tuple(a + (b - a) * t for a, b in zip(b0, b1, strict=True))  # type: ignore[assignment]
        if size is None or tuple(size) == self.frame_size:
            return box
        sx, sy = size[0] / self.frame_size[0], size[1] / self.frame_size[1]
        return (box[0] * sx, box[1] * sy, box[2] * sx, box[3] * sy)


def boxes_document(boxes: Mapping[int, Box], frame_size: tuple[int, int]) -> dict:
    """The JSON document for ``boxes`` (frame → box), as :func:`read_boxes` reads it."""
    return {
        "neuralfx": FORMAT,
        "version": VERSION,
        "frame_size": list(frame_size),
        "boxes": {str(f): [float(v) for v in b] for f, b in sorted(boxes.items())},
    }


def read_boxes(path: str | Path) -> BoxTrack:
    """Read and check a boxes file; every problem is a :class:`ParameterError` naming it."""
    path = Path(path)
    hint = 'write it as docs/plugins.md ("Regions") shows, or export it again from Blender'
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ParameterError(f"{path}: cannot read boxes ({exc})", hint=hint) from None
    if not isinstance(doc, dict) or doc.get("neuralfx") != FORMAT:
        raise ParameterError(
            f'{path} is not a NeuralFX boxes file (no "neuralfx": "boxes")', hint=hint
        )
    if doc.get("version") != VERSION:
        raise ParameterError(
            f"{path}: boxes version {doc.get('version')!r} is not supported "
            f"(this NeuralFX reads version {VERSION})",
            hint="upgrade NeuralFX",
        )
    size = doc.get("frame_size")
    if not (
        isinstance(size, list)
        and len(size) == 2
        and all(isinstance(v, int) and v > 0 for v in size)
    ):
        raise ParameterError(f"{path}: frame_size must be [width, height] in pixels", hint=hint)
    keys = []
    for key, box in (doc.get("boxes") or {}).items():
        try:
            frame = int(key)
            x0, y0, x1, y1 = (float(v) for v in box)
        except (TypeError, ValueError):
            raise ParameterError(
                f"{path}: frame {key!r} needs a box [x0, y0, x1, y1]", hint=hint
            ) from None
        if not all(map(math.isfinite, (x0, y0, x1, y1))) or x1 <= x0 or y1 <= y0:
            raise ParameterError(
                f"{path}: the box of frame {frame} is empty or inverted ({[x0, y0, x1, y1]})",
                hint="x1 > x0 and y1 > y0, in pixels",
            )
        keys.append((frame, (x0, y0, x1, y1)))
    if not keys:
        raise ParameterError(f"{path} has no boxes", hint=hint)
    return BoxTrack((size[0], size[1]), tuple(sorted(keys)))
