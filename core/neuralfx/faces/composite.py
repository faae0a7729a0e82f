"""Putting a processed face back: a feathered mask from the landmarks, colour matching, and
the blend (alpha feathering by default, Poisson "seamless" cloning as an option).

Masks are drawn in crop space, where every face has the same size, and reach zero before the
crop's border: pasted back through :func:`~neuralfx.faces.align.paste_faces` they leave no box
edge in the frame.
"""

from __future__ import annotations

import numpy as np
import torch

JAW, BROWS = list(range(17)), list(range(26, 16, -1))
#: What of the crop goes back: ``crop`` the whole aligned crop (a model that redraws the crop,
#: as StarGAN does: side hair and all), ``head`` the face and hair above it, ``face`` the
#: landmarks' hull (a face swap's shield).
MASK_SHAPES = ("crop", "head", "face")
BLENDS = ("feather", "seamless")


def _polygon(landmarks: np.ndarray, shape: str) -> np.ndarray:
    """The outline of the area to replace: ``face`` is the landmarks' convex hull; ``head``
    extends it above the brows by most of the brow-to-chin height, for hair."""
    if shape == "face":
        import cv2

        return cv2.convexHull(landmarks.astype(np.float32))[:, 0]
    brows, jaw = landmarks[BROWS], landmarks[JAW]
    middle = brows.mean(0)
    up = middle - landmarks[8]  # brows minus chin
    centre = jaw.mean(0)
    wider_jaw = centre + 1.4 * (jaw - centre)  # the cheeks' edge and the hair beside them
    hair = middle + 2.3 * (brows - middle) + 1.2 * up  # the forehead and the hair above it
    return np.concatenate([wider_jaw, hair])


def masks(
    landmarks: np.ndarray, size: int, shape: str = "head", feather: float = 0.08
) -> torch.Tensor:
    """``(F, 1, size, size)`` float masks in [0, 1] for landmarks ``(F, 68, 2)`` in crop pixels:
    the outline filled, softened over ``feather`` × size pixels, and faded to zero at the
    crop's border."""
    import cv2

    width = max(1.0, feather * size)
    ramp = np.minimum(np.arange(size), np.arange(size)[::-1]).astype(np.float32)
    border = np.clip(ramp / width, 0, 1)
    border = np.minimum(border[None, :], border[:, None])
    out = np.zeros((len(landmarks), 1, size, size), np.float32)
    if shape == "crop":  # all of it, faded to zero at the crop's border
        out[:] = border
        return torch.from_numpy(out)
    for i, points in enumerate(landmarks):
        canvas = np.zeros((size, size), np.float32)
        poly = np.round(_polygon(points, shape) * 16).astype(np.int32)  # 4 fractional bits
        cv2.fillPoly(canvas, [cv2.convexHull(poly)], 1.0, lineType=cv2.LINE_AA, shift=4)
        canvas = cv2.erode(canvas, np.ones((3, 3), np.uint8), iterations=int(width / 4))
        canvas = cv2.GaussianBlur(canvas, (0, 0), sigmaX=width / 2)
        out[i, 0] = canvas * border
    return torch.from_numpy(out)


#: Where the colour a model should not have changed is measured (:func:`match_colour`).
COLOUR_REFERENCES = ("skin", "background")


def colour_reference(landmarks: np.ndarray, size: int, where: str = "skin") -> torch.Tensor:
    """``(F, 1, size, size)`` weights of the pixels a model's tint is measured on: the skin
    (the landmarks' hull) or the background (the crop outside the head, hair included, and
    inside its border; the skin where a face fills its crop)."""
    if where == "skin":
        return masks(landmarks, size, "face", feather=0.02)
    if where != "background":
        raise ValueError(f"colour reference {where!r}: one of {COLOUR_REFERENCES}")
    head = masks(landmarks, size, "head", feather=0.02)
    inside = masks(landmarks[:1], size, "crop", feather=0.04)
    outside = ((1 - head) * inside > 0.98).float()
    skin = masks(landmarks, size, "face", feather=0.02)
    enough = outside.mean((1, 2, 3), keepdim=True) >= MIN_BACKGROUND
    return torch.where(enough, outside, skin)


#: the share of the crop the background must cover to be the colour reference
MIN_BACKGROUND = 0.04


