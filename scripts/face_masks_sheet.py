"""docs/images/face-masks.jpg: where each paste-back mask puts a processed face back, on a real
photograph (scikit-image's astronaut): ``face`` (the landmarks' hull, face-swap's shield),
``head`` (face and the hair above it) and ``crop`` (the whole aligned crop, face-attributes:
StarGAN redraws all of it, side hair included). The mask is shown tinted over the frame.
The second row: a stand-in for a model's output (skin lighter and hair yellower on purpose,
plus an overall tint it should not have added) pasted with the crop mask, its colour matched
on the skin (the tint goes, so does the lighter skin) and on the background outside the head
(what face-attributes does: the tint goes, both changes stay).

    python scripts/face_masks_sheet.py
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import torch
from skimage import data

from neuralfx.faces.align import CropTemplate
from neuralfx.faces.detect import DlibFaceFinder
from neuralfx.faces.pipeline import FacePipeline

OUT = Path(__file__).resolve().parent.parent / "docs" / "images" / "face-masks.jpg"


def label_panel(frame: torch.Tensor, label: str) -> np.ndarray:
    panel = (frame[0].permute(1, 2, 0).numpy() * 255 + 0.5).astype(np.uint8)[40:300, 100:340]
    panel = np.ascontiguousarray(cv2.resize(panel, (360, 390), interpolation=cv2.INTER_AREA))
    cv2.putText(panel, label, (10, 30), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (255, 255, 255), 2)
    return panel


def main() -> None:
    image = data.astronaut()
    frame = torch.from_numpy(image).permute(2, 0, 1)[None].float() / 255
    finder = DlibFaceFinder()
    panels = []
    for shape in ("face", "head", "crop"):
        pipe = FacePipeline(CropTemplate.celeba(128), colour_match=False, mask=shape)
        crops = pipe.crop(frame, pipe.track([finder.find(image)], frame))
        tint = torch.tensor([1.0, 0.2, 0.6])[None, :, None, None].expand_as(crops.images)
        out = pipe.paste(frame, crops, 0.5 * crops.images + 0.5 * tint)
        panels.append(label_panel(out, shape))
    from neuralfx.faces import composite

    pipe = FacePipeline(CropTemplate.celeba(128), colour_match=False, mask="crop")
    crops = pipe.crop(frame, pipe.track([finder.find(image)], frame))
    skin = composite.masks(crops.landmarks, 128, "face", feather=0.02)
    hair = (composite.masks(crops.landmarks, 128, "head", feather=0.02) > 0.5).float() * (
        1 - (skin > 0.01).float()
    )
    hair[..., int(crops.landmarks[0, 57, 1]) :, :] = 0  # hair stops at the lips (a stand-in)
    made = (
        crops.images
        + 0.12 * skin
        + torch.tensor([0.25, 0.15, -0.2])[None, :, None, None] * hair
        + torch.tensor([0.06, -0.04, 0.08])[None, :, None, None]
    ).clamp(0, 1)
    row = []
    for label, where in (
        ("model output", None),
        ("matched: skin", "skin"),
        ("matched: background", "background"),
    ):
        out = (
            made
            if where is None
            else composite.match_colour(made, crops.images, crops.landmarks, 128, where)
        )
        row.append(label_panel(pipe.paste(frame, crops, out), label))
    sheet = np.concatenate([np.concatenate(panels, axis=1), np.concatenate(row, axis=1)])
    cv2.imwrite(str(OUT), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 88])
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
