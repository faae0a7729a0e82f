"""The ``neuralfx`` console script: signals first, then the CLI.

SIGINT and SIGTERM (Blender's cancel, a render-farm kill) stop a run the same way at any moment,
including while torch is still being imported: the first one raises ``KeyboardInterrupt``
(the runner keeps only complete outputs and the CLI exits with 130); later ones are ignored so
that the clean-up they would otherwise interrupt can finish.
"""

from __future__ import annotations

import signal
import sys

INTERRUPTED_EXIT = 130


def _stop(signum, frame):
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _already_stopping)
    raise KeyboardInterrupt


def _already_stopping(signum, frame):
    """A second signal while stopping: the clean-up goes on (it only takes a moment)."""


def install_signal_handlers() -> None:
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _stop)


def main() -> None:
    install_signal_handlers()
    try:
        from .cli import cli

        cli()
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(INTERRUPTED_EXIT)
