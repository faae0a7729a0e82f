"""Tracking faces across frames: stable ids that follow the person, smoothed landmarks.

Detections are matched to tracks by box overlap (greedy, best overlap first). A track the
detector misses is held for ``hold`` frames at its last smoothed landmarks, so a face is not
dropped for a frame of motion blur; landmarks go through a One Euro filter
(:mod:`neuralfx.smoothing`) driven by the face's speed: a still face is smoothed hard, so its
crop does not jitter with the detector's sub-pixel noise, and a moving face follows with
little lag.

Given the frame (``update(detections, image)``), the tracker also knows who it follows
(:mod:`neuralfx.faces.identity`):

* a held face is kept only while its place still looks like the face when last detected;
* a face whose look jumps between frames (a cut to another shot, where someone else stands
  where the face was) keeps its id only if dlib's descriptor says it is the same person;
  otherwise the track ends there and the new face gets an id of its own;
* an ended track is remembered for ``remember`` frames with its descriptor: the same person
  found again (after a blink, a turn away, an occluder, a cut back) gets the same id back.

Without the frame, matching is by overlap only. Every decision is made frame by frame, in
order, from that frame alone, so batches, resumes and chunks give the same ids; the state is a
few arrays (:meth:`FaceTracker.state_dict`).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch

from ..smoothing import one_euro_step
from . import identity
from .detect import Detection

#: a held face whose place changed by more than this (look_change) is gone
HELD_LOOK_CHANGE = 0.08
#: a detected face whose look changed by more than this since the last frame is checked
LOOK_JUMP = 0.08


@dataclasses.dataclass
class TrackedFace:
    """A face in one frame: its track ``id``, smoothed ``landmarks`` (68, 2), its ``box`` and
    whether the detector missed it in this frame (``held``)."""

    id: int
    landmarks: np.ndarray
    box: tuple[float, float, float, float]
    held: bool = False
    #: the tracker checked it against the frame (who it is, whether a held face is there)
    looked: bool = False


def iou(a, b) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


class _Frame:
    """One frame's detections with their looks and (made when asked) descriptors."""

    def __init__(self, detections: list[Detection], image: np.ndarray | None) -> None:
        self.detections, self.image = detections, image
        self.looks = (
            None if image is None else [identity.look(image, d.landmarks) for d in detections]
        )
        self._descriptors: dict[int, np.ndarray] = {}

    def descriptor(self, j: int) -> np.ndarray:
        if j not in self._descriptors:
            self._descriptors[j] = identity.descriptor(self.image, self.detections[j].landmarks)
        return self._descriptors[j]


