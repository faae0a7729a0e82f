"""What every ``neuralfx train ...`` command shares: progress for a terminal, a log and
programs. Light (no torch): the training commands import it at start-up."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable

Report = Callable[[dict], None]


def training_reporter(mode: str, total: int) -> Report:
    """``report(event)`` for a training loop: ``json`` prints events as JSON lines, ``bar`` (or
    ``auto`` on a terminal) a progress bar, ``auto`` off a terminal a line every 100
    iterations (logs), ``none`` nothing. Events: start, resume, iteration (with ``loss``),
    warning (with ``message``), preview, checkpoint, done, close."""
    if mode == "json":
        def emit(event):
            if event["event"] != "close":
                print(json.dumps(event), flush=True)
        return emit
    if mode == "none":
        return lambda event: None
    from tqdm import tqdm

    bar = tqdm(total=total, unit="it", file=sys.stderr,
               disable=not (mode == "bar" or sys.stderr.isatty()))

    def show(event):
        kind = event["event"]
        if kind == "resume":
            bar.write(f"resuming at iteration {event['iteration']}", file=sys.stderr)
            bar.update(event["iteration"])
        elif kind == "iteration":
            bar.update(1)
            bar.set_postfix(loss=f"{event['loss']:.4g}")
            if bar.disable and event["iteration"] % 100 == 0:
                print(f"iteration {event['iteration']}: loss {event['loss']:.4g}",
                      file=sys.stderr)
        elif kind in ("checkpoint", "preview") and bar.disable:
            print(f"{kind}: {event['path']}", file=sys.stderr)
        elif kind == "warning":
            bar.write(f"warning: {event['message']}", file=sys.stderr)
        elif kind == "close":
            bar.close()

    return show
