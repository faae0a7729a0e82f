"""docs/images/face-masks.jpg: where each paste-back mask puts a processed face back, on a real
photograph (scikit-image's astronaut): ``face`` (the landmarks' hull, face-swap's shield),
``head`` (face and the hair above it) and ``crop`` (the whole aligned crop, face-attributes:
StarGAN redraws all of it, side hair included). The mask is shown tinted over the frame.

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


def main() -> None:
    image = data.astronaut()
    frame = torch.from_numpy(image).permute(2, 0, 1)[None].float() / 255
    finder = DlibFaceFinder()
    panels = []
    for shape in ("face", "head", "crop"):
        pipe = FacePipeline(CropTemplate.celeba(128), colour_match=False, mask=shape)
        crops = pipe.crop(frame, pipe.track([finder.find(image)]))
        tint = torch.tensor([1.0, 0.2, 0.6])[None, :, None, None].expand_as(crops.images)
        out = pipe.paste(frame, crops, 0.5 * crops.images + 0.5 * tint)
        panel = (out[0].permute(1, 2, 0).numpy() * 255 + 0.5).astype(np.uint8)[40:300, 100:340]
        panel = cv2.resize(panel, (360, 390), interpolation=cv2.INTER_AREA)
        cv2.putText(panel, shape, (10, 30), cv2.FONT_HERSHEY_SIMPLEX, 0.9, (255, 255, 255), 2)
        panels.append(panel)
    sheet = np.concatenate(panels, axis=1)
    cv2.imwrite(str(OUT), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 88])
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
