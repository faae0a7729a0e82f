"""animal-transfer through the CLI, on a real cat (scikit-image's chelsea) and on Big Buck Bunny
(samples/bbb, CC-BY 3.0), with FUNIT weights in the official layout (deterministic)."""

from __future__ import annotations

import ctypes
import ctypes.util
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from faces_helpers import read_rgb, write_clip
from helpers import deterministic_state, needs_cpu_bf16, stargan_v2_release
from neuralfx.regions import boxes_document

pytest.importorskip("skimage.data")
BBB = Path(__file__).resolve().parent.parent / "samples" / "bbb" / "bbb-excerpt.mp4"
CAT_HEAD = (130, 20, 170, 150)  # chelsea: x, y, w, h of the cat's head


def chelsea() -> np.ndarray:
    from skimage import data

    return data.chelsea()  # 451x300


@pytest.fixture(scope="session")
def funit(tmp_path_factory):
    root = tmp_path_factory.mktemp("funit")
    torch.save(
        {
            "gen": deterministic_state("funit_animals_generator", seed=1),
            "gen_test": deterministic_state("funit_animals_generator", seed=2),
        },
        root / "animal149_gen.pt",
    )
    from skimage import data

    for name in ("astronaut", "coffee"):
        cv2.imwrite(str(root / f"{name}.png"), getattr(data, name)()[..., ::-1])
    return [
        "--checkpoint",
        str(root / "animal149_gen.pt"),
        "--examples",
        str(root / "astronaut.png"),
        "--examples",
        str(root / "coffee.png"),
    ]


@pytest.fixture(scope="module")
def animal_photos(tmp_path_factory):
    """--examples for StarGAN v2 (which refuses a person's photograph): the cat, mirrored, and
    a close crop of her head."""
    root = tmp_path_factory.mktemp("animals")
    cat = chelsea()
    cv2.imwrite(str(root / "mirrored.png"), cat[:, ::-1, ::-1])
    cv2.imwrite(str(root / "head.png"), cat[20:200, 120:320, ::-1])
    return ["--examples", str(root / "mirrored.png"), "--examples", str(root / "head.png")]


def pan(image: np.ndarray, frames: int, step: int) -> dict[int, np.ndarray]:
    h, w = image.shape[:2]
    return {
        f: cv2.warpAffine(
            image,
            np.float32([[1, 0, step * (f - 1)], [0, 1, 0]]),
            (w, h),
            borderMode=cv2.BORDER_REFLECT,
        )
        for f in range(1, frames + 1)
    }


def run(cli, src, out, *args, expect=0):
    return cli(
        "run", "animal-transfer", *args, str(src), str(out), "--progress", "json", expect=expect
    )


def frame(pattern, number):
    return read_rgb(str(pattern).replace("####", f"{number:04d}"))


def changed_box(before, after):
    ys, xs = np.nonzero(np.abs(after.astype(int) - before).max(-1) > 0)
    return xs.min(), ys.min(), xs.max(), ys.max()


def test_only_the_box_changes(cli, tmp_path, funit):
    src = write_clip(tmp_path / "in", {1: chelsea()})
    out = tmp_path / "o" / "f.####.png"
    run(cli, src, out, "--box", ",".join(map(str, CAT_HEAD)), "--margin", "0.1", *funit)
    x0, y0, x1, y1 = changed_box(frame(src, 1), frame(out, 1))
    x, y, w, h = CAT_HEAD
    side = max(w, h) * 1.2  # the square crop with its margin
    cx, cy = x + w / 2, y + h / 2
    assert cx - side / 2 - 1 <= x0 and x1 <= cx + side / 2 + 1
    assert cy - side / 2 - 1 <= y0 and y1 <= cy + side / 2 + 1
    diff = np.abs(frame(out, 1).astype(int) - frame(src, 1))[y + 40 : y + 110, x + 40 : x + 130]
    assert diff.mean() > 10  # the head was redrawn


def test_keyframed_boxes_move_the_region(cli, tmp_path, funit):
    src = write_clip(tmp_path / "in", pan(chelsea(), 3, 20))
    x, y, w, h = CAT_HEAD
    doc = boxes_document({1: (x, y, x + w, y + h), 3: (x + 40, y, x + w + 40, y + h)}, (451, 300))
    (tmp_path / "keys.json").write_text(json.dumps(doc))
    out = tmp_path / "o" / "f.####.png"
    run(cli, src, out, "--region", str(tmp_path / "keys.json"), "--no-temporal", *funit)
    first = changed_box(frame(src, 1), frame(out, 1))
    middle = changed_box(frame(src, 2), frame(out, 2))
    assert middle[0] - first[0] == pytest.approx(20, abs=2)  # halfway between the keys


