"""Bad input: a clear error naming the file, frame or parameter, a non-zero exit, and no
output lost or half-written."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from helpers import gradient, to_dtype
from neuralfx.frames.atomic import TEMP_MARK
from neuralfx.frames.images import write_image


def _files(folder) -> list[str]:
    """Everything in ``folder`` but the run record (the settings file kept beside outputs)."""
    names = os.listdir(folder) if os.path.isdir(folder) else []
    return sorted(n for n in names if not n.endswith(".neuralfx.jsonl"))


def _assert_no_temp_files(folder):
    assert not [n for n in _files(folder) if TEMP_MARK in n], _files(folder)


@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty"])
@pytest.mark.parametrize("suffix", [".png", ".jpg", ".exr"])
def test_corrupt_or_truncated_frame(cli, make_sequence, tmp_path, damage, suffix):
    src = make_sequence(
        f"in/shot.####{suffix}",
        frames=range(1, 7),
        dtype=np.float16 if suffix == ".exr" else np.uint8,
    )
    bad = src.replace("####", "0004")
    data = Path(bad).read_bytes()
    Path(bad).write_bytes(
        {"garbage": b"not an image at all" * 10, "truncated": data[: len(data) // 2], "empty": b""}[
            damage
        ]
    )
    out = tmp_path / "out"
    result = cli("run", "convert", "--batch-size", "1", src, out / "o.####.png", expect=1)
    assert f"frame 4 ({bad}) cannot be read" in result.stderr
    assert "--frames" in result.stderr
    assert "o.0004.png" not in _files(out)
    _assert_no_temp_files(out)
    for name in _files(out):  # whatever was written before the bad frame is complete
        assert os.path.getsize(out / name) > 0
    # The frames before it can be done, and the rest once the frame is fixed.
    cli("run", "convert", "--frames", "1-3,5-6", src, out / "o.####.png")
    assert len(_files(out)) == 5


def test_gap_in_sequence(cli, make_sequence, tmp_path):
    src = make_sequence(frames=[1, 2, 3, 5, 6])
    result = cli("run", "convert", src, tmp_path / "out" / "o.####.png", expect=1)
    assert "frame 4 is missing" in result.stderr and "--missing skip" in result.stderr
    assert _files(tmp_path / "out") == []
    cli("run", "convert", "--missing", "skip", src, tmp_path / "out" / "o.####.png")
    assert len(_files(tmp_path / "out")) == 5


def test_mixed_sizes(cli, make_sequence, tmp_path):
    src = make_sequence(frames=[1, 2, 3])
    odd = src.replace("####", "0002")
    write_image(odd, to_dtype(gradient(32, 32), np.uint8))
    result = cli("run", "convert", src, tmp_path / "o.####.png", expect=1)
    assert f"frame 2 ({odd}) is 32x32 but frame 1 is 64x48" in result.stderr
    assert "--frames" in result.stderr
    assert not (tmp_path / "o.0002.png").exists()


def test_mixed_alpha(cli, make_sequence, tmp_path):
    src = make_sequence(frames=[1, 2])
    write_image(src.replace("####", "0002"), to_dtype(gradient(channels=4), np.uint8))
    result = cli("run", "convert", src, tmp_path / "o.####.png", expect=1)
    assert "frame 2" in result.stderr and "has alpha channel, unlike frame 1" in result.stderr


def test_unsupported_formats(cli, make_sequence, tmp_path):
    gif = tmp_path / "a.gif"
    gif.write_bytes(b"GIF89a")
    result = cli("run", "convert", gif, tmp_path / "b.png", expect=2)
    assert "a.gif: unsupported format .gif" in result.stderr and ".exr" in result.stderr
    result = cli("run", "convert", make_sequence(), tmp_path / "o.####.heic", expect=2)
    assert "unsupported format .heic" in result.stderr and ".png" in result.stderr
    # every suffix the hint offers is written (the video ones once were listed by hand)
    assert "or videos (.m4v, .mkv, .mov, .mp4)" in result.stderr
    for suffix in (".m4v", ".mkv"):
        cli("run", "convert", make_sequence(), tmp_path / f"o{suffix}")
        assert (tmp_path / f"o{suffix}").stat().st_size > 0
    result = cli("run", "convert", make_sequence(), tmp_path / "o.webm", expect=2)
    assert "no video codec writes .webm files" in result.stderr and ".mkv" in result.stderr


def test_unknown_parameter_suggests_the_closest(cli, make_sequence, tmp_path):
    result = cli("run", "convert", "--overwrit", make_sequence(), tmp_path / "o.####.png", expect=2)
    assert "No such option '--overwrit'." in result.stderr and "'--overwrite'" in result.stderr


def test_output_that_would_overwrite_the_input(cli, make_sequence, tmp_path):
    src = make_sequence(frames=[1, 2])
    before = Path(src.replace("####", "0001")).read_bytes()
    result = cli("run", "convert", "--overwrite", src, src, expect=1)
    assert "is one of the input files" in result.stderr
    assert "never overwrites its input" in result.stderr
    same = src.replace("####", "%04d")
    cli("run", "convert", "--overwrite", src, same, expect=1)
    assert Path(src.replace("####", "0001")).read_bytes() == before


def test_unwritable_output_folder(cli, make_sequence, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the output folder should be")
    result = cli("run", "convert", make_sequence(), blocker / "o.####.png", expect=1)
    assert f"output folder '{blocker}' cannot be created" in result.stderr


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write to read-only folders")
def test_read_only_output_folder(cli, make_sequence, tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    result = cli("run", "convert", make_sequence(), folder / "o.####.png", expect=1)
    assert "is not writable" in result.stderr


def test_empty_inputs(cli, tmp_path):
    (tmp_path / "in").mkdir()
    result = cli(
        "run", "convert", tmp_path / "in" / "shot.####.png", tmp_path / "o.####.png", expect=1
    )
    assert "no files match" in result.stderr
    result = cli("run", "convert", tmp_path / "nothing.png", tmp_path / "o.png", expect=1)
    assert "does not exist" in result.stderr
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    result = cli("run", "convert", empty, tmp_path / "o.####.png", expect=1)
    assert "empty.mp4" in result.stderr and "cannot be read as video" in result.stderr


def test_single_output_for_many_frames(cli, make_sequence, tmp_path):
    result = cli("run", "convert", make_sequence(), tmp_path / "one.png", expect=1)
    assert "names one file but the input has 4 frames" in result.stderr
    assert "one.####.png" in result.stderr


def test_existing_video_output_needs_overwrite(cli, make_sequence, tmp_path):
    src = make_sequence()
    cli("run", "convert", src, tmp_path / "v.mp4")
    before = os.path.getsize(tmp_path / "v.mp4")
    result = cli("run", "convert", src, tmp_path / "v.mp4", expect=1)
    assert "exists; a video cannot be resumed" in result.stderr and "--overwrite" in result.stderr
    assert os.path.getsize(tmp_path / "v.mp4") == before
    cli("run", "convert", "--overwrite", src, tmp_path / "v.mp4")


def test_failed_video_run_leaves_no_partial_file(cli, make_sequence, tmp_path):
    src = make_sequence(frames=range(1, 6))
    bad = Path(src.replace("####", "0003"))
    bad.write_bytes(bad.read_bytes()[:50])
    cli("run", "convert", src, tmp_path / "v.mp4", expect=1)
    assert _files(tmp_path) == ["in"]


def test_h264_needs_even_sizes(cli, make_sequence, tmp_path):
    src = make_sequence(frames=[1, 2], width=63, height=47)
    result = cli("run", "convert", src, tmp_path / "odd.mp4", expect=1)
    assert "H.264 needs an even width and height, the frames are 63x47" in result.stderr
    assert "ProRes" in result.stderr
    assert _files(tmp_path) == ["in"]
    cli("run", "convert", src, tmp_path / "odd.mov")  # ProRes takes it


def test_truncated_video(cli, tmp_path):
    import av

    from helpers import gradient, to_dtype

    path = tmp_path / "clip.mp4"
    with av.open(str(path), "w", options={"movflags": "faststart"}) as out:
        stream = out.add_stream("libx264", rate=24)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for i in range(48):
            frame = av.VideoFrame.from_ndarray(to_dtype(gradient(seed=i), np.uint8), format="rgb24")
            for p in stream.encode(frame):
                out.mux(p)
        for p in stream.encode():
            out.mux(p)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])  # the index says 48 frames; half the data is gone
    result = cli("run", "convert", path, tmp_path / "out" / "f.####.png", expect=1)
    assert "clip.mp4" in result.stderr
    assert "corrupt or truncated" in result.stderr
    written = _files(tmp_path / "out")
    assert len(written) < 48
    _assert_no_temp_files(tmp_path / "out")

    # A file that ends cleanly before a frame its index promised is reported as truncated too.
    from neuralfx.errors import FrameError
    from neuralfx.frames.video import read_frames

    whole = tmp_path / "whole.mp4"
    whole.write_bytes(data)
    with pytest.raises(FrameError, match="ends after frame 48, but frame 60 was expected"):
        list(read_frames(str(whole), {1, 60}))


def test_errors_reach_json_progress_with_the_frame(cli, make_sequence, tmp_path):
    src = make_sequence(frames=range(1, 5))
    Path(src.replace("####", "0003")).write_bytes(b"broken")
    result = cli("run", "convert", "--progress", "json", src, tmp_path / "o.####.png", expect=1)
    events = cli.events(result)
    assert events[0]["event"] == "start"
    error = events[-1]
    assert error["event"] == "error" and error["frame"] == 3
    assert error["path"] == src.replace("####", "0003") and "cannot be read" in error["message"]
    assert "--frames" in error["hint"]


def test_an_output_folder_behind_a_dangling_link_is_named(cli, make_sequence, tmp_path):
    src = make_sequence(frames=[1])
    (tmp_path / "shots").symlink_to(tmp_path / "unmounted")
    result = cli("run", "convert", src, tmp_path / "shots" / "o.####.png", expect=1)
    assert (
        f"'{tmp_path / 'shots'}' is a link to '{tmp_path / 'unmounted'}', which does not exist"
    ) in result.stderr
    assert "File exists" not in result.stderr


def test_disk_full_while_the_record_is_compacted_names_the_record(
    make_sequence, tmp_path, monkeypatch
):
    import errno

    import neuralfx
    from neuralfx.pipeline import record
    from neuralfx.errors import OutputError

    src = make_sequence(frames=[1, 2])
    out = tmp_path / "out" / "o.####.png"
    neuralfx.run("convert", src, str(out))
    before = {p.name: p.read_bytes() for p in out.parent.iterdir()}

    def full(path, text):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(record, "write_text_atomic", full)
    with pytest.raises(OutputError) as info:
        neuralfx.run("convert", src, str(out), options=neuralfx.RunOptions(overwrite=True))
    assert info.value.message == (
        f"the resume record {out.parent / '.o.#.png.neuralfx.jsonl'} "
        "cannot be written: No space left on device"
    )
    assert "free space" in info.value.hint
    assert {p.name: p.read_bytes() for p in out.parent.iterdir()} == before


@pytest.mark.parametrize("verbose", [[], ["--verbose"]])
def test_native_libraries_lines_stay_off_stderr_unless_verbose(make_sequence, tmp_path, verbose):
    import subprocess
    import sys

    src = make_sequence(frames=[1, 2])
    bad = Path(src.replace("####", "0002"))
    data = bad.read_bytes()
    at = data.find(b"IDAT") + 40  # a flipped byte: libpng prints "IDAT: CRC error" itself
    bad.write_bytes(data[:at] + bytes([data[at] ^ 0xFF]) + data[at + 1 :])
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "neuralfx",
            *verbose,
            "run",
            "convert",
            src,
            str(tmp_path / "o.####.png"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "NEURALFX_VERBOSE": ""},
    )
    assert done.returncode == 1
    assert f"error: frame 2 ({bad}) cannot be read" in done.stderr
    assert ("libpng error" in done.stderr) == bool(verbose)
