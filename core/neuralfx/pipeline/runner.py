"""``neuralfx.run()``: the Python API behind ``neuralfx run``.

A run is a plan (:mod:`neuralfx.pipeline.plan`: what to read, write and skip, and the resume
rules), a frame stage (:mod:`neuralfx.pipeline.stage`: decode, batch, effect, marks) and an
executor that schedules them (:mod:`neuralfx.pipeline.executors`: ``local``, or ``ray`` across
a cluster).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..devices import prepare_process, resolve_device, resolve_precision
from ..effect import Effect, EffectSpec
from ..errors import NeuralFXError, PluginError
from .executors import RunSummary
from ..options import RunOptions
from .plan import make_plan
from ..host.plugins import PluginHost, get_host, hosting
from .progress import Reporter

__all__ = ["RunOptions", "RunSummary", "run"]


def run(
    effect: str | type[Effect] | EffectSpec,
    input: str,
    output: str,
    *,
    settings: Mapping[str, Any] | None = None,
    options: RunOptions | None = None,
    reporter: Reporter | None = None,
    host: PluginHost | None = None,
) -> RunSummary:
    """Run ``effect`` over ``input`` into ``output``: the Python API behind ``neuralfx run``.

    ``settings`` are the effect's parameters by name (``{"strength": 0.5}``), ``options`` the
    run options. Raises :class:`~neuralfx.errors.NeuralFXError` for bad input (before any
    output is written when it can be found out up front); ``KeyboardInterrupt`` stops cleanly,
    leaving only complete output files. Without a reporter, warnings go to the ``neuralfx``
    logger (shown on stderr unless logging is configured otherwise).
    """
    reporter = reporter or Reporter()
    with hosting(host):
        return _run(effect, input, output, settings, options, reporter, host or get_host())


def _run(effect, input, output, settings, options, reporter, host) -> RunSummary:
    try:
        spec, effect_cls, version = _resolve(effect, host)
        opts = options or RunOptions()
        opts.check()
        device = resolve_device(opts.device)
        dtype = resolve_precision(opts.precision, device)
        prepare_process(device)
        # The effect checks its settings as a whole before any file is looked at or created.
        instance = effect_cls(spec.validate(settings or {}))
        plan = make_plan(
            spec, instance, input, output, opts, version=version, warn=reporter.warning
        )
        try:
            if opts.executor == "ray":
                from .executors.ray import RayExecutor

                return RayExecutor(plan, effect, dict(settings or {}), reporter).run()
            from .executors.local import LocalExecutor

            return LocalExecutor(plan, device, dtype, reporter).run()
        finally:
            plan.close()  # the lock goes with the run, whatever happened
    except NeuralFXError as exc:
        reporter.error(
            exc.message, exc.hint, getattr(exc, "frame", None), getattr(exc, "path", None)
        )
        exc.reported = True  # the CLI does not print it as an event again
        raise


def _resolve(effect, host: PluginHost) -> tuple[EffectSpec, type[Effect], str]:
    if isinstance(effect, str):
        return host.spec(effect), host.effect(effect), host.version_of(effect)
    if isinstance(effect, EffectSpec):
        return effect, effect.load_class(), "unknown"
    if isinstance(effect, type) and issubclass(effect, Effect):
        module = __import__(effect.__module__.partition(".")[0])
        return effect.spec, effect, str(getattr(module, "__version__", "unknown"))
    raise PluginError(f"{effect!r} is not an effect name, spec or class")
