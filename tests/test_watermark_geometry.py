"""The mark read back after what uploads, editors and codecs do to footage, at sizes from
360p to 4K: rescaled by any factor from 0.33x to 2x (and unevenly), cropped, rotated,
letterboxed, re-encoded; clips fold their frames. And never read where there is none."""

from __future__ import annotations

import numpy as np
import pytest

from neuralfx.marks import watermark as wm
from watermark_attacks import (
    ATTACKS,
    CODECS,
    GEOMETRY,
    bunny_frames,
    letterbox,
    marked,
    natural,
    rotate,
    scale,
    unmarked_pictures,
)

pytest.importorskip("skimage.data")
PAYLOAD = wm.Payload(wm.TOOL_ID, 0x5EED, 0xC0FFEE)


@pytest.mark.parametrize("name", ["coffee", "chelsea"])
def test_one_1080p_frame_is_read_after_any_change_of_geometry(name):
    """Uneven scaling, a crop of 20 % with a rescale, a rotation of up to 2 degrees (also
    with a rescale) and a letterbox: the whole payload, from a single frame."""
    mark = marked([natural(name)], PAYLOAD)
    for what, attack in GEOMETRY.items():
        if what == "scale 0.33x":
            continue  # a third of 1080p is too little picture for one frame: below
        found = wm.detect(*attack(mark))
        assert found.found and found.payload == PAYLOAD, what


def test_a_third_of_the_size_is_read_from_a_4k_frame_and_from_a_clip():
    """0.33x leaves a 1080p frame with a ninth of its picture: a 4K frame still has enough,
    and a 1080p clip folds its frames."""
    four_k = marked([natural("astronaut", (3840, 2160))], PAYLOAD)
    assert wm.detect(scale(four_k[0], 0.33)).payload == PAYLOAD
    clip = marked([np.roll(natural("coffee"), 24 * k, axis=1) for k in range(6)], PAYLOAD)
    assert wm.detect(*(scale(f, 0.33) for f in clip)).payload == PAYLOAD


CLIP_ATTACKS = {
    **ATTACKS,
    **CODECS,
    "rotate 2 degrees": lambda c: [rotate(f, 2) for f in c],
    "scale 2x": lambda c: [scale(f, 2.0) for f in c],
}


@pytest.mark.slow
@pytest.mark.parametrize(
    "size", [(640, 360), (1280, 720), (1920, 1080)], ids=["360p", "720p", "1080p"]
)
@pytest.mark.parametrize("clip", ["moving", "still"])
def test_clips_are_read_after_every_attack_at_every_size(size, clip):
    """Twelve frames of Big Buck Bunny (moving) or of one photograph (still: the case where
    the picture is the same noise in every frame, which the mark's alternating sign cancels),
    through every attack and codec: the whole payload. PSNR 40 dB or more."""
    import cv2

    if clip == "moving":
        frames = [cv2.resize(f, size, interpolation=cv2.INTER_CUBIC) for f in bunny_frames(12)]
    else:
        frames = [natural("astronaut", size)] * 12
    mark = marked(frames, PAYLOAD, first=1001)
    error = np.mean([(m.astype(float) - f) ** 2 for m, f in zip(mark, frames)])
    assert 10 * np.log10(255**2 / error) >= 40
    for what, attack in CLIP_ATTACKS.items():
        found = wm.detect(*attack(mark))
        assert found.found and found.payload == PAYLOAD, what


def test_unmarked_pictures_and_clips_read_as_unmarked():
    """Photographs and film frames at every size from 360p to 4K, cropped and scaled
    (bench/watermark.py --false-positives reads a thousand), and clips: none reads as
    marked, and none comes near (the sync's z-score stays well under the 6 that counts)."""
    highest = 0.0
    for what, picture in unmarked_pictures(60, seed=7):
        found = wm.detect(picture)
        assert not found.found, what
        highest = max(highest, found.confidence)
    frames = bunny_frames(24)
    for start in (0, 12):
        found = wm.detect(*frames[start : start + 12])
        assert not found.found
        highest = max(highest, found.confidence)
    assert highest < 5.5


def test_bars_added_around_the_picture_are_left_out():
    """A 1080p frame shrunk into a letterbox, and a 4:3 picture pillarboxed into 16:9: the
    black bars are no part of the picture, and reading them would drown the mark."""
    mark = marked([natural("astronaut")], PAYLOAD)[0]
    assert wm.detect(letterbox(mark)).payload == PAYLOAD
    pillarbox = np.zeros((1080, 1920, 3), np.uint8)
    pillarbox[:, 240:1680] = marked([natural("astronaut", (1440, 1080))], PAYLOAD)[0]
    assert wm.detect(scale(pillarbox, 0.75)).payload == PAYLOAD


def test_pictures_too_small_thin_or_flat_read_as_unmarked_without_failing():
    rng = np.random.default_rng(0)
    for shape in [(1, 1, 3), (10, 10, 3), (300, 5, 3), (5, 300, 3), (50, 2000, 3)]:
        found = wm.detect((rng.random(shape) * 255).astype(np.uint8))
        assert not found.found and found.reason.startswith("too little picture"), shape
    flat = np.full((720, 1280, 3), 128, np.uint8)
    assert not wm.detect(flat, flat).found


def test_frames_of_different_sizes_are_read_together():
    """A sequence may mix sizes; the frames still fold, and the mark still reads."""
    frames = marked([natural("coffee", (1920, 1080))] * 2, PAYLOAD)
    frames[1] = frames[1][:900, :1500]
    assert wm.detect(*frames).payload == PAYLOAD
    assert wm.detect(*(scale(f, 0.8) for f in frames)).payload == PAYLOAD
