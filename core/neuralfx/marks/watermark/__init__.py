"""An invisible watermark any effect's output can carry (``--watermark``), and its detector.

The mark is a 256x256 tile, repeated over the whole frame and added to all three channels
(so it lives in the luma, which codecs keep best) (:mod:`.mark`):

* a grid of 32x32 cells of 8 px, smoothed (no hard edges for JPEG or H.264 to fight);
* 35 % of it is a fixed pseudo-random **sync** pattern, found again by circular correlation,
  which makes the mark survive crops (the tile's phase is recovered) and tells marked frames
  from unmarked ones (the correlation peak's z-score);
* 65 % carries **64 bits**: a 48-bit payload (tool, model, run) and a CRC-16. Each bit owns 16
  cells scattered over the tile, with a pseudo-random sign each;
* its sign alternates from frame to frame: no fixed pattern stays on flat areas, and a
  still picture, which would otherwise read as the same noise in every frame, cancels when a
  clip's frames are folded with the same alternating signs.

The amplitude is 5/255 (PSNR about 41 dB). Detection (:mod:`.read`) removes the picture's low
frequencies and brightness (a Gaussian high-pass), divides by the local contrast (texture is
the mark's main noise), folds the frame onto one tile (averaging every repeat), finds the
sync's phase and sign, and reads each bit as the sign of its cells' correlation, retrying the
weakest bits against the CRC (soft-decision Chase decoding). A video is read by folding many
frames together. A picture scaled or turned since it was marked is read after measuring the
tile's lattice in its autocorrelation and warping it back (:mod:`.geometry`).
``bench/watermark.py`` measures it under JPEG, H.264, resizing, cropping, rotation,
brightness and noise; the scheme is public (it marks content as synthetic, it does not hide
who made it).
"""

from .geometry import Lattice, lattices
from .mark import (
    AMPLITUDE,
    BITS,
    CELL,
    GRID,
    PAYLOAD_BITS,
    TILE,
    TOOL_ID,
    Payload,
    embed,
    frame_sign,
    key,
    sync_tile,
    tile,
)
from .read import (
    FOUND_Z,
    READINGS,
    RELIABLE_TILES,
    Detection,
    bit_scores,
    decode,
    detect,
    fold,
    whiten,
)

__all__ = [
    "AMPLITUDE",
    "BITS",
    "CELL",
    "FOUND_Z",
    "GRID",
    "PAYLOAD_BITS",
    "READINGS",
    "RELIABLE_TILES",
    "TILE",
    "TOOL_ID",
    "Detection",
    "Lattice",
    "Payload",
    "bit_scores",
    "decode",
    "detect",
    "embed",
    "fold",
    "frame_sign",
    "key",
    "lattices",
    "sync_tile",
    "tile",
    "whiten",
]
