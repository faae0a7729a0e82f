"""`neuralfx train painting-style`: a few iterations on tiny generated data; losses, checkpoint
round trip, previews, and resume giving the same weights as an uninterrupted run."""

from __future__ import annotations

import json
import signal
import subprocess
import sys

import numpy as np
import pytest
import torch
import torchvision

from helpers import deterministic_state, gradient, to_dtype
from neuralfx import models, training
from neuralfx.host import weights
from neuralfx.frames.images import write_image


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("train")
    content, styles = root / "content", root / "styles"
    content.mkdir()
    styles.mkdir()
    for i in range(5):
        write_image(str(content / f"c{i}.png"), to_dtype(gradient(48, 40, seed=i), np.uint8))
        write_image(
            str(styles / f"s{i}.jpg"), to_dtype(1 - gradient(40, 48, seed=20 + i), np.uint8)
        )
    torch.manual_seed(0)
    vgg16 = root / "vgg16.pth"
    torch.save(torchvision.models.vgg16(weights=None).state_dict(), vgg16)
    encoder = root / "encoder.pth"
    torch.save(deterministic_state("adain_vgg_normalised", seed=1), encoder)
    return {
        "content": content,
        "styles": styles,
        "style": styles / "s0.jpg",
        "vgg16": vgg16,
        "encoder": encoder,
        "root": root,
    }


def _events(result):
    return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]


def _johnson(cli, data, out, iterations, *extra):
    return cli(
        "train",
        "painting-style",
        "--content",
        data["content"],
        "--style",
        data["style"],
        "--loss-net",
        data["vgg16"],
        "--out",
        out,
        "--iterations",
        iterations,
        "--batch-size",
        2,
        "--image-size",
        32,
        "--save-every",
        2,
        "--preview-every",
        2,
        "--progress",
        "json",
        *extra,
    )


def test_johnson_training_writes_a_loadable_checkpoint_and_previews(cli, data, tmp_path):
    out = tmp_path / "style.safetensors"
    events = _events(_johnson(cli, data, out, 4))
    losses = [e for e in events if e["event"] == "iteration"]
    assert [e["iteration"] for e in losses] == [1, 2, 3, 4]
    assert all(
        np.isfinite(e["loss"]) and e["loss"] == pytest.approx(e["content"] + e["style"], rel=1e-4)
        for e in losses
    )
    meta = weights.read_metadata(out)
    assert meta["method"] == "johnson" and meta["iteration"] == "4" and meta["model"] == "johnson"
    net = models.load("johnson", out)  # the trained file loads like an official one
    with torch.no_grad():
        assert net(torch.rand(1, 3, 32, 32) * 255).shape == (1, 3, 32, 32)
    previews = sorted(p.name for p in (tmp_path / "style.previews").iterdir())
    assert previews == ["iter_0000002.png", "iter_0000004.png"]


def test_training_lowers_the_loss(cli, data, tmp_path):
    events = _events(_johnson(cli, data, tmp_path / "l.safetensors", 12, "--lr", "5e-3"))
    losses = [e["loss"] for e in events if e["event"] == "iteration"]
    assert np.mean(losses[-3:]) < np.mean(losses[:3])


@pytest.mark.slow
def test_resume_continues_exactly_where_it_stopped(cli, data, tmp_path):
    straight = tmp_path / "straight.safetensors"
    _johnson(cli, data, straight, 4)
    resumed = tmp_path / "resumed.safetensors"
    _johnson(cli, data, resumed, 2)  # "interrupted" after 2 iterations
    events = _events(_johnson(cli, data, resumed, 4))
    assert {"event": "resume", "iteration": 2} in events
    assert [e["iteration"] for e in events if e["event"] == "iteration"] == [3, 4]
    a, b = weights.read_state_dict(straight), weights.read_state_dict(resumed)
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=1e-5, atol=1e-6)


def test_resume_with_other_settings_is_refused(cli, data, tmp_path):
    out = tmp_path / "x.safetensors"
    _johnson(cli, data, out, 2)
    result = cli(
        "train",
        "painting-style",
        "--content",
        data["content"],
        "--style",
        data["style"],
        "--loss-net",
        data["vgg16"],
        "--out",
        out,
        "--iterations",
        4,
        "--batch-size",
        1,
        "--image-size",
        32,
        expect=1,
    )
    assert "trained with other settings" in result.stderr and "--fresh" in result.stderr


