"""Convolutions with few output channels and a wide kernel, on the CPU.

oneDNN vectorises a convolution over its output channels, 16 at a time: the 9x9 layer that
turns 4 channels into RGB at the end of Magenta's networks used 3 of 16 lanes and ran at a
fifth of the speed of the layers before it (42 ms of a 720p frame on two cores). Folding the
kernel's columns into output channels (``C_out * k_w`` outputs, a ``k_h x 1`` kernel) fills the
lanes; a shifted sum of the columns then gives the result: 27 ms for that layer, the same values
to float rounding (the sums are taken in another order).

Only with AVX-512. With AVX2's 8 lanes the plain kernel wastes less, and the fold made that
layer 2-4x slower on an AVX2 EPYC (4 to 3 channels: 12 against 26 ms at 360p, 46 against 175
at 720p).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

#: fold only layers this narrow, whose folded width fills a vector register and still fits a
#: few (the 3x3 layer from 8 to 4 channels, 12 wide folded, went from 3.3 to 5.6 ms at 360p)
MAX_OUTPUTS = 4
FOLDED = range(16, 49)
#: whether this CPU's vectors are 16 floats wide, where folding pays
WIDE_VECTORS = torch.backends.cpu.get_cpu_capability() == "AVX512"


def conv2d(
    x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None, stride: int = 1
) -> torch.Tensor:
    """``F.conv2d(x, weight, bias, stride)`` (no padding), folded where that is faster."""
    cout, _, _, kw = weight.shape
    if (
        x.device.type != "cpu"
        or not WIDE_VECTORS
        or stride != 1
        or kw == 1
        or cout > MAX_OUTPUTS
        or cout * kw not in FOLDED
        or x.shape[-1] < kw
    ):
        return F.conv2d(x, weight, bias, stride)
    folded = weight.permute(0, 3, 1, 2).reshape(cout * kw, weight.shape[1], weight.shape[2], 1)
    # NCHW: the shifted sum then reads whole rows (on channels-last columns it was 3x slower)
    columns = F.conv2d(x.contiguous(), folded)
    n, _, h, w = columns.shape
    width = w - kw + 1
    columns = columns.view(n, cout, kw, h, w)
    out = columns[:, :, 0, :, :width].clone()
    for j in range(1, kw):
        out += columns[:, :, j, :, j : j + width]
    if bias is not None:
        out += bias.view(1, -1, 1, 1)
    return out