def match_colour(
    generated: torch.Tensor,
    original: torch.Tensor,
    landmarks: np.ndarray,
    size: int,
    where: str = "skin",
) -> torch.Tensor:
    """Shift each generated crop's colour so that the reference region (``where``, see
    :func:`colour_reference`) has the original's mean: a model's overall tint goes, what it
    changed on purpose stays. ``skin`` (the mean there) keeps hair and beard changes;
    ``background`` (the median there) keeps the skin's too (StarGAN's age and gender change
    the skin), for a model that redraws the whole crop."""
    weights = colour_reference(landmarks, size, where).to(generated.device, generated.dtype)
    difference = original - generated
    if where == "skin":
        total = weights.sum((2, 3)).clamp_min(1.0)
        shift = (difference * weights).sum((2, 3)) / total
    else:  # the median: side hair that falls outside the head, recoloured on purpose, is
        # a minority of the background and does not move it
        shift = torch.stack(
            [
                torch.stack([d[c][w[0] > 0.5].median() for c in range(len(d))])
                for d, w in zip(difference, weights, strict=True)
            ]
        )
    return (generated + shift[:, :, None, None]).clamp(0, 1)


def seamless(generated: torch.Tensor, original: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Poisson-blend each generated crop into the original crop (OpenCV's seamlessClone, on
    the CPU): the result's colours meet the original at the mask's edge."""
    import cv2

    out = []
    for g, o, m in zip(generated, original, mask, strict=True):
        g8 = (g.float().clamp(0, 1).permute(1, 2, 0).cpu().numpy() * 255 + 0.5).astype(np.uint8)
        o8 = (o.float().clamp(0, 1).permute(1, 2, 0).cpu().numpy() * 255 + 0.5).astype(np.uint8)
        m8 = ((m[0].float().cpu().numpy() > 0.5) * 255).astype(np.uint8)
        ys, xs = np.nonzero(m8)
        if len(xs) == 0:
            out.append(o)
            continue
        centre = (int((xs.min() + xs.max() + 1) // 2), int((ys.min() + ys.max() + 1) // 2))
        blended = cv2.seamlessClone(g8, o8, m8, centre, cv2.NORMAL_CLONE)
        out.append(torch.from_numpy(blended).permute(2, 0, 1).to(g.device, g.dtype) / 255)
    return torch.stack(out)


# Rec.601 luma/chroma: decorrelated enough for colour statistics transfer on the device.
_TO_YCC = ((0.299, 0.587, 0.114), (-0.168736, -0.331264, 0.5), (0.5, -0.418688, -0.081312))


def _ycc(rgb: torch.Tensor, inverse: bool = False) -> torch.Tensor:
    m = torch.tensor(_TO_YCC, dtype=torch.float32, device=rgb.device)
    if inverse:
        m = torch.linalg.inv(m)
    return torch.einsum("ij,njhw->nihw", m, rgb.float())


def colour_stats(images: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-image mean and standard deviation of each luma/chroma channel inside ``mask``."""
    ycc = _ycc(images)
    w = mask.float().expand_as(ycc)
    total = w.sum((2, 3)).clamp_min(1.0)
    mean = (ycc * w).sum((2, 3)) / total
    var = (((ycc - mean[..., None, None]) ** 2) * w).sum((2, 3)) / total
    return mean, var.sqrt().clamp_min(1e-4)


def reinhard(
    generated: torch.Tensor, target_stats: tuple[torch.Tensor, torch.Tensor], mask: torch.Tensor
) -> torch.Tensor:
    """Reinhard et al. (2001) colour transfer: give ``generated`` the mean and spread of the
    target's colours (``target_stats`` from :func:`colour_stats`), in luma/chroma space."""
    mean, std = colour_stats(generated, mask)
    t_mean, t_std = target_stats
    ycc = _ycc(generated)
    ycc = (ycc - mean[..., None, None]) * (t_std / std)[..., None, None] + t_mean[..., None, None]
    return _ycc(ycc, inverse=True).clamp(0, 1)


def match_histograms(
    generated: torch.Tensor, original: torch.Tensor, mask: torch.Tensor
) -> torch.Tensor:
    """Each channel of ``generated`` remapped so that its distribution inside ``mask`` is the
    original's (quantile matching, on the device)."""
    out = generated.float().clone()
    for i in range(len(generated)):
        inside = mask[i, 0] > 0.5
        if inside.sum() < 16:
            continue
        for c in range(generated.shape[1]):
            src = generated[i, c][inside].float()
            ref = torch.sort(original[i, c][inside].float()).values
            ranks = torch.searchsorted(torch.sort(src).values, generated[i, c].float().flatten())
            ranks = ranks.clamp(max=len(ref) - 1)
            out[i, c] = ref[ranks].view_as(out[i, c])
    return out
