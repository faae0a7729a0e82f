"""blur-faces, tested as its authors would: through neuralfx.run, with neuralfx.testing's
fixtures, on a real photograph."""

from __future__ import annotations

import hashlib

import cv2
import numpy as np
import pytest

import neuralfx

pytest.importorskip("neuralfx_blur_faces", reason="pip install ./examples/neuralfx-blur-faces")
pytest.importorskip("skimage")


def _detail(rgb: np.ndarray) -> float:
    """Mean absolute Laplacian: fine detail, which a blur takes away."""
    return float(np.abs(cv2.Laplacian(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), cv2.CV_32F)).mean())


def _read(path) -> np.ndarray:
    return cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)


def test_the_face_is_blurred_and_nothing_else_changes(neuralfx_host, make_clip, tmp_path):
    src = make_clip(count=3)
    out = tmp_path / "out" / "b.####.png"
    neuralfx.run("blur-faces", src, str(out), settings={"radius": 10})
    before, after = _read(src.replace("####", "0002")), _read(out.parent / "b.0002.png")
    face = (slice(80, 160), slice(180, 260))  # the astronaut's face, moved 3 px
    assert _detail(after[face]) < 0.5 * _detail(before[face])
    changed = np.abs(after.astype(int) - before.astype(int)).max(-1) > 0
    ys, xs = np.nonzero(changed)
    assert ys.max() < 260 and xs.min() > 120 and xs.max() < 330  # around the head only


def test_only_the_chosen_face_is_blurred(neuralfx_host, make_clip, tmp_path):
    from skimage import data

    half = cv2.resize(data.astronaut(), (384, 384), interpolation=cv2.INTER_AREA)
    two = np.concatenate([half, half[:, ::-1]], axis=1)
    src = make_clip({1: two, 2: two})
    neuralfx.run("blur-faces", src, str(tmp_path / "o.####.png"), settings={"faces": "2"})
    after = _read(tmp_path / "o.0001.png")
    left, right = (slice(0, 384), slice(0, 384)), (slice(0, 384), slice(384, 768))
    assert np.array_equal(after[left], two[left]) != np.array_equal(after[right], two[right])


def test_a_resumed_run_gives_the_frames_of_one_run(neuralfx_host, make_clip, tmp_path):
    src = make_clip(count=6)
    options = neuralfx.RunOptions(batch_size=2)
    neuralfx.run("blur-faces", src, str(tmp_path / "one" / "o.####.png"), options=options)
    parts = str(tmp_path / "parts" / "o.####.png")
    neuralfx.run("blur-faces", src, parts, options=neuralfx.RunOptions(batch_size=2, frames="1-3"))
    neuralfx.run("blur-faces", src, parts, options=options)
    for n in range(1, 7):
        digests = {
            hashlib.sha256((tmp_path / folder / f"o.{n:04d}.png").read_bytes()).digest()
            for folder in ("one", "parts")
        }
        assert len(digests) == 1, n


def test_an_unknown_detector_is_refused_before_the_run(neuralfx_host, make_clip, tmp_path):
    with pytest.raises(neuralfx.NeuralFXError, match="did you mean 'hog'"):
        neuralfx.run(
            "blur-faces",
            make_clip(count=1),
            str(tmp_path / "o.####.png"),
            settings={"detector": "hgo"},
        )
