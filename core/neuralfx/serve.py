"""``neuralfx serve``: a warm worker for hosts that run NeuralFX again and again (the Blender
add-on's preview, Nuke, scripts). Starting the command costs 1.5-2 s (Python, torch,
the plugins) before any frame; a worker pays that once and answers each request in the time
the frames take.

The protocol is JSON lines (docs/serve.md). The worker says ``{"event": "ready", ...}`` when
it starts; each request is one line on stdin; each answer is the run's own ``--progress json``
events, tagged with the request's ``id``, ending with ``{"id": ..., "event": "end", "ok": ...}``.
Requests run one at a time, in order. A bad request gets an error and the worker goes on.
SIGINT (or CTRL_BREAK on Windows) during a run stops that run as Ctrl-C stops
``neuralfx run`` (finished frames stay); the worker goes on. While it waits, it ends it.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from typing import Any, TextIO

from . import __version__, console
from .errors import NeuralFXError
from .options import RunOptions
from .pipeline.progress import JsonLinesReporter

#: Run options a request may set (the rest are the command line's defaults).
OPTION_NAMES = {f.name for f in dataclasses.fields(RunOptions)} - {"shard"}


def serve(requests: TextIO | None = None, answers: TextIO | None = None) -> int:
    """Answer requests from ``requests`` (stdin) on ``answers`` (stdout) until ``quit`` or the
    end of the input; returns the exit status."""
    requests, answers = requests or sys.stdin, answers or sys.stdout
    _say(answers, None, "ready", version=__version__, pid=os.getpid())
    for line in requests:
        if not line.strip():
            continue
        try:
            request = json.loads(line)
            if not isinstance(request, dict):
                raise ValueError("a request is a JSON object")
        except ValueError as exc:
            _say(
                answers,
                None,
                "error",
                message=f"not a request: {exc}",
                hint='send one JSON object a line, e.g. {"id": 1, "op": "ping"}',
            )
            continue
        rid, op = request.get("id"), request.get("op", "run")
        if op == "quit":
            _say(answers, rid, "end", ok=True)
            return 0
        if op == "ping":
            _say(answers, rid, "ready", version=__version__, pid=os.getpid())
            _say(answers, rid, "end", ok=True)
            continue
        if op != "run":
            _say(answers, rid, "error", message=f"unknown op {op!r}", hint="ops: run, ping, quit")
            _say(answers, rid, "end", ok=False)
            continue
        try:
            if "argv" in request:
                code = _run_argv(request["argv"], rid, answers)
            else:
                code = 0 if _run(request, JsonLinesReporter(answers, {"id": rid})) else 1
        except KeyboardInterrupt:  # a cancel of this run, not of the worker
            code = console.INTERRUPTED_EXIT
        if code == console.INTERRUPTED_EXIT:
            console.rearm()
        _say(
            answers,
            rid,
            "end",
            ok=code == 0,
            code=code,
            **({"interrupted": True} if code == console.INTERRUPTED_EXIT else {}),
        )
    return 0


def _run_argv(argv: Any, rid: Any, answers: TextIO) -> int:
    """A request that gives ``neuralfx run``'s own arguments (``["run", EFFECT, ...,
    "--progress", "json"]``): run exactly as the command would, its stdout lines tagged with
    the request's id. Returns the command's exit status."""
    from .cli.main import main as command

    if not (
        isinstance(argv, list)
        and argv
        and argv[0] == "run"
        and all(isinstance(a, str) for a in argv)
    ):
        _say(
            answers,
            rid,
            "error",
            message='bad request: argv is a list of strings starting with "run"',
            hint='e.g. {"argv": ["run", "convert", "in.mp4", "out.mp4", "--progress", "json"]}',
        )
        return 2
    real, sys.stdout = sys.stdout, _Tagged(answers, rid)
    try:
        command.main(args=argv, prog_name="neuralfx")
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        sys.stdout.flush()
        sys.stdout = real
    return 0


class _Tagged:
    """stdout for one request: each JSON line gets the request's id; other lines become
    ``output`` events."""

    def __init__(self, stream: TextIO, rid: Any) -> None:
        self.stream, self.rid, self.pending = stream, rid, ""

    def write(self, text: str) -> int:
        self.pending += text
        while "\n" in self.pending:
            line, self.pending = self.pending.split("\n", 1)
            self._line(line)
        return len(text)

    def _line(self, line: str) -> None:
        try:
            event = json.loads(line)
        except ValueError:
            event = None
        if not isinstance(event, dict):
            event = {"event": "output", "text": line}
        self.stream.write(json.dumps({"id": self.rid, **event}) + "\n")

    def flush(self) -> None:
        if self.pending:
            self._line(self.pending)
            self.pending = ""
        self.stream.flush()

    def isatty(self) -> bool:
        return False


def _run(request: dict[str, Any], reporter: JsonLinesReporter) -> bool:
    """One ``run`` request, as ``neuralfx run`` would do it; False when it failed."""
    from .pipeline.runner import run

    try:
        missing = [k for k in ("effect", "input", "output") if not request.get(k)]
        if missing:
            raise ValueError(f"a run needs {', '.join(missing)}")
        options = dict(request.get("options") or {})
        unknown = sorted(set(options) - OPTION_NAMES)
        if unknown:
            raise ValueError(
                f"unknown option(s) {', '.join(unknown)}; options: "
                + ", ".join(sorted(OPTION_NAMES))
            )
        summary = run(
            request["effect"],
            request["input"],
            request["output"],
            settings=request.get("settings") or {},
            options=RunOptions(**options),
            reporter=reporter,
        )
    except NeuralFXError as exc:
        if not getattr(exc, "reported", False):
            reporter.error(exc.message, exc.hint)
        return False
    except (ValueError, TypeError) as exc:  # a malformed request
        reporter.error(f"bad request: {exc}", "see docs/serve.md for the request's fields")
        return False
    except Exception as exc:  # a plugin's bug must not end the worker
        reporter.error(
            f"{type(exc).__name__}: {exc}",
            "the same run from `neuralfx run` shows the whole traceback",
        )
        return False
    return summary is not None


def _say(stream: TextIO, rid: Any, event: str, **fields: Any) -> None:
    stream.write(
        json.dumps({**({"id": rid} if rid is not None else {}), "event": event, **fields}) + "\n"
    )
    stream.flush()
