"""Alignment: from landmarks to a model's canonical crop and back, on the run's device.

A :class:`CropTemplate` says where five landmarks (the eye centres, the nose tip, the mouth
corners) sit in a model's crop. A similarity transform (rotation, uniform scale, shift; fitted
by least squares, Umeyama 1991) maps the frame onto the crop; :func:`crop_faces` samples the
crops with ``grid_sample`` (several faces of several frames in one call) and
:func:`paste_faces` puts processed crops back through the inverse map. Coordinates are pixel
indices (0 is the centre of the first pixel) throughout, as dlib gives landmarks, which is
``align_corners=True`` for ``grid_sample``.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch
import torch.nn.functional as F

# CelebA's aligned 178x218 images put the five points here (x, y; list_landmarks_align_celeba)
CELEBA_ALIGNED_POINTS = ((69, 111), (108, 111), (88, 136), (72, 152), (105, 152))
CELEBA_ALIGNED_SIZE = (178, 218)
# The face-swap crop, as fractions of its side: eyes, nose tip, mouth corners.
SWAP_POINTS = ((0.35, 0.40), (0.65, 0.40), (0.50, 0.57), (0.38, 0.72), (0.62, 0.72))


@dataclasses.dataclass(frozen=True)
class CropTemplate:
    """A crop of ``size`` pixels (square; ``height`` for a taller one) with the five
    landmarks at ``points``."""

    size: int
    points: tuple[tuple[float, float], ...]
    height: int | None = None

    @property
    def shape(self) -> tuple[int, int]:
        """``(width, height)``."""
        return self.size, self.height or self.size

    @classmethod
    def swap(cls, size: int) -> CropTemplate:
        """The face-swap crop: the face from brows to chin, filling the square (as the
        DeepFakes tools' "face" centring), for the swap model's resolution."""
        return cls(size, tuple((x * size - 0.5, y * size - 0.5) for x, y in SWAP_POINTS))

    @classmethod
    def celeba_aligned(cls) -> CropTemplate:
        """CelebA's own aligned 178x218 layout (what ``neuralfx faces extract`` writes, and
        what training reads, as the official code reads CelebA)."""
        width, height = CELEBA_ALIGNED_SIZE
        return cls(width, tuple((float(x), float(y)) for x, y in CELEBA_ALIGNED_POINTS), height)

    @classmethod
    def celeba(cls, size: int) -> CropTemplate:
        """The CelebA recipe StarGAN was trained on: the aligned 178x218 image, its centre
        178x178 square, resized to ``size``."""
        width, height = CELEBA_ALIGNED_SIZE
        top = (height - width) / 2
        # Resizing maps pixel centres: index i of 178 goes to (i + 0.5) * size/178 - 0.5.
        k = size / width
        return cls(
            size,
            tuple(
                ((x + 0.5) * k - 0.5, (y - top + 0.5) * k - 0.5) for x, y in CELEBA_ALIGNED_POINTS
            ),
        )

    @classmethod
    def celeba_hq(cls, size: int = 256) -> CropTemplate:
        """The CelebA-HQ crop that StarGAN v2's faces were trained on (Karras et al. 2018's
        recipe, applied here to CelebA's aligned five points): a square of half-side
        max(2·|eye to eye|, 1.8·|eye midpoint to mouth midpoint|), centred a tenth of the way
        from the eyes' midpoint to the mouth's, resized to ``size``. Looser than
        :meth:`celeba`: the whole head and some background."""
        pts = np.array(CELEBA_ALIGNED_POINTS, dtype=np.float64) + 0.5  # continuous coordinates
        eyes, mouth = (pts[0] + pts[1]) / 2, (pts[3] + pts[4]) / 2
        half = max(2.0 * np.hypot(*(pts[1] - pts[0])), 1.8 * np.hypot(*(mouth - eyes)))
        corner = eyes + 0.1 * (mouth - eyes) - half
        crop = (pts - corner) * (size / (2 * half)) - 0.5  # back to pixel indices
        return cls(size, tuple((float(x), float(y)) for x, y in crop))


def five_points(landmarks: np.ndarray | torch.Tensor):
    """The eye centres, nose tip and mouth corners of 68 iBUG landmarks ``(..., 68, 2)``, in the
    order of the templates (the eye on the image's left first)."""
    lib = torch if isinstance(landmarks, torch.Tensor) else np
    return lib.stack(
        [
            landmarks[..., 36:42, :].mean(-2),
            landmarks[..., 42:48, :].mean(-2),
            landmarks[..., 30, :],
            landmarks[..., 48, :],
            landmarks[..., 54, :],
        ],
        -2,
    )


def similarity(src: torch.Tensor, dst: torch.Tensor) -> torch.Tensor:
    """The least-squares similarity transforms taking ``src`` ``(N, K, 2)`` onto ``dst``
    ``(K, 2)``, as ``(N, 2, 3)`` matrices (no reflection)."""
    src = src.double()
    dst = dst.to(src).expand_as(src)
    ms, md = src.mean(1, keepdim=True), dst.mean(1, keepdim=True)
    s, d = src - ms, dst - md
    cov = d.transpose(1, 2) @ s / src.shape[1]
    u, sv, vt = torch.linalg.svd(cov)
    sign = torch.ones_like(sv)
    sign[:, 1] = torch.sign(torch.linalg.det(u @ vt))
    rot = u @ torch.diag_embed(sign) @ vt
    scale = (sv * sign).sum(1) / s.pow(2).sum((1, 2)).div(src.shape[1])
    linear = scale[:, None, None] * rot
    shift = md.squeeze(1) - (linear @ ms.transpose(1, 2)).squeeze(2)
    return torch.cat([linear, shift[:, :, None]], 2).float()


def invert(m: torch.Tensor) -> torch.Tensor:
    """Inverse of affine maps ``(N, 2, 3)``."""
    linear = torch.linalg.inv(m[:, :, :2])
    return torch.cat([linear, -(linear @ m[:, :, 2:])], 2)


def _apply(m: torch.Tensor, xy: torch.Tensor) -> torch.Tensor:
    """``(N, 2, 3)`` maps on points ``(N, ..., 2)``."""
    flat = xy.reshape(xy.shape[0], -1, 2)
    out = flat @ m[:, :, :2].transpose(1, 2) + m[:, None, :, 2]
    return out.reshape(xy.shape)


def _normalise(xy: torch.Tensor, width: int, height: int) -> torch.Tensor:
    scale = torch.tensor(
        [2 / max(width - 1, 1), 2 / max(height - 1, 1)], device=xy.device, dtype=xy.dtype
    )
    return xy * scale - 1


def crop_faces(
    frames: torch.Tensor,
    frame_index: torch.Tensor,
    to_crop: torch.Tensor,
    size: int | tuple[int, int],
    supersample: int = 2,
) -> torch.Tensor:
    """Crops ``(F, C, size, size)`` (or ``size`` = (width, height)) of faces: face ``i`` from
    ``frames[frame_index[i]]`` through the frame → crop map ``to_crop[i]``. Sampled at
    ``supersample`` times the size and averaged down, so a face much larger than the crop is
    not aliased."""
    n, (height, width) = len(frame_index), frames.shape[2:]
    crop_w, crop_h = (size, size) if isinstance(size, int) else size

    def positions(count: int) -> torch.Tensor:  # fine sample positions in crop pixel indices
        return (
            torch.arange(count * supersample, device=frames.device, dtype=torch.float32) + 0.5
        ) / supersample - 0.5

    grid = torch.stack(torch.meshgrid(positions(crop_w), positions(crop_h), indexing="xy"), -1)
    frame_xy = _apply(invert(to_crop.float()), grid.expand(n, -1, -1, -1))
    crops = F.grid_sample(
        frames.index_select(0, frame_index).float(),
        _normalise(frame_xy, width, height),
        mode="bilinear",
        padding_mode="border",
        align_corners=True,
    )
    if supersample > 1:
        crops = F.avg_pool2d(crops, supersample)
    return crops.to(frames.dtype)


def crop_region(to_crop: torch.Tensor, size: int, width: int, height: int) -> list[tuple]:
    """For each face, the frame rectangle (x0, y0, x1, y1; end exclusive) its crop covers."""
    corners = torch.tensor(
        [[0, 0], [size - 1, 0], [0, size - 1], [size - 1, size - 1]],
        dtype=torch.float32,
        device=to_crop.device,
    )
    quad = _apply(invert(to_crop.float()), corners.expand(len(to_crop), -1, -1))
    lo, hi = quad.amin(1).floor().cpu(), quad.amax(1).ceil().cpu()
    return [
        (
            max(0, int(a[0])),
            max(0, int(a[1])),
            min(width, int(b[0]) + 1),
            min(height, int(b[1]) + 1),
        )
        for a, b in zip(lo, hi, strict=True)
    ]


def paste_faces(
    frames: torch.Tensor,
    frame_index: torch.Tensor,
    to_crop: torch.Tensor,
    crops: torch.Tensor,
    masks: torch.Tensor,
) -> torch.Tensor:
    """``frames`` with each processed crop blended back where its mask ``(F, 1, S, S)`` (in
    [0, 1]) says, through the inverse of ``to_crop``. Pixels outside every crop's region are
    not touched (a copy of the frames, bit for bit)."""
    out = frames.clone()
    height, width = frames.shape[2:]
    size = crops.shape[-1]
    for i, (x0, y0, x1, y1) in enumerate(crop_region(to_crop, size, width, height)):
        if x1 <= x0 or y1 <= y0:
            continue  # the face left the frame
        ys = torch.arange(y0, y1, device=frames.device, dtype=torch.float32)
        xs = torch.arange(x0, x1, device=frames.device, dtype=torch.float32)
        grid = torch.stack(torch.meshgrid(xs, ys, indexing="xy"), -1)[None]
        crop_xy = _normalise(_apply(to_crop[i : i + 1].float(), grid), size, size)
        both = torch.cat([crops[i : i + 1].float(), masks[i : i + 1].float()], 1)
        sampled = F.grid_sample(
            both, crop_xy, mode="bilinear", padding_mode="zeros", align_corners=True
        )[0]
        picture, alpha = sampled[:-1], sampled[-1:]
        f = int(frame_index[i])
        region = out[f, :, y0:y1, x0:x1].float()
        out[f, :, y0:y1, x0:x1] = (region + alpha * (picture - region)).to(out.dtype)
    return out
