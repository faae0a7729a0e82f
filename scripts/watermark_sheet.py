"""docs/images/watermark-flat.png: what the invisible mark does to a flat area. A mid-grey
256x256 patch marked as frames 1 and 2 of a run, and their average over the two frames; the
mark amplified 20x around grey so it can be seen at all (at its real 5/255 it is not).

    python scripts/watermark_sheet.py
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import torch

from neuralfx.marks import watermark as wm

OUT = Path(__file__).resolve().parent.parent / "docs" / "images" / "watermark-flat.png"


def main() -> None:
    grey = torch.full((2, 3, 256, 256), 0.5)
    payload = wm.Payload(wm.TOOL_ID, 0xBEEF, 0x123456)
    marked = wm.embed(grey, payload, frames=[1, 2])[:, 0].numpy()
    panels = [marked[0], marked[1], marked.mean(0)]
    shown = [np.clip(0.5 + 20 * (p - 0.5), 0, 1) for p in panels]
    tiles = []
    for picture, caption in zip(shown, ("frame 1 (x20)", "frame 2 (x20)", "their average (x20)")):
        tile = cv2.cvtColor((picture * 255).astype(np.uint8), cv2.COLOR_GRAY2BGR)
        tile = cv2.copyMakeBorder(tile, 28, 4, 4, 4, cv2.BORDER_CONSTANT, value=(255, 255, 255))
        cv2.putText(
            tile, caption, (6, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1, cv2.LINE_AA
        )
        tiles.append(tile)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(OUT), np.hstack(tiles))
    print(OUT)


if __name__ == "__main__":
    main()
