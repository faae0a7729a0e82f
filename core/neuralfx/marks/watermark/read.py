"""Reading the mark back: whiten, fold onto one tile, find the sync, decode the bits."""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Sequence

import numpy as np

from .geometry import GUESSES, LATTICE_FRAMES, centre, content_box, lattices
from .mark import BITS, CELL, GRID, TILE, Payload, frame_sign, key, sync_tile

FOUND_Z = 6.0  # sync correlation z-score of a marked frame (1,000 unmarked pictures: at most 5.2)
#: Picture (in tiles of TILE x TILE, over all frames folded) from which an untouched mark is
#: read every time: measured on eight scikit-image photographs marked at sizes from 480x270 to
#: 1080p, 8/8 from 28 tiles (one 1080p frame is 32, two 720p frames 28), 2-6 of 8 below.
RELIABLE_TILES = 28
#: A clip's first frames warped to a lattice guess read at least this surely when the rest
#: are worth warping too (unmarked pictures reach 4.5 only once in a hundred).
PROMISING_Z = 4.0
#: Candidates the soft-decision decoder tries against the CRC (:func:`_chase`).
CANDIDATES = 1 + 6 + 15 + 20


@dataclasses.dataclass(frozen=True)
class Detection:
    found: bool
    payload: Payload | None
    confidence: float  # the sync's correlation z-score (marked: about 7-13; unmarked: 2.5-5.2)
    #: how much picture was read, in tiles of TILE x TILE summed over the frames folded
    tiles: float = 0.0

    @property
    def false_match(self) -> float:
        """The chance that a picture without the mark reads as marked this surely: its sync
        reaching this z-score at one of the tile's phases, either sign (a normal tail, which
        the correlation of a whitened picture follows, bench/watermark.py --false-positives),
        and then a random word passing the CRC among the decoder's candidates. An upper bound
        for one reading; ``detect`` makes at most ``READINGS``."""
        sync = min(1.0, 2 * TILE * TILE * 0.5 * math.erfc(self.confidence / math.sqrt(2)))
        return sync * CANDIDATES / 2**16

    @property
    def reason(self) -> str | None:
        """Why no mark was read, in words for the user; None when one was."""
        if self.found:
            return None
        if self.confidence >= FOUND_Z:
            return (
                "a mark's sync pattern is there, but its payload did not survive (strong "
                "compression, noise or a change of size since it was made)"
            )
        if self.tiles < RELIABLE_TILES:
            return (
                f"too little picture: {self.tiles:.1f} tiles of {TILE}x{TILE} "
                f"were read, and a mark is read reliably from about {RELIABLE_TILES} (one "
                "1080p frame, two 720p frames); read more frames (--frames) or a larger "
                "version"
            )
        return (
            "no mark's sync pattern: not marked by NeuralFX, or changed since in a way the "
            "detector does not undo (rotated more than 3 degrees, re-encoded too hard, "
            "scaled by more than 2x or less than 0.33x)"
        )

    def as_dict(self) -> dict:
        return {
            "found": self.found,
            "payload": self.payload.as_dict() if self.payload else None,
            "confidence": round(self.confidence, 2),
            "tiles": round(self.tiles, 1),
            "false_match": float(f"{self.false_match:.2g}") if self.found else None,
            "reason": self.reason,
        }


def whiten(rgb: np.ndarray) -> np.ndarray:
    """One frame (``(H, W, 3)``, 8-bit or [0, 1] float, sRGB) as the residual the mark is read
    from: luma less its large shapes (a Gaussian high-pass), divided by the local contrast."""
    import cv2

    pixels = rgb.astype(np.float32) * (255.0 if rgb.dtype.kind == "f" else 1.0)
    luma = cv2.cvtColor(pixels, cv2.COLOR_RGB2GRAY) if pixels.ndim == 3 else pixels
    residual = luma - _blur(luma)
    contrast = np.sqrt(np.maximum(_blur(residual * residual), 0)) + 1.0
    return residual / contrast


