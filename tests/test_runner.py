"""The runner: resume, progress events, batching, OOM halving, whole-clip effects, Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch

import neuralfx
from helpers import needs_cpu_bf16, plugin_with, read_unit
from neuralfx.colour import srgb_to_linear
from neuralfx.errors import ParameterError
from neuralfx.frames.atomic import TEMP_MARK
from neuralfx.frames.images import read_image
from neuralfx.pipeline.progress import JsonLinesReporter, Reporter
from neuralfx.pipeline.runner import RunOptions

HERE = os.path.dirname(__file__)


def _register(host, *effects):
    assert host.add_plugin(plugin_with(*effects), name="test-" + effects[0].name) is not None


class Invert(neuralfx.Effect):
    name = "invert"

    def process(self, batch):
        return batch.replace(rgb=1.0 - batch.rgb)


def test_resume_skips_complete_outputs_and_overwrite_redoes_them(cli, make_sequence, tmp_path):
    src = make_sequence(frames=range(1, 6))
    out = tmp_path / "out" / "o.####.png"
    first = cli("run", "convert", "--progress", "json", src, out)
    assert [e["frame"] for e in cli.events(first) if e["event"] == "frame"] == [1, 2, 3, 4, 5]
    os.unlink(tmp_path / "out" / "o.0003.png")
    stamp = os.stat(tmp_path / "out" / "o.0001.png").st_mtime_ns
    again = cli.events(cli("run", "convert", "--progress", "json", src, out))
    assert again[0] == {
        "event": "start",
        "effect": "convert",
        "input": src,
        "output": str(out),
        "total": 1,
        "skipped": 4,
        "device": "cpu",
        "batch_size": 1,
    }
    assert [e["frame"] for e in again if e["event"] == "frame"] == [3]
    assert again[-1]["event"] == "done" and again[-1]["written"] == 1
    assert os.stat(tmp_path / "out" / "o.0001.png").st_mtime_ns == stamp
    redo = cli.events(cli("run", "convert", "--progress", "json", "--overwrite", src, out))
    assert redo[-1]["written"] == 5


def test_frame_events_name_frames_and_paths(cli, make_sequence, tmp_path):
    src = make_sequence(frames=[1001, 1002])
    events = cli.events(cli("run", "convert", "--progress", "json", src, tmp_path / "x.%04d.tif"))
    frames = [e for e in events if e["event"] == "frame"]
    assert frames == [
        {
            "event": "frame",
            "frame": 1001,
            "path": str(tmp_path / "x.1001.tif"),
            "done": 1,
            "total": 2,
        },
        {
            "event": "frame",
            "frame": 1002,
            "path": str(tmp_path / "x.1002.tif"),
            "done": 2,
            "total": 2,
        },
    ]


def test_effect_output_is_written(fresh_host, make_sequence, tmp_path):
    _register(fresh_host, Invert)
    src = make_sequence()
    summary = neuralfx.run(
        "invert", src, str(tmp_path / "i.####.png"), options=RunOptions(batch_size=3, workers=2)
    )
    assert summary.written == 4 and summary.skipped == 0
    for f in (1001, 1004):
        np.testing.assert_allclose(
            read_unit(tmp_path / f"i.{f}.png"),
            1 - read_unit(src.replace("####", str(f))),
            atol=1 / 255,
        )


def test_out_of_memory_halves_the_batch_and_continues(fresh_host, make_sequence, tmp_path):
    sizes = []

    class Hungry(neuralfx.Effect):
        name = "hungry"

        def process(self, batch):
            sizes.append(len(batch))
            if len(batch) > 2:
                raise torch.OutOfMemoryError("CUDA out of memory (simulated)")
            return batch.replace(rgb=1.0 - batch.rgb)

    _register(fresh_host, Hungry)
    src = make_sequence(frames=range(1, 11))

    class Collect(Reporter):
        def __init__(self):
            self.warnings: list[str] = []

        def warning(self, message):
            self.warnings.append(message)

    reporter = Collect()
    neuralfx.run(
        "hungry",
        src,
        str(tmp_path / "h.####.png"),
        options=RunOptions(batch_size=8),
        reporter=reporter,
    )
    # 8 fails, its first half (4) fails, then everything runs in batches of 2.
    assert sizes == [8, 4, 2, 2, 2, 2, 2]
    assert any("continuing with batches of" in w for w in reporter.warnings)
    for f in range(1, 11):
        np.testing.assert_allclose(
            read_unit(tmp_path / f"h.{f:04d}.png"),
            1 - read_unit(src.replace("####", f"{f:04d}")),
            atol=1 / 255,
        )


def test_whole_clip_analysis_then_stateful_processing(fresh_host, make_sequence, tmp_path):
    class MeanRemover(neuralfx.Effect):
        """Subtracts the clip's mean frame, and counts frames as a cross-batch state."""

        name = "mean-remover"
        needs_whole_clip = True
        working_space = None

        def load(self, ctx):
            self.total, self.count, self.order = None, 0, []

        def analyse(self, batch):
            s = batch.rgb.sum(0)
            self.total = s if self.total is None else self.total + s
            self.count += len(batch)

        def process(self, batch):
            assert self.count == 4  # every frame was analysed first
            self.order.extend(batch.frames)
            return batch.replace(rgb=(batch.rgb - self.total / self.count + 0.5).clamp(0, 1))

        def release(self):
            MeanRemover.seen_order = self.order

    _register(fresh_host, MeanRemover)
    src = make_sequence()
    # Frame 1001 is already done: it is analysed with the clip but not processed again.
    neuralfx.run(
        "mean-remover",
        src,
        str(tmp_path / "m.####.exr"),
        options=RunOptions(batch_size=3, depth="float", frames="1001"),
    )
    neuralfx.run(
        "mean-remover",
        src,
        str(tmp_path / "m.####.exr"),
        options=RunOptions(batch_size=3, depth="float"),
    )
    assert MeanRemover.seen_order == [1002, 1003, 1004]
    frames = [read_unit(src.replace("####", str(f))) for f in range(1001, 1005)]
    mean = np.mean(frames, axis=0)
    # The source is sRGB PNG and the output EXR, so the result is stored linear.
    np.testing.assert_allclose(
        read_image(str(tmp_path / "m.1003.exr")),
        srgb_to_linear(np.clip(frames[2] - mean + 0.5, 0, 1)),
        atol=1e-5,
    )


