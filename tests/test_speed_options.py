"""The speed options keep what a run writes: --precision bf16 against fp32 on the CPU, and
--compile (torch.compile through RunContext.optimise), which is also part of the recipe."""

from __future__ import annotations

import numpy as np
import pytest

from helpers import needs_cpu_bf16, read_unit


@needs_cpu_bf16
@pytest.mark.parametrize("method", ["dumoulin", "johnson"])
def test_bf16_paints_what_fp32_paints(cli, make_sequence, tmp_path, checkpoints, method):
    src = make_sequence(frames=[1, 2], width=96, height=64)
    args = ["run", "painting-style", "--method", method, "--no-temporal"]
    args += ["--checkpoint", checkpoints["johnson"]] if method == "johnson" else ["--preset", "19"]
    for precision in ("fp32", "bf16"):
        cli(
            *args,
            "--precision",
            precision,
            src,
            tmp_path / precision / "p.####.png",
            "--progress",
            "none",
        )
    for f in (1, 2):
        full = read_unit(tmp_path / "fp32" / f"p.{f:04d}.png")
        half = read_unit(tmp_path / "bf16" / f"p.{f:04d}.png")
        assert full.std() > 0.05
        diff = np.abs(full - half)
        assert diff.mean() < 0.02 and np.quantile(diff, 0.99) < 0.1, (
            diff.mean(),
            np.quantile(diff, 0.99),
        )
        assert diff.max() > 0  # bf16 did run: not the fp32 path twice


@pytest.mark.slow  # torch.compile takes about 30 s on 2 cores
def test_compiled_frames_match_eager_ones(cli, make_sequence, tmp_path, checkpoints):
    src = make_sequence(frames=range(1, 4))
    args = [
        "run",
        "painting-style",
        "--method",
        "johnson",
        "--checkpoint",
        checkpoints["johnson"],
        "--no-temporal",
        "--depth",
        "16",
    ]
    cli(*args, src, tmp_path / "eager" / "p.####.png", "--progress", "none")
    result = cli(
        *args, "--compile", src, tmp_path / "compiled" / "p.####.png", "--progress", "json"
    )
    assert cli.events(result)[-1]["written"] == 3
    for f in (1, 2, 3):
        eager = read_unit(tmp_path / "eager" / f"p.{f:04d}.png")
        compiled = read_unit(tmp_path / "compiled" / f"p.{f:04d}.png")
        assert eager.std() > 0.05  # the network's output has contrast
        assert np.abs(eager - compiled).max() < 2e-3  # 16-bit steps: rounding only
    # A compiled run does not finish an eager sequence: the recipe says how frames were made.
    (tmp_path / "eager" / "p.0002.png").unlink()
    refused = cli(
        *args, "--compile", src, tmp_path / "eager" / "p.####.png", "--progress", "json", expect=1
    )
    assert "compile" in refused.stdout and "made differently" in refused.stdout


def test_optimise_keeps_modules_usable_and_leaves_the_cpu_layout_alone():
    import torch

    from neuralfx.effect import ClipInfo, RunContext

    clip = ClipInfo("x", (1,), 24.0, (8, 8), (1,))
    net = torch.nn.Conv2d(3, 4, 3)
    plain = RunContext(torch.device("cpu"), torch.float32, clip).optimise(net, small=True)
    assert plain is net  # nothing to do on the CPU without --compile
    compiled = RunContext(torch.device("cpu"), torch.float32, clip, compile=True).optimise(net)
    assert compiled is not net and compiled.weight is net.weight  # attributes reach through
