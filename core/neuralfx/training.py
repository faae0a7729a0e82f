"""What every ``neuralfx train ...`` command shares: where the resumable state and the
previews go, the loop (steps, divergence check, previews, checkpoints, progress events), the
command's tail (``--fresh``, the device, the reporter), and progress for a terminal, a log and
programs. Light at import (no torch): the training commands import it at start-up; each
trainer brings its own step, preview, save and resume."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from .training_command import command, config_of  # noqa: F401  (training.command: the API)

Report = Callable[[dict], None]
#: Besides every N steps, a preview and a checkpoint come at least this often (seconds): on a
#: CPU a thousand steps can take hours, and a run should show its first look in minutes.
PREVIEW_SECONDS = 60.0
SAVE_SECONDS = 600.0


def save_every(default: int = 1000):
    """The ``save_every`` field of a trainer's config (its default differs by trainer)."""
    from . import params

    return params.field(
        params.Int,
        default,
        min=1,
        help="Write the checkpoint and the resumable state every N steps, and at least every "
        f"{SAVE_SECONDS / 60:g} minutes, at the end and when stopped (Ctrl-C, SIGTERM).",
    )


def preview_every(default: int = 1000):
    """The ``preview_every`` field of a trainer's config."""
    from . import params

    return params.field(
        params.Int,
        default,
        min=1,
        help=f"Save a preview image every N steps, and at least every {PREVIEW_SECONDS:g} seconds.",
    )


def seed():
    from . import params

    return params.field(params.Int, 42, help="Seed of the weights' start and the data order.")


def state_path(out: Path) -> Path:
    """The resumable state beside the checkpoint ``out`` (optimisers, data order)."""
    return out.with_name(out.name + ".train-state.pt")


def preview_dir(out: Path) -> Path:
    return out.with_name(out.stem + ".previews")


def resumable(out: Path) -> bool:
    """A run that wrote ``out`` and its state can be continued."""
    return state_path(out).is_file() and out.is_file()


def check_out(out: Path) -> None:
    """Training writes safetensors."""
    from .errors import ParameterError

    if out.suffix != ".safetensors":
        raise ParameterError(
            f"out: {out} should end in .safetensors",
            hint=f"pass --out {out.with_suffix('.safetensors')}",
        )


class Trainer:
    """One trainer, as :func:`fit` runs it: its networks, optimisers, data and random state
    (set up in ``__init__`` from ``cfg``), and what only it knows: a step, a preview, the
    checkpoint files it exports, and what else a resumed run needs."""

    cfg: object  # a TrainConfig: out, iterations, save_every, preview_every, ...
    #: the config fields a resumed run must share with the run it continues
    COMPARABLE: tuple[str, ...] = ()
    DIVERGED_HINT = (
        "lower the learning rate; run the same command to resume from the last checkpoint"
    )

    def comparable(self) -> dict[str, str]:
        return {k: str(getattr(self.cfg, k)) for k in self.COMPARABLE}

    def summary(self) -> dict:
        """Counts for the ``start`` event (images, classes...)."""
        return {}

    def warnings(self) -> list[str]:
        """What the data makes doubtful, said once the run starts."""
        return []

    def step(self, iteration: int) -> dict[str, float]:
        """One optimisation step; the losses, ``loss`` first."""
        raise NotImplementedError

    def preview(self):
        """An ``(H, W, 3)`` picture in [0, 1] of what the model does now."""
        raise NotImplementedError

    def export(self, iteration: int) -> None:
        """Write the checkpoint(s) the effect loads, at ``iteration``."""
        raise NotImplementedError

    def state_dict(self) -> dict:
        """What a resumed run needs besides the exported checkpoints (optimisers, RNG...)."""
        raise NotImplementedError

    def load_state_dict(self, state: dict) -> None:
        """Back to the saved state: the exported checkpoints and ``state``."""
        raise NotImplementedError


