"""SIGINT and SIGTERM at any moment of the command (Blender's cancel, a render-farm kill):
exit 130, "interrupted", no traceback, no hang, only complete outputs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from helpers import leftovers
from neuralfx.frames.images import read_image

HERE = os.path.dirname(__file__)


def _neuralfx(args, **kw):
    env = dict(
        os.environ, NEURALFX_PLUGINS="slow_plugin", PYTHONPATH=os.path.join(HERE, "plugin_modules")
    )
    return subprocess.Popen(
        [sys.executable, "-m", "neuralfx", *map(str, args)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kw,
    )


def _wait_for_the_handlers(proc) -> None:
    """Until the command handles SIGTERM itself (its first lines, ``neuralfx/__init__``):
    a signal before that meets Python's own start-up and its default handlers."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and proc.poll() is None:
        with open(f"/proc/{proc.pid}/status") as status:
            caught = next(int(line.split()[1], 16) for line in status if line.startswith("SigCgt"))
        if caught & (1 << (signal.SIGTERM - 1)):
            return
        time.sleep(0.001)


def _finish(proc, timeout=60):
    """``communicate``, but a process that hangs is killed (and fails the test) rather than
    left running into the next test."""
    try:
        return proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        pytest.fail(f"still running after {timeout} s; stderr:\n{err}")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
@pytest.mark.parametrize("delay", [0.0, 0.05, 0.7, 1.2])  # the package, the CLI, torch, codecs
def test_a_signal_during_start_up_exits_130_without_a_traceback(
    make_sequence, tmp_path, sig, delay
):
    # An effect that sleeps a few seconds a frame: on a fast machine a plain conversion of
    # these frames ended within 1.2 s, and the signal then met a finished command.
    proc = _neuralfx(
        ["run", "slow-invert", "--seconds", "5", make_sequence(), tmp_path / "o.####.png"]
    )
    _wait_for_the_handlers(proc)
    time.sleep(delay)  # the package, click and torch are still importing
    assert proc.poll() is None, "the command ended before the signal was sent"
    proc.send_signal(sig)
    _, err = _finish(proc)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "interrupted" in err


_STOP_IN_A_CALLBACK = """
import signal, sys, time, weakref
from neuralfx import console

console.install_signal_handlers()
where = sys.argv[1]
if where == "weakref":  # Python only prints what a weakref callback raises
    class Thing:
        pass

    thing = Thing()
    ref = weakref.ref(thing, lambda _: signal.raise_signal(signal.SIGINT))
    del thing
else:  # the handler runs in a frame of importlib's lock code (a weakref callback there)
    exec(compile("signal.raise_signal(signal.SIGINT)\\nfinished = 1", where, "exec"))
    print("import locks left", flush=True)
try:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        sum(range(100))
    print("went on", flush=True)
except KeyboardInterrupt:
    print("stopped", flush=True)
"""


@pytest.mark.parametrize("where", ["weakref", "<frozen importlib._bootstrap>"])
def test_a_stop_that_lands_in_a_callback_is_delivered_again_outside_it(where):
    """A SIGINT during start-up landed in importlib's module-lock callback: Python printed
    "Exception ignored", the run went on, and it hung on the import lock left held."""
    proc = subprocess.run(
        [sys.executable, "-c", _STOP_IN_A_CALLBACK, where],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.stdout.splitlines()[-1] == "stopped", proc.stderr
    assert "Exception ignored" not in proc.stderr and "Traceback" not in proc.stderr
    if where != "weakref":  # the lock code ran to its end before the stop
        assert proc.stdout.splitlines()[0] == "import locks left"


_SIGNAL_IN_THE_TAP = """
import signal, sys, threading
from neuralfx import console

real_start = threading.Thread.start


def start(thread):  # the first thread started is the stderr tap's
    threading.Thread.start = real_start
    signal.raise_signal(signal.SIGINT)
    real_start(thread)


threading.Thread.start = start
sys.argv = ["neuralfx", "effects"]
console.main()
"""


def test_a_signal_while_the_stderr_tap_starts_stops_the_command_cleanly():
    """The tap's thread was made but not started when the signal landed: "cannot join
    thread before it is started" on the way out."""
    proc = subprocess.run(
        [sys.executable, "-c", _SIGNAL_IN_THE_TAP], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 130, proc.stderr
    assert "interrupted" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.slow
def test_a_second_signal_during_shutdown_still_exits_130_cleanly(make_sequence, tmp_path):
    src = make_sequence(frames=range(1, 21))
    out = tmp_path / "out"
    proc = _neuralfx(
        [
            "run",
            "slow-invert",
            "--seconds",
            "0.3",
            "--progress",
            "json",
            "--batch-size",
            "2",
            src,
            out / "s.####.png",
        ]
    )
    for line in proc.stdout:
        if json.loads(line)["event"] == "frame":
            break
    proc.send_signal(signal.SIGTERM)
    time.sleep(0.02)
    proc.send_signal(signal.SIGTERM)
    proc.send_signal(signal.SIGINT)
    rest, err = _finish(proc)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert json.loads(rest.splitlines()[-1])["event"] == "interrupted"
    assert leftovers(out) == []
    for name in os.listdir(out):
        if name.startswith("s."):
            assert read_image(str(out / name)).shape == (48, 64, 3)


def test_a_signal_while_the_package_loads_is_noted_and_exits_130():
    """Blender's cancel can come before the command's own code runs: the package, imported by
    the `neuralfx` command, notes the signal, and the command then exits with 130, no
    traceback. (A program that imports neuralfx keeps its own signal handling.)"""
    script = (
        "import os, signal, sys\n"
        "sys.argv = ['neuralfx', 'effects']\n"
        "import neuralfx\n"
        "os.kill(os.getpid(), signal.SIGINT)\n"
        "from neuralfx.console import main\n"
        "main()\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 130 and "interrupted" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr
    # What the handler was before the import, not Python's default: a process started in the
    # background by a shell without job control inherits SIGINT ignored.
    probe = (
        "import signal\n"
        "before = signal.getsignal(signal.SIGINT)\n"
        "import neuralfx\n"
        "print(signal.getsignal(signal.SIGINT) is before)"
    )
    library = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert library.stdout.strip() == "True"
