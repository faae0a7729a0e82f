"""Progress reporting: a bar for people, JSON lines for programs (the Blender add-on).

JSON-lines events, one object per line on stdout, each with an ``event`` key:

* ``{"event": "start", "effect", "input", "output", "total", "skipped", "device", "batch_size"}``
* ``{"event": "frame", "frame": 1001, "path": "out.1001.png", "done": 1, "total": 100}``
* ``{"event": "warning", "message": "..."}``
* ``{"event": "error", "message": "...", "hint": "...", "frame": 1005, "path": "..."}``
* ``{"event": "done", "written": 100, "skipped": 0, "seconds": 12.5, "fps": 8.0}``
* ``{"event": "interrupted", "written": 40, "resumable": true}`` (Ctrl-C or SIGTERM; every
  written file is complete; a video output is not resumable and was removed)

On a terminal the text reporter draws a bar; elsewhere (render-farm logs, CI) it prints a plain
line every ``NEURALFX_PROGRESS_SECONDS`` (default 30) seconds: frames done of total, frames/s and
the time left.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from typing import Any, TextIO

from ..options import PROGRESS_MODES  # noqa: F401  (re-exported)

log = logging.getLogger("neuralfx")


class Reporter:
    """Receives the run's events. The base class (what the Python API uses by default) sends
    warnings to the ``neuralfx`` logger, so a script sees them as Python code expects, and
    ignores the rest."""

    def start(self, **info: Any) -> None: ...
    def frame(self, frame: int, path: str, done: int, total: int) -> None: ...

    def warning(self, message: str) -> None:
        log.warning(message)

    def error(
        self,
        message: str,
        hint: str | None = None,
        frame: int | None = None,
        path: str | None = None,
    ) -> None: ...
    def done(self, **summary: Any) -> None: ...
    def interrupted(self, written: int, resumable: bool = True) -> None: ...
    def close(self) -> None: ...


class SilentReporter(Reporter):
    """``--progress none``: nothing at all."""

    def warning(self, message: str) -> None:
        pass


def format_duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


class JsonLinesReporter(Reporter):
    """JSON lines on ``stream``; ``tag`` fields go into every event (``neuralfx serve`` tags
    each event with its request's ``id``)."""

    def __init__(self, stream: TextIO | None = None, tag: dict[str, Any] | None = None) -> None:
        self.stream = stream or sys.stdout
        self.tag = dict(tag or {})

    def _emit(self, event: str, **fields: Any) -> None:
        fields = {k: v for k, v in fields.items() if v is not None}
        self.stream.write(json.dumps({**self.tag, "event": event, **fields}) + "\n")
        self.stream.flush()

    def start(self, **info: Any) -> None:
        self._emit("start", **info)

    def frame(self, frame: int, path: str, done: int, total: int) -> None:
        self._emit("frame", frame=frame, path=path, done=done, total=total)

    def warning(self, message: str) -> None:
        self._emit("warning", message=message)

    def error(self, message, hint=None, frame=None, path=None) -> None:
        self._emit("error", message=message, hint=hint, frame=frame, path=path)

    def done(self, **summary: Any) -> None:
        self._emit("done", **summary)

    def interrupted(self, written: int, resumable: bool = True) -> None:
        self._emit("interrupted", written=written, resumable=resumable)


class TextReporter(Reporter):
    """Human-readable lines on stderr: a tqdm bar when ``bar`` is true, else a progress line
    every ``interval`` seconds (for logs)."""

    def __init__(
        self, bar: bool, stream: TextIO | None = None, interval: float | None = None
    ) -> None:
        self.stream = stream or sys.stderr
        self.use_bar = bar
        self._bar = None
        if interval is None:
            interval = float(os.environ.get("NEURALFX_PROGRESS_SECONDS", "30"))
        self.interval = interval
        self._started = self._last_line = time.monotonic()

    def _say(self, text: str) -> None:
        if self._bar is not None:
            self._bar.write(text, file=self.stream)
        else:
            print(text, file=self.stream, flush=True)

    def start(self, **info: Any) -> None:
        skipped = f", {info['skipped']} already done" if info.get("skipped") else ""
        layer = f" (EXR layer {info['layer']})" if info.get("layer") else ""
        self._say(
            f"{info['effect']}: {info['input']}{layer} -> {info['output']}: "
            f"{info['total']} frame(s) to do{skipped} on {info['device']}"
        )
        if self.use_bar and info["total"]:
            from tqdm import tqdm

            self._bar = tqdm(
                total=info["total"], unit="frame", file=self.stream, dynamic_ncols=True
            )
        self._started = self._last_line = time.monotonic()

    def frame(self, frame: int, path: str, done: int, total: int) -> None:
        if self._bar is not None:
            self._bar.update(1)
            return
        now = time.monotonic()
        if now - self._last_line >= self.interval and done < total:
            self._last_line = now
            rate = done / max(now - self._started, 1e-9)
            left = format_duration((total - done) / rate) if rate > 0 else "?"
            self._say(
                f"progress: {done}/{total} frames ({100 * done / total:.0f}%), last "
                f"frame {frame}, {rate:.2f} frames/s, {left} left"
            )

    def warning(self, message: str) -> None:
        self._say(f"warning: {message}")

    def done(self, **summary: Any) -> None:
        self.close()
        self._say(
            f"done: {summary['written']} frame(s) written, {summary['skipped']} skipped, "
            f"{summary['seconds']:.1f} s ({summary['fps']:.2f} frames/s)"
        )

    def interrupted(self, written: int, resumable: bool = True) -> None:
        self.close()
        if resumable:
            self._say(
                f"interrupted: {written} frame(s) written, each complete; run the same "
                "command again to resume"
            )
        else:
            self._say(
                "interrupted: the unfinished video was removed (a video cannot be "
                "resumed); run the same command again to start it over"
            )

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def make_reporter(mode: str) -> Reporter:
    if mode == "json":
        return JsonLinesReporter()
    if mode == "none":
        return SilentReporter()
    return TextReporter(bar=mode == "bar" or (mode == "auto" and sys.stderr.isatty()))