def fit(trainer: Trainer, report: Report | None = None) -> int:
    """Run or resume ``trainer`` to its config's iterations: the one skeleton of every
    ``neuralfx train`` command. A state beside ``cfg.out`` (saved by a run with the same
    comparable settings) resumes it exactly; the checkpoint and the state are written together
    (atomically) every ``save_every`` steps, at the end and when stopped; see :func:`loop`.
    Returns the iteration reached."""
    import torch

    from .frames.atomic import AtomicFile

    cfg = trainer.cfg
    report = report or (lambda event: None)
    start = 0
    if resumable(cfg.out):
        hint = "/".join("--" + k.replace("_", "-") for k in trainer.COMPARABLE)
        state = read_state(cfg.out, trainer.comparable(), hint)
        trainer.load_state_dict(state)
        start = int(state["iteration"])
        report({"event": "resume", "iteration": start})
    report({"event": "start", **trainer.summary(), "iterations": cfg.iterations, "from": start})
    for message in trainer.warnings():
        report({"event": "warning", "message": message})

    def save(done: int) -> None:
        cfg.out.parent.mkdir(parents=True, exist_ok=True)
        trainer.export(done)
        target = AtomicFile(str(state_path(cfg.out)))
        torch.save(
            {"iteration": done, **trainer.state_dict(), "config": trainer.comparable()}, target.tmp
        )
        target.commit()

    return loop(
        out=cfg.out,
        iterations=cfg.iterations,
        start=start,
        step=trainer.step,
        preview=trainer.preview,
        save=save,
        save_every=cfg.save_every,
        preview_every=cfg.preview_every,
        report=report,
        diverged_hint=trainer.DIVERGED_HINT,
    )


def loop(
    *,
    out: Path,
    iterations: int,
    start: int,
    step: Callable[[int], dict[str, float]],
    preview: Callable[[], object],
    save: Callable[[int], None],
    save_every: int,
    preview_every: int,
    report: Report,
    diverged_hint: str,
) -> int:
    """Steps ``start`` .. ``iterations``: ``step(i)`` returns the losses (``loss`` first), which
    must be finite; every ``preview_every`` steps or PREVIEW_SECONDS (and at the end)
    ``preview()`` gives an ``(H, W, 3)`` picture in [0, 1] written to
    ``NAME.previews/iter_N.png``; every ``save_every`` steps or SAVE_SECONDS (and at the end)
    ``save(done)`` writes the checkpoint and the state.

    Ctrl-C or SIGTERM during a step lets the step finish, saves (a state between two steps,
    so the resumed run goes on exactly as an uninterrupted one), reports ``interrupted`` and
    raises KeyboardInterrupt; a second signal stops at once, keeping the last save. Returns
    the iteration reached."""
    import numpy as np

    from .errors import NeuralFXError
    from .frames.images import write_image

    began = last_preview = last_save = time.monotonic()
    saved = start
    with _interrupts_between_steps() as stop:
        for iteration in range(start, iterations):
            losses = step(iteration)
            if not all(np.isfinite(v) for v in losses.values()):
                raise NeuralFXError(
                    f"training diverged at iteration {iteration + 1} (loss {losses['loss']})",
                    hint=diverged_hint,
                )
            done = iteration + 1
            report(
                {
                    "event": "iteration",
                    "iteration": done,
                    **{k: round(v, 6) for k, v in losses.items()},
                }
            )
            now = time.monotonic()
            if (
                done % preview_every == 0
                or done == iterations
                or now - last_preview >= PREVIEW_SECONDS
            ):
                path = preview_dir(out) / f"iter_{done:07d}.png"
                path.parent.mkdir(parents=True, exist_ok=True)
                write_image(str(path), (np.asarray(preview()) * 255 + 0.5).astype(np.uint8))
                report({"event": "preview", "iteration": done, "path": str(path)})
                last_preview = time.monotonic()
            if (
                done % save_every == 0
                or done == iterations
                or stop.is_set()
                or now - last_save >= SAVE_SECONDS
            ):
                save(done)
                saved, last_save = done, time.monotonic()
                report({"event": "checkpoint", "iteration": done, "path": str(out)})
            if stop.is_set() and done < iterations:
                report({"event": "interrupted", "iteration": saved, "path": str(out)})
                raise KeyboardInterrupt
    report(
        {"event": "done", "iteration": iterations, "seconds": round(time.monotonic() - began, 3)}
    )
    return iterations


