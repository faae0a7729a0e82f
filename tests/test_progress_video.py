"""Progress in logs, and video written as an editor expects: frame rate, colour tags, and an
honest message after an interrupted video run."""

from __future__ import annotations

import fractions
import json
import os
import signal
import subprocess
import sys

import av
import numpy as np
import pytest

from neuralfx.frames.images import write_image

HERE = os.path.dirname(__file__)


def test_logs_get_plain_progress_lines(cli, make_sequence, tmp_path, monkeypatch):
    monkeypatch.setenv("NEURALFX_PROGRESS_SECONDS", "0")
    r = cli("run", "convert", make_sequence(), tmp_path / "o.####.png")  # stderr is no terminal
    lines = [line for line in r.stderr.splitlines() if line.startswith("progress:")]
    assert lines[0].startswith("progress: 1/4 frames (25%), last frame 1001, ")
    assert "frames/s" in lines[0] and lines[0].endswith(" left")
    assert len(lines) == 3  # every frame but the last (the summary line says the rest)
    assert "done: 4 frame(s) written" in r.stderr


def test_default_interval_keeps_logs_short(cli, make_sequence, tmp_path):
    r = cli("run", "convert", make_sequence(), tmp_path / "o.####.png")
    assert "progress:" not in r.stderr


@pytest.mark.parametrize(
    "fps, expected",
    [
        (None, fractions.Fraction(24)),
        ("25", fractions.Fraction(25)),
        ("23.976", fractions.Fraction(24000, 1001)),
        ("30000/1001", fractions.Fraction(30000, 1001)),
    ],
)
def test_fps_for_sequence_to_video(cli, make_sequence, tmp_path, fps, expected):
    args = ["--fps", fps] if fps else []
    cli("run", "convert", *args, make_sequence(), tmp_path / "o.mp4")
    with av.open(str(tmp_path / "o.mp4")) as c:
        assert c.streams.video[0].average_rate == expected


def test_fps_is_refused_for_image_outputs(cli, make_sequence, tmp_path):
    r = cli("run", "convert", "--fps", "25", make_sequence(), tmp_path / "o.####.png", expect=2)
    assert "--fps is for video outputs" in r.stderr


@pytest.mark.parametrize("name", ["o.mp4", "o.mov"])
def test_video_carries_colour_tags_and_matching_colours(cli, tmp_path, name):
    os.makedirs(tmp_path / "in")
    colour = np.array([200, 60, 30], np.uint8)  # a saturated orange shows a matrix mix-up
    for f in (1, 2, 3):
        write_image(str(tmp_path / "in" / f"c.{f:04d}.png"), np.tile(colour, (64, 64, 1)))
    cli("run", "convert", str(tmp_path / "in" / "c.####.png"), tmp_path / name)
    with av.open(str(tmp_path / name)) as c:
        ctx = c.streams.video[0].codec_context
        tags = (ctx.color_primaries, ctx.color_trc, ctx.colorspace, ctx.color_range)
        assert tags == (1, 13, 1, 1)  # BT.709 primaries and matrix, sRGB transfer, TV range
        frame = next(c.decode(video=0))
        rgb = frame.to_ndarray(format="rgb24")
    assert np.abs(rgb[32, 32].astype(int) - colour).max() <= 3


def test_an_interrupted_video_run_does_not_promise_a_resume(make_sequence, tmp_path):
    env = dict(
        os.environ, NEURALFX_PLUGINS="slow_plugin", PYTHONPATH=os.path.join(HERE, "plugin_modules")
    )
    out = tmp_path / "o.mp4"
    base = [sys.executable, "-m", "neuralfx", "run", "slow-invert", "--seconds", "0.3"]
    proc = subprocess.Popen(
        base + ["--progress", "json", make_sequence(frames=range(1, 20)), str(out)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    for line in proc.stdout:
        if json.loads(line)["event"] == "frame":
            break
    proc.send_signal(signal.SIGINT)
    rest, _ = proc.communicate(timeout=60)
    assert proc.returncode == 130
    last = json.loads(rest.splitlines()[-1])
    assert last["event"] == "interrupted" and last["resumable"] is False
    assert not out.exists()


def test_interrupted_messages():
    import io

    from neuralfx.pipeline.progress import TextReporter

    stream = io.StringIO()
    TextReporter(bar=False, stream=stream).interrupted(3, resumable=False)
    assert "cannot be resumed" in stream.getvalue() and "to resume" not in stream.getvalue()
    stream = io.StringIO()
    TextReporter(bar=False, stream=stream).interrupted(3, resumable=True)
    assert "run the same command again to resume" in stream.getvalue()
