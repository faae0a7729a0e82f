"""Smoothing tracked positions over time: the One Euro filter (Casiez, Roussel & Vogel, CHI
2012), driven by how fast the whole set of points moves. At rest it smooths hard (the cut-off
is ``min_cutoff`` Hz), so detector or tracker noise does not make crops jitter; in motion the
cut-off rises by ``beta`` Hz per pixel/second, so it follows with little lag. The state is
explicit (previous values, smoothed speed), so trackers can snapshot it."""

from __future__ import annotations

import math

import numpy as np


def _alpha(cutoff: float, dt: float) -> float:
    tau = 1.0 / (2 * math.pi * cutoff)
    return 1.0 / (1.0 + tau / dt)


def one_euro_step(
    previous: np.ndarray,
    speed: float,
    new: np.ndarray,
    dt: float,
    min_cutoff: float = 0.5,
    beta: float = 0.05,
) -> tuple[np.ndarray, float]:
    """The filtered ``(K, 2)`` points and smoothed speed after a new measurement ``new``."""
    raw_speed = float(np.linalg.norm(new.mean(0) - previous.mean(0))) / dt
    speed += _alpha(1.0, dt) * (raw_speed - speed)
    a = _alpha(min_cutoff + beta * speed, dt)
    return previous + a * (new - previous), speed
