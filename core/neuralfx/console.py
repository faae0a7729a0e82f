"""The ``neuralfx`` console script: signals first, then the CLI.

SIGINT and SIGTERM (Blender's cancel, a render-farm kill) stop a run the same way at any moment,
including while torch is still being imported and after the work is done: the first one raises
``KeyboardInterrupt`` (the runner keeps only complete outputs) and the process exits with 130;
later ones are only noted, so the clean-up they would otherwise interrupt can finish. The
process then ends with ``os._exit``: Python's own shutdown restores the default handlers and
tears torch down for a noticeable moment, during which a signal would end it with 143. Every
output is complete and closed by then (the runner's clean-up has run), and stdio is flushed.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
import sys
import threading
import time

from .openmp import choose_waiting

INTERRUPTED_EXIT = 130
_SIGNALS = (signal.SIGINT, signal.SIGTERM)
_stopped = False
#: The signal :func:`_stop` turned into ``KeyboardInterrupt``, until it is known to have landed.
_raised_for: int | None = None


def _stop(signum, frame):
    global _stopped, _raised_for
    if _in_native_start_up() or _in_import_locks(frame):
        _deliver_again(signum)
        return
    _stopped = True
    _raised_for = signum
    for sig in _SIGNALS:
        signal.signal(sig, _already_stopping)
    raise KeyboardInterrupt


#: importlib's module locks and their weakref callbacks live in this frozen module. An
#: exception raised there is swallowed ("Exception ignored in ... _get_module_lock") or leaves
#: the global import lock held, and the next import in another thread (the runner's reader)
#: then waits forever: seen as a run that hung after Ctrl-C during start-up.
_IMPORT_LOCKS = "<frozen importlib._bootstrap>"


def _in_import_locks(frame) -> bool:
    return frame is not None and frame.f_code.co_filename == _IMPORT_LOCKS


def _on_unraisable(unraisable) -> None:
    """The stop was raised in a callback whose exceptions Python only prints (a ``__del__``,
    a weakref callback): the run would go on. The signal is delivered again, outside it."""
    global _stopped, _raised_for
    ours = isinstance(unraisable.exc_value, KeyboardInterrupt) and _raised_for is not None
    if ours and threading.current_thread() is threading.main_thread():
        signum, _raised_for = _raised_for, None
        _stopped = False
        install_signal_handlers()
        _deliver_again(signum)  # not from here: the handler would raise inside this hook
        return
    _previous_unraisablehook(unraisable)


_previous_unraisablehook = sys.unraisablehook


#: Packages whose import runs C++ start-up code that calls back into Python: an exception
#: raised there (KeyboardInterrupt from a signal) aborts the process ("Fatal Python error:
#: Aborted", seen with SIGTERM during torch.distributed's initialisation).
_NATIVE_START_UP = ("torch", "torchvision")


#: Above zero while a block of native imports is under way (see :func:`deferring_signals`).
_deferring = 0


@contextlib.contextmanager
def deferring_signals():
    """A signal inside the block is delivered once it ends: for steps that must not stop
    halfway, the imports a run starts with (torch, OpenEXR, OpenCV, PyAV...), whose C start-up
    code turns an exception raised in a callback into its own failure ("initialization
    failed") instead of the interruption, and the stderr tap's set-up."""
    global _deferring
    _deferring += 1
    try:
        yield
    finally:
        _deferring -= 1


def _in_native_start_up() -> bool:
    return _deferring > 0 or any(
        getattr(getattr(sys.modules.get(name), "__spec__", None), "_initializing", False)
        for name in _NATIVE_START_UP
    )


def _deliver_again(signum: int) -> None:
    """Deliver ``signum`` again in a moment, once the native import under way has finished."""

    def wait() -> None:
        time.sleep(0.005)  # out of importlib's locks by then, or deferred once more
        while _in_native_start_up():
            time.sleep(0.01)
        os.kill(os.getpid(), signum)

    threading.Thread(target=wait, name="neuralfx-signal", daemon=True).start()


def _already_stopping(signum, frame):
    """A second signal while stopping: the clean-up goes on (it only takes a moment)."""
    global _stopped
    _stopped = True


def install_signal_handlers() -> None:
    global _previous_unraisablehook
    for sig in _SIGNALS:
        signal.signal(sig, _stop)
    if sys.unraisablehook is not _on_unraisable:  # the hook in place goes on for the rest
        _previous_unraisablehook, sys.unraisablehook = sys.unraisablehook, _on_unraisable


def rearm() -> None:
    """After a stop that did not end the process (``neuralfx serve`` cancelling one run):
    the next signal stops the next run again, and the process does not exit with 130."""
    global _stopped, _raised_for
    _stopped = False
    _raised_for = None
    install_signal_handlers()


def raised_without_a_signal(exc: BaseException) -> bool:
    """Whether ``KeyboardInterrupt`` ``exc`` was raised by code (a plugin's import, say)
    rather than by Ctrl-C: only the command, whose handlers note every signal, can tell."""
    handling = signal.getsignal(signal.SIGINT) in (_stop, _already_stopping)
    return isinstance(exc, KeyboardInterrupt) and handling and not _stopped


def started_as_the_command() -> bool:
    """Whether this process is the ``neuralfx`` command (the console script, or
    ``python -m neuralfx``), as opposed to a program that imports the package."""
    argv = getattr(sys, "argv", None)  # embedded interpreters may have none
    name = os.path.basename(argv[0]) if argv else ""
    if name in ("neuralfx", "neuralfx.exe"):
        return True
    orig = getattr(sys, "orig_argv", [])
    return name == "-m" and ("-m", "neuralfx") in itertools.pairwise(orig)


def note_early_signals() -> None:
    """Called by the package's ``__init__`` when this process is the command, before the
    package's own modules load (about 0.1 s after Python starts): a signal that arrives before
    :func:`main` runs is only noted, and :func:`main` then exits with 130 at once. Raising
    there would end the import with a traceback (Blender's cancel can come that early)."""
    for sig in _SIGNALS:
        signal.signal(sig, _already_stopping)


def verbose(argv: list[str]) -> bool:
    """``--verbose`` or NEURALFX_VERBOSE=1: native libraries' own stderr lines are shown."""
    return "--verbose" in argv or os.environ.get("NEURALFX_VERBOSE", "") not in ("", "0")


def main() -> None:
    global _raised_for
    choose_waiting()  # before torch loads OpenMP
    from .native_stderr import TAP

    code: object = 0
    try:
        install_signal_handlers()
        if _stopped:  # a signal noted while the package was loading
            raise KeyboardInterrupt
        if not verbose(sys.argv[1:]):
            with deferring_signals():  # half a tap would leave stderr in a pipe
                TAP.start()
        from .cli import cli

        cli()
    except KeyboardInterrupt:
        _raised_for = None  # it landed
        print("interrupted", file=sys.stderr)
        code = INTERRUPTED_EXIT
    except SystemExit as exc:
        code = exc.code
    finally:
        for sig in _SIGNALS:
            signal.signal(sig, _already_stopping)
    if isinstance(code, str):  # sys.exit("message")
        print(code, file=sys.stderr)
        code = 1
    code = int(code or 0)
    if _stopped and code != INTERRUPTED_EXIT:
        if code == 0:
            print(
                "interrupted (after the work was done: every output is complete)", file=sys.stderr
            )
        code = INTERRUPTED_EXIT
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe: nothing more can be said
            pass
    TAP.stop()
    os._exit(code)
