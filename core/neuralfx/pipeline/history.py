"""Effects with state: where a run starts so that every output equals an uninterrupted run's.

The contract (docs/plugins.md, "Effects with state"): a ``stateful`` effect's output for frame N
may depend on every earlier frame of the clip. The runner therefore feeds it the frames from
the start of the clip up to the last frame to do, writing only the frames to do, unless it can
start later from a **snapshot**: the tensors of :meth:`Effect.state_dict` saved after some
frame by an earlier run with the same recipe over the same source frames. Snapshots are exact
(float tensors as they were), so a resumed run, or a run over a later sub-range, gives the
same bits as one run over the whole clip.

Why snapshots plus replay, and not a bounded history: painting-style's temporal blend and
Gatys' temporal loss make each output depend on all earlier ones (the influence decays but
never reaches zero in floating point), so no finite replay window is exact, and deriving the
state from written outputs fails for 8-bit or JPEG outputs and for state that is not an image
(Gatys' carried noise). Replay from the clip's start is the fallback that needs nothing from
the effect.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import time
from collections.abc import Mapping

from ..frames.atomic import TEMP_MARK, AtomicFile

#: Save a snapshot at most this often (seconds of processing), and at the end of a run.
SNAPSHOT_SECONDS = 30.0
#: Snapshots kept per recipe: the latest, and older ones spread over the clip (for reruns
#: after frames in the middle were deleted).
MAX_SNAPSHOTS = 6


def source_digests(frames: list[int], fingerprints: Mapping[int, list[int]]) -> dict[int, str]:
    """Frame → digest of the fingerprints of every source frame up to it (a snapshot is only
    valid for the source frames it was made from)."""
    h = hashlib.sha256()
    out = {}
    for f in frames:
        h.update(json.dumps([f, fingerprints.get(f)]).encode())
        out[f] = h.hexdigest()[:16]
    return out


class SnapshotStore:
    """Snapshots of one recipe's effect state, in a hidden folder beside the outputs:
    ``RECIPE.FRAME.safetensors``, each stating the source digest it was made from."""

    def __init__(self, directory: str, recipe: str, digests: Mapping[int, str]) -> None:
        self.directory = directory
        self.recipe = recipe
        self.digests = digests
        self._last_save = time.monotonic()
        self._name = re.compile(r"^([0-9a-f]{16})\.(-?\d+)\.safetensors$")

    def _snapshots(self) -> dict[str, list[int]]:
        found: dict[str, list[int]] = {}
        try:
            entries = os.listdir(self.directory)
        except OSError:
            return found
        for e in entries:
            m = self._name.match(e)
            if m:
                found.setdefault(m.group(1), []).append(int(m.group(2)))
        return {k: sorted(v) for k, v in found.items()}

    def _path(self, frame: int, recipe: str | None = None) -> str:
        return os.path.join(self.directory, f"{recipe or self.recipe}.{frame}.safetensors")

    def latest_before(self, frame: int) -> tuple[int, dict] | None:
        """The valid snapshot taken after the latest frame before ``frame``, loaded on the CPU."""
        from safetensors import safe_open

        for f in reversed(self._snapshots().get(self.recipe, [])):
            if f >= frame or f not in self.digests:
                continue
            path = self._path(f)
            try:
                with safe_open(path, framework="pt") as sf:
                    if (sf.metadata() or {}).get("sources") != self.digests[f]:
                        continue
                    return f, {k: sf.get_tensor(k) for k in sf.keys()}
            except Exception:  # an unreadable snapshot only costs a longer replay
                continue
        return None

    def due(self) -> bool:
        return time.monotonic() - self._last_save >= SNAPSHOT_SECONDS

    def save(self, frame: int, state: Mapping) -> None:
        """Write the state after ``frame`` atomically, then prune old snapshots."""
        from safetensors.torch import save_file

        os.makedirs(self.directory, exist_ok=True)
        target = AtomicFile(self._path(frame))
        try:
            save_file(
                {k: v.detach().contiguous().cpu() for k, v in state.items()},
                target.tmp,
                metadata={"sources": self.digests[frame], "frame": str(frame)},
            )
            target.commit()
        except BaseException:
            target.discard()
            raise
        self._last_save = time.monotonic()
        self._prune()

    def _prune(self) -> None:
        frames = self._snapshots().get(self.recipe, [])
        while len(frames) > MAX_SNAPSHOTS:
            # Drop the snapshot (never the latest) closest to the one before it.
            gaps = [(frames[i] - frames[i - 1], i) for i in range(1, len(frames) - 1)]
            _, i = min(gaps)
            with contextlib.suppress(FileNotFoundError):  # another shard pruned it first
                os.unlink(self._path(frames.pop(i)))

    def forget_other_recipes(self, keep: set[str]) -> None:
        """Remove snapshots of recipes no output is made with any more (and stale temps)."""
        for recipe, frames in self._snapshots().items():
            if recipe not in keep:
                for f in frames:
                    os.unlink(self._path(f, recipe))
        try:
            for e in os.listdir(self.directory):
                if TEMP_MARK in e:
                    os.unlink(os.path.join(self.directory, e))
        except OSError:
            pass