class FaceTracker:
    """``update(detections, image=None) -> [TrackedFace]`` once per frame, in frame order."""

    def __init__(
        self,
        fps: float = 24.0,
        hold: int = 5,
        min_cutoff: float = 0.5,
        beta: float = 0.05,
        min_overlap: float = 0.3,
        remember: float = 10.0,
    ) -> None:
        fps = fps or 24.0
        self.dt = 1.0 / fps
        self.hold, self.min_cutoff, self.beta, self.min_overlap = (
            hold,
            min_cutoff,
            beta,
            min_overlap,
        )
        self.remember = int(round(remember * fps))  # frames an ended track is remembered
        self.next_id = 1
        # id -> [smoothed landmarks (68, 2), smoothed speed (px/s), box, frames missed]
        self.tracks: dict[int, list] = {}
        # id -> the face's look when last detected (identity.look)
        self.looks: dict[int, np.ndarray] = {}
        # id -> the descriptor of the person the track follows (live and ended tracks)
        self.identities: dict[int, np.ndarray] = {}
        # id -> frames since an ended track ended (only tracks with an identity)
        self.ended: dict[int, int] = {}

    def drop(self, face_id: int) -> None:
        """Forget a track altogether (it will not come back)."""
        for table in (self.tracks, self.looks, self.identities, self.ended):
            table.pop(face_id, None)

    def end(self, face_id: int) -> None:
        """End a live track; its person is remembered, to get the id back if found again."""
        self.tracks.pop(face_id, None)
        self.looks.pop(face_id, None)
        if face_id in self.identities:
            self.ended[face_id] = 0

    def _smooth(self, track: list, landmarks: np.ndarray) -> None:
        track[0], track[1] = one_euro_step(
            track[0], track[1], landmarks, self.dt, self.min_cutoff, self.beta
        )

    def _someone_else(self, tid: int, frame: _Frame, j: int) -> bool:
        """Is detection ``j``, where track ``tid`` was, another person? Asked only when its
        look jumped, and answered by the descriptors when the track has one."""
        before = self.looks.get(tid)
        if (
            frame.looks is None
            or before is None
            or identity.look_change(frame.looks[j], before) <= LOOK_JUMP
        ):
            return False
        known = self.identities.get(tid)
        return (
            known is not None
            and identity.distance(frame.descriptor(j), known) > identity.SAME_PERSON
        )

    def update(
        self, detections: list[Detection], image: np.ndarray | None = None
    ) -> list[TrackedFace]:
        """The faces of the next frame: ``detections`` with landmarks, and the frame as 8-bit
        RGB ``image`` (H, W, 3) for the identity checks (optional)."""
        frame = _Frame(list(detections), image)
        for face_id in list(self.ended):
            self.ended[face_id] += 1
            if self.ended[face_id] > self.remember:
                self.drop(face_id)
        pairs = sorted(
            (
                (iou(t[2], d.box), tid, j)
                for tid, t in self.tracks.items()
                for j, d in enumerate(frame.detections)
            ),
            reverse=True,
        )
        matched: dict[int, int] = {}  # track id -> detection
        for overlap, tid, j in pairs:
            if overlap < self.min_overlap:
                break
            if tid in matched or j in matched.values() or self._someone_else(tid, frame, j):
                continue
            matched[tid] = j
        faces = []
        for tid in list(self.tracks):
            track = self.tracks[tid]
            if tid in matched:
                j = matched[tid]
                self._smooth(track, frame.detections[j].landmarks.astype(np.float64))
                track[2], track[3] = frame.detections[j].box, 0
                if frame.looks is not None:
                    self.looks[tid] = frame.looks[j]
            else:
                track[3] += 1
                if track[3] > self.hold or not self._still_there(tid, frame):
                    self.end(tid)
                    continue
            faces.append(
                TrackedFace(
                    tid,
                    track[0].astype(np.float32),
                    track[2],
                    held=track[3] > 0,
                    looked=image is not None,
                )
            )
        taken = set(matched.values())
        for j, tid in self._recognised(frame, taken):
            d = frame.detections[j]
            self.tracks[tid] = [d.landmarks.astype(np.float64), 0.0, d.box, 0]
            if frame.looks is not None:
                self.looks[tid] = frame.looks[j]
            faces.append(
                TrackedFace(tid, d.landmarks.astype(np.float32), d.box, looked=image is not None)
            )
        return sorted(faces, key=lambda f: f.id)

    def _still_there(self, tid: int, frame: _Frame) -> bool:
        """Does the held face's place still look like the face? (True without the frame.)"""
        if frame.image is None:
            return True
        before = self.looks.get(tid)
        now = identity.look(frame.image, self.tracks[tid][0])
        return before is not None and identity.look_change(now, before) <= HELD_LOOK_CHANGE

    def _recognised(self, frame: _Frame, taken: set[int]) -> list[tuple[int, int]]:
        """``(detection, id)`` for the detections no live track took: the id of an ended track
        of the same person (closest first), or a new one."""
        new = [j for j in range(len(frame.detections)) if j not in taken]
        if frame.image is None:
            return [(j, self._new_id()) for j in new]
        pairs = sorted(
            (identity.distance(frame.descriptor(j), self.identities[tid]), tid, j)
            for j in new
            for tid in self.ended
        )
        given: dict[int, int] = {}
        for dist, tid, j in pairs:
            if dist > identity.SAME_PERSON:
                break
            if j in given or tid in given.values():
                continue
            given[j] = tid
            del self.ended[tid]
        for j in new:
            if j not in given:
                given[j] = self._new_id()
                self.identities[given[j]] = frame.descriptor(j)
        return sorted(given.items())

    def _new_id(self) -> int:
        self.next_id += 1
        return self.next_id - 1

    # -- snapshots ----------------------------------------------------------------------------
    def state_dict(self) -> dict[str, torch.Tensor]:
        ids = sorted(self.tracks)
        t = self.tracks

        def table(d: dict[int, np.ndarray], empty: tuple) -> tuple[torch.Tensor, torch.Tensor]:
            keys = sorted(d)
            return (
                torch.tensor(keys, dtype=torch.long),
                torch.from_numpy(np.stack([d[k] for k in keys])) if keys else torch.zeros(empty),
            )

        look_ids, looks = table(self.looks, (0, 3, identity.LOOK_SIZE, identity.LOOK_SIZE))
        person_ids, persons = table(self.identities, (0, 128))
        return {
            "next_id": torch.tensor([self.next_id]),
            "ids": torch.tensor(ids, dtype=torch.long),
            "landmarks": torch.from_numpy(np.stack([t[i][0] for i in ids]))
            if ids
            else torch.zeros(0, 68, 2, dtype=torch.float64),
            "speed": torch.tensor([t[i][1] for i in ids], dtype=torch.float64),
            "boxes": torch.tensor([list(t[i][2]) for i in ids], dtype=torch.float64).reshape(-1, 4),
            "missed": torch.tensor([t[i][3] for i in ids], dtype=torch.long),
            "look_ids": look_ids,
            "looks": looks,
            "identity_ids": person_ids,
            "identities": persons,
            "ended_ids": torch.tensor(sorted(self.ended), dtype=torch.long),
            "ended_for": torch.tensor(
                [self.ended[i] for i in sorted(self.ended)], dtype=torch.long
            ),
        }

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        self.next_id = int(state["next_id"][0])
        self.tracks = {
            int(i): [
                state["landmarks"][k].cpu().double().numpy(),
                float(state["speed"][k]),
                tuple(float(v) for v in state["boxes"][k]),
                int(state["missed"][k]),
            ]
            for k, i in enumerate(state["ids"].tolist())
        }

        def table(ids_key: str, key: str) -> dict[int, np.ndarray]:
            if ids_key not in state or state[key].numel() == 0:
                return {}
            return {
                int(i): state[key][k].cpu().numpy() for k, i in enumerate(state[ids_key].tolist())
            }

        self.looks = table("look_ids", "looks")
        self.identities = table("identity_ids", "identities")
        self.ended = {
            int(i): int(n)
            for i, n in zip(
                state.get("ended_ids", torch.zeros(0)).tolist(),
                state.get("ended_for", torch.zeros(0)).tolist(),
                strict=True,
            )
        }
