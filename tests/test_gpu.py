"""CUDA runs agree with CPU runs (skipped where there is no CUDA device)."""

from __future__ import annotations

import numpy as np
import pytest

import neuralfx
from helpers import read_unit
from neuralfx.frames.images import read_image

pytestmark = pytest.mark.gpu


def test_convert_on_cuda_is_exact(make_sequence, tmp_path):
    src = make_sequence(frames=range(1, 9), dtype=np.uint16, channels=4)
    neuralfx.run(
        "convert",
        src,
        str(tmp_path / "g.####.png"),
        options=neuralfx.RunOptions(device="cuda", batch_size=3),
    )
    for f in range(1, 9):
        assert np.array_equal(
            read_image(str(tmp_path / f"g.{f:04d}.png")),
            read_image(src.replace("####", f"{f:04d}")),
        )


@pytest.mark.parametrize(
    "precision, tolerance", [("fp32", 2 / 255), ("bf16", 0.08), ("fp16", 0.03)]
)
def test_johnson_on_cuda_matches_the_cpu(
    make_sequence, tmp_path, precision, tolerance, checkpoints
):
    src = make_sequence(frames=[1, 2, 3])
    settings = {"method": "johnson", "checkpoint": str(checkpoints["johnson"]), "temporal": False}
    neuralfx.run(
        "painting-style",
        src,
        str(tmp_path / "cpu.####.png"),
        settings=settings,
        options=neuralfx.RunOptions(device="cpu"),
    )
    neuralfx.run(
        "painting-style",
        src,
        str(tmp_path / "gpu.####.png"),
        settings=settings,
        options=neuralfx.RunOptions(device="cuda", precision=precision),
    )
    gpu, cpu = read_unit(tmp_path / "gpu.0002.png"), read_unit(tmp_path / "cpu.0002.png")
    assert cpu.std() > 0.1 and gpu.std() > 0.1  # pictures with contrast, not a blank frame
    diff = np.abs(gpu - cpu)
    assert diff.mean() < tolerance
    assert np.quantile(diff, 0.99) < 4 * tolerance  # no region gone wrong