def _blur(plane: np.ndarray, shrink: int = 4) -> np.ndarray:
    """A Gaussian blur of sigma ``2 * CELL``: so wide that it is made at a quarter of the
    size and scaled back (a tenth of the cost, the same within a level)."""
    import cv2

    h, w = plane.shape
    small = cv2.resize(plane, (-(-w // shrink), -(-h // shrink)), interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (0, 0), 2 * CELL / shrink)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


def fold(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One frame whitened (:func:`whiten`) and folded onto one tile: (sum, count) for
    :func:`decode`, which can sum several frames first."""
    return _fold(whiten(rgb))


def _fold(residual: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    height, width = residual.shape
    total, count = np.zeros((TILE, TILE)), np.zeros((TILE, TILE))
    for y in range(0, height, TILE):
        for x in range(0, width, TILE):
            block = residual[y : y + TILE, x : x + TILE]
            total[: block.shape[0], : block.shape[1]] += block
            count[: block.shape[0], : block.shape[1]] += 1
    return total, count


def bit_scores(total: np.ndarray, count: np.ndarray) -> tuple[float, np.ndarray]:
    """The sync's z-score and each bit's soft value (its sign is the bit) in a folded tile.
    The sync is found at its strongest phase, either sign: clips mark frames with
    alternating signs (:func:`~neuralfx.marks.watermark.mark.frame_sign`)."""
    folded = total / np.maximum(count, 1)
    corr = np.real(np.fft.ifft2(np.fft.fft2(folded) * np.conj(np.fft.fft2(sync_tile()))))
    corr -= corr.mean()
    dy, dx = np.unravel_index(np.argmax(np.abs(corr)), corr.shape)
    z = float(abs(corr[dy, dx]) / (corr.std() + 1e-12))
    aligned = np.sign(corr[dy, dx]) * np.roll(folded, (-dy, -dx), axis=(0, 1))
    cells = aligned.reshape(GRID, CELL, GRID, CELL).mean((1, 3))
    _, signs, owner = key()
    scores = np.zeros(BITS)
    np.add.at(scores, owner.ravel(), (cells * signs).ravel())
    return z, scores


def decode(total: np.ndarray, count: np.ndarray) -> Detection:
    z, scores = bit_scores(total, count)
    payload = _chase(scores) if z >= FOUND_Z else None
    return Detection(payload is not None, payload, z, float(count.sum()) / (TILE * TILE))


def _chase(scores: np.ndarray, suspects: int = 6, max_flips: int = 3) -> Payload | None:
    """Soft-decision decoding (Chase, 1972): the bits as read, then with one, two or three of
    the ``suspects`` least reliable bits flipped, until the CRC matches (``CANDIDATES`` in
    all). Strong compression (H.264 at CRF 28) leaves about one frame in three with its
    weakest bit wrong, and now and then its three weakest."""
    bits = scores > 0
    weakest = np.argsort(np.abs(scores))[:suspects]
    for flips in range(max_flips + 1):
        for chosen in itertools.combinations(weakest, flips):
            trial = bits.copy()
            trial[list(chosen)] ^= True
            payload = Payload.from_bits(trial)
            if payload is not None:
                return payload
    return None


#: Readings ``detect`` makes at most: alternating and plain folds, as the picture is and at
#: each lattice guess.
READINGS = 2 * (1 + GUESSES)


def detect(*frames: np.ndarray, numbers: Sequence[int] | None = None) -> Detection:
    """Read the mark from one frame, or from several frames of one video folded together
    (``numbers``: their frame numbers, consecutive when not given). Bars added around the
    picture are left out. When the mark is not there as made, the frames may have been
    scaled or turned (a web upload, a proxy): the tile's lattice is measured
    (:func:`~neuralfx.marks.watermark.geometry.lattices`, on the frames' centres summed with their
    signs), the frames are warped back to each guess, and read again."""
    if not frames:
        return decode(np.zeros((TILE, TILE)), np.zeros((TILE, TILE)))
    signs = [frame_sign(n) for n in (numbers if numbers is not None else range(len(frames)))]
    box = content_box(frames[0])
    frames = tuple(f[box] for f in frames)
    folds, middle = [], None
    for f, sign in zip(frames, signs):
        residual = whiten(f)
        folds.append(_fold(residual))
        part = sign * centre(residual)  # a still picture cancels, the mark adds up
        if middle is None:
            middle = part
        elif part.shape == middle.shape:  # (a sequence may mix sizes)
            middle += part
    found = _read(folds, signs)
    if found.found:
        return found
    for lattice in lattices([middle], GUESSES):
        if lattice.native:
            continue  # read as it is already
        # A wrong guess costs a warp of every frame: the first few tell whether to go on.
        folds = [fold(lattice.undo(f)) for f in frames[:LATTICE_FRAMES]]
        again = _read(folds, signs)
        if not again.found and len(frames) > len(folds) and again.confidence >= PROMISING_Z:
            folds += [fold(lattice.undo(f)) for f in frames[len(folds) :]]
            again = _read(folds, signs)
        if again.found:
            return again
    return found


def _read(folds: list[tuple[np.ndarray, np.ndarray]], signs: list[float]) -> Detection:
    """Frames folded one by one, read together: first with the signs they were marked with
    (a still picture's own pattern cancels between frames), then all alike (a clip whose
    frames were re-timed, or marked before the signs alternated)."""
    count = sum(c for _, c in folds)
    alternating = decode(sum(s * t for s, (t, _) in zip(signs, folds)), count)
    if alternating.found or len(folds) == 1:
        return alternating
    plain = decode(sum(t for t, _ in folds), count)
    return plain if plain.found or plain.confidence > alternating.confidence else alternating
