"""``animal-transfer``: FUNIT or StarGAN v2 (``translators.py``) on a region that a box,
keyframes or a tracker gives.

Per batch, in frame order: the region of each frame (smoothed over time), a square crop around
it at the network's size (``grid_sample`` on the device, as the face pipeline crops), the
network with the clip's class code or style (computed once), the result tied to the previous
frame's, and a feathered paste-back.

The tracker is OpenCV's MIL tracker: it is in the main ``opencv-python-headless`` wheel (CSRT
and KCF are in the contrib wheel, which cannot be installed beside it) and needs no model file
(DaSiamRPN, Nano and Vit do), so it works offline.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util

import numpy as np
import torch

import neuralfx
import neuralfx.models
from neuralfx.errors import FrameError, NeuralFXError, ParameterError
from neuralfx.faces import align
from neuralfx.regions import read_boxes
from neuralfx.smoothing import one_euro_step
from neuralfx.temporal import steady_crop

from .spec import ANIMAL_TRANSFER
from .translators import ARCHITECTURE, HOW_TO_GET, LICENCES, TRANSLATORS

SIZE = 128  # FUNIT's crop (StarGAN v2's is 256)
MIN_BOX = 8  # pixels: below this there is nothing to translate


def region_mask(size: int = SIZE, inner: float = 0.8) -> torch.Tensor:
    """A rounded square (superellipse, power 4), 1 inside ``inner`` of the crop's half-size and
    fading to 0 at the crop's edge: no box edge in the frame."""
    t = (torch.arange(size, dtype=torch.float32) + 0.5) / size * 2 - 1
    y, x = torch.meshgrid(t, t, indexing="ij")
    r = (x.abs() ** 4 + y.abs() ** 4) ** 0.25
    return ((1 - r) / (1 - inner)).clamp(0, 1)[None, None]


@contextlib.contextmanager
def _deterministic_opencv():
    """MIL samples patches with OpenCV's random generator and sums features in parallel: run
    the one on one thread, so a resumed run (which replays the clip) tracks exactly as the
    first run did. (OpenCV's thread count is process-wide: decoding elsewhere runs
    single-threaded for the few milliseconds of a tracker step.)"""
    import cv2

    threads = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        yield
    finally:
        cv2.setNumThreads(threads)


def _seed_tracker_randomness() -> None:
    """Seed what MIL draws from when it is made: OpenCV's generator for its sampler, and the C
    library's ``rand()`` for its 250 random Haar features (OpenCV 4 dropped the ``srand(1)`` its
    init used to do, so the features depended on whatever else in the process had called
    ``rand()``: in one test session a run tracked 2 px apart from its resumed replay)."""
    import cv2

    cv2.setRNGSeed(0)
    if _LIBC is not None:
        _LIBC.srand(1)


def _libc():
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:  # no C library to seed (not expected on Linux, macOS or Windows)
        return None


_LIBC = _libc()


LOST_LOOK_CHANGE = 0.12  # mean change of the box's 12x12 look (in [0, 1]) that means "lost"


def _look(picture: np.ndarray, box) -> np.ndarray:
    """The box's content averaged down to 12x12 (in [0, 1]): what 'still the animal' means."""
    import cv2

    h, w = picture.shape[:2]
    x0, y0 = int(np.clip(box[0], 0, w - 1)), int(np.clip(box[1], 0, h - 1))
    x1, y1 = int(np.clip(box[2], x0 + 1, w)), int(np.clip(box[3], y0 + 1, h))
    return cv2.resize(picture[y0:y1, x0:x1], (12, 12), interpolation=cv2.INTER_AREA) / 255.0


