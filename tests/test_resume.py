"""Resume: a rerun never mixes two ways of making frames, and stateful effects resume exactly.

The record beside the outputs says how each frame was made; the host feeds stateful effects
their history (snapshots, or a replay from the clip's start) so resumed and sub-range runs
give the same bits as one uninterrupted run.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys

import numpy as np
import pytest

import neuralfx
from helpers import gradient, to_dtype
from neuralfx.errors import OutputError
from neuralfx.frames.images import read_image, write_image
from neuralfx.host.plugins import PluginHost
from neuralfx.pipeline.runner import RunOptions

HERE = os.path.dirname(__file__)


def hashes(folder) -> dict[str, str]:
    """SHA-256 of every output file in ``folder`` (hidden record and snapshots left out)."""
    from pathlib import Path

    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(Path(folder).iterdir())
        if p.is_file() and not p.name.startswith(".")
    }


@pytest.fixture
def echo_host(monkeypatch, fresh_host):
    """A host with the third-party stateful ``echo`` plugin loaded from its module."""
    monkeypatch.syspath_prepend(os.path.join(HERE, "plugin_modules"))
    sys.modules.pop("echo_plugin", None)
    monkeypatch.setenv("NEURALFX_PLUGINS", "echo_plugin")
    host = PluginHost().load_all()
    monkeypatch.setattr(neuralfx.host.plugins, "_host", host)
    assert "echo" in host.effect_names
    return host


# -- 1. the record covers every output frame ------------------------------------------------------
def test_chunked_reruns_with_other_options_are_refused(cli, make_sequence, tmp_path):
    src = make_sequence(frames=range(1001, 1011))
    out = tmp_path / "o.####.png"
    cli("run", "convert", "--frames", "1001-1005", "--depth", "16", src, out)
    r = cli("run", "convert", "--frames", "1006-1010", src, out, expect=1)
    assert "frames 1001-1005 were made differently (output.depth: '16' -> 'auto')" in r.stderr
    assert not (tmp_path / "o.1006.png").exists()
    cli("run", "convert", "--frames", "1006-1010", "--depth", "16", src, out)
    assert {read_image(str(tmp_path / f"o.{f}.png")).dtype for f in range(1001, 1011)} == {
        np.dtype(np.uint16)
    }


def test_overwrite_of_a_part_keeps_the_record_true_frame_by_frame(cli, make_sequence, tmp_path):
    src = make_sequence(frames=range(1001, 1011))
    out = tmp_path / "o.####.png"
    cli("run", "convert", src, out)
    r = cli("run", "convert", "--overwrite", "--frames", "1001-1003", "--depth", "16", src, out)
    assert "frames 1004-1010 were made differently" in r.stderr and "mixes" in r.stderr
    # The record says which frames are which: a rerun in either way is refused, naming them.
    r = cli("run", "convert", "--depth", "16", src, out, expect=1)
    assert "frames 1004-1010 were made differently (output.depth: 'auto' -> '16')" in r.stderr
    r = cli("run", "convert", src, out, expect=1)
    assert "frames 1001-1003 were made differently (output.depth: '16' -> 'auto')" in r.stderr


def test_painting_style_strength_is_part_of_the_record(cli, make_sequence, tmp_path, checkpoints):
    src = make_sequence(frames=range(1, 5))
    common = [
        "run",
        "painting-style",
        "--method",
        "johnson",
        "--checkpoint",
        checkpoints["johnson"],
        "--no-temporal",
    ]
    cli(*common, "--frames", "1-2", "--strength", "0.5", src, tmp_path / "p.####.png")
    r = cli(*common, "--frames", "3-4", src, tmp_path / "p.####.png", expect=1)
    assert "settings.strength: 0.5 -> 1.0" in r.stderr


def test_a_style_image_edited_in_place_is_noticed(cli, make_sequence, tmp_path, checkpoints):
    src = make_sequence(frames=range(1, 4))
    style = tmp_path / "style.png"
    write_image(str(style), to_dtype(gradient(40, 40, seed=3), np.uint8))
    common = [
        "run",
        "painting-style",
        "--method",
        "adain",
        "--encoder",
        checkpoints["encoder"],
        "--checkpoint",
        checkpoints["decoder"],
        "--style",
        style,
        "--no-temporal",
    ]
    cli(*common, "--frames", "1-2", src, tmp_path / "a.####.png")
    write_image(str(style), to_dtype(gradient(40, 40, seed=4), np.uint8))  # same name
    r = cli(*common, src, tmp_path / "a.####.png", expect=1)
    assert f"file {style} changed" in r.stderr
    assert not (tmp_path / "a.0003.png").exists()


def test_another_input_into_an_existing_output_is_refused(cli, make_sequence, tmp_path):
    a = make_sequence("a/s.####.png", frames=[1, 2])
    b = make_sequence("b/s.####.png", frames=[1, 2, 3])
    cli("run", "convert", a, tmp_path / "o.####.png")
    r = cli("run", "convert", b, tmp_path / "o.####.png", expect=1)
    assert f"input: '{os.path.abspath(a)}' -> '{os.path.abspath(b)}'" in r.stderr


def test_a_changed_source_frame_is_noticed(cli, make_sequence, tmp_path):
    src = make_sequence(frames=[1, 2, 3])
    cli("run", "convert", "--frames", "1-2", src, tmp_path / "o.####.png")
    changed = src.replace("####", "0002")
    write_image(changed, to_dtype(gradient(64, 48, seed=99), np.uint8))
    os.utime(changed, ns=(1, 1))  # a different time even on coarse file systems
    r = cli("run", "convert", src, tmp_path / "o.####.png", expect=1)
    assert "the input of frames 2 changed after they were made" in r.stderr
    assert changed in r.stderr


def test_outputs_not_made_by_neuralfx_are_not_trusted(cli, make_sequence, tmp_path):
    src = make_sequence(frames=[1, 2, 3])
    cli("run", "convert", "--frames", "1", src, tmp_path / "o.####.png")
    shutil.copy(src.replace("####", "0002"), tmp_path / "o.0002.png")  # made by hand
    r = cli("run", "convert", src, tmp_path / "o.####.png", expect=1)
    assert "frames 2 were not made by NeuralFX, or were changed after it wrote them" in r.stderr
    cli("run", "convert", "--overwrite", src, tmp_path / "o.####.png")
    cli("run", "convert", src, tmp_path / "o.####.png")  # consistent again


def test_record_lines_are_written_before_each_rename(make_sequence, tmp_path):
    """A kill between the record line and the rename leaves a line for a file that is not
    there; the rerun redoes that frame and trusts the others."""
    from neuralfx.pipeline.record import ResumeRecord

    src = make_sequence(frames=[1, 2, 3])
    out = str(tmp_path / "o.####.png")
    neuralfx.run("convert", src, out)
    record = ResumeRecord.load(str(tmp_path / ".o.#.png.neuralfx.jsonl"))
    assert sorted(record.entries) == [1, 2, 3]
    assert all(record.made_by(f, str(tmp_path / f"o.{f:04d}.png")) for f in (1, 2, 3))
    os.unlink(tmp_path / "o.0002.png")
    with open(tmp_path / ".o.#.png.neuralfx.jsonl", "a") as f:
        f.write('{"frame": 2, "recipe": "cut sh')  # a line cut short by a kill
    assert neuralfx.run("convert", src, out).written == 1


# -- 2. stateful effects resume exactly ---------------------------------------------------------
@pytest.mark.parametrize("snapshots", [True, False])
def test_stateful_plugin_resumes_bit_for_bit(echo_host, make_sequence, tmp_path, snapshots):
    src = make_sequence(frames=range(1001, 1021))
    settings = {"snapshots": snapshots, "decay": 0.9}
    whole = tmp_path / "whole"
    neuralfx.run("echo", src, str(whole / "e.####.png"), settings=settings)
    # A run over a sub-range that follows an earlier run.
    parts = tmp_path / "parts"
    neuralfx.run(
        "echo",
        src,
        str(parts / "e.####.png"),
        settings=settings,
        options=RunOptions(frames="1001-1007"),
    )
    neuralfx.run(
        "echo",
        src,
        str(parts / "e.####.png"),
        settings=settings,
        options=RunOptions(frames="1008-1013"),
    )
    neuralfx.run("echo", src, str(parts / "e.####.png"), settings=settings)
    assert hashes(parts) == hashes(whole)
    # Frames deleted in the middle are redone as the whole run made them (no seam).
    for f in range(1010, 1015):
        os.unlink(parts / f"e.{f}.png")
    assert neuralfx.run("echo", src, str(parts / "e.####.png"), settings=settings).written == 5
    assert hashes(parts) == hashes(whole)
    # A run over a later sub-range alone gives the same frames as the whole run.
    alone = tmp_path / "alone"
    neuralfx.run(
        "echo",
        src,
        str(alone / "e.####.png"),
        settings=settings,
        options=RunOptions(frames="1015-1020"),
    )
    assert hashes(alone) == {k: v for k, v in hashes(whole).items() if k >= "e.1015"}


@pytest.mark.parametrize(
    "first, then",
    [(0.6000000238418579, 0.6), (0.6, 0.6000000238418579)],
    ids=["panel then terminal", "terminal then panel"],
)
def test_a_float_setting_is_the_same_setting_at_float32_precision(
    echo_host, make_sequence, tmp_path, first, then
):
    """Blender stores a typed 0.6 as the float32 0.6000000238418579: a run the panel made
    resumes from a terminal with 0.6, and the other way round."""
    src = make_sequence(frames=range(1001, 1007))
    out = str(tmp_path / "e.####.png")
    neuralfx.run(
        "echo", src, out, settings={"decay": first}, options=RunOptions(frames="1001-1003")
    )
    assert neuralfx.run("echo", src, out, settings={"decay": then}).written == 3


def test_the_trail_is_really_stateful(echo_host, make_sequence, tmp_path):
    """Guard for the test above: starting fresh at 1010 gives visibly different frames."""
    src = make_sequence(frames=range(1001, 1013))
    neuralfx.run("echo", src, str(tmp_path / "w.####.png"))
    host_effect = echo_host.effect("echo")
    fresh = host_effect(host_effect.spec.validate({}))
    fresh.stateful = False  # what the runner did before the contract
    import torch

    fresh.load(None)
    frame = torch.from_numpy(read_image(src.replace("####", "1010")).astype(np.float32) / 255)
    alone = fresh.process(neuralfx.FrameBatch(frame.permute(2, 0, 1)[None], None, (1010,)))
    whole = read_image(str(tmp_path / "w.1010.png")).astype(np.float32) / 255
    diff = np.abs(alone.rgb[0].permute(1, 2, 0).numpy() - whole).max()
    assert diff > 20 / 255


def test_snapshots_are_kept_beside_the_outputs_and_pruned(
    echo_host, make_sequence, tmp_path, monkeypatch
):
    from neuralfx.pipeline import history

    monkeypatch.setattr(history, "SNAPSHOT_SECONDS", 0.0)  # one after every batch
    src = make_sequence(frames=range(1, 21))
    neuralfx.run("echo", src, str(tmp_path / "e.####.png"))
    state = tmp_path / ".e.#.png.neuralfx-state"
    names = sorted(os.listdir(state))
    assert (
        len(names) == history.MAX_SNAPSHOTS
        and names[-1].endswith(".20.safetensors")
        or any(n.endswith(".20.safetensors") for n in names)
    )
    # Another recipe replaces them once it writes.
    neuralfx.run(
        "echo",
        src,
        str(tmp_path / "e.####.png"),
        settings={"decay": 0.5},
        options=RunOptions(overwrite=True),
    )
    assert len({n.split(".")[0] for n in os.listdir(state)}) == 1


@pytest.mark.parametrize(
    "method",
    ["dumoulin", "ghiasi", "johnson", "adain", pytest.param("gatys", marks=pytest.mark.slow)],
)
def test_painting_style_temporal_resumes_bit_for_bit(
    cli, make_sequence, tmp_path, checkpoints, style_images, method
):
    src = make_sequence(frames=range(1, 9), width=40, height=32)
    args = ["run", "painting-style", "--method", method, "--temporal"]
    if method == "johnson":
        args += ["--checkpoint", checkpoints["johnson"]]
    elif method == "dumoulin":
        args += ["--preset", "3:0.5,12:0.5"]  # the shipped weights
    else:
        args += ["--style", style_images[0], "--style-size", "48"]
    if method == "adain":
        args += ["--encoder", checkpoints["encoder"], "--checkpoint", checkpoints["decoder"]]
    if method == "gatys":
        args += ["--iterations", "3"]
    cli(*args, src, tmp_path / "whole" / "p.####.png")
    cli(*args, "--frames", "1-3", src, tmp_path / "parts" / "p.####.png")
    cli(*args, "--frames", "4-6", src, tmp_path / "parts" / "p.####.png")
    cli(*args, src, tmp_path / "parts" / "p.####.png")
    whole = hashes(tmp_path / "whole")
    assert hashes(tmp_path / "parts") == whole
    for f in (5, 6):
        os.unlink(tmp_path / "parts" / f"p.{f:04d}.png")
    cli(*args, src, tmp_path / "parts" / "p.####.png")
    assert hashes(tmp_path / "parts") == whole
    cli(*args, "--frames", "7-8", src, tmp_path / "alone" / "p.####.png")
    assert hashes(tmp_path / "alone") == {k: whole[k] for k in ("p.0007.png", "p.0008.png")}


def test_refusal_happens_before_anything_is_written(make_sequence, tmp_path):
    src = make_sequence(frames=[1, 2])
    out = str(tmp_path / "o.####.png")
    neuralfx.run("convert", src, out, options=RunOptions(frames="1", depth="16"))
    before = hashes(tmp_path)
    record = (tmp_path / ".o.#.png.neuralfx.jsonl").read_text()
    with pytest.raises(OutputError):
        neuralfx.run("convert", src, out)
    assert hashes(tmp_path) == before
    assert (tmp_path / ".o.#.png.neuralfx.jsonl").read_text() == record


def test_an_interrupted_overwrite_still_knows_the_old_frames(fresh_host, make_sequence, tmp_path):
    """--overwrite stopped halfway leaves old and new frames; the record names both."""

    class Stop(neuralfx.Effect):
        name = "stop-at-3"

        def process(self, batch):
            if 3 in batch.frames:
                raise KeyboardInterrupt
            return batch

    from helpers import plugin_with

    fresh_host.add_plugin(plugin_with(Stop), name="stop")
    src = make_sequence(frames=range(1, 6))
    out = str(tmp_path / "o.####.png")
    neuralfx.run("convert", src, out)
    with pytest.raises(KeyboardInterrupt):
        neuralfx.run("stop-at-3", src, out, options=RunOptions(overwrite=True))
    with pytest.raises(OutputError) as info:
        neuralfx.run("convert", src, out)
    # Frame 1 at least was rewritten before the stop (2 too, if its write had started).
    assert "were made differently (effect: 'stop-at-3' -> 'convert'" in info.value.message
    assert "not made by NeuralFX" not in info.value.message
