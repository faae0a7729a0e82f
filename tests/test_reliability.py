"""SIGKILL at several points, then a rerun: the result equals an uninterrupted run, by hash.

The effect is the third-party stateful ``echo`` plugin, so the rerun must also restore the
effect's state exactly (snapshot or replay), not only skip finished files.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from neuralfx.frames.atomic import TEMP_MARK

HERE = os.path.dirname(__file__)
pytestmark = pytest.mark.slow


def _cmd(*args):
    env = dict(
        os.environ, NEURALFX_PLUGINS="echo_plugin", PYTHONPATH=os.path.join(HERE, "plugin_modules")
    )
    return [sys.executable, "-m", "neuralfx", "run", "echo", *map(str, args)], env


def _run(*args) -> subprocess.CompletedProcess:
    cmd, env = _cmd(*args)
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    return done


def _killed(after_frames: int | None, *args) -> None:
    """Start a run and SIGKILL it once ``after_frames`` frames are reported (None: during
    start-up)."""
    cmd, env = _cmd("--progress", "json", *args)
    proc = subprocess.Popen(
        cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    if after_frames is None:
        time.sleep(0.5)
    else:
        seen = 0
        for line in proc.stdout:
            if json.loads(line)["event"] == "frame":
                seen += 1
                if seen >= after_frames:
                    break
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    proc.stdout.close()


def _hashes(folder: Path) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.iterdir())
        if p.is_file() and not p.name.startswith(".")
    }


def test_sigkill_then_rerun_equals_an_uninterrupted_png_sequence(make_sequence, tmp_path):
    src = make_sequence(frames=range(1, 25))
    slow = ["--seconds", "0.05", "--decay", "0.9"]
    _run(*slow, src, tmp_path / "whole" / "e.####.png")
    expected = _hashes(tmp_path / "whole")
    assert len(expected) == 24
    out = tmp_path / "killed" / "e.####.png"
    for point in (None, 3, 9, 17):
        _killed(point, *slow, src, out)
    leftovers = [n for n in os.listdir(out.parent) if TEMP_MARK in n]
    _run(*slow, src, out)
    assert _hashes(out.parent) == expected
    # Whatever the kills left half-written, the rerun removed.
    assert not [n for n in os.listdir(out.parent) if TEMP_MARK in n], leftovers


def test_sigkill_then_rerun_equals_an_uninterrupted_video(make_sequence, tmp_path):
    src = make_sequence(frames=range(1, 21))
    slow = ["--seconds", "0.05"]
    _run(*slow, src, tmp_path / "whole.mp4")
    out = tmp_path / "killed" / "e.mp4"
    out.parent.mkdir()
    for point in (None, 4, 12):
        _killed(point, *slow, src, out)
        assert not out.exists()  # a video appears only when it is complete
    _run(*slow, src, out)
    assert os.listdir(out.parent) == ["e.mp4"]
    assert out.read_bytes() == (tmp_path / "whole.mp4").read_bytes()
