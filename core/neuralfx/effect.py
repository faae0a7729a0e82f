"""The effect API: what a plugin implements to turn frames into frames.

An effect has two halves:

* its **declaration**, an :class:`EffectSpec`: name, summary, help, parameters, colour space,
  what history it needs. It is plain data, so ``neuralfx effects``, ``describe``, ``--help``
  and the Blender panel read it without importing torch or any model code;
* its **implementation**, an :class:`Effect` subclass, named in the spec by import path
  (``"my_plugin.effect:MyEffect"``) and imported only when a run needs it.

Lifecycle, driven by the runner, never by the effect itself:

1. ``Effect(settings)`` — settings are already validated against the parameters.
2. :meth:`Effect.load` — once per run, onto the run's device and dtype (load weights here).
   It runs with autograd available; :meth:`analyse` and :meth:`process` run under
   ``torch.inference_mode()`` (an optimisation-based effect re-enables grad inside).
3. :meth:`Effect.analyse` — only when ``needs_whole_clip``: every frame of the clip (not only
   the frames to do) is shown once, in batches, before any is processed.
4. :meth:`Effect.process` — batches in frame order. A ``stateful`` effect sees every frame from
   the start of the clip (or from a saved state) up to the last frame to do; frames whose
   outputs exist are processed but not written, so every output is the same whichever frames a
   run was asked for (see docs/plugins.md, "Effects with state").
5. :meth:`Effect.release` — always called, also after an error or Ctrl-C.

Effects are pure with respect to I/O: they never read or write frame files themselves. This
module does not import torch (the type names below are for annotations only).
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from .errors import PluginError
from .param_list import check_conditions, json_schema, validate
from .params import Param

if TYPE_CHECKING:
    import torch

#: Colour spaces an effect can ask to work in. ``srgb``: display-referred, sRGB transfer
#: function, what models trained on photos expect. ``linear``: scene-linear, Rec.709/sRGB
#: primaries. ``None``: frames as decoded, no conversion (for effects such as ``convert``).
WORKING_SPACES = ("srgb", "linear")


def _reserved_names() -> frozenset[str]:
    from .options import PROGRESS, RUN_PARAMS

    names = {"input", "output", "shard", PROGRESS.name}
    for p in RUN_PARAMS:
        names |= {p.name, *(alias.lstrip("-").replace("-", "_") for alias in p.aliases)}
    return frozenset(names)


#: Names an effect parameter may not take: the options every ``neuralfx run`` command has
#: (declared in :mod:`neuralfx.options`), its arguments and the executor's ``shard``.
RESERVED_PARAM_NAMES = _reserved_names()


@dataclasses.dataclass(frozen=True)
class EffectSpec:
    """The declaration of an effect: everything the host needs before it runs one.

    Attributes:
        name: unique kebab-case name, used on the command line (``neuralfx run NAME``).
        summary: one line for ``neuralfx effects``.
        help: the long help of ``neuralfx run NAME --help`` (``\\b`` lines keep click from
            re-wrapping the paragraph that follows).
        params: the parameters, declared once (see :mod:`neuralfx.params`).
        implementation: the :class:`Effect` subclass, or ``"module:Class"`` to import it
            only when a run needs it (keep heavy imports out of the plugin's top module).
        working_space: colour space of the frames ``process`` receives (:data:`WORKING_SPACES`
            or None for "as decoded").
        needs_whole_clip: show every frame of the clip to ``analyse`` before processing.
        stateful: outputs depend on earlier frames through state the effect carries (an
            instance may set ``self.stateful`` from its settings, e.g. only with --temporal).
        accepts_nonfinite: the effect passes NaN and infinity through (``convert``); other
            effects are refused such source frames, naming the file.
        preferred_batch_size: frames per batch for ``--batch-size auto`` on CUDA.
        always_watermark: every output frame carries the invisible mark
            (:mod:`neuralfx.marks.watermark`) whatever ``--watermark`` says (face-swap).
        always_label: every output frame carries a visible label (:mod:`neuralfx.marks.label`,
            "AI-generated" unless ``--label`` says otherwise); it cannot be turned off.
    """

    name: str
    summary: str = ""
    help: str = ""
    params: Sequence[Param] = ()
    implementation: str | type | None = None
    working_space: str | None = "srgb"
    needs_whole_clip: bool = False
    stateful: bool = False
    accepts_nonfinite: bool = False
    preferred_batch_size: int = 4
    always_watermark: bool = False
    always_label: bool = False

    def __post_init__(self) -> None:
        check_conditions(self.params, owner=f"effect {self.name!r}")

    def validate(self, values: Mapping[str, Any]) -> Settings:
        """Validate user values (unknown names and out-of-range values are refused)."""
        return Settings(validate(self.params, values, owner=f"effect {self.name!r}"))

    def describe(self) -> dict[str, Any]:
        """The machine-readable description (``neuralfx describe NAME --json``)."""
        return {
            "name": self.name,
            "summary": self.summary,
            "help": "\n".join(
                line for line in inspect.cleandoc(self.help).splitlines() if line.strip() != "\b"
            ),
            "working_space": self.working_space,
            "needs_whole_clip": self.needs_whole_clip,
            "stateful": self.stateful,
            "always_watermark": self.always_watermark,
            "always_label": self.always_label,
            "settings": json_schema(self.params),
        }

    def load_class(self) -> type[Effect]:
        """The implementation class, imported on first use and checked against this spec."""
        impl = self.implementation
        if isinstance(impl, str):
            module_name, _, attr = impl.partition(":")
            try:
                impl = getattr(importlib.import_module(module_name), attr)
            except Exception as exc:  # the plugin's code: report it, do not crash the host
                raise PluginError(
                    f"effect {self.name!r}: its implementation {self.implementation!r} cannot "
                    f"be imported: {type(exc).__name__}: {exc}",
                    hint="reinstall the plugin that provides it (see `neuralfx plugins`)",
                ) from None
        if not (inspect.isclass(impl) and issubclass(impl, Effect)):
            raise PluginError(
                f"effect {self.name!r}: implementation {impl!r} is not a "
                "subclass of neuralfx.Effect"
            )
        bound = getattr(impl, "spec", None)
        if bound is None or (bound is not self and bound.name != self.name):
            raise PluginError(
                f"effect {self.name!r}: implementation {impl.__qualname__} is "
                "not bound to this declaration",
                hint=f"set `spec = ...` to the EffectSpec named {self.name!r} in the class",
            )
        if impl.process is Effect.process:
            raise PluginError(f"effect {self.name!r} does not implement process()")
        return impl


@dataclasses.dataclass(frozen=True)
class FrameBatch:
    """A batch of frames on the run's device.

    Attributes:
        rgb: ``(N, 3, H, W)`` float tensor in the effect's working space; values in [0, 1] for
            ``srgb`` (``linear`` may exceed 1).
        alpha: ``(N, 1, H, W)`` float tensor in [0, 1], or None when the source has no alpha.
            It is written back untouched unless the effect returns a new one.
        frames: the source frame numbers of the N frames, in order.
        notes: what :meth:`Effect.inspect` returned for each frame (None when the effect does
            not inspect frames).
    """

    rgb: torch.Tensor
    alpha: torch.Tensor | None
    frames: tuple[int, ...]
    notes: tuple[Any, ...] | None = None

    def replace(self, **changes: Any) -> FrameBatch:
        """A copy with some fields changed, e.g. ``batch.replace(rgb=new_rgb)``."""
        return dataclasses.replace(self, **changes)

    def __len__(self) -> int:
        return len(self.frames)


@dataclasses.dataclass(frozen=True)
class ClipInfo:
    """What the runner knows about the clip before the first frame is processed.

    ``frames`` are every frame of the source (what ``analyse`` and a stateful effect see);
    ``todo`` the frames this run writes; ``size`` is ``(width, height)``.
    """

    source: str
    frames: tuple[int, ...]
    fps: float | None
    size: tuple[int, int] = (0, 0)
    todo: tuple[int, ...] = ()


def _ignore(message: str) -> None:
    pass


def _as_is(rgb: tuple[float, float, float]) -> tuple[float, float, float]:
    return rgb


@dataclasses.dataclass(frozen=True)
class RunContext:
    """Where and how an effect runs: passed to :meth:`Effect.load`; keep it for later.

    ``warn(message)`` tells the user something (a warning line on the terminal, a ``warning``
    event in JSON progress, a ``logging`` warning from the Python API); it works from
    ``load``, ``analyse`` and ``process``. ``colour(rgb)`` turns a colour parameter (display
    sRGB, as pickers show it) into the space the frames arrive in. ``host`` is the plugin
    host of the run (``neuralfx.run(host=...)``, else the process's): its face detectors
    (``FacePipeline.from_settings(..., host=ctx.host)``) and weights (:meth:`load_model`).
    """

    device: torch.device
    dtype: torch.dtype
    clip: ClipInfo
    warn: Callable[[str], None] = _ignore
    colour: Callable[[tuple[float, float, float]], tuple[float, float, float]] = _as_is
    compile: bool = False  # --compile
    host: Any = None  # the run's PluginHost (None: the process's)

    def load_model(self, name: str, checkpoint: Any = None) -> Any:
        """``neuralfx.models.load`` of architecture ``name`` (built in or declared by a
        plugin of the run's host) from ``checkpoint`` (a path, a registry name, or None for
        the architecture's default entry) on the run's device and dtype, in eval mode."""
        from . import models
        from .host.plugins import hosting

        with hosting(self.host):
            return models.load(
                name, None if checkpoint is None else str(checkpoint), self.device, self.dtype
            )

    def optimise(self, net: Any, *, small: bool = False) -> Any:
        """A network (a module, or a function such as a bound method) made ready for fast
        inference on the run's device, the same way for every effect: on CUDA a module goes
        to channels_last memory (what cuDNN's fastest convolutions want); with ``--compile``
        it goes through ``torch.compile``, and a ``small`` network (face and animal crops,
        whose time goes in kernel launches) is captured in CUDA graphs on CUDA
        (``mode="reduce-overhead"``). Call it from :meth:`load` on what :meth:`process`
        calls; attributes of a compiled module are still reachable."""
        import torch

        if isinstance(net, torch.nn.Module) and self.device.type == "cuda":
            net = net.to(memory_format=torch.channels_last)
        if self.compile:
            graphs = small and self.device.type == "cuda"
            net = torch.compile(net, mode="reduce-overhead" if graphs else None)
        return net


class Settings(dict):
    """Validated parameter values; read them as ``settings["name"]`` or ``settings.name``."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


#: The spec's fields an Effect class carries as class attributes (all but its help and its
#: implementation), read off EffectSpec itself.
_SPEC_FIELDS = tuple(
    f.name for f in dataclasses.fields(EffectSpec) if f.name not in ("help", "implementation")
)


class Effect:
    """Base class of every effect implementation.

    Bind the declaration with ``spec = MY_SPEC`` (the spec's fields become class attributes:
    ``name``, ``params``, ``working_space``...). A class may instead set those attributes
    itself and be registered directly; its spec is then built from them and its docstring.
    Override :meth:`process` (and :meth:`load` / :meth:`analyse` / :meth:`release` as needed);
    a stateful effect may implement :meth:`state_dict` / :meth:`load_state_dict`.
    """

    spec: ClassVar[EffectSpec]
    # The spec's fields (name, summary, params, working_space, needs_whole_clip, stateful,
    # accepts_nonfinite, preferred_batch_size, always_watermark, always_label) are class
    # attributes, with EffectSpec's defaults (set below the class). ``stateful`` may be set
    # per instance in ``__init__`` (e.g. from a --temporal setting).
    name: ClassVar[str]
    stateful: bool
    #: ``inspect`` can do a frame's model work (see :meth:`inspect`); may be set per instance
    parallel_inspect: bool = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        spec = cls.__dict__.get("spec")
        if spec is not None:
            for field in _SPEC_FIELDS:
                setattr(cls, field, getattr(spec, field))
            if not cls.__doc__:
                cls.__doc__ = spec.help
        elif "name" in cls.__dict__:  # declared by class attributes
            declared = {field: getattr(cls, field) for field in _SPEC_FIELDS}
            cls.spec = EffectSpec(
                **{**declared, "params": tuple(cls.params)},
                help=cls.__doc__ or cls.summary,
                implementation=cls,
            )

    def __init__(self, settings: Mapping[str, Any]) -> None:
        self.settings = Settings(settings)

    @classmethod
    def validate(cls, values: Mapping[str, Any]) -> Settings:
        """Validate user values (unknown names and out-of-range values are refused)."""
        return cls.spec.validate(values)

    @classmethod
    def describe(cls) -> dict[str, Any]:
        return cls.spec.describe()

    def files(self) -> list[str]:
        """Files the outputs depend on besides the frames (style images, checkpoints): their
        contents go into the resume record, so editing one is noticed. Default: every
        existing file given to a ``Path`` parameter; override to add resolved ones (a
        checkpoint named by registry name)."""
        from pathlib import Path

        from .params import Path as PathParam

        found = []
        for p in self.params:
            if not isinstance(p, PathParam):  # paths and the kinds built on them (Boxes)
                continue
            value = self.settings.get(p.name)
            for v in (value if p.multiple else (value,)) if value is not None else ():
                if Path(v).is_file():
                    found.append(str(v))
        return found

    def load(self, ctx: RunContext) -> None:
        """Prepare to run on ``ctx.device`` in ``ctx.dtype``: build models, load weights."""

    def analyse(self, batch: FrameBatch) -> None:
        """Look at one batch of the whole clip (only if ``needs_whole_clip``)."""

    def inspect(self, frame: int, rgb: Any) -> Any:
        """Per-frame work on the CPU, run in the decode workers (several frames at once, in
        threads, while the device processes earlier batches); what it returns arrives with the
        frame as ``batch.notes[i]``. Override it for work that needs the whole frame on the
        CPU before the device sees it, such as face detection. ``rgb`` is the decoded
        ``(H, W, 3)`` array in the effect's working space: uint8 or uint16 samples, or float.
        It must be thread-safe and must not depend on other frames (keep tracking and any
        other cross-frame state in :meth:`process`). Not overridden: not called.

        With ``parallel_inspect = True`` an effect may run here a network that needs only this
        frame: on the CPU the host then calls it on a frame per decode worker (as many as fit
        in memory) with torch on one thread, for clips of two frames or more; elsewhere it is
        not called and ``process`` finds ``batch.notes`` None (docs/plugins.md)."""
        return None

    def memory_needed(self, width: int, height: int) -> int | None:
        """Bytes that processing one ``width`` x ``height`` frame takes on the device beyond
        the loaded model (activations, and the state kept from frame to frame), or None when
        unknown (nothing is checked). The host checks a batch against the free memory before
        the first frame: it lowers an automatic batch size to fit, and refuses a frame that
        cannot fit even alone, with :meth:`when_too_large`'s hint, rather than being killed
        by the system part way (see :mod:`neuralfx.memory`)."""
        return None

    def when_too_large(self, width: int, height: int, free: int) -> str:
        """The hint when one frame needs more than the ``free`` bytes: how to make it fit with
        this effect's parameters (e.g. a working size), given :meth:`memory_needed`."""
        return "free memory (close other programs) or run on a machine with more"

    def passes_through(self) -> bool:
        """True when :meth:`process` would return every batch unchanged with these settings
        (``convert`` always: the run's output options do its work). The host then moves no
        frame to the device and never calls :meth:`process`: the decoded samples go straight
        to the encoder, converted there only where the output differs from the source."""
        return False

    def process(self, batch: FrameBatch) -> FrameBatch:
        """Return the processed batch: same N, H and W, ``rgb`` in the working space.

        If this raises ``torch.OutOfMemoryError`` the runner retries with half the batch, so
        update any cross-frame state only once the batch has succeeded.
        """
        raise NotImplementedError

    def state_dict(self) -> dict[str, torch.Tensor] | None:
        """A stateful effect's state after the last processed batch, as tensors (saved by the
        runner so a later run can continue exactly from here). None: not saved; a later run
        then replays the clip from its first frame to rebuild the state."""
        return None

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        """Restore what :meth:`state_dict` returned (called after :meth:`load`)."""
        raise NotImplementedError

    def release(self) -> None:
        """Free what :meth:`load` took (GPU memory, open handles)."""


for _field in dataclasses.fields(EffectSpec):  # the class attributes' defaults: the spec's
    if _field.name in _SPEC_FIELDS and _field.name != "name":
        setattr(Effect, _field.name, _field.default)
del _field
