"""The process bridge: everything the add-on asks of NeuralFX goes through its command line.

No ``bpy`` here, and no torch anywhere in the add-on: Blender's Python is not NeuralFX's, so the
add-on runs the ``neuralfx`` program (or ``python -m neuralfx`` when the artist points it at a
Python interpreter) in a subprocess. The one quick question (``describe --all --json``:
version, effects, schemas, plugin failures) answers without importing torch. A run streams
JSON lines (``--progress json``) that a reader thread puts on a queue; only Blender's main
thread, in a timer, turns them into Blender data.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass, field

QUERY_TIMEOUT = 60  # seconds; describing answers in ~0.1 s, but a cold disk can be slow
INSTALL_HINT = (
    "install NeuralFX (docs/blender.md) and set the path to its `neuralfx` program "
    "in Edit > Preferences > Add-ons > NeuralFX"
)


class BridgeError(Exception):
    """Something an artist can act on: ``message`` says what is wrong, ``hint`` what to do."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message, self.hint = message, hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


def command_prefix(setting: str) -> list[str]:
    """The argv that starts NeuralFX: ``setting`` is a path to the ``neuralfx`` program or to a
    Python interpreter that has NeuralFX installed; empty means ``neuralfx`` on PATH."""
    path = os.path.expanduser(setting.strip()) if setting else ""
    if not path:
        found = shutil.which("neuralfx")
        if not found:
            raise BridgeError("NeuralFX was not found on PATH", INSTALL_HINT)
        return [found]
    if os.path.isdir(path):
        raise BridgeError(
            f"{path} is a folder, not the neuralfx program",
            "choose the file `neuralfx` inside the environment's bin (Scripts on Windows) folder",
        )
    if not os.path.exists(path):
        raise BridgeError(f"{path} does not exist", INSTALL_HINT)
    if not os.access(path, os.X_OK):
        raise BridgeError(
            f"{path} is not executable",
            f"make it executable (chmod +x {path}) or choose the neuralfx program",
        )
    if os.path.basename(path).lower().startswith("python"):
        return [path, "-m", "neuralfx"]
    return [path]


def _environment() -> dict[str, str]:
    # Blender may set PYTHONHOME for its own interpreter; NeuralFX's must not inherit it.
    env = dict(os.environ)
    env.pop("PYTHONHOME", None)
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def query(setting: str, *args: str) -> str:
    """Run a quick NeuralFX command and return its stdout; failures become BridgeErrors."""
    argv = command_prefix(setting) + list(args)
    try:
        done = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            timeout=QUERY_TIMEOUT,
            env=_environment(),
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except OSError as exc:
        raise BridgeError(f"cannot start {argv[0]}: {exc.strerror or exc}", INSTALL_HINT) from None
    except subprocess.TimeoutExpired:
        raise BridgeError(
            f"`{' '.join(args)}` did not answer in {QUERY_TIMEOUT} s",
            "run it in a terminal to see why",
        ) from None
    if done.returncode != 0:
        raise BridgeError(
            _last_lines(done.stderr or done.stdout)
            or f"`neuralfx {' '.join(args)}` failed (exit {done.returncode})",
            "run the same command in a terminal to see the whole message",
        )
    return done.stdout


def query_json(setting: str, *args: str):
    text = query(setting, *args)
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        raise BridgeError(
            f"`neuralfx {' '.join(args)}` did not print JSON: {text[:200]!r}",
            "the program set in the preferences may not be NeuralFX",
        ) from None


def _last_lines(text: str, n: int = 3) -> str:
    return "\n".join(line for line in text.strip().splitlines()[-n:])


@dataclass
class Connection:
    """What "Test connection" and "Refresh" found: the version, the effects with their
    descriptions (``describe`` JSON by name) and the plugins that failed to load."""

    version: str
    effects: list[dict]
    plugin_errors: list[dict]
    descriptions: dict[str, dict] = field(default_factory=dict)

    def summary(self) -> str:
        names = ", ".join(e["name"] for e in self.effects) or "none"
        return f"NeuralFX {self.version}; effects: {names}"


def check_connection(setting: str) -> Connection:
    """Everything the panel needs, from one ``describe --all --json`` (about 0.2 s; a slow
    plugin can make it seconds, so the panel asks from a thread), or a BridgeError saying what
    is wrong. Safe off Blender's main thread: no bpy."""
    data = query_json(setting, "describe", "--all", "--json")
    try:
        return Connection(
            data["version"], data["effects"], data.get("plugin_errors", []), data["descriptions"]
        )
    except (KeyError, TypeError):
        raise BridgeError(
            "this NeuralFX does not describe its effects as the add-on expects",
            "install the NeuralFX release the add-on came with",
        ) from None


