"""Atomic file writes: write under a temporary name in the target folder, then rename.

A reader (or a resumed run) therefore sees either the complete old file, the complete new one,
or nothing; never a truncated frame. The temporary name starts with a dot and keeps the
suffix, so encoders that choose the format by suffix still work and sequence patterns never
match it.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Callable, Iterator

TEMP_MARK = ".neuralfx-tmp-"


def _umask() -> int:
    mask = os.umask(0o022)  # read it (there is no other way), then put it back
    os.umask(mask)
    return mask


#: The mode a new file gets under this process's umask (read once, at import).
FILE_MODE = 0o666 & ~_umask()


class AtomicFile:
    """A temporary path (:attr:`tmp`) that :meth:`commit` renames onto :attr:`path`."""

    def __init__(self, path: str) -> None:
        directory, name = os.path.split(path)
        suffix = os.path.splitext(name)[1]
        self.path = path
        self.tmp = os.path.join(directory, f".{name}{TEMP_MARK}{secrets.token_hex(4)}{suffix}")

    def commit(self) -> None:
        # Some writers (safetensors) make files only their owner can read; outputs,
        # checkpoints and caches are for the whole farm: the mode the umask gives.
        with contextlib.suppress(OSError):
            os.chmod(self.tmp, FILE_MODE)
        os.replace(self.tmp, self.path)

    def discard(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.tmp)


@contextlib.contextmanager
def atomic_path(path: str, before_commit: Callable[[str], None] | None = None) -> Iterator[str]:
    """Yield a temporary path to write; on success it replaces ``path`` (after
    ``before_commit(tmp)``, e.g. recording it), on error it is removed."""
    target = AtomicFile(path)
    try:
        yield target.tmp
        if before_commit is not None:
            before_commit(target.tmp)
        target.commit()
    except BaseException:
        target.discard()
        raise


def write_text_atomic(path: str, text: str) -> None:
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
