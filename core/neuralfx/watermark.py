"""An invisible watermark any effect's output can carry (``--watermark``), and its detector.

The mark is a 256x256 tile, repeated over the whole frame and added to all three channels
(so it lives in the luma, which codecs keep best):

* a grid of 32x32 cells of 8 px, smoothed (no hard edges for JPEG or H.264 to fight);
* 35 % of it is a fixed pseudo-random **sync** pattern, found again by circular correlation,
  which makes the mark survive crops (the tile's phase is recovered) and tells marked frames
  from unmarked ones (the correlation peak's z-score);
* 65 % carries **64 bits**: a 48-bit payload (tool, model, run) and a CRC-16. Each bit owns 16
  cells scattered over the tile, with a pseudo-random sign each.

The amplitude is 5/255 (PSNR about 41 dB). Detection removes the picture's low frequencies and
brightness (a Gaussian high-pass), divides by the local contrast (texture is the mark's main
noise), folds the frame onto one tile (averaging every repeat), finds the sync's phase, and
reads each bit as the sign of its cells' correlation, retrying the weakest bits against the
CRC (soft-decision Chase decoding). A video is read by folding many frames together. A
picture scaled since it was marked is read after measuring the tile's scaled period in its
autocorrelation and scaling it back (:func:`tile_periods`). ``bench/watermark.py`` measures it
under JPEG, H.264, resizing, cropping, brightness and noise; the scheme is public (it marks
content as synthetic, it does not hide who made it).
"""

from __future__ import annotations

import binascii
import dataclasses
import functools
import hashlib

import numpy as np

TILE, CELL = 256, 8
GRID = TILE // CELL
PAYLOAD_BITS, CRC_BITS = 48, 16
BITS = PAYLOAD_BITS + CRC_BITS
AMPLITUDE = 5.0 / 255.0
SYNC_SHARE = 0.35
FOUND_Z = 6.0  # sync correlation z-score of a marked frame (unmarked frames give 2.5-4)
#: Picture (in tiles of TILE x TILE, over all frames folded) from which an untouched mark is
#: read every time: measured on eight scikit-image photographs marked at sizes from 480x270 to
#: 1080p, 8/8 from 28 tiles (one 1080p frame is 32, two 720p frames 28), 2-6 of 8 below.
RELIABLE_TILES = 28
TOOL_ID = 0x4E  # "N": NeuralFX


@dataclasses.dataclass(frozen=True)
class Payload:
    """What a mark says: the tool (8 bits), the model (16 bits: a hash of the effect and its
    weights) and the run (24 bits: a hash of the run's recipe)."""

    tool: int
    model: int
    run: int

    def bits(self) -> list[int]:
        value = (self.tool << 40) | (self.model << 24) | self.run
        data = value.to_bytes(6, "big")
        crc = binascii.crc_hqx(data, 0xFFFF)
        word = (value << CRC_BITS) | crc
        return [(word >> (BITS - 1 - i)) & 1 for i in range(BITS)]

    @classmethod
    def from_bits(cls, bits) -> Payload | None:
        """The payload, or None when the CRC does not match."""
        word = 0
        for b in bits:
            word = (word << 1) | int(b)
        value, crc = word >> CRC_BITS, word & 0xFFFF
        if binascii.crc_hqx(value.to_bytes(6, "big"), 0xFFFF) != crc:
            return None
        return cls(value >> 40, (value >> 24) & 0xFFFF, value & 0xFFFFFF)

    @classmethod
    def for_run(cls, model: str, run: str) -> Payload:
        def h(text: str, bits: int) -> int:
            return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big") >> \
                (32 - bits)

        return cls(TOOL_ID, h(model, 16), h(run, 24))

    def as_dict(self) -> dict:
        return {"tool": f"{self.tool:02x}", "model": f"{self.model:04x}", "run": f"{self.run:06x}"}


