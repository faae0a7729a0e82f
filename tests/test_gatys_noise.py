"""gatys with --temporal starts each frame from the same seeded noise as a run without it:
the noise does not travel with the picture (carried along the flow, what had moved with an
object stayed behind it as a texture of its own: docs/painting-style.md)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

pytest.importorskip("skimage.data")


def _pan(folder, frames: int = 3, step: int = 4) -> str:
    """A real photograph panned ``step`` pixels a frame: every pixel moves, flow is trusted."""
    from skimage import data

    picture = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)[100:196, 150:300]
    folder.mkdir()
    for i in range(frames):
        cv2.imwrite(str(folder / f"pan.{1001 + i:04d}.png"), picture[:, i * step : i * step + 128])
    return str(folder / "pan.####.png")


def test_a_temporal_run_starts_each_frame_from_the_per_frame_runs_noise(tmp_path, style_images):
    import neuralfx

    src = _pan(tmp_path / "in")
    settings = {
        "method": "gatys",
        "style": [str(style_images[0])],
        "iterations": 2,
        "texture": 1.0,
        # next to nothing carried or held to the previous output: what is left is the start
        "stability": 0.01,
    }
    outputs, inputs = {}, [cv2.imread(src.replace("####", f"{f:04d}")) for f in (1001, 1002, 1003)]
    for temporal in (False, True):
        out = str(tmp_path / f"{temporal}" / "o.####.png")
        neuralfx.run("painting-style", src, out, settings={**settings, "temporal": temporal})
        outputs[temporal] = [
            cv2.imread(out.replace("####", f"{f:04d}")).astype(np.float32) for f in (1002, 1003)
        ]
    for t, (per_frame, temporal) in enumerate(zip(outputs[False], outputs[True]), 1):
        assert per_frame.std() > 20  # the noise is painted: outputs with contrast
        # Where the input changed, the stability weight decides (0.01: the fresh look). Where
        # it barely did (flat areas), the look is held or carried along the flow whatever the
        # stability, and there the two runs differ by what the picture's motion carried.
        change = np.abs(inputs[t].astype(np.float32) - inputs[t - 1]).max(axis=2)
        changed = cv2.dilate(change, np.ones((5, 5), np.uint8)) >= 12
        assert changed.mean() > 0.5
        assert np.abs(per_frame - temporal)[changed].mean() < 2.0  # 8-bit levels
