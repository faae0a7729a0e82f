"""Undoing what happened to a marked picture's geometry since it was marked: scaling (evenly
or not), a small rotation, and through them any crop or letterbox.

The mark repeats every ``TILE`` pixels across and down, and a whitened picture hardly
correlates with itself beyond a few pixels, so the picture's autocorrelation has peaks on the
tile's lattice: at the two vectors by which the tile repeats, whatever scale and rotation
moved them to, and at their multiples. :func:`lattices` finds those two vectors;
:meth:`Lattice.undo` warps the picture so that they are ``TILE`` pixels across and down
again, and the reader reads it as if nothing had happened (a shift is the sync's business).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from .mark import TILE

#: Tile periods (pixels) searched for: 0.31x to 2x of TILE.
MIN_PERIOD, MAX_PERIOD = 80, 2 * TILE
#: The centre of the picture, at most this many pixels a side, is where the lattice is measured.
PERIOD_CROP = 1280
#: How unevenly (across against down) a picture may have been scaled: 1.05 / 0.95 - 1, and a
#: little more.
UNEVEN = 0.12
#: How far the picture may have been rotated, either way (2 degrees, and a margin).
TILT = math.radians(3.0)
#: A picture warped back is read from its centre, at most this many pixels a side once warped
#: (a wrong guess must not blow a 4K frame up to 9000 pixels).
READ_SIDE = 2048
#: Lattice guesses tried on a picture whose mark is not read as it is.
GUESSES = 5
#: A clip's first frames, warped to a lattice guess, decide whether the rest are warped too.
LATTICE_FRAMES = 8
#: A row or column whose luma varies by no more than this (8-bit levels) is a bar.
BAR_RANGE = 3


@dataclasses.dataclass(frozen=True)
class Lattice:
    """The tile's two repeat vectors in a picture, ``(x, y)`` pixels: ``across`` is
    ``(TILE, 0)`` and ``down`` is ``(0, TILE)`` in a picture as it was marked."""

    across: tuple[float, float]
    down: tuple[float, float]

    @property
    def native(self) -> bool:
        """Whether the picture is (within a pixel over a tile) as it was marked."""
        return (
            max(
                abs(self.across[0] - TILE),
                abs(self.across[1]),
                abs(self.down[0]),
                abs(self.down[1] - TILE),
            )
            < 1
        )

    def undo(self, rgb: np.ndarray) -> np.ndarray:
        """The centre of ``rgb`` warped so that the lattice is the mark's own again: scaled
        back (area-averaged when shrinking), then turned back when it was rotated."""
        import cv2

        h, w = rgb.shape[:2]
        sx = TILE / math.hypot(*self.across)
        sy = TILE / math.hypot(*self.down)
        cw, ch = min(w, round(READ_SIDE / sx)), min(h, round(READ_SIDE / sy))
        x0, y0 = (w - cw) // 2, (h - ch) // 2
        size = (max(1, round(cw * sx)), max(1, round(ch * sy)))
        method = cv2.INTER_CUBIC if sx * sy > 1 else cv2.INTER_AREA
        out = cv2.resize(rgb[y0 : y0 + ch, x0 : x0 + cw], size, interpolation=method)
        # What remains once scaled: a rotation (and a shear from uneven scaling of a
        # rotated picture), which maps the lattice's vectors onto (TILE, 0) and (0, TILE).
        sax, say = size[0] / cw, size[1] / ch
        basis = np.array(
            [[self.across[0] * sax, self.down[0] * sax], [self.across[1] * say, self.down[1] * say]]
        )
        turn = TILE * np.linalg.inv(basis)
        if np.abs(turn - np.eye(2)).max() < 1e-3:
            return out
        centre = np.array([size[0] / 2, size[1] / 2])
        affine = np.hstack([turn, (centre - turn @ centre)[:, None]])
        return cv2.warpAffine(
            out, affine, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT
        )


def content_box(rgb: np.ndarray) -> tuple[slice, slice]:
    """The picture inside any letterbox or pillarbox: without the flat rows and columns at
    its edges (bars added after marking; a marked picture is never flat: the mark alone
    varies by several levels along any row)."""
    import cv2

    pixels = rgb.astype(np.float32) * (255.0 if rgb.dtype.kind == "f" else 1.0)
    luma = cv2.cvtColor(pixels, cv2.COLOR_RGB2GRAY) if pixels.ndim == 3 else pixels
    busy_rows = np.flatnonzero(np.ptp(luma, axis=1) > BAR_RANGE)
    busy_cols = np.flatnonzero(np.ptp(luma, axis=0) > BAR_RANGE)
    if len(busy_rows) == 0 or len(busy_cols) == 0:
        return slice(None), slice(None)
    return (slice(busy_rows[0], busy_rows[-1] + 1), slice(busy_cols[0], busy_cols[-1] + 1))


def centre(residual: np.ndarray) -> np.ndarray:
    """The centre of a whitened picture, where its lattice is measured."""
    h, w = residual.shape
    hh, ww = min(h, PERIOD_CROP), min(w, PERIOD_CROP)
    y0, x0 = (h - hh) // 2, (w - ww) // 2
    return residual[y0 : y0 + hh, x0 : x0 + ww]


def lattices(centres: list[np.ndarray], most: int = GUESSES) -> list[Lattice]:
    """Up to ``most`` guesses, likeliest first, at the mark's lattice in the centres
    (:func:`centre`) of one or more whitened frames of the same size (a clip's frames add
    up: the mark's autocorrelation does not depend on its sign).

    Each axis' profile is the autocorrelation's highest value at each lag within ``TILT`` of
    the axis. Candidates: the strongest peaks of both profiles summed (scaled alike across
    and down) and pairs of each profile's own (scaled unevenly: 5 % more one way, 5 % less
    the other), each as found and taken down to its fundamental. Each candidate's two vectors
    are refined in two dimensions on ever higher multiples, to a fraction of a pixel (a
    0.5 px error over a 1080p frame's seven tiles would smear the 8 px cells), and the
    lattices are ranked by how strongly the autocorrelation peaks on their points."""
    if min(centres[0].shape) < MIN_PERIOD // 2:
        return []  # no period shows in a strip this thin
    acf, crop = _autocorrelation(centres)
    reach = (3 * crop[0] // 4, 3 * crop[1] // 4)  # beyond, too little overlaps
    (across, tilt_x), (down, tilt_y) = _profile(acf, reach[0]), _profile(acf.T, reach[1])
    n = min(len(across), len(down))
    candidates = [(p, p) for p in _peaks(across[:n] + down[:n], 4)]
    candidates += [
        (px, py) for px in _peaks(across, 4) for py in _peaks(down, 4) if abs(px / py - 1) <= UNEVEN
    ]
    # A frame too short (or narrow) to show the period down (across) is taken as scaled
    # alike both ways: the other vector is the measured one turned by a right angle.
    candidates += [(px, None) for px in _peaks(across, 4)]
    candidates += [(None, py) for py in _peaks(down, 4)]
    found: list[tuple[float, Lattice]] = []
    for px, py in dict.fromkeys(candidates):
        a = _vector(acf, (px, tilt_x[px]), crop[0] // 2) if px is not None else None
        d = _vector(acf, (tilt_y[py], py), crop[1] // 2) if py is not None else None
        lattice = _fundamental(acf, Lattice(a or (d[1], -d[0]), d or (-a[1], a[0])), reach, crop)
        if all(
            max(
                abs(np.subtract(lattice.across, f.across)).max(),
                abs(np.subtract(lattice.down, f.down)).max(),
            )
            > 0.5
            for _, f in found
        ):
            found.append((_fit(acf, lattice, reach), lattice))
    found.sort(key=lambda f: -f[0])
    return [lattice for _, lattice in found[:most]]


def _fit(acf: np.ndarray, lattice: Lattice, reach: tuple[int, int]) -> float:
    """How strongly the autocorrelation peaks on a lattice's points (its vectors, their sum,
    difference and doubles): the mark's does on all of them, a picture's own repeats
    rarely."""
    a, d = np.array(lattice.across), np.array(lattice.down)
    h, w = acf.shape
    values = [
        acf[round(y) % h, round(x) % w]
        for x, y in (a, d, a + d, a - d, 2 * a, 2 * d)
        if abs(x) <= reach[0] and abs(y) <= reach[1]
    ]
    return float(np.mean(values)) if values else -np.inf


def _fundamental(
    acf: np.ndarray, lattice: Lattice, reach: tuple[int, int], crop: tuple[int, int]
) -> Lattice:
    """The finest lattice that fits as well as ``lattice`` (a multiple of the mark's own
    fits too: every third point of the lattice is on it)."""
    fit = _fit(acf, lattice, reach)
    for k in (5, 4, 3, 2):
        a, d = np.array(lattice.across) / k, np.array(lattice.down) / k
        if min(math.hypot(*a), math.hypot(*d)) < MIN_PERIOD - 2:
            continue
        finer = Lattice(_vector(acf, tuple(a), crop[0] // 2), _vector(acf, tuple(d), crop[1] // 2))
        if _fit(acf, finer, reach) >= 0.6 * fit:
            return finer
    return lattice


def _autocorrelation(centres: list[np.ndarray]) -> tuple[np.ndarray, tuple[int, int]]:
    """The normalised linear autocorrelation of whitened pictures, summed, less its slow trend
    (the lattice's peaks are a few pixels wide, the picture's own correlation is broad):
    ``acf[dy, dx]`` with negative lags wrapped, and the pictures' size (x, y)."""
    import cv2

    hh, ww = centres[0].shape
    size = (2 * hh, 2 * ww)  # zero-padded: the linear, not circular, autocorrelation
    power = sum(np.abs(np.fft.rfft2(c - c.mean(), s=size)) ** 2 for c in centres)
    acf = np.fft.irfft2(power, s=size)
    lags_y = np.abs(np.fft.fftfreq(2 * hh, 1 / (2 * hh)))
    lags_x = np.abs(np.fft.fftfreq(2 * ww, 1 / (2 * ww)))
    overlap = np.maximum(hh - lags_y, 1)[:, None] * np.maximum(ww - lags_x, 1)[None, :]
    acf = (acf / overlap).astype(np.float32)
    acf = acf / max(float(acf[0, 0]), 1e-12)
    trend = cv2.GaussianBlur(np.fft.fftshift(acf), (0, 0), 6)
    return acf - np.fft.ifftshift(trend), (ww, hh)


