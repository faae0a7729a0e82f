"""No traceback reaches the user: full disks, read-only folders, bad options, usage errors,
NaN in sources, mixed layouts, leftovers of killed runs (signals: test_signals.py)."""

from __future__ import annotations

import errno
import os
import types

import numpy as np
import pytest

import neuralfx
from neuralfx.pipeline.runner import RunOptions
from helpers import gradient, leftovers, plugin_with, to_dtype, write_vfr_video
from neuralfx.errors import FrameError
from neuralfx.frames import images, video_out
from neuralfx.frames.atomic import TEMP_MARK
from neuralfx.frames.images import read_image, write_image

HERE = os.path.dirname(__file__)


def _full_disk_cv2(monkeypatch):
    real = images._write_cv2
    calls = []

    def write(path, pixels, fmt, quality, *args):
        calls.append(path)
        if len(calls) > 2:  # the third frame finds the disk full, halfway through
            with open(path, "wb") as f:
                f.write(b"\x89PNG partial")
            raise OSError(errno.ENOSPC, "No space left on device")
        real(path, pixels, fmt, quality, *args)

    monkeypatch.setattr(images, "_write_cv2", write)


def _full_disk_exr(monkeypatch):
    """OpenEXR reports a full disk as a RuntimeError, not an OSError."""
    import OpenEXR

    class File:
        def __init__(self, header, channels):
            pass

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def write(self, path):
            with open(path, "wb") as f:
                f.write(b"v/1\x01 partial")
            raise RuntimeError(f"Error writing to {path}: No space left on device")

    fake = types.SimpleNamespace(
        File=File, PIZ_COMPRESSION=OpenEXR.PIZ_COMPRESSION, scanlineimage=OpenEXR.scanlineimage
    )
    monkeypatch.setattr(images, "OpenEXR", fake)


def _full_disk_video(monkeypatch):
    import av

    real = video_out.VideoWriter._mux
    count = {"n": 0}

    def mux(self, packets):
        count["n"] += 1
        if count["n"] > 2:
            raise av.error.OSError(errno.ENOSPC, "No space left on device")
        real(self, packets)

    monkeypatch.setattr(video_out.VideoWriter, "_mux", mux)


@pytest.mark.parametrize("suffix", [".png", ".jpg", ".tif", ".exr", ".mp4", ".mov"])
def test_a_full_disk_is_a_clear_error_for_every_format(
    cli, make_sequence, tmp_path, monkeypatch, suffix
):
    src = make_sequence(frames=range(1, 7))
    {".exr": _full_disk_exr, ".mp4": _full_disk_video, ".mov": _full_disk_video}.get(
        suffix, _full_disk_cv2
    )(monkeypatch)
    out = tmp_path / "out" / (f"o{suffix}" if suffix in (".mp4", ".mov") else f"o.####{suffix}")
    result = cli("run", "convert", "--progress", "json", "--workers", "1", src, out, expect=1)
    assert "No space left on device" in result.stderr and "the disk is full" in result.stderr
    assert "Traceback" not in result.stderr
    error = [e for e in cli.events(result) if e["event"] == "error"]
    assert len(error) == 1 and "cannot write" in error[0]["message"]
    assert leftovers(tmp_path / "out") == []
    if suffix in (".mp4", ".mov"):
        assert not out.exists()  # no partial video
        assert "resume" not in error[0]["hint"]
    else:
        for name in os.listdir(tmp_path / "out"):  # what was written is complete
            if not name.startswith("."):
                assert read_image(str(tmp_path / "out" / name)).shape[:2] == (48, 64)


def test_a_read_only_file_system_is_found_before_any_work(
    cli, make_sequence, tmp_path, monkeypatch
):
    src = make_sequence(frames=[1, 2])
    real = os.statvfs

    def statvfs(path):
        result = real(path)
        return types.SimpleNamespace(f_flag=result.f_flag | os.ST_RDONLY)

    monkeypatch.setattr(os, "statvfs", statvfs)
    r = cli("run", "convert", "--progress", "json", src, tmp_path / "sub" / "o.####.png", expect=1)
    assert "read-only file system" in r.stderr and "Traceback" not in r.stderr
    assert [e["event"] for e in cli.events(r)] == ["error"]
    assert not (tmp_path / "sub").exists()


