"""What the mark says and how it is drawn: the payload, the public key and the tile added to
every frame (see the package's docstring for the scheme)."""

from __future__ import annotations

import binascii
import dataclasses
import functools
import hashlib
from collections.abc import Sequence

import numpy as np

TILE, CELL = 256, 8
GRID = TILE // CELL
PAYLOAD_BITS, CRC_BITS = 48, 16
BITS = PAYLOAD_BITS + CRC_BITS
AMPLITUDE = 5.0 / 255.0
SYNC_SHARE = 0.35
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
            return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big") >> (32 - bits)

        return cls(TOOL_ID, h(model, 16), h(run, 24))

    def as_dict(self) -> dict:
        return {"tool": f"{self.tool:02x}", "model": f"{self.model:04x}", "run": f"{self.run:06x}"}


@functools.cache
def key() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
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
def sync_tile() -> np.ndarray:
    return _smooth(key()[0])


@functools.cache
def tile(payload: Payload) -> np.ndarray:
    """The mark's tile for ``payload``, in [-1, 1] units of the amplitude (float32)."""
    sync, signs, owner = key()
    data = signs * np.where(np.array(payload.bits())[owner] > 0, 1.0, -1.0)
    return _smooth(SYNC_SHARE * sync + (1 - SYNC_SHARE) * data).astype(np.float32)


def frame_sign(number: int) -> float:
    """The mark's sign on frame ``number``: it alternates, so that a still picture cancels
    when a clip's frames are folded with alternating signs, and no fixed pattern stays on
    flat areas (the mark averages to nothing over any two frames)."""
    return 1.0 if number % 2 == 0 else -1.0


def embed(rgb, payload: Payload, frames: Sequence[int] | None = None, amplitude: float = AMPLITUDE):
    """``rgb`` ``(N, 3, H, W)`` torch tensor in [0, 1] (on any device) with the mark added;
    ``frames`` are the N frames' numbers (the mark's sign alternates with them; a still
    picture, without numbers, gets the positive mark)."""
    import torch

    n, _, height, width = rgb.shape
    pattern = torch.from_numpy(tile(payload)).to(rgb.device, torch.float32)
    reps = (-(-height // TILE), -(-width // TILE))
    full = pattern.repeat(*reps)[:height, :width]
    signs = [frame_sign(f) for f in frames] if frames is not None else [1.0] * n
    scale = torch.tensor(signs, device=rgb.device).view(n, 1, 1, 1) * amplitude
    return (rgb.float() + scale * full).clamp_(0, 1).to(rgb.dtype)
