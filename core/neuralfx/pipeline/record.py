"""The resume record: how every output frame of a sequence was made.

A run writes a hidden journal beside its outputs (``.o.#.png.neuralfx.jsonl``), one JSON
object per line:

* ``{"recipe": ID, "made_with": {...}}`` once per way of making frames: the input's path, the
  effect and the version of the distribution providing it, its settings, the content hashes of
  the files it reads (style images, checkpoints) and the output options;
* ``{"frame": 1001, "recipe": ID, "source": [size, mtime_ns], "output": [size, mtime_ns]}``
  per written frame, appended *before* the frame's file is renamed into place.

So whatever kills a run, every output file NeuralFX made has a line whose output fingerprint
matches it (mtime and size survive the rename). A file that matches no line was made by hand,
by another tool, or changed since; a line whose file is gone is ignored. Appends are O(1) per
frame; the journal is compacted (rewritten atomically with only the lines that still match a
file) when a run starts writing.

A run split into shards (the Ray executor) has its actors append to journal parts of their own
(``.o.#.png.neuralfx.shard-2.jsonl``), since appends from several machines to one file on
shared storage are not atomic. Loading reads the journal and its parts; compacting merges the
parts into the journal.
"""

from __future__ import annotations

import contextlib
import dataclasses
import glob
import hashlib
import json
import os
import threading
from collections.abc import Iterable, Mapping
from typing import Any

from ..errors import OutputError
from ..frames.atomic import write_text_atomic
from ..frames.io import RECORD_SUFFIX  # noqa: F401  (the output paths are made there)


def fingerprint(path: str) -> list[int]:
    """A cheap identity of a file's content: ``[size, mtime_ns]``."""
    st = os.stat(path)
    return [st.st_size, st.st_mtime_ns]


def file_digest(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def recipe_id(recipe: Mapping[str, Any]) -> str:
    text = json.dumps(recipe, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def flatten(record: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in record.items():
        if isinstance(value, Mapping):
            out.update(flatten(value, f"{prefix}{key}."))
        else:
            out[prefix + key] = value
    return out


def describe_changes(before: Mapping[str, Any], now: Mapping[str, Any], limit: int = 4) -> str:
    """``"settings.strength: 1.0 -> 0.5; output.depth: '16' -> 'auto'"``: what differs."""
    a, b = flatten(before), flatten(now)
    changes = []
    for key in sorted(set(a) | set(b)):
        if a.get(key) != b.get(key):
            if key.startswith("files."):
                what = (
                    "changed"
                    if key in a and key in b
                    else ("added" if key in b else "no longer used")
                )
                changes.append(f"file {key[6:]} {what}")
            else:
                changes.append(f"{key}: {a.get(key)!r} -> {b.get(key)!r}")
    if not changes:
        return "made by another run"
    return "; ".join(changes[:limit]) + ("; …" if len(changes) > limit else "")


@dataclasses.dataclass(frozen=True)
class FrameEntry:
    frame: int
    recipe: str
    source: list[int] | None
    output: list[int]


class ResumeRecord:
    """The journal of one output sequence (see the module doc)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.recipes: dict[str, dict[str, Any]] = {}
        self.entries: dict[int, list[FrameEntry]] = {}
        self._lock = threading.Lock()
        self._file = None

    def part_path(self, shard: str) -> str:
        return self.path[: -len(".jsonl")] + f".{shard}.jsonl"

    def parts(self) -> list[str]:
        return sorted(glob.glob(glob.escape(self.path[: -len(".jsonl")]) + ".shard-*.jsonl"))

    @classmethod
    def load(cls, path: str) -> ResumeRecord:
        record = cls(path)
        lines: list[str] = []
        for name in [path] + record.parts():
            try:
                with open(name, encoding="utf-8") as f:
                    lines += f.read().splitlines()
            except OSError:
                continue
        for line in lines:
            try:
                item = json.loads(line)
            except ValueError:  # a line cut short by a kill: the frame it names is not there
                continue
            if "made_with" in item:
                record.recipes[item["recipe"]] = item["made_with"]
            elif "frame" in item:
                entry = FrameEntry(
                    int(item["frame"]), item["recipe"], item.get("source"), item["output"]
                )
                record.entries.setdefault(entry.frame, []).append(entry)
        return record

    def made_by(self, frame: int, output_path: str) -> FrameEntry | None:
        """The entry that made the file now at ``output_path``, or None if none did."""
        try:
            now = fingerprint(output_path)
        except OSError:
            return None
        return next(
            (
                e
                for e in reversed(self.entries.get(frame, []))
                if e.output == now and e.recipe in self.recipes
            ),
            None,
        )

    # -- writing (from the run's encode workers) ----------------------------------------------
    def start(self, recipe_id_: str, recipe: Mapping[str, Any], keep: Iterable[FrameEntry]) -> None:
        """Compact to ``keep`` (the entries of outputs that stay) plus ``recipe``, then open
        the journal for appending."""
        kept = list(keep)
        recipes = {e.recipe for e in kept} | {recipe_id_}
        self.recipes = {k: v for k, v in self.recipes.items() if k in recipes}
        self.recipes[recipe_id_] = dict(recipe)
        self.entries = {}
        for e in kept:
            self.entries.setdefault(e.frame, []).append(e)
        lines = [json.dumps({"recipe": k, "made_with": v}) for k, v in self.recipes.items()]
        lines += [json.dumps(dataclasses.asdict(e)) for e in kept]
        try:
            write_text_atomic(self.path, "".join(line + "\n" for line in lines))
            for part in self.parts():  # merged above
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(part)
            self._file = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 (see close())
        except OSError as exc:
            raise OutputError(
                f"the resume record {self.path} cannot be written: {exc.strerror or exc}",
                hint="free space on that disk or make "
                "the folder writable, then run again (the outputs already there "
                "are untouched; the record as it was is kept)",
            ) from None

    def start_part(self, shard: str) -> None:
        """Open this shard's journal part for appending (the driver has compacted and written
        the recipe into the journal)."""
        self._file = open(self.part_path(shard), "a", encoding="utf-8")  # noqa: SIM115

    def add(self, frame: int, recipe: str, source: list[int] | None, output_tmp: str) -> None:
        """Record ``frame`` as about to be renamed from ``output_tmp`` into place."""
        entry = FrameEntry(frame, recipe, source, fingerprint(output_tmp))
        line = json.dumps(dataclasses.asdict(entry)) + "\n"
        with self._lock:
            assert self._file is not None, "start() the record before adding frames"
            self._file.write(line)
            self._file.flush()
            self.entries.setdefault(frame, []).append(entry)

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None
