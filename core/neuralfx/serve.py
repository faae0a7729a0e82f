"""``neuralfx serve``: a warm worker for hosts that run NeuralFX again and again (the Blender
add-on's preview, Nuke, scripts). Starting the command costs 1.5-2 s (Python, torch,
the plugins) before any frame; a worker pays that once and answers each request in the time
the frames take.

The protocol is JSON lines (docs/serve.md). The worker says ``{"event": "ready", ...}`` when
it starts; each request is one line on stdin; each answer is the run's own ``--progress json``
events, tagged with the request's ``id``, ending with ``{"id": ..., "event": "end", "ok": ...}``.
Requests run one at a time, in order. A bad request gets an error and the worker goes on.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from typing import Any, TextIO

from . import __version__
from .errors import NeuralFXError
from .options import RunOptions
from .progress import JsonLinesReporter

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
            _say(answers, None, "error", message=f"not a request: {exc}",
                 hint='send one JSON object a line, e.g. {"id": 1, "op": "ping"}')
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
        _say(answers, rid, "end", ok=_run(request, JsonLinesReporter(answers, {"id": rid})))
    return 0


def _run(request: dict[str, Any], reporter: JsonLinesReporter) -> bool:
    """One ``run`` request, as ``neuralfx run`` would do it; False when it failed."""
    from .runner import run

    try:
        missing = [k for k in ("effect", "input", "output") if not request.get(k)]
        if missing:
            raise ValueError(f"a run needs {', '.join(missing)}")
        options = dict(request.get("options") or {})
        unknown = sorted(set(options) - OPTION_NAMES)
        if unknown:
            raise ValueError(f"unknown option(s) {', '.join(unknown)}; options: "
                             + ", ".join(sorted(OPTION_NAMES)))
        summary = run(request["effect"], request["input"], request["output"],
                      settings=request.get("settings") or {}, options=RunOptions(**options),
                      reporter=reporter)
    except NeuralFXError as exc:
        if not getattr(exc, "reported", False):
            reporter.error(exc.message, exc.hint)
        return False
    except (ValueError, TypeError) as exc:  # a malformed request
        reporter.error(f"bad request: {exc}", "see docs/serve.md for the request's fields")
        return False
    except Exception as exc:  # a plugin's bug must not end the worker
        reporter.error(f"{type(exc).__name__}: {exc}", "the same run from `neuralfx run` "
                       "shows the whole traceback")
        return False
    return summary is not None


def _say(stream: TextIO, rid: Any, event: str, **fields: Any) -> None:
    stream.write(json.dumps({**({"id": rid} if rid is not None else {}), "event": event,
                             **fields}) + "\n")
    stream.flush()