def test_adain_decoder_training(cli, data, tmp_path):
    out = tmp_path / "decoder.safetensors"
    result = cli(
        "train",
        "painting-style",
        "--method",
        "adain",
        "--content",
        data["content"],
        "--styles",
        data["styles"],
        "--loss-net",
        data["encoder"],
        "--out",
        out,
        "--iterations",
        2,
        "--batch-size",
        2,
        "--image-size",
        32,
        "--progress",
        "json",
    )
    assert _events(result)[-1]["event"] == "done"
    assert weights.read_metadata(out)["model"] == "adain-decoder"
    dec = models.load("adain-decoder", out)
    with torch.no_grad():
        assert dec(torch.rand(1, 512, 4, 4)).shape == (1, 3, 32, 32)


def test_training_input_errors(cli, data, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    result = cli(
        "train",
        "painting-style",
        "--content",
        empty,
        "--style",
        data["style"],
        "--loss-net",
        data["vgg16"],
        "--out",
        tmp_path / "o.safetensors",
        expect=2,
    )
    assert "holds no PNG, JPEG, TIFF or EXR images" in result.stderr
    result = cli(
        "train",
        "painting-style",
        "--content",
        data["content"],
        "--out",
        tmp_path / "o.safetensors",
        expect=2,
    )
    assert "needs --style IMAGE" in result.stderr


def _johnson_argv(data, out, iterations, *extra):
    return [
        sys.executable,
        "-m",
        "neuralfx",
        "train",
        "painting-style",
        "--content",
        str(data["content"]),
        "--style",
        str(data["style"]),
        "--loss-net",
        str(data["vgg16"]),
        "--out",
        str(out),
        "--iterations",
        str(iterations),
        "--batch-size",
        "2",
        "--image-size",
        "32",
        "--progress",
        "json",
        *map(str, extra),
    ]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_stopped_training_saves_a_state_that_resumes_exactly(cli, data, tmp_path, sig):
    # (Ctrl-C during a 4-minute run used to leave nothing: the first save came at 1,000 steps)
    out = tmp_path / "stopped.safetensors"
    proc = subprocess.Popen(
        _johnson_argv(data, out, 1000), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    for line in proc.stdout:
        if '"iteration": 3,' in line:
            proc.send_signal(sig)
            break
    rest, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    stopped = [json.loads(x) for x in rest.splitlines() if '"interrupted"' in x][0]
    reached = stopped["iteration"]
    assert reached >= 3 and weights.read_metadata(out)["iteration"] == str(reached)
    events = _events(_johnson(cli, data, out, reached + 2))
    assert {"event": "resume", "iteration": reached} in events
    straight = tmp_path / "straight.safetensors"
    _johnson(cli, data, straight, reached + 2)
    a, b = weights.read_state_dict(straight), weights.read_state_dict(out)
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("damage", [b"", b"<html>not a state</html>", "truncated", "code"])
def test_a_damaged_training_state_is_a_clear_error(cli, data, tmp_path, damage):
    out = tmp_path / "d.safetensors"
    _johnson(cli, data, out, 2)
    state = out.with_name(out.name + ".train-state.pt")
    if damage == "code":  # a pickle that would run code: refused, never unpickled
        torch.save({"iteration": 2, "x": np.array([1])}, state)
    else:
        state.write_bytes(state.read_bytes()[:200] if damage == "truncated" else damage)
    result = cli(
        "train",
        "painting-style",
        "--content",
        data["content"],
        "--style",
        data["style"],
        "--loss-net",
        data["vgg16"],
        "--out",
        out,
        "--iterations",
        4,
        "--batch-size",
        2,
        "--image-size",
        32,
        expect=1,
    )
    assert f"{state} (the state that resumes d.safetensors) cannot be read" in result.stderr
    assert "--fresh" in result.stderr
    assert "Traceback" not in result.stderr and "weights_only" not in result.stderr


def test_previews_come_by_time_as_well(cli, data, tmp_path, monkeypatch):
    monkeypatch.setattr(training, "PREVIEW_SECONDS", 0.0)
    out = tmp_path / "t.safetensors"
    events = _events(_johnson(cli, data, out, 3, "--preview-every", 1000, "--save-every", 1000))
    assert [e["iteration"] for e in events if e["event"] == "preview"] == [1, 2, 3]
    assert [e["iteration"] for e in events if e["event"] == "checkpoint"] == [3]
