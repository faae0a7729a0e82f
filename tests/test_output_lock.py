"""One writer per output, with real processes: a second run on an output being written is
refused naming the first (or waits with --wait), whatever the two runs are; a killed run's
lock goes with it; many trials of two runs started together never mix their frames."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from neuralfx.frames.images import read_image

HERE = os.path.dirname(__file__)
_STARTED: list[subprocess.Popen] = []


@pytest.fixture(autouse=True)
def _no_run_left_behind():
    """Whatever a test asserts, its runs end and their pipes close."""
    yield
    while _STARTED:
        proc = _STARTED.pop()
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=60)


def _start(effect: str, src: str, out: str, *args: str) -> subprocess.Popen:
    env = dict(
        os.environ, NEURALFX_PLUGINS="slow_plugin", PYTHONPATH=os.path.join(HERE, "plugin_modules")
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "neuralfx", "run", effect, src, out, "--progress", "json", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    _STARTED.append(proc)
    return proc


def _first_frame(proc: subprocess.Popen) -> None:
    for line in proc.stdout:
        if json.loads(line)["event"] == "frame":
            return
    raise AssertionError("the run wrote no frame")


def _finish(proc: subprocess.Popen) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=300)
    return proc.returncode, out, err


def test_a_second_run_on_an_output_being_written_is_refused_naming_the_first(
    make_sequence, tmp_path
):
    """A slow inversion is writing (1 s a frame: the second command's start-up took over 5 s
    on a loaded machine); a convert into the same sequence is refused before it
    touches anything, naming the first run; the first finishes with every frame inverted.
    With --wait, the same run started again waits for the first to end, then finds every
    frame done."""
    src = make_sequence(frames=range(1, 13))
    out = str(tmp_path / "o" / "o.####.png")
    first = _start("slow-invert", src, out, "--seconds", "1", "--batch-size", "1")
    _first_frame(first)
    second = _start("convert", src, out, "--overwrite")
    rc, stdout, _ = _finish(second)
    assert first.poll() is None, "the first run ended before the second began: too fast"
    error = next(json.loads(line) for line in stdout.splitlines() if '"error"' in line)
    assert rc == 1 and "is being written by another run" in error["message"]
    assert f"pid {first.pid}" in error["message"] and "slow-invert" in error["message"]
    assert "--wait" in error["hint"]
    waiting = _start("slow-invert", src, out, "--seconds", "1", "--batch-size", "1", "--wait")
    assert _finish(first)[0] == 0
    rc, stdout, err = _finish(waiting)
    assert rc == 0, (stdout, err)  # it waited, then found every frame done
    assert '"written": 0, "skipped": 12' in stdout
    for f in range(1, 13):
        np.testing.assert_allclose(
            read_image(out.replace("####", f"{f:04d}")).astype(float),
            255 - read_image(src.replace("####", f"{f:04d}")),
        )


def test_a_killed_runs_lock_goes_with_it(make_sequence, tmp_path):
    src = make_sequence(frames=range(1, 9))
    out = str(tmp_path / "o" / "o.####.png")
    first = _start("slow-invert", src, out, "--seconds", "0.3", "--batch-size", "1")
    _first_frame(first)
    first.send_signal(signal.SIGKILL)
    first.communicate(timeout=60)
    rc, _, err = _finish(_start("slow-invert", src, out, "--seconds", "0", "--overwrite"))
    assert rc == 0, err


@pytest.mark.slow
def test_two_runs_at_once_never_mix_their_frames(make_sequence, tmp_path):
    """Ten trials: an inversion writes a sequence frame by frame while a copy with
    --overwrite starts at another moment each time. Each trial ends with one run's frames
    throughout: whichever run comes second is refused while the other writes (or, having
    planned before the folder existed, when it finds the other's frames), the copy redoes it
    all after, or the inversion after the copy refuses frames it did not make."""
    src = make_sequence(frames=range(1, 7))
    sources = [read_image(src.replace("####", f"{f:04d}")).astype(int) for f in range(1, 7)]
    for trial in range(10):
        out = str(tmp_path / f"t{trial}" / "o.####.png")
        inverting = _start("slow-invert", src, out, "--seconds", "0.1", "--batch-size", "1")
        time.sleep(0.15 * trial)  # from before its first frame to after its last
        results = [_finish(_start("convert", src, out, "--overwrite")), _finish(inverting)]
        codes = sorted(rc for rc, _, _ in results)
        assert codes in ([0, 0], [0, 1]), results  # one waits for nobody, one may be refused
        refused = [err + out for rc, out, err in results if rc == 1]
        reasons = (
            "is being written by another run",
            "made differently",
            "another run wrote frames",
        )
        # (the inversion, after the copy, finds frames it did not make: the record refuses
        # them, as it should)
        assert all(any(reason in r for reason in reasons) for r in refused), refused
        frames = [read_image(out.replace("####", f"{f:04d}")).astype(int) for f in range(1, 7)]
        inverted = [np.array_equal(o, 255 - s) for o, s in zip(frames, sources)]
        assert all(inverted) or not any(inverted), f"trial {trial}: mixed {inverted}"


def test_frames_another_run_wrote_while_this_one_started_are_not_overwritten(
    make_sequence, tmp_path
):
    """A run that planned into a folder that did not exist yet locks when it creates it; if
    another run wrote frames there in between, it stops before writing, saying so."""
    import neuralfx
    from neuralfx.errors import OutputError
    from neuralfx.options import RunOptions
    from neuralfx.pipeline.plan import make_plan
    from neuralfx.host.plugins import get_host

    src = make_sequence(frames=range(1, 4))
    out = str(tmp_path / "new" / "o.####.png")
    spec = get_host().spec("convert")
    effect = get_host().effect("convert")(spec.validate({}))
    plan = make_plan(spec, effect, src, out, RunOptions(), version="test", warn=print)
    assert plan.todo == [1, 2, 3] and not plan.lock.held  # no folder yet: nothing to lock
    neuralfx.run("convert", src, out)  # another run, start to end, meanwhile
    with pytest.raises(OutputError, match="another run wrote frames 1-3 while this one"):
        plan.prepare_output()
    plan.close()
    assert not os.path.exists(plan.lock.path)  # the lock went with it
