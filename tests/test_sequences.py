"""Sequence patterns, frame ranges and discovery on disk."""

from __future__ import annotations

import pytest

from neuralfx.errors import FrameError, ParameterError
from neuralfx.frames.io import open_source
from neuralfx.frames.sequence import FramePattern, describe_frames, parse_frame_range


@pytest.mark.parametrize(
    "text, frame, path",
    [
        ("shot.####.exr", 7, "shot.0007.exr"),
        ("shot.@@@.exr", 1001, "shot.1001.exr"),
        ("shot.%04d.png", 12, "shot.0012.png"),
        ("shot_%d.png", 12, "shot_12.png"),
        ("dir/a#.tif", 10, "dir/a10.tif"),
    ],
)
def test_patterns(text, frame, path):
    assert FramePattern.parse(text).path(frame) == path


def test_single_file_is_not_a_pattern():
    assert FramePattern.parse("plate.exr") is None
    with pytest.raises(ParameterError, match="more than one frame-number field"):
        FramePattern.parse("a.####.%04d.png")


@pytest.mark.parametrize(
    "text, frames",
    [
        ("1001-1004", [1001, 1002, 1003, 1004]),
        ("1-10x3", [1, 4, 7, 10]),
        ("1,5,9-11", [1, 5, 9, 10, 11]),
        ("7", [7]),
    ],
)
def test_frame_ranges(text, frames):
    assert parse_frame_range(text) == frames


@pytest.mark.parametrize("text", ["10-1", "a-b", "1-5x0", ""])
def test_bad_frame_ranges(text):
    with pytest.raises(ParameterError, match="frames"):
        parse_frame_range(text)


def test_describe_frames():
    assert describe_frames([1, 2, 3, 7, 9, 10]) == "1-3, 7, 9-10"


def test_discovery_by_pattern_glob_and_range(make_sequence, tmp_path):
    pattern = make_sequence("seq/shot.####.png", frames=range(1001, 1006))
    # A file with other padding must not be taken for a frame of this pattern.
    (tmp_path / "seq" / "shot.01001.png").write_bytes(b"")
    src = open_source(pattern)
    assert src.frames == [1001, 1002, 1003, 1004, 1005]
    assert src.paths[1003].endswith("shot.1003.png")
    assert open_source(str(tmp_path / "seq" / "shot.%04d.png"), frames="1002-1003").frames == [
        1002,
        1003,
    ]
    glob_src = open_source(str(tmp_path / "seq" / "shot.10*.png"))
    assert glob_src.frames == [1001, 1002, 1003, 1004, 1005]


def test_gap_is_refused_or_skipped(make_sequence):
    pattern = make_sequence(frames=[1, 2, 4, 5, 7])
    with pytest.raises(FrameError) as err:
        open_source(pattern)
    assert "frames 3, 6 are missing" in err.value.message
    assert "--missing skip" in err.value.hint
    assert open_source(pattern, missing="skip").frames == [1, 2, 4, 5, 7]
    with pytest.raises(FrameError, match="frame 3 is missing"):
        open_source(pattern, frames="2-4")