@functools.cache
def _key() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The public key: sync signs, bit signs and which bit owns each cell."""
    rng = np.random.default_rng(0x4E465857)  # "NFXW"
    sync = rng.choice([-1.0, 1.0], (GRID, GRID))
    signs = rng.choice([-1.0, 1.0], (GRID, GRID))
    owner = (rng.permutation(GRID * GRID) % BITS).reshape(GRID, GRID)
    return sync, signs, owner


def _smooth(cells: np.ndarray) -> np.ndarray:
    """A cell grid as a smooth, periodic TILE x TILE picture."""
    import cv2

    big = np.kron(cells, np.ones((CELL, CELL)))
    padded = np.pad(big, CELL, mode="wrap")
    return cv2.GaussianBlur(padded, (0, 0), CELL / 3)[CELL:-CELL, CELL:-CELL]


@functools.cache
def _sync_tile() -> np.ndarray:
    return _smooth(_key()[0])


@functools.cache
def tile(payload: Payload) -> np.ndarray:
    """The mark's tile for ``payload``, in [-1, 1] units of the amplitude (float32)."""
    sync, signs, owner = _key()
    data = signs * np.where(np.array(payload.bits())[owner] > 0, 1.0, -1.0)
    return _smooth(SYNC_SHARE * sync + (1 - SYNC_SHARE) * data).astype(np.float32)