@needs_cpu_bf16
def test_bf16_runs_on_cpu(make_sequence, tmp_path):
    src = make_sequence()
    neuralfx.run("convert", src, str(tmp_path / "b.####.png"), options=RunOptions(precision="bf16"))
    assert (
        np.abs(read_unit(tmp_path / "b.1001.png") - read_unit(src.replace("####", "1001"))).max()
        < 0.01
    )


@pytest.mark.parametrize("has_bf16", [True, False])
def test_fp16_on_the_cpu_and_bf16_without_its_instructions_are_refused(
    make_sequence, tmp_path, monkeypatch, has_bf16
):
    """Without AVX-512 or AMX, torch computes bf16 in reference loops: a StarGAN v2 test
    that takes seconds took over ten minutes on an AVX2 EPYC."""
    from neuralfx import devices

    monkeypatch.setattr(devices, "cpu_has_bf16", lambda: has_bf16)
    src = make_sequence()
    options = RunOptions(precision="fp16", device="cpu")
    with pytest.raises(ParameterError, match="fp16 is not supported on the CPU") as fp16:
        neuralfx.run("convert", src, str(tmp_path / "c" / "c.####.png"), options=options)
    assert ("bf16" in fp16.value.hint) == has_bf16  # bf16 is offered only where it runs
    if not has_bf16:
        options = RunOptions(precision="bf16", device="cpu")
        with pytest.raises(ParameterError, match="no bf16 instructions") as bf16:
            neuralfx.run("convert", src, str(tmp_path / "b" / "b.####.png"), options=options)
        assert "--precision fp32" in bf16.value.hint
    assert not (tmp_path / "c").exists() and not (tmp_path / "b").exists()


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-GPU message")
def test_cuda_without_gpu_is_a_clear_error(cli, make_sequence, tmp_path):
    result = cli(
        "run", "convert", "--device", "cuda", make_sequence(), tmp_path / "o.####.png", expect=2
    )
    assert "torch sees no CUDA GPU" in result.stderr and "--device cpu" in result.stderr


