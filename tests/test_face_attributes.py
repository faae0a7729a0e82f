"""face-attributes through the CLI on clips made from a real face (scikit-image's astronaut),
with StarGAN weights in the official layouts (deterministic, not trained)."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
import torch
from faces_helpers import astronaut, moved, no_face, read_rgb, two_faces, write_clip
from helpers import deterministic_state

pytest.importorskip("skimage.data")


@pytest.fixture(scope="session")
def stargan(tmp_path_factory):
    """200000-G.ckpt and 200000-D.ckpt as the official solver saves them."""
    root = tmp_path_factory.mktemp("stargan")
    torch.save(deterministic_state("stargan_v1_celeba128_generator", seed=3), root / "G.ckpt")
    torch.save(deterministic_state("stargan_v1_celeba128_discriminator", seed=4), root / "D.ckpt")
    return ["--checkpoint", str(root / "G.ckpt"), "--discriminator", str(root / "D.ckpt")]


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """A pan across the face (3 px a frame), then a frame with no face (1005)."""
    folder = tmp_path_factory.mktemp("clip")
    frames = {1001 + i: moved(astronaut(), dx=3 * i) for i in range(4)}
    frames[1005] = no_face()
    return write_clip(folder, frames)


def run(cli, tmp_path, src, *args, expect=0, out="out/f.####.png"):
    result = cli(
        "run",
        "face-attributes",
        *args,
        src,
        str(tmp_path / out),
        "--progress",
        "json",
        expect=expect,
    )
    return result, str(tmp_path / out)


def frame(pattern, number):
    return read_rgb(pattern.replace("####", f"{number:04d}"))


def test_only_the_faces_change(cli, tmp_path, clip, stargan):
    _, out = run(cli, tmp_path, clip, "--hair", "blond", "--male", "flip", *stargan)
    for number in range(1001, 1005):
        before, after = frame(clip, number).astype(int), frame(out, number).astype(int)
        changed = np.abs(after - before).max(-1) > 0
        ys, xs = np.nonzero(changed)
        # everything that changed is around the face (box 175-265 x 76-166, moved 3 px/frame)
        assert xs.min() > 100 and xs.max() < 350 and ys.max() < 260
        face = np.abs(after - before)[90:160, 190 + 3 * (number - 1001) : 250]
        assert face.mean() > 10  # the face itself was redrawn
    assert np.array_equal(frame(out, 1005), frame(clip, 1005))  # no face: bit for bit


def test_the_paste_back_has_no_box_edge(cli, tmp_path, clip, stargan):
    _, out = run(cli, tmp_path, clip, "--young", "flip", *stargan, "--frames", "1001")
    diff = np.abs(frame(out, 1001).astype(float) - frame(clip, 1001)).max(-1)
    ys, xs = np.nonzero(diff)
    x0, y0, x1, y1 = xs.min(), ys.min(), xs.max(), ys.max()
    ring = np.concatenate(
        [diff[y0 : y1 + 1, x0], diff[y0 : y1 + 1, x1], diff[y0, x0 : x1 + 1], diff[y1, x0 : x1 + 1]]
    )
    # at the edge of the changed area the change has faded to (almost) nothing
    assert ring.mean() < 1.0 and diff.max() > 40


def test_two_faces_get_their_own_ids_and_can_be_chosen(cli, tmp_path, stargan):
    src = write_clip(tmp_path / "two", {1: two_faces(), 2: moved(two_faces(), dx=2)})
    _, out = run(cli, tmp_path, src, "--hair", "black", "--faces", "2", *stargan)
    for number in (1, 2):
        diff = np.abs(frame(out, number).astype(int) - frame(src, number)).max(-1)
        assert diff[:, :384].max() == 0  # face 1 (left) untouched
        assert diff[:, 384:].max() > 40  # face 2 (right) changed


def test_sixteen_bit_with_alpha_keeps_depth_and_alpha(cli, tmp_path, stargan):
    rgb = astronaut().astype(np.uint16) * 257
    alpha = np.full(rgb.shape[:2] + (1,), 40000, np.uint16)
    (tmp_path / "in").mkdir()
    cv2.imwrite(str(tmp_path / "in" / "a.0001.png"), np.concatenate([rgb[..., ::-1], alpha], -1))
    _, out = run(cli, tmp_path, str(tmp_path / "in" / "a.####.png"), "--male", "flip", *stargan)
    got = cv2.imread(out.replace("####", "0001"), cv2.IMREAD_UNCHANGED)
    assert got.dtype == np.uint16 and got.shape[2] == 4
    assert (got[..., 3] == 40000).all()
    assert np.abs(got[..., :3].astype(int) - rgb[..., ::-1]).max() > 5000


def test_a_face_cut_by_the_frame_edge(cli, tmp_path, stargan):
    src = write_clip(tmp_path / "edge", {1: moved(astronaut(), dx=-200)})  # face at x -25..65
    result, out = run(cli, tmp_path, src, "--male", "flip", *stargan)
    assert json.loads(result.stdout.splitlines()[-1])["event"] == "done"


def test_without_weights_the_error_says_how_to_get_them(cli, tmp_path, clip):
    result, _ = run(cli, tmp_path, clip, "--hair", "blond", expect=1)
    error = next(
        json.loads(line)
        for line in result.stdout.splitlines()
        if json.loads(line)["event"] == "error"
    )
    assert "stargan-celeba-128" in error["message"]
    assert "neuralfx models fetch stargan-celeba-128 stargan-celeba-128-d" in error["hint"]
    assert "neuralfx train face-attributes" in error["hint"]


def test_nothing_to_change_is_refused(cli, tmp_path, clip, stargan):
    result, _ = run(cli, tmp_path, clip, *stargan, expect=2)
    assert "nothing to change" in result.stdout


def test_a_resumed_run_gives_the_frames_of_one_run(cli, tmp_path, clip, stargan):
    _, whole = run(cli, tmp_path, clip, "--young", "flip", *stargan, out="whole/f.####.png")
    run(
        cli,
        tmp_path,
        clip,
        "--young",
        "flip",
        *stargan,
        "--frames",
        "1001-1002",
        out="parts/f.####.png",
    )
    run(cli, tmp_path, clip, "--young", "flip", *stargan, out="parts/f.####.png")
    for number in range(1001, 1006):
        assert np.array_equal(
            read_rgb(tmp_path / "parts" / f"f.{number:04d}.png"), frame(whole, number)
        )


def test_temporal_steadies_the_translated_face(cli, tmp_path, stargan):
    """A still face with fresh sensor noise in each frame: the translated face flickers with
    the noise unless --temporal ties it to its previous frame."""
    rng = np.random.default_rng(0)
    base = astronaut().astype(np.float32)
    src = write_clip(
        tmp_path / "noisy",
        {
            f: np.clip(base + rng.normal(0, 2, base.shape), 0, 255).astype(np.uint8)
            for f in range(1, 5)
        },
    )
    face = (slice(80, 165), slice(180, 260))

    def flicker(pattern):
        pics = [frame(pattern, f).astype(float)[face] for f in range(1, 5)]
        return np.mean([np.abs(b - a).mean() for a, b in zip(pics, pics[1:], strict=False)])

    _, steady = run(cli, tmp_path, src, "--male", "flip", *stargan, out="a/f.####.png")
    _, raw = run(
        cli, tmp_path, src, "--male", "flip", "--no-temporal", *stargan, out="b/f.####.png"
    )
    assert flicker(steady) < 0.6 * flicker(raw)


def test_a_linear_exr_source_comes_back_linear(cli, tmp_path, stargan):
    from neuralfx.colour import srgb_to_linear
    from neuralfx.frames.images import read_image, write_image

    linear = srgb_to_linear(astronaut().astype(np.float32) / 255).astype(np.float32)
    (tmp_path / "exr").mkdir()
    write_image(str(tmp_path / "exr" / "p.0001.exr"), linear)
    _, out = run(
        cli,
        tmp_path,
        str(tmp_path / "exr" / "p.####.exr"),
        "--young",
        "flip",
        *stargan,
        out="o/p.####.exr",
    )
    got = read_image(out.replace("####", "0001"), 1)
    assert got.dtype == linear.dtype and got.shape == linear.shape
    diff = np.abs(got - linear).max(-1)
    assert diff[90:160, 190:250].mean() > 0.02  # the face changed
    assert diff[300:, :].max() < 1e-5  # elsewhere: the same light, up to float rounding


def test_a_face_too_small_to_find_passes_through_with_a_warning(cli, tmp_path, stargan):
    small = cv2.resize(astronaut(), (160, 160), interpolation=cv2.INTER_AREA)  # a 28 px face
    src = write_clip(tmp_path / "small", {1: small})
    result, out = run(cli, tmp_path, src, "--hair", "black", *stargan)
    assert np.array_equal(frame(out, 1), small)
    warning = next(
        json.loads(line)
        for line in result.stdout.splitlines()
        if json.loads(line)["event"] == "warning"
    )
    assert "found no face in 1 frame(s)" in warning["message"]
    assert "--detector cnn" in warning["message"]


def test_video_in_and_out_with_seamless_blending(cli, tmp_path, stargan):
    src = write_clip(tmp_path / "v", {f: moved(astronaut(), dx=2 * f) for f in range(1, 5)})
    cli("run", "convert", src, str(tmp_path / "in.mp4"), "--progress", "none")
    _, out = run(
        cli,
        tmp_path,
        str(tmp_path / "in.mp4"),
        "--hair",
        "blond",
        "--blend",
        "seamless",
        *stargan,
        out="out.mp4",
    )
    from neuralfx.frames.video import read_frames

    before = dict(read_frames(str(tmp_path / "in.mp4"), {2}))[2].astype(int)
    after = dict(read_frames(out, {2}))[2].astype(int)
    diff = np.abs(after - before).max(-1)
    assert diff[90:160, 190:250].mean() > 10 and np.median(diff[300:]) <= 2  # codec noise only


def test_a_batch_retried_after_running_out_of_memory_is_tracked_once(
    cli, tmp_path, clip, stargan, monkeypatch
):
    """The runner retries a batch in halves after an out-of-memory error; the faces of the
    retried frames must not be tracked (and steadied) a second time."""
    args = ("--young", "flip", *stargan, "--batch-size", "4")
    _, plain = run(cli, tmp_path, clip, *args, out="plain/f.####.png")
    from neuralfx.models.stargan import Generator

    forward, failed = Generator.forward, []

    def fails_once_on_big_batches(self, x, c):
        if len(x) > 2 and not failed:
            failed.append(len(x))
            raise torch.OutOfMemoryError("simulated")
        return forward(self, x, c)

    monkeypatch.setattr(Generator, "forward", fails_once_on_big_batches)
    result, retried = run(cli, tmp_path, clip, *args, out="retried/f.####.png")
    assert failed and "out of memory" in result.stdout
    for number in range(1001, 1006):
        assert np.array_equal(frame(retried, number), frame(plain, number))


@pytest.mark.parametrize("size", [128, 256])
def test_the_official_release_folder_as_unpacked_works_in_place(cli, tmp_path, clip, size):
    # yunjey/stargan's download.sh unpacks stargan_celeba_SIZE/models/200000-{G,D}.ckpt; the
    # generators of both releases have the same layout, the discriminators do not
    folder = tmp_path / f"release{size}" / "models"
    folder.mkdir(parents=True)
    torch.save(
        deterministic_state("stargan_v1_celeba128_generator", seed=3), folder / "200000-G.ckpt"
    )
    d = deterministic_state("stargan_v1_celeba128_discriminator", seed=4)
    if size == 256:  # its attribute head is image_size / 64 wide
        d["conv2.weight"] = torch.randn(5, 2048, 4, 4) / 2048**0.5
    torch.save(d, folder / "200000-D.ckpt")
    _, out = run(cli, tmp_path, clip, "--hair", "blond", "--checkpoint", folder, "--frames", "1001")
    assert frame(out, 1001).shape == frame(clip, 1001).shape
    # and the generator file alone finds the discriminator beside it
    run(
        cli,
        tmp_path,
        clip,
        "--hair",
        "blond",
        "--checkpoint",
        folder / "200000-G.ckpt",
        "--frames",
        "1001",
        out="out2/f.####.png",
    )


@pytest.mark.parametrize("split", ["1-4", "1-5"])
def test_a_resumed_run_with_chosen_faces_and_a_missed_frame_gives_one_runs_frames(
    cli, tmp_path, stargan, split
):
    """Two faces, only face 1 changed, frame 5 blurred so the detector misses both (the
    tracker holds them), batches of 2: a run over some frames, then the rest, gives the frames
    of one run, compared bit for bit (the saved looks of the held faces came back only when
    every track had one, and only chosen faces got one)."""
    frames = {n: two_faces() for n in range(1, 9)}
    frames[5] = cv2.GaussianBlur(frames[5], (0, 0), 6)
    src = write_clip(tmp_path / "clip", frames)
    args = ("--hair", "blond", "--faces", "1", "--batch-size", "2", *stargan)
    _, whole = run(cli, tmp_path, src, *args, out="whole/f.####.png")
    run(cli, tmp_path, src, *args, "--frames", split, out="parts/f.####.png")
    run(cli, tmp_path, src, *args, out="parts/f.####.png")
    changed = []
    for number in range(1, 9):
        one = frame(whole, number)
        assert np.array_equal(read_rgb(tmp_path / "parts" / f"f.{number:04d}.png"), one), number
        changed.append(not np.array_equal(one, frames[number]))
    assert changed[5:] == [True, True, True]  # face 1 is still followed after the miss


def test_chosen_by_person_across_a_miss_and_cuts_resumed_anywhere_gives_one_run(
    cli, tmp_path, stargan
):
    """``--faces 1`` is the carphone man: changed before and after a 7-frame miss and after
    a cut away to the astronaut and back, she (id 2, at his place) left alone; runs stopped
    inside the miss and at the cut, then resumed, give one run's frames bit for bit."""
    from faces_helpers import cut_and_blink_shot

    shot = dict(enumerate(cut_and_blink_shot(), start=1))
    src = write_clip(tmp_path / "clip", shot)
    args = ("--hair", "blond", "--faces", "1", "--batch-size", "3", *stargan)
    _, whole = run(cli, tmp_path, src, *args, out="whole/f.####.png")
    changed = [not np.array_equal(frame(whole, n), shot[n]) for n in range(1, 18)]
    assert changed[:3] == [True] * 3
    assert changed[10:12] == [True, True] and changed[15:] == [True, True]
    assert changed[12:15] == [False] * 3
    for split in ("1-6", "1-12"):
        out = f"parts{split}/f.####.png"
        run(cli, tmp_path, src, *args, "--frames", split, out=out)
        run(cli, tmp_path, src, *args, out=out)
        for n in range(1, 18):
            assert np.array_equal(frame(str(tmp_path / out), n), frame(whole, n)), (split, n)
