"""Numbered image sequences: patterns, frame ranges and discovery on disk.

Patterns name one file per frame number:

* ``shot.####.exr`` or ``shot.@@@@.exr`` — each ``#`` or ``@`` is one digit of zero padding
  (Nuke/RV convention): frame 7 is ``shot.0007.exr``;
* ``shot.%04d.exr`` (printf style; ``%d`` for no padding);
* ``shot.*.exr`` — a glob, inputs only: the frame number is the last run of digits in the name.

Frame ranges: ``1001-1100``, ``1001-1100x2`` (every second frame), ``1,5,9-12``.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import os
import re
from pathlib import Path

from ..errors import FrameError, ParameterError

_HASHES = re.compile(r"(#+|@+)")
_PRINTF = re.compile(r"%(0?)(\d*)d")
_GLOB = re.compile(r"[*?\[]")
_LAST_DIGITS = re.compile(r"(-?\d+)(?!.*\d)")


@dataclasses.dataclass(frozen=True)
class FramePattern:
    """A pattern with one frame-number field: ``prefix`` + number padded to ``padding`` +
    ``suffix``. ``padding`` 0 means no padding."""

    prefix: str
    padding: int
    suffix: str

    @classmethod
    def parse(cls, text: str) -> FramePattern | None:
        """The pattern in ``text``, or None when ``text`` names a single file."""
        directory, name = os.path.split(text)
        fields = _HASHES.findall(name) + [m.group(0) for m in _PRINTF.finditer(name)]
        if not fields:
            return None
        if len(fields) > 1:
            raise ParameterError(
                f"{text!r} has more than one frame-number field",
                hint="use one field such as #### or %04d",
            )
        m = _HASHES.search(name)
        if m:
            start, end, padding = m.start(), m.end(), len(m.group(0))
        else:
            p = _PRINTF.search(name)
            assert p is not None
            start, end = p.start(), p.end()
            padding = int(p.group(2) or 0)
        return cls(os.path.join(directory, name[:start]), padding, name[end:])

    def path(self, frame: int) -> str:
        sign = "-" if frame < 0 else ""
        return f"{self.prefix}{sign}{abs(frame):0{self.padding}d}{self.suffix}"

    @property
    def directory(self) -> str:
        return os.path.dirname(self.prefix) or "."

    def find(self) -> dict[int, str]:
        """Frame number → path of every existing file that matches the pattern."""
        base = os.path.basename(self.prefix)
        digits = r"\d+" if self.padding == 0 else r"\d{%d,}" % self.padding
        regex = re.compile(
            "^" + re.escape(base) + "(-?" + digits + ")" + re.escape(self.suffix) + "$"
        )
        found: dict[int, str] = {}
        for entry in _listdir(self.directory):
            m = regex.match(entry)
            if not m:
                continue
            digits_found = m.group(1).lstrip("-")
            # Longer than the padding is fine for big numbers (10000 for ####), but a longer
            # zero-padded number belongs to another padding ("01001" is not "####").
            if self.padding and len(digits_found) > self.padding and digits_found[0] == "0":
                continue
            found[int(m.group(1))] = (
                os.path.join(self.directory, entry) if os.path.dirname(self.prefix) else entry
            )
        return found


def _listdir(directory: str) -> list[str]:
    try:
        return sorted(os.listdir(directory))
    except FileNotFoundError:
        raise FrameError(
            f"input folder {directory!r} does not exist", hint="check the input path"
        ) from None
    except NotADirectoryError:
        raise FrameError(f"{directory!r} is not a folder", hint="check the input path") from None


def is_glob(text: str) -> bool:
    return bool(_GLOB.search(os.path.basename(text)))


def find_glob(text: str) -> dict[int, str]:
    """Frame number → path for files matching a glob; the number is the name's last digits."""
    directory = os.path.dirname(text) or "."
    found: dict[int, str] = {}
    for entry in _listdir(directory):
        if not fnmatch.fnmatchcase(entry, os.path.basename(text)):
            continue
        m = _LAST_DIGITS.search(Path(entry).stem)
        if not m:
            raise FrameError(
                f"{os.path.join(directory, entry)!r} matches {text!r} but its name "
                "has no frame number",
                hint="use a pattern such as shot.####.png",
            )
        number = int(m.group(1))
        path = os.path.join(directory, entry) if os.path.dirname(text) else entry
        if number in found:
            raise FrameError(
                f"{found[number]!r} and {path!r} both look like frame {number}",
                hint="use a pattern with #### that matches one of them",
            )
        found[number] = path
    return found


def parse_frame_range(text: str) -> list[int]:
    """``"1001-1100"``, ``"1-10x2"``, ``"1,5,9-12"`` → sorted frame numbers."""
    frames: set[int] = set()
    for part in text.replace(" ", "").split(","):
        m = re.fullmatch(r"(-?\d+)(?:-(-?\d+)(?:x(\d+))?)?", part)
        if not m:
            raise ParameterError(
                f"frames: {part!r} is not a frame range",
                hint="write ranges as 1001-1100, 1-10x2 or 1,5,9-12",
            )
        first = int(m.group(1))
        last = int(m.group(2)) if m.group(2) is not None else first
        step = int(m.group(3) or 1)
        if last < first or step < 1:
            raise ParameterError(
                f"frames: {part!r} is empty", hint="write first-last, first <= last"
            )
        frames.update(range(first, last + 1, step))
    return sorted(frames)


def find_gaps(frames: list[int]) -> list[int]:
    """Frame numbers missing between the first and last of ``frames`` (sorted)."""
    if not frames:
        return []
    present = set(frames)
    return [f for f in range(frames[0], frames[-1] + 1) if f not in present]


def describe_frames(frames: list[int], limit: int = 6) -> str:
    """``[1, 2, 3, 7]`` → ``"1-3, 7"`` (for messages)."""
    runs: list[str] = []
    i = 0
    while i < len(frames):
        j = i
        while j + 1 < len(frames) and frames[j + 1] == frames[j] + 1:
            j += 1
        runs.append(str(frames[i]) if i == j else f"{frames[i]}-{frames[j]}")
        i = j + 1
    text = ", ".join(runs[:limit])
    return text + (f" and {len(runs) - limit} more" if len(runs) > limit else "")