class AnimalTransfer(neuralfx.Effect):
    spec = ANIMAL_TRANSFER

    def __init__(self, settings) -> None:
        super().__init__(settings)
        s = self.settings
        if bool(s.box) == bool(s.region):
            raise ParameterError(
                "animal-transfer needs exactly one region: --box X,Y,W,H "
                "(with --track to follow it) or --region boxes.json",
                hint="give --box or --region, not both and not neither",
            )
        if s.track and not s.box:
            raise ParameterError(
                "--track follows a --box", hint="give the first frame's box with --box X,Y,W,H"
            )
        self.box = tuple(float(v) for v in s.box.split(",")) if s.box else None
        if self.box and min(self.box[2:]) < MIN_BOX:
            raise ParameterError(
                f"box: {s.box} is smaller than {MIN_BOX} pixels",
                hint="give the width and height of the animal's head",
            )
        if s.model == "funit" and not s.examples:
            raise ParameterError(
                "examples: FUNIT learns the animal from --examples IMAGE (one or more)",
                hint="give --examples, or use --model stargan-v2 --domain cat|dog|wild",
            )

    def files(self) -> list[str]:
        found = super().files()
        try:
            found.append(
                neuralfx.models.resolve_checkpoint(
                    ARCHITECTURE[self.settings.model], self.settings.checkpoint
                )
            )
        except NeuralFXError:
            pass  # load() says what to do
        return found

    def load(self, ctx) -> None:
        model = self.settings.model
        try:
            self.model = TRANSLATORS[model](ctx, self.settings.checkpoint, self.settings)
        except ParameterError:  # an example that cannot be read: named as it is
            raise
        except NeuralFXError as exc:
            raise NeuralFXError(
                f"animal-transfer: {exc.message}",
                hint=(exc.hint or "") + "; " + HOW_TO_GET[model],
            ) from None
        default = neuralfx.models.spec_of(ARCHITECTURE[model]).default_weights
        if str(self.settings.checkpoint or default) == default:
            ctx.warn(f"animal-transfer: {model}'s official weights are licensed {LICENCES[model]}")
        self.width, self.height = ctx.clip.size
        self.keys = read_boxes(self.settings.region) if self.settings.region else None
        if self.box:
            x, y, w, h = self.box
            if x >= self.width or y >= self.height or x + w <= 0 or y + h <= 0:
                raise ParameterError(
                    f"box: {self.settings.box} lies outside the {self.width}x{self.height} frame",
                    hint="give x,y,width,height inside the frame",
                )
        self.dt = 1.0 / (ctx.clip.fps or 24.0)
        self.warn = ctx.warn
        self.mask = region_mask(self.model.size).to(ctx.device)
        self.tracker, self.lost_at = None, None
        self.smoothed: tuple[np.ndarray, float] | None = None
        self.previous: tuple[torch.Tensor, torch.Tensor] | None = None
        self.boxes: dict[int, np.ndarray] = {}  # frame -> its (smoothed) box, this batch

    # -- the region, frame by frame ----------------------------------------------------------
    def _raw_box(self, frame: int, rgb: torch.Tensor) -> tuple[float, float, float, float]:
        """(x0, y0, x1, y1) in pixels for this frame, before smoothing."""
        if self.keys is not None:
            return self.keys.at(frame, (self.width, self.height))
        x, y, w, h = self.box
        if not self.settings.track:
            return x, y, x + w, y + h
        import cv2

        picture = np.ascontiguousarray(
            (rgb.float().clamp(0, 1).permute(1, 2, 0).cpu().numpy() * 255 + 0.5).astype(np.uint8)
        )
        with _deterministic_opencv():
            if self.tracker is None:
                _seed_tracker_randomness()
                self.tracker = cv2.TrackerMIL_create()
                self.tracker.init(picture, tuple(round(v) for v in self.box))
                self.last_good = (x, y, x + w, y + h)
                self.look = _look(picture, self.last_good)
                return self.last_good
            found, (tx, ty, tw, th) = self.tracker.update(picture)
        box = (tx, ty, tx + tw, ty + th)
        # MIL always claims success; a box whose content jumps from one frame to the next has
        # lost the animal (it left, or the shot cut), and the region stays where it was
        look = _look(picture, box)
        if found and np.abs(look - self.look).mean() <= LOST_LOOK_CHANGE:
            self.last_good, self.look = box, look
            self.lost_at = None
        elif self.lost_at is None:
            self.lost_at = frame
            self.warn(
                f"animal-transfer: the tracker lost the animal at frame {frame}; the "
                "region holds its last good position (give keyframes with --region "
                "for this shot)"
            )
        return self.last_good

    def _box(self, frame: int, rgb: torch.Tensor) -> np.ndarray:
        corners = np.array(self._raw_box(frame, rgb), np.float64).reshape(2, 2)
        if self.settings.temporal:
            if self.smoothed is None:
                self.smoothed = (corners, 0.0)
            else:
                self.smoothed = one_euro_step(*self.smoothed, corners, self.dt)
            corners = self.smoothed[0]
        return corners

    def _to_crop(self, corners: np.ndarray) -> torch.Tensor:
        """The frame → crop map of a square crop around the box, with the margin."""
        (x0, y0), (x1, y1) = corners
        side = max(x1 - x0, y1 - y0) * (1 + 2 * self.settings.margin)
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        size = self.model.size
        s = size / side
        return torch.tensor(
            [[s, 0, size / 2 - 0.5 - s * (cx - 0.5)], [0, s, size / 2 - 0.5 - s * (cy - 0.5)]],
            dtype=torch.float32,
        )

    # -- per batch ---------------------------------------------------------------------------
    def process(self, batch):
        device = batch.rgb.device
        n = len(batch)
        # Each frame's box is found once: if the runner retries this batch in halves after
        # running out of memory, the tracker does not see the frames again.
        for i, f in enumerate(batch.frames):
            if f not in self.boxes:
                self.boxes[f] = self._box(f, batch.rgb[i])
        for f in [f for f in self.boxes if f < batch.frames[0]]:
            del self.boxes[f]
        boxes = [self.boxes[f] for f in batch.frames]
        to_crop = torch.stack([self._to_crop(b) for b in boxes]).to(device)
        index = torch.arange(n, device=device)
        crops = align.crop_faces(batch.rgb, index, to_crop, self.model.size)
        y = self.model.translate(crops * 2 - 1)
        out = crops.float() + self.settings.strength * (
            ((y.float() + 1) / 2).clamp(0, 1) - crops.float()
        )
        previous = self.previous
        if self.settings.temporal:
            for i in range(n):
                if previous is not None:
                    out[i] = steady_crop(
                        out[i], crops[i], previous[1], previous[0], self.settings.stability
                    )
                previous = (crops[i].float(), out[i])
        if not torch.isfinite(out).all():
            raise FrameError(
                f"animal-transfer produced non-finite values at frame {batch.frames[0]}",
                hint="check the checkpoint",
            )
        masks = self.mask.expand(n, -1, -1, -1)
        result = batch.replace(
            rgb=align.paste_faces(batch.rgb, index, to_crop, out.to(batch.rgb.dtype), masks)
        )
        self.previous = previous  # only once the whole batch has succeeded
        return result

    def release(self) -> None:
        self.model = self.tracker = None