def _profile(acf: np.ndarray, reach: int) -> tuple[np.ndarray, np.ndarray]:
    """``acf``'s highest value at each lag along its second axis within ``TILT`` of it, and
    the offset across the axis where it is."""
    top = min(reach, acf.shape[1] - 1)
    band = min(math.ceil(top * math.tan(TILT)) + 1, acf.shape[0] // 2 - 1)
    rows = np.concatenate([acf[-band:, : top + 1], acf[: band + 1, : top + 1]])
    offsets = np.arange(-band, band + 1)
    allowed = np.abs(offsets)[:, None] <= np.ceil(np.arange(top + 1) * math.tan(TILT)) + 1
    rows = np.where(allowed, rows, -np.inf)
    return rows.max(0), offsets[rows.argmax(0)].astype(float)


def _peaks(line: np.ndarray, most: int) -> list[int]:
    """The lags of the ``most`` strongest local maxima of a ``line`` of lags (lag 0 first)
    among those a period can have, each followed by its likely fundamental when the peak
    may be a multiple of the period (a peak at a half, third or quarter of it)."""
    top = min(MAX_PERIOD + 4, len(line) - 5)
    if top <= MIN_PERIOD + 1:
        return []
    seg = line[MIN_PERIOD - 1 : top + 1]
    local = np.flatnonzero((seg[1:-1] > seg[:-2]) & (seg[1:-1] >= seg[2:])) + MIN_PERIOD
    found = []
    for lag in local[np.argsort(-line[local])][:most]:
        found.append(int(lag))
        for divisor in (4, 3, 2):
            guess = _best_near(line, lag / divisor)
            if lag / divisor >= MIN_PERIOD and line[guess] >= 0.5 * line[lag]:
                found.append(guess)
                break
    return found


def _best_near(line: np.ndarray, lag: float, radius: int = 3) -> int:
    lo = max(1, round(lag) - radius)
    return lo + int(np.argmax(line[lo : round(lag) + radius + 1]))


def _vector(acf: np.ndarray, guess: tuple[float, float], reach: int) -> tuple[float, float]:
    """The lattice vector near ``guess`` (x, y): the 2-D peak near it, then the peak near
    each doubled multiple while it stays within ``reach``, each divided back."""
    x, y = guess
    length = math.hypot(x, y)
    radius = (3, 3)
    multiple = 1
    while True:
        px, py = _peak_2d(acf, multiple * x, multiple * y, radius)
        x, y = px / multiple, py / multiple
        if 2 * multiple * length > reach:
            return x, y
        multiple *= 2


def _peak_2d(acf: np.ndarray, x: float, y: float, radius: tuple[int, int]) -> tuple[float, float]:
    """The highest ``acf`` value within ``radius`` (x, y) of lag (x, y), to a fraction of a
    pixel."""
    h, w = acf.shape
    cx, cy = round(x), round(y)
    ys = np.arange(cy - radius[1], cy + radius[1] + 1)
    xs = np.arange(cx - radius[0], cx + radius[0] + 1)
    window = acf[np.ix_(ys % h, xs % w)]
    iy, ix = np.unravel_index(np.argmax(window), window.shape)
    by, bx = int(ys[iy]), int(xs[ix])
    return (
        bx + _parabola(acf[by % h, (bx - 1) % w], acf[by % h, bx % w], acf[by % h, (bx + 1) % w]),
        by + _parabola(acf[(by - 1) % h, bx % w], acf[by % h, bx % w], acf[(by + 1) % h, bx % w]),
    )


def _parabola(a: float, b: float, c: float) -> float:
    """Where the parabola through (-1, a), (0, b), (1, c) peaks (0 when it does not)."""
    bend = a - 2 * b + c
    return float(np.clip(0.5 * (a - c) / bend, -0.5, 0.5)) if bend < 0 else 0.0