def test_json_reporter_events_are_json_lines():
    import io

    stream = io.StringIO()
    r = JsonLinesReporter(stream)
    r.error("bad", hint="fix it", frame=3, path="a.png")
    assert json.loads(stream.getvalue()) == {
        "event": "error",
        "message": "bad",
        "hint": "fix it",
        "frame": 3,
        "path": "a.png",
    }


@pytest.mark.slow
def test_ctrl_c_stops_cleanly_and_the_rerun_resumes(make_sequence, tmp_path):
    src = make_sequence(frames=range(1, 31))
    out = tmp_path / "out" / "s.####.png"
    env = dict(
        os.environ, NEURALFX_PLUGINS="slow_plugin", PYTHONPATH=os.path.join(HERE, "plugin_modules")
    )
    cmd = [
        sys.executable,
        "-m",
        "neuralfx",
        "run",
        "slow-invert",
        "--seconds",
        "0.2",
        "--progress",
        "json",
        src,
        str(out),
    ]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for line in proc.stdout:
        if json.loads(line)["event"] == "frame":
            break
    proc.send_signal(signal.SIGINT)
    rest, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    events = [json.loads(line) for line in rest.splitlines()]
    assert events[-1]["event"] == "interrupted"
    written = sorted(n for n in os.listdir(tmp_path / "out") if not n.endswith(".neuralfx.jsonl"))
    assert 1 <= len(written) < 30
    assert all(name.startswith("s.") for name in written)  # no temporary files left
    for name in written:  # every file present is complete
        assert read_image(str(tmp_path / "out" / name)).shape == (48, 64, 3)
    again = subprocess.run(
        cmd[:-2] + [src, str(out)], env=env, capture_output=True, text=True, timeout=120
    )
    start = json.loads(again.stdout.splitlines()[0])
    assert again.returncode == 0 and start["skipped"] == len(written)
    assert len([n for n in os.listdir(tmp_path / "out") if n.startswith("s.")]) == 30


def test_text_reporter_shows_a_bar_and_a_summary(make_sequence, tmp_path):
    import io

    from neuralfx.pipeline.progress import TextReporter

    stream = io.StringIO()
    neuralfx.run(
        "convert",
        make_sequence(),
        str(tmp_path / "t.####.png"),
        reporter=TextReporter(bar=True, stream=stream),
    )
    text = stream.getvalue()
    assert "4 frame(s) to do on cpu" in text
    assert "4/4" in text  # the bar reached the end
    assert "done: 4 frame(s) written, 0 skipped" in text


def test_unknown_colour_space_is_refused_before_any_work(cli, make_sequence, tmp_path):
    result = cli(
        "run",
        "convert",
        "--input-colorspace",
        "ACEScg",
        make_sequence(),
        tmp_path / "o.####.exr",
        expect=2,
    )
    assert "unknown colour space 'ACEScg'" in result.stderr and "--ocio" in result.stderr
    result = cli(
        "run",
        "convert",
        "--ocio",
        "ocio://default",
        "--input-colorspace",
        "ACEScgg",
        make_sequence(),
        tmp_path / "o.####.exr",
        expect=2,
    )
    assert "did you mean 'ACEScg'" in result.stderr
    assert not list(tmp_path.glob("o.*"))


