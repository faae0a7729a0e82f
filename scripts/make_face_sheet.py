"""docs/images/faces-pipeline.png: the face pipeline's steps on scikit-image's astronaut.

    python scripts/make_face_sheet.py

Panels: HOG's detections (green: kept; red: dropped because dlib's CNN did not confirm them)
with the 68 landmarks; the aligned 128x128 CelebA crop; the mask; the crop with its hair
recoloured (a stand-in for a model's output: no trained StarGAN weights ship) pasted back.
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np
import torch
from skimage import data

from neuralfx.faces import composite
from neuralfx.faces.align import CropTemplate
from neuralfx.faces.detect import DlibFaceFinder
from neuralfx.faces.pipeline import FacePipeline
from neuralfx.frames.images import write_image

OUT = Path(__file__).resolve().parent.parent / "docs" / "images" / "faces-pipeline.png"


def label(panel: np.ndarray, text: str) -> np.ndarray:
    out = np.full((panel.shape[0] + 24, panel.shape[1], 3), 24, np.uint8)
    out[24:] = panel
    cv2.putText(out, text, (6, 17), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (235, 235, 235), 1, cv2.LINE_AA)
    return out


def main() -> int:
    image = data.astronaut()
    kept = DlibFaceFinder("hog", min_face=48).find(image)
    every = DlibFaceFinder("hog", min_face=48, confirm=False).find(image)
    boxes = image.copy()
    for face in every:
        ok = any(np.allclose(face.box, k.box) for k in kept)
        x0, y0, x1, y1 = (int(v) for v in face.box)
        cv2.rectangle(boxes, (x0, y0), (x1, y1), (40, 220, 40) if ok else (230, 40, 40), 2)
    for x, y in kept[0].landmarks:
        cv2.circle(boxes, (int(x), int(y)), 1, (255, 255, 0), -1)

    pipe = FacePipeline(CropTemplate.celeba(128), min_face=48)
    frame = torch.from_numpy(image).permute(2, 0, 1)[None].float() / 255
    crops = pipe.crop(frame, pipe.track([kept]))
    crop = crops.images[0]
    mask = composite.masks(crops.landmarks, 128)[0]
    # stand-in edit: warm the hair (dark pixels above the skin) towards blond
    skin = composite.masks(crops.landmarks, 128, "face", feather=0.02)[0]
    edited = crop.clone()
    darker = (crop.mean(0) < 0.55).float()  # the hair, not the pale wall behind it
    hair = (1 - skin) * (torch.arange(128)[:, None] < 70).float() * darker
    edited = edited + hair * (torch.tensor([0.95, 0.8, 0.45])[:, None, None] - edited) * 0.6
    pasted = pipe.paste(frame, crops, edited[None])[0]

    def rgb8(t):
        return (t.permute(1, 2, 0).clamp(0, 1).numpy() * 255 + 0.5).astype(np.uint8)

    big = 256
    panels = [
        label(
            cv2.resize(boxes, (big, big), interpolation=cv2.INTER_AREA),
            "HOG: green kept, red dropped",
        ),
        label(
            cv2.resize(rgb8(crop), (big, big), interpolation=cv2.INTER_NEAREST),
            "aligned crop (CelebA, 128)",
        ),
        label(cv2.resize(np.repeat(rgb8(mask), 3, 2), (big, big)), "mask (head)"),
        label(cv2.resize(rgb8(pasted)[40:296, 100:356], (big, big)), "edit pasted back"),
    ]
    write_image(str(OUT), np.concatenate(panels, axis=1))
    print(OUT)
    return 0


if __name__ == "__main__":
    sys.exit(main())
