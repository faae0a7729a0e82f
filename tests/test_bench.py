"""The benchmark scripts run and print their figures and the command that reproduces them
(tiny settings; the figures themselves are not judged here)."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent

pytestmark = pytest.mark.slow


def _bench(script: str, *args: str) -> list[str]:
    env = dict(os.environ)
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / script), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[-1] == f"reproduce: python {ROOT / 'bench' / script} " + shlex.join(args)
    return lines


def test_pipeline_bench():
    lines = _bench(
        "pipeline.py",
        "--frames",
        "4",
        "--width",
        "64",
        "--height",
        "48",
        "--formats",
        "png,exr",
        "--repeat",
        "1",
    )
    rows = {
        line.split()[0]: [float(v) for v in line.split()[1:]]
        for line in lines
        if line.split()[:1] in (["png"], ["exr"])
    }
    assert set(rows) == {"png", "exr"}
    for decode, encode, ceiling, pipeline, share, vs_min, via_device, via_share in rows.values():
        assert min(decode, encode, pipeline, via_device) > 0
        # the figures are printed rounded: 1 decimal for frames/s, 2 for shares
        assert ceiling == pytest.approx(1 / (1 / decode + 1 / encode), rel=0.01)
        assert share == pytest.approx(pipeline / ceiling, rel=0.01, abs=0.006)
        assert vs_min == pytest.approx(pipeline / min(decode, encode), rel=0.01, abs=0.006)
        assert via_share == pytest.approx(via_device / ceiling, rel=0.01, abs=0.006)


def test_painting_style_bench():
    lines = _bench(
        "painting_style.py",
        "--methods",
        "johnson",
        "--sizes",
        "512",
        "--precisions",
        "fp32",
        "--frames",
        "1",
        "--e2e-frames",
        "2",
    )
    model, e2e = [line for line in lines if line.startswith("johnson")]
    assert model.split()[:3] == ["johnson", "512", "fp32"] and float(model.split()[3]) > 0
    assert model.split()[-1] == "-"  # no device memory to report on the CPU
    ceiling = float(next(line for line in lines if "codec ceiling" in line).split()[-2])
    fps, share = (float(v) for v in e2e.split()[1:3])
    assert 0 < fps < ceiling and share == pytest.approx(fps / ceiling, abs=0.006)


def test_flicker_bench():
    """A named clip and the same frames named by their path (any footage can be measured):
    the same figures, each from its own runs."""
    pattern = str(ROOT / "samples" / "clip" / "clip.####.png")
    lines = _bench(
        "flicker.py",
        "--methods",
        "johnson",
        "--clips",
        f"synthetic,{pattern}",
        "--frames",
        "1001-1004",
    )
    row = next(line for line in lines if line.startswith("synthetic"))
    by_path = next(line for line in lines if line.startswith("clip.####.png"))
    assert by_path.split()[1:] == row.split()[1:]
    fields = row.split()[:13]
    clip, frames, method, warp_all, warp_moving, err_u, err_s = fields[:7]
    wake, wake_levels, static, fu, fs, drift = fields[7:]
    assert (clip, frames, method) == ("synthetic", "1001-1004", "johnson")
    assert 0 < float(warp_all) < 1 and 0 < float(warp_moving) < 1
    # the ratio is of the two errors printed beside it (each rounded to 0.01 of 1e-3)
    assert float(err_s) / float(err_u) == pytest.approx(
        float(warp_all), abs=0.01 + 0.01 / float(err_u)
    )
    assert float(fs) < float(fu) and 0 < float(static) < 1 and float(drift) <= 2
    assert wake == "n/a" or float(wake) > 0
    assert wake_levels == "n/a" or 0 <= float(wake_levels) < 255


def test_stabiliser_bench_times_this_checkout_against_another():
    """Each checkout's stabiliser in its own process: a row per size and checkout, and the
    columns add up."""
    lines = _bench("stabiliser.py", "--frames", "3", "--compare-with", str(ROOT))
    rows = [line.split() for line in lines if line.startswith("360p")]
    assert [row[1] for row in rows] == ["this", ROOT.name]
    for row in rows:
        flow, tie, blend, total = map(float, row[2:])
        assert flow > 0 and tie > 0 and blend > 0
        assert total == pytest.approx(tie + blend, abs=0.11)


def test_vs_peer_floor_times_the_import_and_the_network_in_a_fresh_process():
    """The floor's child: torch imported in it (not before: its import time is part of the
    figure), then the job's first frames painted at the size asked for (a 320 px long side from
    the 640x360 clip)."""
    clip = ROOT / "samples" / "bbb" / "bbb-excerpt.mp4"
    code = (
        "import sys, json; sys.path.insert(0, sys.argv[1]); import vs_peer; "
        "assert 'torch' not in sys.modules; "
        "print(json.dumps(vs_peer.floor_child(sys.argv[2], 320, 3)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(ROOT / "bench"), str(clip)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    figures = json.loads(out.stdout.strip().splitlines()[-1])
    assert figures["frames"] == 3 and figures["size"] == [180, 320]
    assert figures["import"] > 0.05 and figures["network"] > 0


def test_watermark_bench_counts_false_positives():
    lines = _bench("watermark.py", "--false-positives", "4")
    counted = next(line for line in lines if line.startswith("unmarked:"))
    assert counted.startswith("unmarked: 4 pictures and 11 clips of 8 frames, 0 read as marked")
    assert any(line.startswith("stated false-match rate: at most 8.3e-08") for line in lines)


def test_all_runs_each_benchmark_within_its_share_and_writes_the_report(tmp_path):
    """bench/all.py, the one prepared GPU run: the plan (every benchmark with its share of the
    budget and its goal), then a real run of one, cut off at its share, into the JSON report
    and a dated docs section."""
    plan = _bench("all.py", "--device", "cpu", "--budget-s", "300", "--dry-run")
    assert any(
        line.startswith("painting_style") and "Johnson 1080p >= 250" in line for line in plan
    )
    import json

    sys.path.insert(0, str(ROOT / "bench"))
    import all as every

    result = every.run_one(
        "faces",
        ["--precisions", "fp32", "--batches", "1", "--runs", "1", "--frames", "2"],
        "cpu",
        3.0,
    )
    assert result["exit"] is None and "cut off after 3 s" in result["output"]
    result["goal"] = "a goal"
    section = every.docs_section([result], "cpu", "CPU, 2 cores", "2026-12-06")
    assert section.startswith("## 2026-12-06: CPU, 2 cores (`cpu`)")
    assert "### faces (cut off" in section and result["command"] in section
    json.dumps(result)


def test_stargan_v2_bench():
    lines = _bench(
        "stargan_v2.py", "--precisions", "fp32", "--batches", "1", "--runs", "1", "--frames", "2"
    )
    text = "\n".join(lines)
    assert "FAN masks + generator, celeba_hq" in text and "generator, afhq" in text
    rates = [float(line.split()[0]) for line in lines if line.endswith("(2 frames, fp32)")]
    assert len(rates) == 2 and min(rates) > 0  # animal-transfer and face-attributes end to end


def test_video_encode_bench():
    """Each setting's row: files made by the repeated runs, size, PSNR and time; the shipped
    setting makes one file (the other is x264's and is not judged)."""
    lines = _bench("video_encode.py", "--clips", "ramps", "--sizes", "320x240", "--repeat", "3")
    rows = {line.split()[2]: line.split()[3:] for line in lines if line.startswith("ramps")}
    assert set(rows) == {"shipped", "mbtree"}
    files, kb, psnr, ms = rows["shipped"]
    assert files == "1/3" and float(kb) > 0 and 30 < float(psnr) < 60 and float(ms) > 0


def test_torch_free_bench_paints_the_job_without_torch_beside_the_peer(tmp_path):
    """The torch-free child paints every frame of the job (one DIS flow for each after the
    first) into a video without importing torch (it refuses to report otherwise); the table has
    NeuralFX, the peer and the child, each as peer / run."""
    clip = ROOT / "samples" / "bbb" / "bbb-excerpt.mp4"
    out = tmp_path / "child.mp4"
    child = [sys.executable, str(ROOT / "bench" / "torch_free.py"), "--child", "onnxruntime"]
    done = subprocess.run(
        child + [str(clip), "320", str(out)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"flows": 47, "size": [320, 180]}
    import av

    with av.open(str(out)) as video:
        frames = [f.to_ndarray(format="rgb24") for f in video.decode(video=0)]
    assert len(frames) == 48 and frames[0].shape == (180, 320, 3)
    assert min(float(f.std()) for f in frames) > 10  # painted, not flat

    lines = _bench("torch_free.py", "--repeat", "1")
    rows = {
        line[:34].strip(): line[34:].split()
        for line in lines
        if line.startswith(("neuralfx", "peer", "onnxruntime"))
    }
    assert set(rows) == {"neuralfx", "peer", "onnxruntime, no torch"}
    assert rows["peer"][1] == "1.00"
    assert all(float(wall) > 0.3 and float(ratio) > 0 for wall, ratio in rows.values())