def test_the_tracker_follows_the_bunny(cli, tmp_path, funit):
    """Big Buck Bunny (c) Blender Foundation, CC-BY 3.0: he climbs out of his burrow."""
    out = tmp_path / "o" / "f.####.png"
    result = run(cli, BBB, out, "--box", "150,120,110,110", "--track", "--frames", "1-16", *funit)
    assert not [e for e in map(json.loads, result.stdout.splitlines()) if e["event"] == "warning"]
    from neuralfx.frames.video import read_frames

    source = dict(read_frames(str(BBB), {1, 16}))
    boxes = [changed_box(source[f], frame(out, f)) for f in (1, 16)]
    moved = np.hypot(boxes[1][0] - boxes[0][0], boxes[1][1] - boxes[0][1])
    assert moved > 5  # the region moved with him
    x0, y0, x1, y1 = boxes[1]
    cx, cy = (x0 + x1) // 2, (y0 + y1) // 2
    patch = source[16][cy - 10 : cy + 10, cx - 10 : cx + 10].astype(float)
    assert patch[..., 2].mean() > patch[..., 1].mean() - 5  # grey-blue fur, not green grass


def test_bad_regions_are_refused(cli, tmp_path, funit):
    src = write_clip(tmp_path / "in", {1: chelsea()})
    out = tmp_path / "o" / "f.####.png"
    result = run(cli, src, out, "--box", "600,10,40,40", *funit, expect=2)
    assert "lies outside the 451x300 frame" in result.stdout
    result = run(cli, src, out, "--box", "10,10,4,40", *funit, expect=2)
    assert "smaller than 8 pixels" in result.stdout
    (tmp_path / "bad.json").write_text('{"neuralfx": "boxes",\n "version": 1,\n oops}')
    result = run(cli, src, out, "--region", str(tmp_path / "bad.json"), *funit, expect=2)
    assert "bad.json" in result.stdout and "line 3" in result.stdout
    result = run(cli, src, out, *funit, expect=2)
    assert "exactly one region" in result.stdout
    assert not (tmp_path / "o").exists()


def test_unreadable_examples_are_named(cli, tmp_path, funit):
    src = write_clip(tmp_path / "in", {1: chelsea()})
    (tmp_path / "broken.png").write_bytes(b"not a png")
    result = run(
        cli,
        src,
        tmp_path / "o" / "f.####.png",
        "--box",
        "130,20,170,150",
        *funit,
        "--examples",
        str(tmp_path / "broken.png"),
        expect=2,
    )
    assert "broken.png cannot be read" in result.stdout


def test_without_weights_the_error_says_how_to_get_them(cli, tmp_path, funit):
    src = write_clip(tmp_path / "in", {1: chelsea()})
    result = run(
        cli, src, tmp_path / "o" / "f.####.png", "--box", "130,20,170,150", *funit[2:], expect=1
    )
    error = next(e for e in map(json.loads, result.stdout.splitlines()) if e["event"] == "error")
    assert "funit-animals-149" in error["message"]
    assert "neuralfx models import funit-animals-149" in error["hint"]


def test_temporal_steadies_a_tracked_still_animal(cli, tmp_path, funit):
    """A still cat with fresh sensor noise: the tracker's jitter and the generator's response to
    the noise make the region flicker unless --temporal smooths the box and ties each result to
    the previous one."""
    rng = np.random.default_rng(0)
    base = chelsea().astype(np.float32)
    src = write_clip(
        tmp_path / "cat",
        {
            f: np.clip(base + rng.normal(0, 2, base.shape), 0, 255).astype(np.uint8)
            for f in range(1, 6)
        },
    )
    head = (slice(60, 130), slice(180, 260))

    def flicker(out):
        pics = [frame(out, f).astype(float)[head] for f in range(1, 6)]
        return np.mean([np.abs(b - a).mean() for a, b in zip(pics, pics[1:], strict=False)])

    steady, raw = tmp_path / "a" / "f.####.png", tmp_path / "b" / "f.####.png"
    run(cli, src, steady, "--box", "130,20,170,150", "--track", *funit)
    run(cli, src, raw, "--box", "130,20,170,150", "--track", "--no-temporal", *funit)
    assert flicker(steady) < 0.5 * flicker(raw)