def test_a_folder_that_cannot_be_created_at_write_time(cli, make_sequence, tmp_path, monkeypatch):
    from pathlib import Path

    src = make_sequence(frames=[1])

    def mkdir(self, *args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system", str(self))

    monkeypatch.setattr(Path, "mkdir", mkdir)
    r = cli("run", "convert", src, tmp_path / "sub" / "o.####.png", expect=1)
    assert "cannot be created: Read-only file system" in r.stderr


@pytest.mark.parametrize(
    "option, value, words",
    [
        ("--quality", "0", "quality: 0 is out of range"),
        ("--workers", "0", "workers: 0 must be at least 1"),
        ("--crf", "99", "crf: 99 is out of range"),
        ("--fps", "0", "fps: '0' is not a frame rate"),
    ],
)
def test_run_option_errors_are_json_events(cli, make_sequence, tmp_path, option, value, words):
    r = cli(
        "run",
        "convert",
        "--progress",
        "json",
        option,
        value,
        make_sequence(),
        tmp_path / "o.####.png",
        expect=2,
    )
    events = cli.events(r)
    assert events and events[-1]["event"] == "error" and words in events[-1]["message"]
    assert words in r.stderr


def test_click_usage_errors_are_json_events(cli, make_sequence, tmp_path):
    r = cli(
        "run",
        "convert",
        "--progress",
        "json",
        "--bogus",
        make_sequence(),
        tmp_path / "o.####.png",
        expect=2,
    )
    events = cli.events(r)
    assert events[-1]["event"] == "error" and "--bogus" in events[-1]["message"]
    r = cli("run", "nosuch", "--progress", "json", "a", "b", expect=2)
    assert cli.events(r)[-1]["event"] == "error"
    assert "unknown effect 'nosuch'" in cli.events(r)[-1]["message"]


def _nan_exr(tmp_path):
    pattern = str(tmp_path / "in" / "p.####.exr")
    os.makedirs(tmp_path / "in")
    for f in (1, 2, 3):
        pic = gradient(32, 24, seed=f)
        if f == 2:
            pic[5, 7, 1] = np.nan
            pic[6, 8, 0] = np.inf
        write_image(pattern.replace("####", f"{f:04d}"), pic.astype(np.float32))
    return pattern


def test_nan_in_a_source_exr_passes_through_convert(tmp_path):
    src = _nan_exr(tmp_path)
    neuralfx.run("convert", src, str(tmp_path / "o.####.exr"))
    out = read_image(str(tmp_path / "o.0002.exr"))
    assert np.isnan(out[5, 7, 1]) and np.isinf(out[6, 8, 0])
    assert np.isfinite(
        np.delete(out.reshape(-1), [5 * 32 * 3 + 7 * 3 + 1, 6 * 32 * 3 + 8 * 3])
    ).all()


@pytest.mark.parametrize("output", ["o.####.png", "o.mp4"])
def test_nan_passed_through_to_an_integer_output_stops_naming_frame_and_count(tmp_path, output):
    # (it used to become 0, and +inf white, silently)
    src = _nan_exr(tmp_path)
    with pytest.raises(FrameError) as info:
        neuralfx.run("convert", src, str(tmp_path / output))
    bad = src.replace("####", "0002")
    assert f"frame 2 ({bad}) holds 1 NaN and 1 infinite samples" in info.value.message
    assert "--nonfinite" in info.value.hint and "EXR" in info.value.hint
    assert not (tmp_path / "o.0002.png").exists() and not (tmp_path / "o.mp4").exists()


@pytest.mark.parametrize("policy, nan, inf", [("clamp", 0, 65535), ("zero", 0, 0)])
def test_nonfinite_policy_replaces_them_in_every_path(fresh_host, tmp_path, policy, nan, inf):
    src = _nan_exr(tmp_path)
    neuralfx.run(
        "convert",
        src,
        str(tmp_path / "o.####.png"),
        options=RunOptions(nonfinite=policy, depth="16"),
    )
    out = read_image(str(tmp_path / "o.0002.png"))
    assert out[5, 7, 1] == nan and out[6, 8, 0] == inf
    assert (out[:4] == read_image(str(tmp_path / "o.0001.png"))[:4]).sum() < out[:4].size

    class Invert(neuralfx.Effect):  # an effect that cannot take them gets them replaced
        name = "invert"
        working_space = None

        def process(self, batch):
            return batch.replace(rgb=1 - batch.rgb)

    fresh_host.add_plugin(plugin_with(Invert), name="inv")
    neuralfx.run("invert", src, str(tmp_path / "i.####.exr"), options=RunOptions(nonfinite=policy))
    got = read_image(str(tmp_path / "i.0002.exr"))
    assert np.isfinite(got).all()
    assert got[5, 7, 1] == 1  # 1 - 0
    assert got[6, 8, 0] == (1 if policy == "zero" else 1 - 65504)


def test_nan_in_a_source_is_blamed_on_the_source_for_other_effects(fresh_host, tmp_path):
    class Invert(neuralfx.Effect):
        name = "invert"

        def process(self, batch):
            return batch.replace(rgb=1 - batch.rgb)

    fresh_host.add_plugin(plugin_with(Invert), name="inv")
    src = _nan_exr(tmp_path)
    with pytest.raises(FrameError) as info:
        neuralfx.run("invert", src, str(tmp_path / "o.####.exr"))
    bad = src.replace("####", "0002")
    assert (
        f"frame 2 ({bad}) holds 1 NaN and 1 infinite samples, which invert cannot take"
        in info.value.message
    )
    assert "--nonfinite clamp" in info.value.hint
    assert "the effect produced" not in info.value.message
    assert not (tmp_path / "o.0002.exr").exists()


@pytest.mark.parametrize("kind", ["channels", "depth"])
def test_mixed_layouts_are_refused_unless_told_what_to_make(cli, tmp_path, kind):
    pattern = str(tmp_path / "in" / "m.####.png")
    os.makedirs(tmp_path / "in")
    for f in (1, 2, 3):
        channels = 1 if (kind == "channels" and f == 2) else 3
        dtype = np.uint16 if (kind == "depth" and f == 2) else np.uint8
        write_image(
            pattern.replace("####", f"{f:04d}"), to_dtype(gradient(32, 24, channels, seed=f), dtype)
        )
    r = cli("run", "convert", pattern, tmp_path / "o.####.png", expect=1)
    words = {"channels": "is gray but frame 1 is RGB", "depth": "is 16-bit but frame 1 is 8-bit"}
    assert words[kind] in r.stderr
    assert {"channels": "--channels", "depth": "--depth"}[kind] in r.stderr
    fix = {"channels": ["--channels", "rgb"], "depth": ["--depth", "16"]}[kind]
    cli("run", "convert", *fix, pattern, tmp_path / "f.####.png")
    outs = [read_image(str(tmp_path / f"f.{f:04d}.png")) for f in (1, 2, 3)]
    assert {o.shape[2] for o in outs} == {3} and len({o.dtype for o in outs}) == 1


def test_stale_temporary_files_of_this_output_only_are_removed(cli, make_sequence, tmp_path):
    src = make_sequence(frames=[1, 2])
    out = tmp_path / "out"
    out.mkdir()
    ours = [
        out / f".o.0002.png{TEMP_MARK}deadbeef.png",
        out / f"..o.#.png.neuralfx.jsonl{TEMP_MARK}0badf00d.jsonl",
    ]
    theirs = [
        out / f".other.0001.png{TEMP_MARK}deadbeef.png",
        out / "notes.txt",
        out / f".o.0002.exr{TEMP_MARK}deadbeef.exr",
    ]
    for p in ours + theirs:
        p.write_bytes(b"x")
    cli("run", "convert", src, out / "o.####.png")
    assert not any(p.exists() for p in ours)
    assert all(p.exists() for p in theirs)


@pytest.mark.parametrize("args", [["--device", "cuda"], ["--device", "cpu", "--quality", "0"]])
def test_a_run_failing_before_processing_creates_no_folder(cli, make_sequence, tmp_path, args):
    import torch

    if args[1] == "cuda" and torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    r = cli("run", "convert", *args, make_sequence(), tmp_path / "new" / "o.####.png", expect=2)
    assert "error:" in r.stderr
    assert not (tmp_path / "new").exists()


def test_missing_weights_create_no_folder(cli, make_sequence, tmp_path):
    r = cli(
        "run",
        "painting-style",
        "--method",
        "johnson",
        make_sequence(),
        tmp_path / "new" / "o.####.png",
        expect=1,
    )
    assert "not in the cache" in r.stderr and not (tmp_path / "new").exists()


def test_variable_frame_rate_video_is_warned_about(cli, tmp_path):
    frames = [to_dtype(gradient(64, 48, seed=i), np.uint8) for i in range(8)]
    path = write_vfr_video(str(tmp_path / "vfr.mp4"), frames, [0, 40, 80, 200, 240, 400, 440, 480])
    r = cli("run", "convert", path, tmp_path / "o.####.png")
    assert "variable frame rate" in r.stderr and "constant rate" in r.stderr


@pytest.mark.parametrize("value", ["inf", "nan", "-inf"])
def test_float_parameters_refuse_inf_and_nan(cli, make_sequence, tmp_path, value):
    r = cli(
        "run",
        "painting-style",
        "--style",
        make_sequence(frames=[1]).replace("####", "0001"),
        f"--style-weight={value}",
        make_sequence(),
        tmp_path / "o.####.png",
        expect=2,
    )
    assert "is not a finite number" in r.stderr


def test_video_into_a_new_folder_and_over_a_killed_runs_leftover(cli, make_sequence, tmp_path):
    src = make_sequence()
    cli("run", "convert", src, tmp_path / "new" / "deeper" / "o.mp4")
    assert (tmp_path / "new" / "deeper" / "o.mp4").stat().st_size > 0
    stale = tmp_path / "new" / "deeper" / f".p.mp4{TEMP_MARK}deadbeef.mp4"
    stale.write_bytes(b"left by kill -9")
    cli("run", "convert", src, tmp_path / "new" / "deeper" / "p.mp4")
    assert not stale.exists()
    assert sorted(os.listdir(tmp_path / "new" / "deeper")) == ["o.mp4", "p.mp4"]