@contextlib.contextmanager
def _interrupts_between_steps() -> Iterator[threading.Event]:
    """SIGINT and SIGTERM set the event instead of raising (the loop saves and stops after
    the step); a second one raises KeyboardInterrupt. Only in the main thread, where Python
    delivers signals; elsewhere the event never fires and signals behave as before."""
    stop = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return

    def note(signum, frame):
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()

    previous = {sig: signal.signal(sig, note) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def read_state(out: Path, comparable: dict[str, str], settings_hint: str) -> dict:
    """The resumable state saved beside checkpoint ``out``, checked: one that cannot be read
    (damaged, cut short, not written by neuralfx: ``torch.load`` runs no code from it) or that
    was saved by a run with other ``comparable`` settings stops with what to do."""
    import pickle
    import zipfile

    import torch

    from .errors import NeuralFXError

    path = state_path(out)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (
        pickle.UnpicklingError,
        zipfile.BadZipFile,
        RuntimeError,
        EOFError,
        ValueError,
        KeyError,
        AttributeError,
    ) as exc:
        from .host.weights import unreadable_reason

        raise NeuralFXError(
            f"{path} (the state that resumes {out.name}) cannot be read: {unreadable_reason(exc)}",
            hint="it is damaged or was not written by neuralfx: "
            "pass --fresh to start over, or restore the file",
        ) from None
    if not isinstance(state, dict) or "iteration" not in state:
        raise NeuralFXError(
            f"{path} is not a neuralfx training state",
            hint="pass --fresh to start over, or restore the file",
        )
    if state.get("config") != comparable:
        raise NeuralFXError(
            f"{out} was trained with other settings ({state.get('config')})",
            hint=f"run with the same {settings_hint} to resume, or pass --fresh to start over",
        )
    return state


def run_command(
    train: Callable,
    cfg,
    *,
    iterations: int,
    device: str,
    progress: str,
    fresh: bool,
    outputs: Iterable[Path],
) -> None:
    """The end of every ``neuralfx train`` command: ``--fresh`` removes ``outputs`` (and the
    state) first; then ``train(cfg, device, report)`` on the chosen device with progress."""
    from .devices import prepare_process, resolve_device

    if fresh:
        for path in outputs:
            if path.exists():
                os.unlink(path)
    report = training_reporter(progress, iterations)
    try:
        target = resolve_device(device)
        prepare_process(target)
        train(cfg, target, report)
    finally:
        report({"event": "close"})


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

    bar = tqdm(
        total=total, unit="it", file=sys.stderr, disable=not (mode == "bar" or sys.stderr.isatty())
    )

    def show(event):
        kind = event["event"]
        if kind == "resume":
            bar.write(f"resuming at iteration {event['iteration']}", file=sys.stderr)
            bar.update(event["iteration"])
        elif kind == "iteration":
            bar.update(1)
            bar.set_postfix(loss=f"{event['loss']:.4g}")
            if bar.disable and event["iteration"] % 100 == 0:
                print(f"iteration {event['iteration']}: loss {event['loss']:.4g}", file=sys.stderr)
        elif kind in ("checkpoint", "preview") and bar.disable:
            print(f"{kind}: {event['path']}", file=sys.stderr)
        elif kind == "interrupted":
            bar.write(
                f"stopped: {event['path']} and its state hold iteration "
                f"{event['iteration']}; run the same command to resume",
                file=sys.stderr,
            )
        elif kind == "warning":
            bar.write(f"warning: {event['message']}", file=sys.stderr)
        elif kind == "close":
            bar.close()

    return show
