"""Going through a clip's faces outside a run: what ``neuralfx faces list`` and ``neuralfx faces
extract`` do. Frames are decoded and searched in a thread pool, and tracked in order, exactly
as an effect's run tracks them (same finder, same tracker, given the same frames), so the ids
listed are the ids ``--faces`` takes."""

from __future__ import annotations

import csv
import dataclasses
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch

from ..frames.images import write_image
from ..frames.io import open_source
from ..frames.samples import display_rgb
from ..pipeline.streams import ordered_map
from . import align
from .detect import to_uint8, with_landmarks
from .pipeline import make_finder
from .track import FaceTracker, TrackedFace


def faces_of(
    input: str,
    *,
    frames: str | None = None,
    detector: str = "hog",
    min_face: int = 64,
    hold: int = 5,
    workers: int | None = None,
) -> Iterator[tuple[int, np.ndarray, list[TrackedFace]]]:
    """``(frame, 8-bit sRGB RGB, tracked faces)`` for each frame of ``input``, in order."""
    source = open_source(input, frames=frames)
    finder = make_finder(detector, min_face=min_face)
    tracker = FaceTracker(float(source.fps) if source.fps else 24.0, hold=hold)
    workers = workers or os.cpu_count() or 2

    def look(item):
        frame, pixels = item
        rgb = to_uint8(display_rgb(pixels))
        return frame, rgb, with_landmarks(finder.find(rgb), rgb)  # as FacePipeline.find

    if source.video_path:
        raw = source.read_video(source.frames)
    else:
        raw = ((f, source.read(f)) for f in source.frames)
    with ThreadPoolExecutor(workers) as pool:
        for frame, rgb, found in ordered_map(pool, look, raw, 2 * workers):
            yield frame, rgb, tracker.update(found, rgb)


@dataclasses.dataclass
class TrackSummary:
    id: int
    frames: list[int]
    boxes: list[tuple[float, float, float, float]]

    def as_dict(self) -> dict:
        widths = [b[2] - b[0] for b in self.boxes]
        return {
            "id": self.id,
            "first": self.frames[0],
            "last": self.frames[-1],
            "frames": len(self.frames),
            "width": round(float(np.median(widths)), 1),
            "box": [round(v, 1) for v in self.boxes[0]],
        }


def list_tracks(input: str, **options) -> list[TrackSummary]:
    tracks: dict[int, TrackSummary] = {}
    for frame, _, faces in faces_of(input, **options):
        for face in faces:
            if not face.held:
                summary = tracks.setdefault(face.id, TrackSummary(face.id, [], []))
                summary.frames.append(frame)
                summary.boxes.append(face.box)
    return [tracks[i] for i in sorted(tracks)]


def sharpness(gray: np.ndarray) -> float:
    """Variance of the Laplacian (8-bit scale): low for a blurred face."""
    import cv2

    return float(cv2.Laplacian(gray.astype(np.float32), cv2.CV_32F).var())


def extract(
    input: str,
    out_dir: str,
    *,
    min_face: int = 64,
    min_sharpness: float = 30.0,
    every: int = 1,
    layout: str = "celeba",
    size: int = 128,
    report=None,
    **options,
) -> dict[str, int]:
    """Write each sharp, large enough face of ``input`` under ``out_dir/images``: in CelebA's
    aligned 178x218 layout (``layout="celeba"``, for face-attributes), CelebA-HQ's 256x256
    crop (``"celeba-hq"``, for StarGAN v2), or as the face-swap crop at ``size`` with its
    landmark-hull mask in ``out_dir/masks`` (``layout="swap"``).
    ``out_dir/faces.csv`` lists file, source frame, track id, box, sharpness and the 68
    landmarks in the source frame. Returns counts."""
    import cv2

    from . import composite

    template = {
        "celeba": align.CropTemplate.celeba_aligned,
        "celeba-hq": lambda: align.CropTemplate.celeba_hq(256),
        "swap": lambda: align.CropTemplate.swap(size),
    }[layout]()
    target = torch.tensor(template.points, dtype=torch.float64)
    images = os.path.join(out_dir, "images")
    os.makedirs(images, exist_ok=True)
    if layout == "swap":
        os.makedirs(os.path.join(out_dir, "masks"), exist_ok=True)
    counts = {"written": 0, "tiny": 0, "blurry": 0, "skipped": 0}
    seen: dict[int, int] = {}
    rows = []
    # detect down to 64 px (or less if asked), so faces too small to keep are counted
    for frame, rgb, faces in faces_of(input, min_face=min(min_face, 64), **options):
        for face in faces:
            if face.held:
                continue
            if face.box[2] - face.box[0] < min_face:
                counts["tiny"] += 1
                continue
            seen[face.id] = seen.get(face.id, -1) + 1
            if seen[face.id] % every:
                counts["skipped"] += 1
                continue
            five = torch.from_numpy(align.five_points(face.landmarks)).double()[None]
            to_crop = align.similarity(five, target)
            picture = torch.from_numpy(rgb).permute(2, 0, 1)[None].float() / 255
            crop = align.crop_faces(picture, torch.tensor([0]), to_crop, template.shape)[0]
            crop8 = (crop.permute(1, 2, 0).clamp(0, 1).numpy() * 255 + 0.5).astype(np.uint8)
            sharp = sharpness(cv2.cvtColor(crop8, cv2.COLOR_RGB2GRAY))
            if sharp < min_sharpness:
                counts["blurry"] += 1
                continue
            name = f"f{frame:06d}_t{face.id:03d}.png"
            write_image(os.path.join(images, name), crop8)
            if layout == "swap":
                in_crop = face.landmarks @ to_crop[0, :, :2].numpy().T.astype(np.float32) + to_crop[
                    0, :, 2
                ].numpy().astype(np.float32)
                mask = composite.masks(in_crop[None], size, "face", feather=0.02)[0, 0]
                write_image(
                    os.path.join(out_dir, "masks", name),
                    (mask.numpy() * 255 + 0.5).astype(np.uint8)[..., None],
                )
            rows.append(
                [
                    name,
                    frame,
                    face.id,
                    *(round(v, 1) for v in face.box),
                    round(sharp, 1),
                    " ".join(f"{v:.2f}" for v in face.landmarks.ravel()),
                ]
            )
            counts["written"] += 1
        if report:
            report(frame, counts)
    table = os.path.join(out_dir, "faces.csv")
    with open(table + ".tmp", "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(
            ["file", "frame", "track", "x0", "y0", "x1", "y1", "sharpness", "landmarks68"]
        )
        writer.writerows(rows)
    os.replace(table + ".tmp", table)
    return counts
