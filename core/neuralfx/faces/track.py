"""Tracking faces across frames: stable ids, held through short misses, smoothed landmarks.

Detections are matched to tracks by box overlap (greedy, best overlap first). A track the
detector misses is held for ``hold`` frames at its last smoothed landmarks, so a face is not
dropped for a frame of motion blur; a new face gets the next id. Landmarks go through a One
Euro filter (:mod:`neuralfx.smoothing`) driven by the face's speed: a still face is
smoothed hard, so its crop does not jitter with the detector's sub-pixel noise, and a moving
face follows with little lag.

The tracker's state is a few arrays (:meth:`FaceTracker.state_dict`), so an effect that tracks
can be snapshotted and resumed exactly.
"""

from __future__ import annotations

import dataclasses
import numpy as np
import torch

from ..smoothing import one_euro_step
from .detect import Detection


@dataclasses.dataclass
class TrackedFace:
    """A face in one frame: its track ``id``, smoothed ``landmarks`` (68, 2), its ``box`` and
    whether the detector missed it in this frame (``held``)."""

    id: int
    landmarks: np.ndarray
    box: tuple[float, float, float, float]
    held: bool = False
    #: checked against the face's look when last detected (FacePipeline.track with frames)
    looked: bool = False


def iou(a, b) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


class FaceTracker:
    """``update(detections) -> [TrackedFace]`` once per frame, in frame order."""

    def __init__(self, fps: float = 24.0, hold: int = 5, min_cutoff: float = 0.5,
                 beta: float = 0.05, min_overlap: float = 0.3) -> None:
        self.dt = 1.0 / (fps or 24.0)
        self.hold, self.min_cutoff, self.beta, self.min_overlap = hold, min_cutoff, beta, \
            min_overlap
        self.next_id = 1
        # id -> [smoothed landmarks (68, 2), smoothed speed (px/s), box, frames missed]
        self.tracks: dict[int, list] = {}
        # id -> a small picture of the face when last detected (see FacePipeline.crop)
        self.looks: dict[int, np.ndarray] = {}

    def drop(self, face_id: int) -> None:
        """Forget a track (a held face that is no longer there)."""
        self.tracks.pop(face_id, None)
        self.looks.pop(face_id, None)

    def _smooth(self, track: list, landmarks: np.ndarray) -> None:
        track[0], track[1] = one_euro_step(track[0], track[1], landmarks, self.dt,
                                           self.min_cutoff, self.beta)

    def update(self, detections: list[Detection]) -> list[TrackedFace]:
        pairs = sorted(((iou(t[2], d.box), tid, j) for tid, t in self.tracks.items()
                        for j, d in enumerate(detections)), reverse=True)
        matched_tracks, matched_detections = set(), set()
        for overlap, tid, j in pairs:
            if overlap < self.min_overlap:
                break
            if tid in matched_tracks or j in matched_detections:
                continue
            matched_tracks.add(tid)
            matched_detections.add(j)
            track = self.tracks[tid]
            self._smooth(track, detections[j].landmarks.astype(np.float64))
            track[2], track[3] = detections[j].box, 0
        faces = []
        for tid in list(self.tracks):
            track = self.tracks[tid]
            if tid not in matched_tracks:
                track[3] += 1
                if track[3] > self.hold:
                    self.drop(tid)
                    continue
            faces.append(TrackedFace(tid, track[0].astype(np.float32), track[2],
                                     held=track[3] > 0))
        for j, d in enumerate(detections):
            if j not in matched_detections:
                tid = self.next_id
                self.next_id += 1
                self.tracks[tid] = [d.landmarks.astype(np.float64), 0.0, d.box, 0]
                faces.append(TrackedFace(tid, d.landmarks.astype(np.float32), d.box))
        return sorted(faces, key=lambda f: f.id)

    # -- snapshots ----------------------------------------------------------------------------
    def state_dict(self) -> dict[str, torch.Tensor]:
        ids = sorted(self.tracks)
        t = self.tracks
        return {
            "next_id": torch.tensor([self.next_id]),
            "ids": torch.tensor(ids, dtype=torch.long),
            "landmarks": torch.from_numpy(np.stack([t[i][0] for i in ids])) if ids
            else torch.zeros(0, 68, 2, dtype=torch.float64),
            "speed": torch.tensor([t[i][1] for i in ids], dtype=torch.float64),
            "boxes": torch.tensor([list(t[i][2]) for i in ids], dtype=torch.float64).reshape(-1, 4),
            "missed": torch.tensor([t[i][3] for i in ids], dtype=torch.long),
            # each track's look, by id (a track may have none)
            "look_ids": torch.tensor(sorted(self.looks), dtype=torch.long),
            "looks": torch.from_numpy(np.stack([self.looks[i] for i in sorted(self.looks)]))
            if self.looks else torch.zeros(0),
        }

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        self.next_id = int(state["next_id"][0])
        self.tracks = {int(i): [state["landmarks"][k].cpu().double().numpy(),
                                float(state["speed"][k]),
                                tuple(float(v) for v in state["boxes"][k]),
                                int(state["missed"][k])]
                       for k, i in enumerate(state["ids"].tolist())}
        looks = state.get("looks")
        # (snapshots before look_ids held a look for every track, or none)
        ids = state["look_ids"] if "look_ids" in state else state["ids"]
        self.looks = {} if looks is None or looks.numel() == 0 else \
            {int(i): looks[k].cpu().numpy() for k, i in enumerate(ids.tolist())}
