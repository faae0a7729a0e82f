"""``neuralfx serve``: NeuralFX kept warm for hosts that ask again and again."""

from __future__ import annotations

from .main import main


@main.command("serve")
def serve_command() -> None:
    """Keep NeuralFX loaded and run requests from stdin, one JSON object a line, answering
    JSON lines on stdout: for the Blender add-on's preview, Nuke, scripts. A run request
    takes the fields of `neuralfx run` and answers with its --progress json events, tagged
    with the request's id, then {"id": ..., "event": "end", "ok": true|false}. The first
    request pays for loading torch and the effect; the next ones only for their frames.
    The protocol: docs/serve.md.

    \b
    Examples (one request a line):
      {"id": 1, "op": "ping"}
      {"id": 2, "effect": "painting-style", "input": "shot.mp4", "output": "/tmp/look.png",
       "settings": {"preset": "7"}, "options": {"frames": "24", "history": false,
       "overwrite": true}}
      {"id": 3, "op": "quit"}
    """
    from ..serve import serve

    raise SystemExit(serve())