def embed(rgb, payload: Payload, amplitude: float = AMPLITUDE):
    """``rgb`` ``(N, 3, H, W)`` torch tensor in [0, 1] (on any device) with the mark added."""
    import torch

    n, _, height, width = rgb.shape
    pattern = torch.from_numpy(tile(payload)).to(rgb.device, torch.float32)
    reps = (-(-height // TILE), -(-width // TILE))
    full = pattern.repeat(*reps)[:height, :width]
    return (rgb.float() + amplitude * full).clamp_(0, 1).to(rgb.dtype)


@dataclasses.dataclass(frozen=True)
class Detection:
    found: bool
    payload: Payload | None
    confidence: float  # the sync's correlation z-score (marked: about 8-12; unmarked: 2.5-4)
    #: how much picture was read, in tiles of TILE x TILE summed over the frames folded
    tiles: float = 0.0

    @property
    def reason(self) -> str | None:
        """Why no mark was read, in words for the user; None when one was."""
        if self.found:
            return None
        if self.confidence >= FOUND_Z:
            return ("a mark's sync pattern is there, but its payload did not survive (strong "
                    "compression, noise or a change of size since it was made)")
        if self.tiles < RELIABLE_TILES:
            return (f"too little picture: {self.tiles:.1f} tiles of {TILE}x{TILE} "
                    f"were read, and a mark is read reliably from about {RELIABLE_TILES} (one "
                    "1080p frame, two 720p frames); read more frames (--frames) or a larger "
                    "version")
        return ("no mark's sync pattern: not marked by NeuralFX, or changed since in a way the "
                "detector does not undo yet (rotated, re-encoded too hard, or scaled where it "
                "cannot measure the period)")

    def as_dict(self) -> dict:
        return {"found": self.found, "payload": self.payload.as_dict() if self.payload else None,
                "confidence": round(self.confidence, 2), "tiles": round(self.tiles, 1),
                "reason": self.reason}


def whiten(rgb: np.ndarray) -> np.ndarray:
    """One frame (``(H, W, 3)``, 8-bit or [0, 1] float, sRGB) as the residual the mark is read
    from: luma less its large shapes (a Gaussian high-pass), divided by the local contrast."""
    import cv2

    pixels = rgb.astype(np.float32) * (255.0 if rgb.dtype.kind == "f" else 1.0)
    luma = pixels.mean(-1) if pixels.ndim == 3 else pixels
    residual = luma - cv2.GaussianBlur(luma, (0, 0), 2 * CELL)
    contrast = np.sqrt(cv2.GaussianBlur(residual * residual, (0, 0), 2 * CELL)) + 1.0
    return residual / contrast


def fold(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One frame whitened (:func:`whiten`) and folded onto one tile: (sum, count) for
    :func:`decode`, which can sum several frames first."""
    return _fold(whiten(rgb))


def _fold(residual: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    height, width = residual.shape
    total, count = np.zeros((TILE, TILE)), np.zeros((TILE, TILE))
    for y in range(0, height, TILE):
        for x in range(0, width, TILE):
            block = residual[y:y + TILE, x:x + TILE]
            total[:block.shape[0], :block.shape[1]] += block
            count[:block.shape[0], :block.shape[1]] += 1
    return total, count


#: Tile periods (pixels) searched for when a picture was scaled: 0.31x to 2x of TILE.
MIN_PERIOD, MAX_PERIOD = 80, 2 * TILE
#: The centre of the picture, at most this many pixels a side, is where the period is measured.
PERIOD_CROP = 1280
#: How unevenly (across against down) a picture may have been scaled: 1.05 / 0.95 - 1, and a
#: little more.
UNEVEN = 0.12
#: A picture scaled back to a guessed period is read from its centre, at most this many pixels
#: a side once scaled (a wrong guess must not blow a 4K frame up to 9000 pixels).
READ_SIDE = 2048
#: Period guesses tried on a picture whose mark is not read as it is.
GUESSES = 5


def tile_periods(rgb: np.ndarray, most: int = GUESSES) -> list[tuple[float, float]]:
    """Up to ``most`` guesses, likeliest first, at the mark's period across and down a picture
    that was scaled since it was marked, in pixels (``TILE`` each if it was not).

    The mark repeats every ``TILE`` pixels and the whitened picture hardly correlates with
    itself beyond a few pixels, so the picture's autocorrelation along each axis peaks at the
    scaled period and its multiples. Each guess is refined on the highest multiple that fits,
    to a fraction of a pixel (a 0.5 px error over a 1080p frame's seven tiles would smear the
    8 px cells). Guesses: the strongest peaks of both axes together (the same scale across and
    down), then pairs of each axis' own (scaled unevenly: 5 % more one way, 5 % less the
    other)."""
    return _periods(whiten(rgb), most)


def _periods(residual: np.ndarray, most: int) -> list[tuple[float, float]]:
    h, w = residual.shape
    hh, ww = min(h, PERIOD_CROP), min(w, PERIOD_CROP)
    y0, x0 = (h - hh) // 2, (w - ww) // 2
    r = residual[y0:y0 + hh, x0:x0 + ww]
    r = r - r.mean()
    size = (2 * hh, 2 * ww)  # zero-padded: the linear, not circular, autocorrelation
    acf = np.fft.irfft2(np.abs(np.fft.rfft2(r, s=size)) ** 2, s=size)
    across = acf[0, :ww] / (hh * (ww - np.arange(ww)))
    down = acf[:hh, 0] / ((hh - np.arange(hh)) * ww)
    across, down = across / across[0], down / down[0]
    n = min(len(across), len(down))
    guesses = [((p, p), v) for p, v in _peaks(across[:n] + down[:n], 3)]
    guesses += [((px, py), vx + vy) for px, vx in _peaks(across, 3) for py, vy in _peaks(down, 3)
                if abs(px / py - 1) <= UNEVEN]
    guesses.sort(key=lambda g: -g[1])
    found: list[tuple[float, float]] = []
    for (px, py), _ in guesses:
        if all(abs(px - a) > 0.5 or abs(py - b) > 0.5 for a, b in found):
            found.append((px, py))
    return found[:most]


def _peaks(line: np.ndarray, most: int) -> list[tuple[float, float]]:
    """The ``most`` strongest local maxima of an autocorrelation ``line`` (lag 0 first) among
    the lags a period can have (up to half the line: beyond, too little overlaps), each taken
    down to its fundamental and refined: ``(period, strength)``."""
    top = min(MAX_PERIOD + 4, len(line) // 2)
    if top <= MIN_PERIOD + 1:
        return []
    seg = line[MIN_PERIOD - 1:top + 1]
    local = np.flatnonzero((seg[1:-1] > seg[:-2]) & (seg[1:-1] >= seg[2:])) + MIN_PERIOD
    found = []
    for lag in local[np.argsort(-line[local])][:most]:
        strength = float(line[lag])
        for divisor in (4, 3, 2):  # a peak may be a multiple of the period
            guess = lag / divisor
            if guess >= MIN_PERIOD and line[_best_near(line, guess)] >= 0.5 * strength:
                lag = _best_near(line, guess)
                break
        multiple = max(1, int((len(line) // 2 - 2) // lag))
        found.append((_refine(line, _best_near(line, lag * multiple)) / multiple, strength))
    return found


def _best_near(line: np.ndarray, lag: float, radius: int = 3) -> int:
    lo = max(1, round(lag) - radius)
    return lo + int(np.argmax(line[lo:round(lag) + radius + 1]))


def _refine(line: np.ndarray, k: int) -> float:
    """The peak at ``k`` to a fraction of a sample (a parabola through it and its neighbours)."""
    if k + 1 >= len(line):
        return float(k)
    a, b, c = line[k - 1], line[k], line[k + 1]
    bend = a - 2 * b + c
    return k + (0.5 * (a - c) / bend if bend < 0 else 0.0)


def decode(total: np.ndarray, count: np.ndarray) -> Detection:
    folded = total / np.maximum(count, 1)
    sync_tile = _sync_tile()
    corr = np.real(np.fft.ifft2(np.fft.fft2(folded) * np.conj(np.fft.fft2(sync_tile))))
    dy, dx = np.unravel_index(np.argmax(corr), corr.shape)
    z = float((corr.max() - corr.mean()) / (corr.std() + 1e-12))
    aligned = np.roll(folded, (-dy, -dx), axis=(0, 1))
    cells = aligned.reshape(GRID, CELL, GRID, CELL).mean((1, 3))
    _, signs, owner = _key()
    scores = np.zeros(BITS)
    np.add.at(scores, owner.ravel(), (cells * signs).ravel())
    payload = _chase(scores) if z >= FOUND_Z else None
    return Detection(payload is not None, payload, z, float(count.sum()) / (TILE * TILE))


def _chase(scores: np.ndarray, suspects: int = 6, max_flips: int = 3) -> Payload | None:
    """Soft-decision decoding (Chase, 1972): the bits as read, then with one, two or three of
    the ``suspects`` least reliable bits flipped, until the CRC matches. Strong compression
    (H.264 at CRF 28) leaves about one frame in three with its weakest bit wrong, and now and
    then its three weakest; 42 candidates keep the chance of a false match at 0.06 % (of frames
    whose sync already passed)."""
    import itertools

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


def detect(*frames: np.ndarray) -> Detection:
    """Read the mark from one frame, or from several frames of one video folded together.
    When it is not there as made, the frames may have been scaled (a web upload, a proxy):
    the tile's period is measured (:func:`tile_periods`, on the first frame), the frames are
    scaled back to each guess, and read again."""
    if not frames:
        return _read([])
    first = whiten(frames[0])
    found = _read(frames[1:], _fold(first))
    if found.found:
        return found
    import cv2

    h, w = frames[0].shape[:2]
    for px, py in _periods(first, GUESSES):
        if max(abs(px - TILE), abs(py - TILE)) < 1:
            continue  # read as it is already
        cw, ch = min(w, round(READ_SIDE * px / TILE)), min(h, round(READ_SIDE * py / TILE))
        x0, y0 = (w - cw) // 2, (h - ch) // 2
        size = (max(1, round(cw * TILE / px)), max(1, round(ch * TILE / py)))
        method = cv2.INTER_CUBIC if size[0] > cw else cv2.INTER_AREA
        again = _read([cv2.resize(f[y0:y0 + ch, x0:x0 + cw], size, interpolation=method)
                       for f in frames])
        if again.found:
            return again
    return found


def _read(frames, folded: tuple[np.ndarray, np.ndarray] | None = None) -> Detection:
    """Fold ``frames`` (onto ``folded``, a frame already folded, if given) and decode."""
    total, count = folded or (np.zeros((TILE, TILE)), np.zeros((TILE, TILE)))
    for frame in frames:
        t, c = fold(frame)
        total += t
        count += c
    return decode(total, count)
