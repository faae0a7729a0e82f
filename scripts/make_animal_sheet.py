"""docs/images/animal-transfer-bbb.png: the tracked region on Big Buck Bunny.

    python scripts/make_animal_sheet.py

Runs animal-transfer on frames 1-48 of samples/bbb (Big Buck Bunny (c) Blender Foundation,
CC-BY 3.0) with --box on the bunny's head and --track, with FUNIT weights drawn at random in
the official layout (no trained FUNIT ships: its licence is non-commercial), and outlines the
painted region on the source frames: the sheet shows where the region goes and how it is
blended, not a trained look.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from helpers import deterministic_state  # noqa: E402

from neuralfx.cli import main as cli  # noqa: E402
from neuralfx.contact_sheet import make_contact_sheet  # noqa: E402
from neuralfx.frames.images import write_image  # noqa: E402
from neuralfx.frames.video import read_frames  # noqa: E402

BBB = ROOT / "samples" / "bbb" / "bbb-excerpt.mp4"
OUT = ROOT / "docs" / "images" / "animal-transfer-bbb.png"


def main() -> int:
    from click.testing import CliRunner
    from skimage import data

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        torch.save(
            {"gen_test": deterministic_state("funit_animals_generator", seed=2)}, tmp / "g.pt"
        )
        cv2.imwrite(str(tmp / "cat.png"), data.chelsea()[..., ::-1])
        result = CliRunner().invoke(
            cli,
            [
                "run",
                "animal-transfer",
                "--checkpoint",
                str(tmp / "g.pt"),
                "--examples",
                str(tmp / "cat.png"),
                "--box",
                "150,120,110,110",
                "--track",
                str(BBB),
                str(tmp / "out" / "o.####.png"),
                "--progress",
                "none",
            ],
        )
        assert result.exit_code == 0, result.output
        (tmp / "shown").mkdir()
        for frame, rgb in read_frames(str(BBB), set(range(1, 49))):
            out = cv2.imread(str(tmp / "out" / f"o.{frame:04d}.png"))[..., ::-1]
            painted = (np.abs(out.astype(int) - rgb).max(-1) > 3).astype(np.uint8)
            contours, _ = cv2.findContours(painted, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
            shown = out.copy()
            cv2.drawContours(shown, contours, -1, (255, 220, 0), 2)
            write_image(str(tmp / "shown" / f"s.{frame:04d}.png"), shown)
        make_contact_sheet(
            str(tmp / "shown" / "s.####.png"), str(OUT), columns=4, width=1200, max_frames=12
        )
    print(OUT)
    return 0


if __name__ == "__main__":
    sys.exit(main())
