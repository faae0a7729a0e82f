"""face-swap end to end on tiny data made from real faces: extract with masks, train (the loss
falls, the checkpoint round-trips, runs resume exactly), convert (always labelled, always
watermarked, with a provenance record naming the consent)."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from faces_helpers import astronaut, moved, no_face, read_rgb, write_clip
from safetensors.torch import load_file

from neuralfx.marks import watermark

pytest.importorskip("skimage.data")


@pytest.fixture(scope="module")
def identities(tmp_path_factory):
    """A: the astronaut in 6 poses; B: the same face mirrored and tinted (a stand-in second
    identity), both extracted as 64 px swap crops with masks."""
    from click.testing import CliRunner

    from neuralfx.cli import main

    root = tmp_path_factory.mktemp("swap")
    poses = {i: moved(astronaut(), 3 * i, 2 * i, 1 + 0.04 * i, angle=2 * i) for i in range(1, 7)}
    tinted = {
        i: np.clip(p[:, ::-1] * np.array([1.1, 0.9, 0.8]), 0, 255).astype(np.uint8)
        for i, p in poses.items()
    }
    for name, frames in (("a", poses), ("b", tinted)):
        clip = write_clip(root / f"{name}-clip", frames)
        result = CliRunner().invoke(
            main, ["faces", "extract", clip, str(root / name), "--layout", "swap", "--size", "64"]
        )
        assert "6 face(s) written" in result.output, result.output
    return root


def train(cli, root, out, iterations, *extra):
    result = cli(
        "train",
        "face-swap",
        "--a",
        str(root / "a"),
        "--b",
        str(root / "b"),
        "--out",
        str(out),
        "--resolution",
        "64",
        "--width",
        "16",
        "--latent",
        "64",
        "--batch-size",
        "4",
        "--lr",
        "5e-4",
        "--iterations",
        str(iterations),
        "--save-every",
        "10",
        "--preview-every",
        "30",
        "--progress",
        "json",
        *extra,
    )
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_extract_writes_crops_and_masks(identities):
    crops = sorted((identities / "a" / "images").iterdir())
    mask = read_rgb(identities / "a" / "masks" / crops[0].name)
    assert read_rgb(crops[0]).shape == (64, 64, 3)
    assert mask[32, 32].max() == 255 and mask[1, 1].max() == 0  # the face, not the corner


def test_training_lowers_the_loss_round_trips_and_resumes(cli, identities, tmp_path):
    events = train(cli, identities, tmp_path / "ab.safetensors", 30)
    losses = [e["loss"] for e in events if e["event"] == "iteration"]
    assert np.mean(losses[-5:]) < 0.8 * np.mean(losses[:5])
    assert (tmp_path / "ab.previews" / "iter_0000030.png").is_file()
    train(cli, identities, tmp_path / "cd.safetensors", 10)
    resumed = train(cli, identities, tmp_path / "cd.safetensors", 30)
    assert resumed[0] == {"event": "resume", "iteration": 10}
    a, b = load_file(tmp_path / "ab.safetensors"), load_file(tmp_path / "cd.safetensors")
    assert all((a[k] == b[k]).all() for k in a)


@pytest.fixture(scope="module")
def model(identities, tmp_path_factory):
    from click.testing import CliRunner

    from neuralfx.cli import main

    out = tmp_path_factory.mktemp("model") / "ab.safetensors"
    result = CliRunner().invoke(
        main,
        [
            "train",
            "face-swap",
            "--a",
            str(identities / "a"),
            "--b",
            str(identities / "b"),
            "--out",
            str(out),
            "--resolution",
            "64",
            "--width",
            "16",
            "--latent",
            "64",
            "--batch-size",
            "4",
            "--iterations",
            "5",
            "--progress",
            "none",
        ],
    )
    assert result.exit_code == 0, result.output
    return out


def test_convert_swaps_labels_watermarks_and_records(cli, tmp_path, model):
    big = np.full((1080, 1920, 3), 90, np.uint8)  # the watermark reads from 1080p frames
    big[:, 420:1500] = cv2.resize(astronaut(), (1080, 1080))  # her face: x 789-979, y 160-350
    src = write_clip(tmp_path / "in", {1: big, 2: cv2.resize(no_face(), (1920, 1080))})
    out = tmp_path / "o" / "f.####.png"
    result = cli(
        "run",
        "face-swap",
        "--checkpoint",
        str(model),
        "--consent",
        "release 42",
        src,
        str(out),
        "--progress",
        "json",
    )
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert events[0]["label"] == "AI-generated" and "watermark" in events[0]
    with open(events[-1]["provenance"]) as f:
        record = json.load(f)
    assert record["settings"]["consent"] == "release 42" and record["synthetic"]
    for number in (1, 2):
        got = read_rgb(str(out).replace("####", f"{number:04d}"))
        found = watermark.detect(got)
        assert found.found and found.payload.as_dict() == events[0]["watermark"]
    face = np.abs(read_rgb(str(out).replace("####", "0001")).astype(int) - big)
    assert face[200:330, 820:950].mean() > 5  # the face was replaced
    assert face[600:, :300].max() <= 8  # away from it: only the invisible mark


def test_face_swap_will_not_run_unlabelled(cli, tmp_path, model):
    src = write_clip(tmp_path / "in", {1: astronaut()})
    result = cli(
        "run",
        "face-swap",
        "--checkpoint",
        str(model),
        "--label",
        " ",
        src,
        str(tmp_path / "o.png"),
        expect=2,
    )
    assert "cannot be empty" in result.output
    result = cli(
        "run",
        "face-swap",
        "--checkpoint",
        str(model),
        "--label-opacity",
        "0.2",
        src,
        str(tmp_path / "o.png"),
        expect=2,
    )
    assert "readable label" in result.output


def test_a_checkpoint_that_is_not_a_swap_model_is_refused(cli, tmp_path, model):
    from neuralfx.host.weights import save_safetensors
    import torch

    save_safetensors(tmp_path / "x.safetensors", {"w": torch.zeros(1)}, {"format": "other"})
    src = write_clip(tmp_path / "in", {1: astronaut()})
    result = cli(
        "run",
        "face-swap",
        "--checkpoint",
        str(tmp_path / "x.safetensors"),
        src,
        str(tmp_path / "o.png"),
        expect=2,
    )
    assert "is not a face-swap model" in result.output


def test_unbalanced_sets_are_warned_about(cli, identities, tmp_path):
    import shutil

    few = tmp_path / "few"
    (few / "images").mkdir(parents=True)
    for name in sorted(p.name for p in (identities / "b" / "images").iterdir())[:2]:
        shutil.copy(identities / "b" / "images" / name, few / "images" / name)
    many = tmp_path / "many" / "images"
    many.mkdir(parents=True)
    for i in range(3):  # 18 faces of A against 2 of B
        for p in (identities / "a" / "images").iterdir():
            shutil.copy(p, many / f"{i}_{p.name}")
    result = cli(
        "train",
        "face-swap",
        "--a",
        str(tmp_path / "many"),
        "--b",
        str(few),
        "--out",
        str(tmp_path / "m.safetensors"),
        "--resolution",
        "64",
        "--width",
        "8",
        "--latent",
        "32",
        "--batch-size",
        "2",
        "--iterations",
        "1",
        "--progress",
        "json",
    )
    warnings = [
        json.loads(line)["message"]
        for line in result.stdout.splitlines()
        if json.loads(line)["event"] == "warning"
    ]
    assert any("A has 18 faces and B 2" in w for w in warnings)
    result = cli(
        "train",
        "face-swap",
        "--a",
        str(tmp_path / "many"),
        "--b",
        str(tmp_path / "nothing"),
        "--out",
        str(tmp_path / "n.safetensors"),
        expect=2,
    )
    assert "nothing" in result.output  # a set that does not exist is named
    (tmp_path / "empty").mkdir()
    result = cli(
        "train",
        "face-swap",
        "--a",
        str(tmp_path / "many"),
        "--b",
        str(tmp_path / "empty"),
        "--out",
        str(tmp_path / "e.safetensors"),
        expect=2,
    )
    assert "has 0 face(s)" in result.output and "faces extract" in result.output


def test_variable_rate_video_without_audio_is_swapped_frame_for_frame(cli, tmp_path, model):
    """A phone-style clip: variable frame rate, no audio, one frame without the face. The run
    warns about the rate, writes every frame once, swaps the face and passes the other frame."""
    import av
    from helpers import write_vfr_video

    frames = [moved(astronaut(), 2 * i, i) for i in range(4)] + [no_face()]
    src = write_vfr_video(str(tmp_path / "phone.mp4"), frames, [0, 33, 100, 133, 300])
    out = tmp_path / "o" / "f.####.png"
    result = cli(
        "run", "face-swap", "--checkpoint", str(model), src, str(out), "--progress", "json"
    )
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert any("variable frame rate" in e.get("message", "") for e in events)
    assert events[-1]["written"] == 5
    assert sorted(p.name for p in out.parent.glob("f.*.png")) == [
        f"f.{n:04d}.png" for n in range(1, 6)
    ]
    with av.open(src) as clip:
        decoded = [f.to_ndarray(format="rgb24") for f in clip.decode(video=0)]
        assert not clip.streams.audio
    swapped = read_rgb(str(out).replace("####", "0001")).astype(int)
    assert np.abs(swapped - decoded[0])[90:160, 185:255].mean() > 5  # her face, replaced
    passed = read_rgb(str(out).replace("####", "0005")).astype(int)
    assert np.abs(passed - decoded[4])[:256, :256].max() <= 6  # no face: only the mark here
    assert np.abs(passed - decoded[4])[-60:, -200:].max() > 60  # and the label in its corner