def test_sixteen_bit_alpha_and_a_resumed_run(cli, tmp_path, funit):
    frames = pan(chelsea(), 3, 4)
    (tmp_path / "in").mkdir()
    for f, rgb in frames.items():
        rgba = np.concatenate(
            [rgb.astype(np.uint16) * 257, np.full(rgb.shape[:2] + (1,), 30000, np.uint16)], -1
        )
        cv2.imwrite(str(tmp_path / "in" / f"a.{f:04d}.png"), rgba[..., [2, 1, 0, 3]])
    src = tmp_path / "in" / "a.####.png"
    args = ("--box", "130,20,170,150", "--track", *funit)
    # Whatever else in the process did to the C library's rand() (MIL draws its Haar features
    # from it) must not move the boxes; from this state it tracks 2 px apart unless seeded
    ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").srand(11)
    run(cli, src, tmp_path / "whole" / "o.####.png", *args)
    run(cli, src, tmp_path / "parts" / "o.####.png", *args, "--frames", "2")
    run(cli, src, tmp_path / "parts" / "o.####.png", *args)
    for f in frames:
        whole = cv2.imread(str(tmp_path / "whole" / f"o.{f:04d}.png"), cv2.IMREAD_UNCHANGED)
        parts = cv2.imread(str(tmp_path / "parts" / f"o.{f:04d}.png"), cv2.IMREAD_UNCHANGED)
        assert whole.dtype == np.uint16 and (whole[..., 3] == 30000).all()
        assert np.array_equal(whole, parts)  # the tracker replayed: same frames as one run


def test_a_lost_animal_is_warned_about_and_the_region_holds(cli, tmp_path, funit):
    from skimage import data

    cup = cv2.resize(data.coffee(), (451, 300), interpolation=cv2.INTER_AREA)
    src = write_clip(tmp_path / "cut", {1: chelsea(), 2: chelsea(), 3: cup, 4: cup})
    out = tmp_path / "o" / "f.####.png"
    result = run(cli, src, out, "--box", "130,20,170,150", "--track", "--no-temporal", *funit)
    warnings = [
        e["message"] for e in map(json.loads, result.stdout.splitlines()) if e["event"] == "warning"
    ]
    assert len(warnings) == 1 and "lost the animal at frame 3" in warnings[0]
    boxes = [changed_box(frame(src, f), frame(out, f)) for f in (2, 3, 4)]
    assert max(abs(a - b) for a, b in zip(boxes[0], boxes[2], strict=True)) <= 2  # held


def test_the_official_weights_carry_their_licence(cli, tmp_path, funit):
    cli("models", "import", "funit-animals-149", funit[1])
    assert "CC BY-NC-SA 4.0" in cli("models", "list").stdout
    src = write_clip(tmp_path / "in", {1: chelsea()})
    result = run(
        cli, src, tmp_path / "o" / "f.####.png", "--box", "130,20,170,150", *funit[2:]
    )  # the registry's weights, now imported
    warnings = [
        e["message"] for e in map(json.loads, result.stdout.splitlines()) if e["event"] == "warning"
    ]
    assert any("CC BY-NC-SA 4.0" in w and "non-commercial" in w for w in warnings)


@pytest.fixture(scope="session")
def stargan_v2_afhq(tmp_path_factory):
    """StarGAN v2's AFHQ release as the official solver saves it (``100000_nets_ema.ckpt``:
    the three networks' state dicts in one file), deterministic weights."""
    root = tmp_path_factory.mktemp("stargan-v2")
    torch.save(stargan_v2_release("afhq"), root / "100000_nets_ema.ckpt")
    return str(root / "100000_nets_ema.ckpt")


def test_stargan_v2_renders_a_domain_from_a_seed_or_the_style_of_examples(
    cli, tmp_path, stargan_v2_afhq, animal_photos
):
    """``--model stargan-v2`` (issue 24): the region goes through StarGAN v2's AFHQ networks
    at 256 px, in the style drawn from ``--seed`` (truncated by ``--psi``) or taken from the
    ``--examples``; outside the region the frames are unchanged; a resumed run gives one
    run's frames."""
    frames = pan(chelsea(), 3, 2)
    src = write_clip(tmp_path / "in", frames)
    common = ("--model", "stargan-v2", "--checkpoint", stargan_v2_afhq, "--box", "130,20,170,150")
    outs = {}
    for name, extra in (
        ("seed3", ("--domain", "dog", "--seed", "3")),
        ("seed4", ("--domain", "dog", "--seed", "4")),
        ("psi", ("--domain", "dog", "--seed", "3", "--psi", "0.5")),
        ("examples", ("--domain", "wild", *animal_photos)),
    ):
        out = tmp_path / name / "f.####.png"
        run(cli, src, out, *common, *extra)
        outs[name] = [read_rgb(str(out).replace("####", f"{f:04d}")).astype(int) for f in (1, 2, 3)]
    first = outs["seed3"][0]
    x, y, w, h = CAT_HEAD
    inside, outside = (
        (slice(y + 40, y + h - 40), slice(x + 40, x + w - 40)),
        (slice(0, 300), slice(400, 451)),
    )
    assert np.abs(first - frames[1])[inside].mean() > 5  # the head changed
    assert np.array_equal(first[outside], frames[1][outside])  # far from it, nothing did
    for other in ("seed4", "psi", "examples"):  # each style is its own
        assert np.abs(outs[other][0] - first)[inside].mean() > 1, other
    split = tmp_path / "split" / "f.####.png"
    run(cli, src, split, *common, "--domain", "dog", "--seed", "3", "--frames", "1-1")
    run(cli, src, split, *common, "--domain", "dog", "--seed", "3")
    for f in (1, 2, 3):
        again = read_rgb(str(split).replace("####", f"{f:04d}")).astype(int)
        assert np.array_equal(again, outs["seed3"][f - 1]), f