def test_nan_from_an_effect_names_the_frame_and_writes_nothing_for_it(
    fresh_host, make_sequence, tmp_path
):
    from neuralfx.errors import FrameError

    class Broken(neuralfx.Effect):
        name = "broken"

        def process(self, batch):
            rgb = batch.rgb.clone()
            if 3 in batch.frames:
                rgb[batch.frames.index(3), 0, 0, 0] = float("nan")
            return batch.replace(rgb=rgb)

    _register(fresh_host, Broken)
    src = make_sequence(frames=range(1, 6))
    with pytest.raises(FrameError, match="frame 3: the effect produced NaN"):
        neuralfx.run("broken", src, str(tmp_path / "n.####.png"), options=RunOptions(batch_size=2))
    assert not (tmp_path / "n.0003.png").exists()
    assert (tmp_path / "n.0001.png").exists()
    assert not [p for p in tmp_path.iterdir() if TEMP_MARK in p.name]


def test_rerun_with_other_settings_is_refused_instead_of_mixing(cli, make_sequence, tmp_path):
    src = make_sequence(frames=range(1, 5))
    out = tmp_path / "out" / "g.####.png"
    cli("run", "convert", "--frames", "1-2", src, out)
    # Same settings: the rerun resumes with the missing frames.
    again = cli.events(cli("run", "convert", "--progress", "json", src, out))
    assert again[0]["skipped"] == 2 and again[-1]["written"] == 2
    # Other output options: refused, naming what changed; nothing is rewritten.
    stamp = os.stat(tmp_path / "out" / "g.0001.png").st_mtime_ns
    result = cli("run", "convert", "--depth", "16", src, out, expect=1)
    assert "frames 1-4 were made differently" in result.stderr
    assert "output.depth: 'auto' -> '16'" in result.stderr and "--overwrite" in result.stderr
    assert os.stat(tmp_path / "out" / "g.0001.png").st_mtime_ns == stamp
    # --overwrite redoes them all with the new settings, and the record follows.
    cli("run", "convert", "--depth", "16", "--overwrite", src, out)
    assert read_image(str(tmp_path / "out" / "g.0004.png")).dtype == np.uint16
    cli("run", "convert", "--depth", "16", src, out)  # now consistent again: nothing to do


def test_rerun_with_other_effect_settings_is_refused(fresh_host, make_sequence, tmp_path):
    from neuralfx import params as declare
    from neuralfx.errors import OutputError

    class Gain(neuralfx.Effect):
        name = "gain"
        params = (declare.Float("gain", default=1.0, min=0.0, max=2.0),)

        def process(self, batch):
            return batch.replace(rgb=(batch.rgb * self.settings.gain).clamp(0, 1))

    _register(fresh_host, Gain)
    src = make_sequence(frames=[1, 2])
    out = str(tmp_path / "g.####.png")
    neuralfx.run("gain", src, out, settings={"gain": 0.5})
    with pytest.raises(OutputError, match=r"settings.gain: 0.5 -> 0.8"):
        neuralfx.run("gain", src, out, settings={"gain": 0.8})
    assert neuralfx.run("gain", src, out, settings={"gain": 0.5}).skipped == 2


def test_the_interrupted_count_includes_a_write_that_was_being_waited_for(
    make_sequence, tmp_path, monkeypatch
):
    # Ctrl-C while the main thread waited for the oldest write dropped that frame from the
    # count ("92 written" with 93 files).
    from neuralfx.frames import images

    src = make_sequence(frames=range(1, 41))
    out = tmp_path / "out" / "o.####.png"
    real_write = images.write_image

    def slow_write(*args, **kwargs):
        time.sleep(0.05)
        return real_write(*args, **kwargs)

    monkeypatch.setattr(images, "write_image", slow_write)

    class Counting(Reporter):
        written = None

        def interrupted(self, written, resumable=True):
            self.written = written

    reporter = Counting()
    signal.setitimer(signal.ITIMER_REAL, 0.4)
    previous = signal.signal(signal.SIGALRM, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            neuralfx.run(
                "convert",
                src,
                str(out),
                options=RunOptions(workers=1, batch_size=1),
                reporter=reporter,
            )
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    files = [n for n in os.listdir(out.parent) if n.startswith("o.")]
    assert 0 < len(files) < 40
    assert reporter.written == len(files)
