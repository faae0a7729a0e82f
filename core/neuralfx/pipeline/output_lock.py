"""One writer per output: a run holds a lock beside its outputs from the moment it looks at
what exists until it has finished writing, so two runs never write (or clean up) the same
output at once.

The lock is an OS lock (``flock``) on a hidden file beside the outputs: the kernel drops it
when its process dies, so a run killed with ``kill -9`` leaves nothing to take over by hand.
The file is removed when the run ends, so a folder holds only outputs and their journal; a
run that locked a file another run removed meanwhile (the inode changed) locks again. Beside
it, an owner file says who holds it (host, pid, command, start time), for the message a
refused run gives. Where there is no ``fcntl`` (Windows), ``filelock`` does the locking and the
file stays. The shards of a Ray run write under their driver's lock.
"""

from __future__ import annotations

import datetime
import json
import os
import socket
import sys

from ..errors import OutputError


class OutputLock:
    """The lock of the outputs whose hidden files start with ``base`` (a path without
    suffix, as ``Sink.record_path`` names the journal)."""

    def __init__(self, base: str) -> None:
        self.path, self.owner_path = base + ".neuralfx.lock", base + ".neuralfx.owner"
        self._lock = None

    @property
    def held(self) -> bool:
        return self._lock is not None

    def acquire(self, output: str, wait: bool) -> None:
        """Take the lock, or raise OutputError naming the run that holds it (``wait``:
        block until that run ends)."""
        if self.held:
            return
        try:
            lock = _take(self.path, wait)
        except BlockingIOError:
            raise OutputError(
                f"{output} is being written by another run ({self._owner()})",
                hint="wait for it to end, pass --wait to start when it does, "
                "or write to another output",
            ) from None
        except OSError as exc:
            raise OutputError(
                f"{output}: cannot lock it ({self.path}: {exc.strerror or exc})",
                hint="check that the output folder is writable",
            ) from None
        self._lock = lock
        owner = {
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "command": " ".join(sys.argv),
            "since": datetime.datetime.now().isoformat(timespec="seconds"),
        }
        temp = f"{self.owner_path}.{os.getpid()}.tmp"
        try:
            with open(temp, "w", encoding="utf-8") as f:
                json.dump(owner, f)
            os.replace(temp, self.owner_path)
        except OSError:
            pass  # the owner file only words the message; the lock is what counts

    def release(self) -> None:
        if self._lock is None:
            return
        ours = isinstance(self._lock, int)  # a descriptor of our own: the file can go
        for path in (self.owner_path, self.path) if ours else (self.owner_path,):
            try:
                os.unlink(path)  # still holding the lock: no other run can be using it
            except OSError:
                pass
        if ours:
            os.close(self._lock)  # and with it the flock
        else:
            self._lock.release()
        self._lock = None

    def _owner(self) -> str:
        try:
            with open(self.owner_path, encoding="utf-8") as f:
                owner = json.load(f)
            return (
                f"pid {owner['pid']} on {owner['host']} since {owner['since']}: {owner['command']}"
            )
        except (OSError, ValueError, KeyError):
            return "its details are not readable"


def _take(path: str, wait: bool):
    """The held lock of ``path``: an open descriptor with ``flock`` on it (or a ``filelock``
    where there is no ``fcntl``). BlockingIOError when another process holds it."""
    try:
        import fcntl
    except ImportError:
        from filelock import FileLock, Timeout

        lock = FileLock(path, timeout=-1 if wait else 0)
        try:
            lock.acquire()
        except Timeout:
            raise BlockingIOError(path) from None
        return lock
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
            try:
                same = os.stat(path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:
                return fd
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)  # the run before removed the file while we waited: lock the new one