def test_funit_needs_examples_and_stargan_v2_names_its_weights(cli, tmp_path):
    src = write_clip(tmp_path / "in", {1: chelsea()})
    result = run(cli, src, tmp_path / "o" / "f.####.png", "--box", "130,20,170,150", expect=2)
    assert "FUNIT learns the animal from --examples" in result.stdout + result.stderr
    result = run(
        cli,
        src,
        tmp_path / "p" / "f.####.png",
        "--model",
        "stargan-v2",
        "--box",
        "130,20,170,150",
        expect=1,
    )
    error = next(e for e in map(json.loads, result.stdout.splitlines()) if e["event"] == "error")
    assert "stargan-v2-afhq" in error["message"]
    assert "neuralfx models fetch stargan-v2-afhq" in error["hint"]


@needs_cpu_bf16
def test_stargan_v2_runs_in_bf16_from_a_seed_and_from_examples(
    cli, tmp_path, stargan_v2_afhq, animal_photos
):
    src = write_clip(tmp_path / "in", {1: chelsea()})
    common = (
        "--model",
        "stargan-v2",
        "--checkpoint",
        stargan_v2_afhq,
        "--box",
        "130,20,170,150",
        "--precision",
        "bf16",
        "--domain",
        "wild",
    )
    for name, extra in (("seed", ("--seed", "2", "--psi", "0.7")), ("examples", animal_photos[:2])):
        out = tmp_path / name / "f.####.png"
        run(cli, src, out, *common, *extra)
        painted = read_rgb(str(out).replace("####", "0001")).astype(int)
        assert np.abs(painted - chelsea())[60:130, 170:260].mean() > 5, name


def test_the_default_stargan_v2_entry_is_used_and_its_licence_said(cli, tmp_path, stargan_v2_afhq):
    """Without --checkpoint, --model stargan-v2 loads its registry entry (imported into the
    cache here) and says its licence once."""
    cli("models", "import", "stargan-v2-afhq", stargan_v2_afhq)
    src = write_clip(tmp_path / "in", {1: chelsea()})
    result = run(
        cli, src, tmp_path / "o" / "f.####.png", "--model", "stargan-v2", "--box", "130,20,170,150"
    )
    warnings = [
        e["message"] for e in map(json.loads, result.stdout.splitlines()) if e["event"] == "warning"
    ]
    assert warnings == [
        "animal-transfer: stargan-v2's official weights are licensed CC BY-NC 4.0 "
        "(clovaai/stargan-v2)"
    ]


def test_a_photograph_of_a_person_as_stargan_v2_example_is_refused(cli, tmp_path, stargan_v2_afhq):
    """The AFHQ networks know cats, dogs and wild animals: a person's photograph as the style
    example is refused by name before anything is written (which animal a photograph shows
    is --domain's to say: the release has no classifier)."""
    import cv2
    from faces_helpers import astronaut

    person = tmp_path / "person.png"
    cv2.imwrite(str(person), cv2.cvtColor(astronaut(), cv2.COLOR_RGB2BGR))
    src = write_clip(tmp_path / "in", {1: chelsea()})
    out = tmp_path / "o" / "f.####.png"
    result = run(
        cli, src, out, "--model", "stargan-v2", "--checkpoint", stargan_v2_afhq,
        "--box", "130,20,170,150", "--domain", "dog", "--examples", str(person), expect=2,
    )  # fmt: skip
    assert "person.png shows a person's face, not an animal" in result.stdout + result.stderr
    assert not out.parent.exists()
