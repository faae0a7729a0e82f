"""The effect API: what a plugin implements to turn frames into frames.

Lifecycle, driven by the runner (:mod:`neuralfx.runner`), never by the effect itself:

1. ``Effect(settings)`` — settings are already validated against :attr:`Effect.params`.
2. :meth:`Effect.load` — once per run, onto the run's device and dtype (load weights here).
   It runs with autograd available; :meth:`analyse` and :meth:`process` run under
   ``torch.inference_mode()`` (an optimisation-based effect re-enables grad inside).
3. :meth:`Effect.analyse` — only when :attr:`Effect.needs_whole_clip` is true: every batch of
   the clip is shown once before any is processed (few-shot codes, identity models).
4. :meth:`Effect.process` — batches in frame order; state may carry from batch to batch.
5. :meth:`Effect.release` — always called, also after an error or Ctrl-C.

Effects are pure with respect to I/O: they never read or write frame files themselves.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

import torch

from .params import Param, json_schema, validate

#: Colour spaces an effect can ask to work in. ``srgb``: display-referred, sRGB transfer
#: function, what models trained on photos expect. ``linear``: scene-linear, Rec.709/sRGB
#: primaries. ``None``: frames as decoded, no conversion (for effects such as ``convert``).
WORKING_SPACES = ("srgb", "linear")

#: Names an effect parameter may not take: the options every ``neuralfx run`` command has.
RESERVED_PARAM_NAMES = frozenset({
    "input", "output", "progress", "frames", "missing", "overwrite", "device", "precision",
    "batch_size", "workers", "ocio", "input_colorspace", "output_colorspace", "depth",
    "channels", "quality", "codec", "crf"})


@dataclasses.dataclass(frozen=True)
class FrameBatch:
    """A batch of frames on the run's device.

    Attributes:
        rgb: ``(N, 3, H, W)`` float tensor in the effect's working space; values in [0, 1] for
            ``srgb`` (``linear`` may exceed 1).
        alpha: ``(N, 1, H, W)`` float tensor in [0, 1], or None when the source has no alpha.
            It is written back untouched unless the effect returns a new one.
        frames: the source frame numbers of the N frames, in order.
    """

    rgb: torch.Tensor
    alpha: torch.Tensor | None
    frames: tuple[int, ...]

    def replace(self, **changes: Any) -> FrameBatch:
        """A copy with some fields changed, e.g. ``batch.replace(rgb=new_rgb)``."""
        return dataclasses.replace(self, **changes)

    def __len__(self) -> int:
        return len(self.frames)


@dataclasses.dataclass(frozen=True)
class ClipInfo:
    """What the runner knows about the clip before the first frame is decoded."""

    source: str
    frames: tuple[int, ...]
    fps: float | None


def _ignore(message: str) -> None:
    pass


@dataclasses.dataclass(frozen=True)
class RunContext:
    """Where and how an effect runs: passed to :meth:`Effect.load`. ``warn(message)`` tells
    the user something (a warning event in JSON progress, a line on the terminal)."""

    device: torch.device
    dtype: torch.dtype
    clip: ClipInfo
    warn: Callable[[str], None] = _ignore


class Settings(dict):
    """Validated parameter values; read them as ``settings["name"]`` or ``settings.name``."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


class Effect:
    """Base class of every effect. Subclasses set the class attributes and override
    :meth:`process` (and :meth:`load` / :meth:`analyse` / :meth:`release` as needed)."""

    #: Unique name, used on the command line: ``neuralfx run NAME``.
    name: ClassVar[str]
    #: One line shown by ``neuralfx effects``; the class docstring is the long help.
    summary: ClassVar[str] = ""
    #: The parameters, declared once (see :mod:`neuralfx.params`).
    params: ClassVar[Sequence[Param]] = ()
    #: Colour space of the frames :meth:`process` receives (see :data:`WORKING_SPACES`).
    working_space: ClassVar[str | None] = "srgb"
    #: True to have every batch shown to :meth:`analyse` before processing starts.
    needs_whole_clip: ClassVar[bool] = False
    #: Batch size used by ``--batch-size auto`` on CUDA; halved on out-of-memory.
    preferred_batch_size: ClassVar[int] = 4

    def __init__(self, settings: Mapping[str, Any]) -> None:
        self.settings = Settings(settings)

    @classmethod
    def validate(cls, values: Mapping[str, Any]) -> Settings:
        """Validate user values (unknown names and out-of-range values are refused)."""
        return Settings(validate(cls.params, values, owner=f"effect {cls.name!r}"))

    @classmethod
    def describe(cls) -> dict[str, Any]:
        """The effect's machine-readable description (``neuralfx describe NAME --json``)."""
        return {
            "name": cls.name,
            "summary": cls.summary,
            # \b lines only steer click's help wrapping
            "help": "\n".join(line for line in inspect.cleandoc(cls.__doc__ or "").splitlines()
                              if line.strip() != "\b"),
            "working_space": cls.working_space,
            "needs_whole_clip": cls.needs_whole_clip,
            "settings": json_schema(cls.params),
        }

    def load(self, ctx: RunContext) -> None:
        """Prepare to run on ``ctx.device`` in ``ctx.dtype``: build models, load weights."""

    def analyse(self, batch: FrameBatch) -> None:
        """Look at one batch of the whole clip (only if :attr:`needs_whole_clip`)."""

    def process(self, batch: FrameBatch) -> FrameBatch:
        """Return the processed batch: same N, H and W, ``rgb`` in the working space.

        If this raises ``torch.OutOfMemoryError`` the runner retries with half the batch, so
        update any cross-frame state only once the batch has succeeded.
        """
        raise NotImplementedError

    def release(self) -> None:
        """Free what :meth:`load` took (GPU memory, open handles)."""
