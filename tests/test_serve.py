"""`neuralfx serve`: a warm worker that runs requests from stdin, answering JSON lines; and
--no-history, the one-frame look of a stateful effect that a preview asks for."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np

from neuralfx.frames.images import read_image


HERE = os.path.dirname(os.path.abspath(__file__))


class Worker:
    def __init__(self, env: dict | None = None) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "neuralfx", "serve"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            bufsize=1,
            env={**os.environ, **(env or {})},
        )
        self.ready = json.loads(self.process.stdout.readline())

    def close(self) -> None:
        self.process.kill()
        self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            stream.close()

    def ask(self, request: dict | str) -> list[dict]:
        """Send one request; the events up to its "end"."""
        line = request if isinstance(request, str) else json.dumps(request)
        self.process.stdin.write(line + "\n")
        events = []
        while True:
            events.append(json.loads(self.process.stdout.readline()))
            if events[-1]["event"] == "end" or (
                isinstance(request, str) and events[-1]["event"] == "error"
            ):
                return events


def test_a_worker_runs_request_after_request_and_survives_bad_ones(make_sequence, tmp_path):
    src = make_sequence(frames=range(1, 5))
    worker = Worker()
    try:
        assert worker.ready["event"] == "ready" and worker.ready["version"]
        assert worker.ask({"id": "p", "op": "ping"})[-1] == {"id": "p", "event": "end", "ok": True}
        for k, frames in enumerate(("1-2", "3-4")):
            events = worker.ask(
                {
                    "id": k,
                    "effect": "convert",
                    "input": src,
                    "output": str(tmp_path / "o" / "o.####.png"),
                    "options": {"frames": frames},
                }
            )
            assert all(e["id"] == k for e in events)
            assert [e["event"] for e in events] == ["start", "frame", "frame", "done", "end"]
            assert events[-1]["ok"]
        for f in range(1, 5):  # convert is the identity: the frames came through
            np.testing.assert_array_equal(
                read_image(str(tmp_path / "o" / f"o.{f:04d}.png")),
                read_image(src.replace("####", f"{f:04d}")),
            )
        bad = worker.ask(
            {
                "id": 9,
                "effect": "convert",
                "input": src,
                "output": "x.png",
                "options": {"frame": "1"},
            }
        )
        assert bad[0]["event"] == "error" and "unknown option(s) frame" in bad[0]["message"]
        assert bad[-1] == {"id": 9, "event": "end", "ok": False, "code": 1}
        missing = worker.ask(
            {
                "id": 10,
                "effect": "painting-style",
                "input": "nope.mp4",
                "output": str(tmp_path / "p.png"),
            }
        )
        assert missing[-1]["ok"] is False and "nope.mp4" in missing[0]["message"]
        assert "not a request" in worker.ask("{oops")[0]["message"]
        assert worker.ask({"id": "p2", "op": "ping"})[-1]["ok"]  # still there
        assert worker.ask({"id": "q", "op": "quit"})[-1]["ok"]
        assert worker.process.wait(timeout=30) == 0
    finally:
        worker.close()


def test_no_history_paints_one_frame_without_replaying_the_earlier_ones(
    cli, make_sequence, tmp_path
):
    """painting-style with --temporal carries its look from frame to frame: frame 1004 alone
    first goes through 1001-1003. --no-history paints only 1004 (the per-frame look), and
    those frames are never mixed with a full run's."""
    src = make_sequence()
    out = tmp_path / "p.####.png"
    full = cli(
        "run",
        "painting-style",
        "--frames",
        "1004",
        src,
        str(tmp_path / "f.####.png"),
        "--progress",
        "json",
    ).stdout
    assert "processing frames 1001-1003 again" in full
    quick = cli(
        "run",
        "painting-style",
        "--frames",
        "1004",
        "--no-history",
        src,
        str(out),
        "--progress",
        "json",
    ).stdout
    assert "again" not in quick and '"written": 1' in quick
    alone = cli(
        "run",
        "painting-style",
        "--frames",
        "1004",
        "--no-temporal",
        src,
        str(tmp_path / "a.####.png"),
    )
    assert alone.exit_code == 0
    np.testing.assert_array_equal(
        read_image(str(tmp_path / "p.1004.png")), read_image(str(tmp_path / "a.1004.png"))
    )
    refused = cli("run", "painting-style", src, str(out), expect=1)
    assert "made differently" in refused.output and "history" in refused.output


def test_a_run_given_as_the_commands_argv_and_cancelled_without_ending_the_worker(
    make_sequence, tmp_path
):
    """The Blender add-on's runs: the argv of `neuralfx run` (what Copy command shows), run in
    the warm worker; SIGINT stops the run under way as Ctrl-C would, and the worker goes on."""
    import signal

    src = make_sequence(frames=range(1, 31))
    out = str(tmp_path / "s" / "s.####.png")
    argv = ["run", "slow-invert", "--seconds", "0.2", src, out, "--progress", "json"]
    worker = Worker(
        env={"NEURALFX_PLUGINS": "slow_plugin", "PYTHONPATH": os.path.join(HERE, "plugin_modules")}
    )
    try:
        worker.process.stdin.write(json.dumps({"id": 1, "argv": argv}) + "\n")
        worker.process.stdin.flush()
        events = []
        while True:
            events.append(json.loads(worker.process.stdout.readline()))
            if events[-1]["event"] == "frame" and events[-1]["done"] == 2:
                worker.process.send_signal(signal.SIGINT)
            if events[-1]["event"] == "end":
                break
        assert events[-1] == {
            "id": 1,
            "event": "end",
            "ok": False,
            "code": 130,
            "interrupted": True,
        }
        assert events[-2]["event"] == "interrupted" and 2 <= events[-2]["written"] < 30
        again = worker.ask({"id": 2, "argv": argv})  # the same run: it resumes
        assert again[0]["event"] == "start" and again[0]["skipped"] >= 2
        assert again[-1] == {"id": 2, "event": "end", "ok": True, "code": 0}
        wrong = worker.ask({"id": 3, "argv": ["run", "nosuch", "a", "b", "--progress", "json"]})
        assert "unknown effect 'nosuch'" in wrong[0]["message"] and wrong[-1]["code"] == 2
        assert worker.ask({"id": "q", "op": "quit"})[-1]["ok"]
        assert worker.process.wait(timeout=30) == 0
    finally:
        worker.close()