@dataclass
class Process:
    """One ``neuralfx run`` in a subprocess. Its JSON events arrive on :attr:`events` from a
    reader thread; stderr is kept for a failure without an error event."""

    argv: list[str]
    events: queue.Queue = field(default_factory=queue.Queue)
    stderr_tail: list[str] = field(default_factory=list)

    def start(self) -> None:
        flags = subprocess.CREATE_NEW_PROCESS_GROUP if sys.platform == "win32" else 0
        try:
            self.popen = subprocess.Popen(  # noqa: S603 - argv from the artist's own settings
                self.argv,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                stdin=subprocess.DEVNULL,
                text=True,
                bufsize=1,
                env=_environment(),
                creationflags=flags,
            )
        except OSError as exc:
            raise BridgeError(
                f"cannot start {self.argv[0]}: {exc.strerror or exc}", INSTALL_HINT
            ) from None
        threading.Thread(target=self._read_events, daemon=True).start()
        threading.Thread(target=self._read_stderr, daemon=True).start()

    def _read_events(self) -> None:
        for line in self.popen.stdout:
            line = line.strip()
            if not line.startswith("{"):
                continue
            try:
                self.events.put(json.loads(line))
            except json.JSONDecodeError:
                continue
        self.popen.stdout.close()
        self.events.put({"event": "exit", "returncode": self.popen.wait()})

    def _read_stderr(self) -> None:
        for line in self.popen.stderr:
            self.stderr_tail = (self.stderr_tail + [line.rstrip()])[-20:]
        self.popen.stderr.close()

    def cancel(self) -> None:
        """Ask the run to stop as Ctrl-C would: it finishes the frame being written (writes are
        atomic) and exits, so finished frames stay and a rerun resumes."""
        if self.popen.poll() is not None:
            return
        if sys.platform == "win32":
            self.popen.send_signal(signal.CTRL_BREAK_EVENT)
        else:
            self.popen.send_signal(signal.SIGINT)

    def kill(self) -> None:
        if self.popen.poll() is None:
            self.popen.kill()


@dataclass
class Worker:
    """A warm ``neuralfx serve`` (docs/serve.md): started once, it answers request after
    request without paying for Python and torch again. Its events (each with its request's
    ``id``) arrive on :attr:`events` from a reader thread, or on the queue a request was sent
    with (a run's: :class:`WorkerRun`)."""

    setting: str
    events: queue.Queue = field(default_factory=queue.Queue)
    next_id: int = 0
    _routes: dict = field(default_factory=dict)

    def start(self) -> None:
        argv = command_prefix(self.setting) + ["serve"]
        flags = subprocess.CREATE_NEW_PROCESS_GROUP if sys.platform == "win32" else 0
        try:
            self.popen = subprocess.Popen(  # noqa: S603 - argv from the artist's own settings
                argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
                bufsize=1,
                env=_environment(),
                creationflags=flags,
            )
        except OSError as exc:
            raise BridgeError(
                f"cannot start {argv[0]}: {exc.strerror or exc}", INSTALL_HINT
            ) from None
        threading.Thread(target=self._read, daemon=True).start()

    @property
    def alive(self) -> bool:
        return hasattr(self, "popen") and self.popen.poll() is None

    def send(self, request: dict, route: queue.Queue | None = None) -> int:
        """Queue a request; returns the id its events will carry. ``route``: the queue its
        events go to (else :attr:`events`); after its ``end``, an ``exit`` event with the
        run's exit status follows there, as a :class:`Process` ends."""
        self.next_id += 1
        if route is not None:
            self._routes[self.next_id] = route
        try:
            self.popen.stdin.write(json.dumps({**request, "id": self.next_id}) + "\n")
            self.popen.stdin.flush()
        except OSError:
            raise BridgeError(
                "the NeuralFX worker stopped", "press Preview again to start a new one"
            ) from None
        return self.next_id

    def _read(self) -> None:
        for line in self.popen.stdout:
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                continue
            route = self._routes.get(event.get("id")) if isinstance(event, dict) else None
            if route is None:
                self.events.put(event)
                continue
            route.put(event)
            if event.get("event") == "end":
                del self._routes[event["id"]]
                route.put(
                    {"event": "exit", "returncode": event.get("code", 0 if event.get("ok") else 1)}
                )
        self.popen.stdout.close()
        code = self.popen.wait()
        for route in list(self._routes.values()):  # the worker died under a run
            route.put({"event": "exit", "returncode": code or 1})
        self._routes.clear()

    def interrupt(self) -> None:
        """Stop the request being run, as Ctrl-C stops ``neuralfx run``; the worker goes on."""
        if self.alive:
            self.popen.send_signal(
                signal.CTRL_BREAK_EVENT if sys.platform == "win32" else signal.SIGINT
            )

    def kill(self) -> None:
        if self.alive:
            self.popen.kill()

    def stop(self) -> None:
        if self.alive:
            self.popen.stdin.close()
            try:
                self.popen.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.popen.kill()


@dataclass
class WorkerRun:
    """A ``neuralfx run`` done by the warm worker instead of a new process (no start-up
    before its first frame): the same argv (without the program), the same events, the same
    ``exit`` at the end, so the job queue treats it as a :class:`Process`."""

    worker: Worker
    args: list[str]  # ["run", EFFECT, ...]
    events: queue.Queue = field(default_factory=queue.Queue)
    stderr_tail: list[str] = field(default_factory=list)

    def start(self) -> None:
        self.worker.send({"argv": self.args}, route=self.events)

    def cancel(self) -> None:
        self.worker.interrupt()

    def kill(self) -> None:
        self.worker.kill()


_SHARED: Worker | None = None


def shared_worker(setting: str) -> Worker:
    """The add-on's one warm worker (previews and runs), started or restarted as needed."""
    global _SHARED
    if _SHARED is None or not _SHARED.alive or _SHARED.setting != setting:
        if _SHARED is not None:
            _SHARED.stop()
        _SHARED = Worker(setting)
        _SHARED.start()
    return _SHARED


def current_worker() -> Worker | None:
    return _SHARED


def stop_shared_worker() -> None:
    global _SHARED
    if _SHARED is not None:
        _SHARED.stop()
        _SHARED = None
