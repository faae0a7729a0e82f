"""Render the 26 built-in styles of ``--method dumoulin`` on a real photograph (scikit-image's
astronaut, public domain) as a labelled contact sheet, to help pick a ``--preset``.

    python scripts/dumoulin_presets.py                  # docs/images/dumoulin-presets.png

Frame N of the sheet is ``--preset N``; frame 99 is the photograph itself.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

import cv2
from skimage import data

import neuralfx
from neuralfx.contact_sheet import make_contact_sheet
from neuralfx.pipeline.progress import Reporter

OUT = Path(__file__).parent.parent / "docs" / "images" / "dumoulin-presets.png"


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else OUT
    work = Path(tempfile.mkdtemp(prefix="neuralfx-presets-"))
    try:
        photo = cv2.resize(data.astronaut(), (320, 320), interpolation=cv2.INTER_AREA)
        src = work / "photo.0099.png"
        cv2.imwrite(str(src), cv2.cvtColor(photo, cv2.COLOR_RGB2BGR))
        shutil.copy(src, work / "sheet.0099.png")
        for preset in range(26):
            neuralfx.run(
                "painting-style",
                str(src),
                str(work / f"sheet.{preset:04d}.png"),
                settings={"method": "dumoulin", "preset": str(preset), "temporal": False},
                reporter=Reporter(),
            )
        out.parent.mkdir(parents=True, exist_ok=True)
        make_contact_sheet(
            str(work / "sheet.*.png"),
            str(out),
            columns=9,
            width=1800,
            frames="0-25,99",
            max_frames=27,
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(out)


if __name__ == "__main__":
    main()
