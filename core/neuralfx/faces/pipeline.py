"""The face pipeline as an effect uses it: find (in the decode workers), track (in frame order),
crop (on the device), paste back (on the device)."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator, Sequence

import numpy as np
import torch

from ..errors import ParameterError
from . import align, composite
from .detect import Detection
from .track import FaceTracker, TrackedFace


@dataclasses.dataclass
class FaceCrops:
    """Aligned crops of the faces of a batch: ``images`` ``(F, 3, S, S)`` in [0, 1], from batch
    position ``frame_index[i]`` through ``to_crop[i]``; ``landmarks`` (F, 68, 2) in crop
    pixels; ``ids`` the track ids; ``boxes`` each face's (x0, y0, x1, y1) in frame pixels, as
    the tracker holds it."""

    frame_index: torch.Tensor
    to_crop: torch.Tensor
    images: torch.Tensor
    landmarks: np.ndarray
    ids: list[int]
    boxes: list[tuple[float, float, float, float]] = dataclasses.field(default_factory=list)

    def __len__(self) -> int:
        return len(self.ids)


def make_finder(name: str, host=None, **options):
    """A face finder by name: ``hog``, ``cnn`` or one a plugin registered; ``name`` may carry
    the factory's own options (``haar:min_neighbors=10``, see
    :func:`~neuralfx.faces.params.parse_detector`), which come before ``options``."""
    from ..host.catalog import resolve
    from ..host.plugins import get_host
    from .params import parse_detector

    try:
        name, given = parse_detector(name)
    except ValueError as exc:
        raise ParameterError(f"detector: {exc}", hint="NAME or NAME:option=value,...") from None
    entries = (host or get_host()).face_detectors
    if name not in entries:
        raise ParameterError(
            f"detector: {name!r} is not a face detector here",
            hint="choose one of " + ", ".join(sorted(entries)),
        )
    try:
        return resolve(entries[name].factory)(**{**options, **given})
    except TypeError as exc:  # an option the factory does not take
        raise ParameterError(
            f"detector {name!r}: {exc}", hint="check the options its plugin documents"
        ) from None


class FacePipeline:
    def __init__(
        self,
        template: align.CropTemplate,
        *,
        detector: str = "hog",
        fps: float | None = None,
        min_face: int = 64,
        hold: int = 5,
        only: Sequence[int] | None = None,
        mask: str = "head",
        blend: str = "feather",
        colour_match: bool = True,
        host=None,
    ) -> None:
        self.template, self.detector, self.min_face = template, detector, min_face
        self.finder = make_finder(detector, host, min_face=min_face)
        self.tracker = FaceTracker(fps or 24.0, hold=hold)
        self.only = set(only) if only else None
        self.mask, self.blend, self.colour_match = mask, blend, colour_match

    @classmethod
    def from_settings(
        cls, template: align.CropTemplate, settings, fps: float | None, **options
    ) -> FacePipeline:
        """The pipeline that an effect's shared face settings (:data:`neuralfx.faces.params
        .PARAMS`: faces, detector, min_face, hold, blend) ask for; ``options`` (``mask``,
        ``colour_match``...) are the effect's own choices; ``host=ctx.host`` takes the
        detectors of the run's plugin host."""
        faces = str(getattr(settings, "faces", "all"))
        only = None if faces == "all" else [int(i) for i in faces.split(",")]
        return cls(
            template,
            detector=settings.detector,
            fps=fps,
            min_face=settings.min_face,
            hold=settings.hold,
            only=only,
            blend=getattr(settings, "blend", "feather"),
            **options,
        )

    def find(self, rgb: np.ndarray) -> list[Detection]:
        """Faces in one decoded frame (thread-safe: call it from ``Effect.inspect``). A
        detector that gives boxes only (``landmarks=None``) gets the 68 landmarks fitted in
        each box by dlib's predictor, as the built-in detectors do."""
        found = self.finder.find(rgb)
        if all(d.landmarks is not None for d in found):
            return found
        from .detect import to_uint8, with_landmarks

        return with_landmarks(found, to_uint8(rgb))

    def align_still(self, rgb: np.ndarray, what: str) -> torch.Tensor:
        """The largest face of a still image ``rgb`` (H, W, 3: 8-bit, or float in [0, 1]),
        aligned to the template: ``(1, 3, S, S)`` in [0, 1]. ``what`` names the image in the
        error for no face."""
        if rgb.dtype == np.uint8:
            rgb = rgb.astype(np.float32) / 255
        found = self.find(rgb)
        if not found:
            from .params import no_face_hint

            raise ParameterError(
                f"{what}: no face found",
                hint="give a photograph with one face turned to the camera, or "
                + no_face_hint(self.detector, self.min_face),
            )
        face = max(found, key=lambda d: d.width)
        landmarks = np.asarray(face.landmarks, dtype=np.float32)[None]
        target = torch.tensor(self.template.points, dtype=torch.float64)
        to_crop = align.similarity(torch.from_numpy(align.five_points(landmarks)).double(), target)
        frame = torch.from_numpy(np.ascontiguousarray(rgb, dtype=np.float32)).permute(2, 0, 1)
        return align.crop_faces(frame[None], torch.tensor([0]), to_crop, self.template.size)

    def track(
        self, detections: Sequence[list[Detection]], frames: torch.Tensor | None = None
    ) -> list[list[TrackedFace]]:
        """Track the faces of consecutive frames (call once per frame, in order); keeps only the
        chosen track ids. With ``frames`` (the same frames, ``(N, 3, H, W)`` in [0, 1]) the
        tracker also checks who each face is (:mod:`neuralfx.faces.track`): a held face whose
        place shows something else ends, a cut to another person at the same place starts a
        new id, and a person found again after a blink or an occlusion gets their id back.
        Decided frame by frame for every face (chosen or not), so the result does not depend
        on how frames are batched or where a run was resumed."""
        out = []
        for i, found in enumerate(detections):
            image = None
            if frames is not None and (found or self.tracker.tracks):
                image = (frames[i].detach().float().clamp(0, 1) * 255 + 0.5).to(torch.uint8)
                image = np.ascontiguousarray(image.permute(1, 2, 0).cpu().numpy())
            faces = self.tracker.update(list(found or ()), image)
            out.append([f for f in faces if self.only is None or f.id in self.only])
        return out

    def crop(self, frames: torch.Tensor, tracked: list[list[TrackedFace]]) -> FaceCrops | None:
        """Every tracked face of the batch ``frames`` ``(N, 3, H, W)``, aligned, in one call;
        None when there is none."""
        where = [(i, f) for i, faces in enumerate(tracked) for f in faces]
        return self._crop(frames, where) if where else None

    def _crop(self, frames: torch.Tensor, where: list[tuple[int, TrackedFace]]) -> FaceCrops:
        device = frames.device
        landmarks = np.stack([f.landmarks for _, f in where]).astype(np.float32)
        target = torch.tensor(self.template.points, dtype=torch.float64)
        to_crop = align.similarity(torch.from_numpy(align.five_points(landmarks)).double(), target)
        crop_landmarks = (
            landmarks @ to_crop[:, :, :2].numpy().transpose(0, 2, 1)
            + to_crop[:, None, :, 2].numpy()
        )
        to_crop = to_crop.to(device)
        frame_index = torch.tensor([i for i, _ in where], device=device)
        images = align.crop_faces(frames, frame_index, to_crop, self.template.size)
        return FaceCrops(
            frame_index,
            to_crop,
            images,
            crop_landmarks.astype(np.float32),
            [f.id for _, f in where],
            [tuple(f.box) for _, f in where],
        )

    def paste(
        self,
        frames: torch.Tensor,
        crops: FaceCrops | None,
        processed: torch.Tensor | None,
        masks: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """``frames`` with the processed crops blended back (the frames themselves when there
        are no faces), through ``masks`` or the pipeline's own from the landmarks."""
        if crops is None:
            return frames
        size = self.template.size
        m = (
            composite.masks(crops.landmarks, size, self.mask).to(frames.device)
            if masks is None
            else masks.to(frames.device)
        )
        if self.colour_match:  # a model that redraws the crop is matched on the background
            where = "background" if self.mask == "crop" else "skin"
            processed = composite.match_colour(
                processed.float(), crops.images.float(), crops.landmarks, size, where
            )
        if self.blend == "seamless":
            processed = composite.seamless(processed, crops.images, m)
        return align.paste_faces(
            frames, crops.frame_index, crops.to_crop, processed.to(frames.dtype), m
        )


class FaceRun:
    """What an effect on tracked faces keeps from batch to batch: each frame's tracked faces
    (tracked once, so a batch the runner retries in halves after running out of memory is not
    tracked again) and each face's previous result (to steady it with
    :func:`neuralfx.temporal.steady_crop`). ``state_dict`` covers both and the tracker."""

    def __init__(self, pipeline: FacePipeline) -> None:
        self.pipeline = pipeline
        #: the tally: frames that went through, and those with a face (see no_faces)
        self.frames_seen = self.frames_with_faces = 0
        self._counted: tuple[int, int] = (0, 0)
        self.tracked: dict[int, list[TrackedFace]] = {}
        self.previous: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}
        self._pending: dict | None = None

    @contextlib.contextmanager
    def batch(self, batch) -> Iterator[FaceCrops | None]:
        """``with run.batch(batch) as crops:`` the batch's crops (None when no face is there),
        committed when the block ends without an error: a batch the host retries smaller after
        running out of memory is neither tracked nor counted twice."""
        crops = self.crops(batch)
        yield crops
        self.commit(set(crops.ids) if crops is not None else set())

    def crops(self, batch) -> FaceCrops | None:
        """The batch's crops, tracked once per frame (see :meth:`batch`; call :meth:`commit`
        when the batch succeeded)."""
        fresh = [i for i, f in enumerate(batch.frames) if f not in self.tracked]
        found = self.pipeline.track([batch.notes[i] for i in fresh], batch.rgb[fresh])
        for i, faces in zip(fresh, found, strict=True):
            self.tracked[batch.frames[i]] = faces
        for f in [f for f in self.tracked if f < batch.frames[0]]:
            del self.tracked[f]
        crops = self.pipeline.crop(batch.rgb, [self.tracked[f] for f in batch.frames])
        self._counted = (
            len(batch.frames),
            0 if crops is None else len(set(crops.frame_index.tolist())),
        )
        return crops

    def no_faces(self, effect: str, settings, consequence: str) -> str | None:
        """The warning for a run that found no face in any frame (None when it found one):
        ``"EFFECT found no face in N frame(s), CONSEQUENCE: try ..."``, with the detector
        hint for ``settings`` (the shared face parameters)."""
        from .params import no_face_hint

        if not self.frames_seen or self.frames_with_faces:
            return None
        return (
            f"{effect} found no face in {self.frames_seen} frame(s), {consequence}: "
            f"{no_face_hint(settings.detector, settings.min_face)}"
        )

    def steady(self, crops: FaceCrops, out: torch.Tensor, stability: float) -> torch.Tensor:
        """Each face tied to its previous frame, one frame after another; kept once
        :meth:`commit` says the batch succeeded."""
        from ..temporal import steady_crop

        out = out.clone()
        previous = dict(self.previous)
        for i in sorted(range(len(crops)), key=lambda i: int(crops.frame_index[i])):
            face_id, source = crops.ids[i], crops.images[i].float()
            if face_id in previous:
                before_source, before_out = previous[face_id]
                out[i] = steady_crop(out[i], source, before_out, before_source, stability)
            previous[face_id] = (source, out[i])
        self._pending = previous
        return out

    def commit(self, seen: set[int]) -> None:
        """The batch succeeded: keep its results (and count it), forget faces no longer
        tracked."""
        frames, with_faces = self._counted
        self.frames_seen += frames
        self.frames_with_faces += with_faces
        self._counted = (0, 0)
        if self._pending is not None:
            self.previous, self._pending = self._pending, None
        alive = set(self.pipeline.tracker.tracks) | seen
        for face_id in [f for f in self.previous if f not in alive]:
            del self.previous[face_id]

    def state_dict(self) -> dict[str, torch.Tensor]:
        state = {f"tracker.{k}": v for k, v in self.pipeline.tracker.state_dict().items()}
        for face_id, (source, out) in self.previous.items():
            state[f"previous.{face_id}.source"] = source
            state[f"previous.{face_id}.out"] = out
        return state

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        self.pipeline.tracker.load_state_dict(
            {k.split(".", 1)[1]: v for k, v in state.items() if k.startswith("tracker.")}
        )
        self.previous = {
            int(k.split(".")[1]): (v, state[k.replace(".source", ".out")])
            for k, v in state.items()
            if k.startswith("previous.") and k.endswith(".source")
        }
