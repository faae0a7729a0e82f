"""Errors a user can act on.

Every error raised for bad input is a :class:`NeuralFXError`: its message names the file, frame
or parameter at fault, and ``hint`` says what to do. The CLI prints both and exits non-zero;
anything else that escapes is a bug and is shown with its traceback.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class NeuralFXError(Exception):
    """A problem with the user's input, settings or environment (not a bug)."""

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\n  hint: {self.hint}"


class ParameterError(NeuralFXError):
    """An unknown parameter, or a value outside what the parameter allows."""

    exit_code = 2


class UnknownNameError(NeuralFXError):
    """An unknown effect, plugin, format or colour space."""

    exit_code = 2


class FrameError(NeuralFXError):
    """A frame that cannot be read, is missing, or does not fit the rest of the clip."""

    def __init__(
        self,
        message: str,
        hint: str | None = None,
        *,
        frame: int | None = None,
        path: str | None = None,
    ) -> None:
        super().__init__(message, hint)
        self.frame = frame
        self.path = path


class OutputError(NeuralFXError):
    """An output that cannot be written, or that would overwrite something it must not."""


class PluginError(NeuralFXError):
    """A plugin that cannot be loaded or does not follow the plugin API."""


def did_you_mean(name: str, candidates: Iterable[str]) -> str | None:
    """Return ``"did you mean X?"`` for the closest candidates to ``name``, or None."""
    close = difflib.get_close_matches(name, list(candidates), n=3, cutoff=0.5)
    if not close:
        return None
    return "did you mean " + " or ".join(repr(c) for c in close) + "?"
