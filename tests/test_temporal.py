"""Temporal stabilisation (neuralfx.temporal.Stabiliser) through the CLI, with the shipped
Magenta network on small clips made here: no stale look where motion passed, nothing carried
across a cut, moving content carried along the flow, one-frame clips and stills."""

from __future__ import annotations

import itertools

import cv2
import numpy as np
import pytest
import torch

from helpers import read_unit, to_dtype
from neuralfx.consistency import (
    SourceMotion,
    static_flicker,
    static_mask,
    wake_figure,
    wake_means,
)
from neuralfx.frames.images import write_image
from neuralfx.warping import Along, inside, warp

W, H = 128, 96


def _texture(seed: int, width: int = W, height: int = H) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = cv2.GaussianBlur(rng.random((height, width, 3), np.float32), (0, 0), 1.5)
    return np.clip(0.5 + 3.0 * (t - t.mean()), 0.05, 0.95)


def _write(folder, frames: list[np.ndarray]) -> str:
    folder.mkdir()
    for i, f in enumerate(frames, start=1):
        write_image(str(folder / f"c.{i:04d}.png"), to_dtype(f, np.uint16))
    return str(folder / "c.####.png")


def _fresh_and_steady(cli, src: str, folder, n: int):
    """The per-frame (--no-temporal) and stabilised outputs of ``src``'s ``n`` frames."""
    found = []
    for name, flag in (("u", "--no-temporal"), ("s", "--temporal")):
        out = str(folder / name / "o.####.png")
        cli("run", "painting-style", "--depth", "16", flag, src, out)
        found.append(_load(out, n))
    return found


def _load(pattern: str, n: int) -> list[torch.Tensor]:
    return [
        torch.from_numpy(
            np.ascontiguousarray(read_unit(pattern.replace("####", f"{i:04d}")))
        ).permute(2, 0, 1)
        for i in range(1, n + 1)
    ]


def test_no_wake_where_an_object_crossed_a_still_background(cli, tmp_path):
    """A bright block crosses a still background and leaves the frame. Afterwards the pixels
    it crossed must look like the rest of the background (wake figure <= 1.5, as measured in
    bench/flicker.py), while the background it never touched stays exactly as it was."""
    background = _texture(1)
    block = _texture(2, 20, 20) * 0.3 + 0.7
    frames = []
    for t in range(16):
        f = background.copy()
        x = 8 + 10 * t
        if x < W:
            f[30:50, x : min(W, x + 20)] = block[:, : min(20, W - x)]
        frames.append(f)
    src = _write(tmp_path / "in", frames)
    inputs = _load(src, 16)
    fresh, steady = _fresh_and_steady(cli, src, tmp_path, 16)
    motion = SourceMotion.of(inputs)
    assert wake_figure(steady, fresh, motion) <= 1.5
    # The background far from the path holds its look exactly: no shimmer.
    still = static_mask(inputs)
    assert float(still.float().mean()) > 0.4
    assert static_flicker(fresh, still) > 1e-3  # the per-frame look does shimmer there
    assert static_flicker(steady, still) == 0.0
    # Guard: the crossed rows of the last frame differ from where the block was held.
    path = (slice(32, 48), slice(20, 100))
    assert (
        float((steady[-1][:, path[0], path[1]] - steady[8][:, path[0], path[1]]).abs().mean())
        > 0.02
    )


def test_nothing_is_carried_across_a_cut(cli, tmp_path):
    """Frames 1-4 one shot, 5-8 another: frame 5 is exactly its own per-frame look, and the
    new shot is then stabilised as the first one was."""
    a, b = _texture(3), _texture(4)[::-1].copy()
    frames = [np.roll(a, 2 * t, axis=1) for t in range(4)] + [
        np.roll(b, 2 * t, axis=1) for t in range(4)
    ]
    src = _write(tmp_path / "in", frames)
    fresh, steady = _fresh_and_steady(cli, src, tmp_path, 8)
    assert torch.equal(steady[0], fresh[0])
    assert torch.equal(steady[4], fresh[4])  # the cut: nothing of shot one
    for t in (1, 2, 3, 5, 6, 7):  # within a shot, tied to the previous output
        assert float((steady[t] - fresh[t]).abs().mean()) > 0.005, t


def test_a_pan_carries_the_look_along_the_flow(cli, tmp_path):
    """Every pixel moves 3 px a frame: the warping error of the stabilised output is well
    below the per-frame one (measured with an independent flow), and it is not frozen."""
    wide = _texture(5, W + 3 * 10)
    frames = [wide[:, 30 - 3 * t : 30 - 3 * t + W] for t in range(10)]
    src = _write(tmp_path / "in", frames)
    inputs = _load(src, 10)
    fresh, steady = _fresh_and_steady(cli, src, tmp_path, 10)
    from neuralfx.consistency import warping_error

    motion = SourceMotion.of(inputs)
    ratio = warping_error(steady, motion)["moving"] / warping_error(fresh, motion)["moving"]
    assert ratio < 0.4
    # Not a frozen screen: the output moves with the picture.
    assert float((steady[-1] - steady[0]).abs().mean()) > 0.05


def test_a_slow_drift_over_soft_detail_carries_the_look_along_the_flow(cli, tmp_path):
    """A camera drifting 0.7 px a frame over soft detail changes each pixel by less than the
    stabiliser's still threshold: held in place, the painted look stayed on the screen while
    the picture slid under it (gatys on the walker clip: 0.51 of the per-frame warping error).
    The flow shows the drift, and the look follows it."""
    rng = np.random.default_rng(8)
    soft = cv2.GaussianBlur(rng.random((H, W + 40, 3), np.float32), (0, 0), 3.0)
    soft = 0.5 + 2.0 * (soft - soft.mean())
    shift = [np.float32([[1, 0, 0.7 * t], [0, 1, 0]]) for t in range(12)]
    frames = [np.clip(cv2.warpAffine(soft, m, (W, H), flags=cv2.INTER_CUBIC), 0, 1) for m in shift]
    src = _write(tmp_path / "in", frames)
    inputs = _load(src, 12)
    fresh, steady = _fresh_and_steady(cli, src, tmp_path, 12)
    from neuralfx.consistency import warping_error

    motion = SourceMotion.of(inputs)
    ratio = warping_error(steady, motion)["all"] / warping_error(fresh, motion)["all"]
    assert ratio < 0.2, ratio
    # Not a frozen screen: the output moves with the picture.
    assert float((steady[-1] - steady[0]).abs().mean()) > 0.05


def test_one_frame_clip_and_a_still_image(cli, tmp_path):
    src = _write(tmp_path / "in", [_texture(6)])
    fresh, steady = _fresh_and_steady(cli, src, tmp_path, 1)
    assert torch.equal(steady[0], fresh[0])
    still = tmp_path / "still.png"
    write_image(str(still), to_dtype(_texture(7), np.uint8))
    cli("run", "painting-style", str(still), str(tmp_path / "painted.png"))
    assert read_unit(str(tmp_path / "painted.png")).shape == (H, W, 3)


def test_half_float_linear_exr_sequence(cli, tmp_path):
    """--temporal on a linear half-float EXR plate (values above 1 in the highlights): the
    output is half-float EXR, finite, the still half held exactly from frame to frame and the
    moving half following the picture."""
    from neuralfx.colour import srgb_to_linear

    still, moving = _texture(8, W // 2), _texture(9, W + 24)
    frames = []
    for t in range(5):
        rgb = np.concatenate([still, moving[:, 4 * t : 4 * t + W // 2]], 1)
        linear = srgb_to_linear(rgb)
        linear[:8, :8] = 4.0  # a highlight
        frames.append(linear.astype(np.float16))
    (tmp_path / "in").mkdir()
    for i, f in enumerate(frames, start=1):
        write_image(str(tmp_path / "in" / f"p.{i:04d}.exr"), f)
    cli(
        "run",
        "painting-style",
        "--temporal",
        tmp_path / "in" / "p.####.exr",
        tmp_path / "out" / "o.####.exr",
    )
    from neuralfx.frames.images import read_image

    out = [read_image(str(tmp_path / "out" / f"o.{i:04d}.exr")) for i in range(1, 6)]
    assert all(o.dtype == np.float16 and o.shape == (H, W, 3) for o in out)
    assert all(np.isfinite(o.astype(np.float32)).all() for o in out)
    inner = (slice(12, H - 12), slice(12, W // 2 - 12))  # away from the moving half's edge
    for before, after in itertools.pairwise(out[1:]):
        assert np.array_equal(before[inner], after[inner])  # held, no shimmer
    right = (slice(0, H), slice(W // 2 + 8, W))
    assert np.abs(out[-1][right].astype(np.float32) - out[1][right]).mean() > 0.02


def _bilinear_reference(image: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """Sample ``image`` (C, H, W) at x + flow(x), coordinates clamped to the frame: written
    here from the definition in numpy."""
    _, h, w = image.shape
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    x = np.clip(xs + flow[0], 0, w - 1)
    y = np.clip(ys + flow[1], 0, h - 1)
    x0, y0 = np.floor(x).astype(int), np.floor(y).astype(int)
    x1, y1 = np.minimum(x0 + 1, w - 1), np.minimum(y0 + 1, h - 1)
    fx, fy = x - x0, y - y0
    top = image[:, y0, x0] * (1 - fx) + image[:, y0, x1] * fx
    bottom = image[:, y1, x0] * (1 - fx) + image[:, y1, x1] * fx
    return top * (1 - fy) + bottom * fy


def test_warp_samples_along_the_flow_with_clamped_borders():
    """``warp`` against bilinear sampling written from its definition: sub-pixel and
    whole-pixel offsets, x and y different, flows pointing out of the frame on every side."""
    rng = np.random.default_rng(3)
    image = _texture(5, 97, 61).transpose(2, 0, 1).astype(np.float32)  # odd sizes
    flow = np.stack(
        [
            cv2.GaussianBlur(rng.normal(0, 6, (61, 97)).astype(np.float32), (0, 0), 4) * 4 + 1.3,
            cv2.GaussianBlur(rng.normal(0, 6, (61, 97)).astype(np.float32), (0, 0), 4) * 4 - 2.6,
        ]
    )
    flow[:, :5, :5] = -40  # off the top-left corner
    flow[:, -5:, -5:] = 40  # off the bottom-right corner
    got = warp(torch.from_numpy(image)[None], torch.from_numpy(flow)[None])[0].numpy()
    want = _bilinear_reference(image.astype(np.float64), flow.astype(np.float64))
    assert np.abs(got - want).max() < 1e-4
    # Not the identity or a swapped axis: a real displacement was applied.
    assert np.abs(want - image).mean() > 0.05
    swapped = _bilinear_reference(image.astype(np.float64), flow[::-1].astype(np.float64))
    assert np.abs(got - swapped).max() > 0.1
    # Along: several images moved along one flow (its grid built once), each as the reference.
    along = Along(torch.from_numpy(flow)[None])
    for picture in (image, np.ascontiguousarray(image[::-1]), image[:2]):
        moved = along.warp(torch.from_numpy(picture)[None])[0].numpy()
        want = _bilinear_reference(picture.astype(np.float64), flow.astype(np.float64))
        assert np.abs(moved - want).max() < 1e-4


def test_inside_says_where_the_flow_lands_within_the_frame():
    """``inside`` against a loop over the pixels: x and y tested on their own axes (a flow
    along x alone must not take a pixel out through the top or bottom, nor the reverse), the
    last row and column inside, a frame of another size after it (positions are kept per
    size)."""
    rng = np.random.default_rng(4)
    for h, w in ((13, 21), (9, 6)):
        flow = rng.uniform(-4, 4, (2, h, w)).astype(np.float32)
        flow[:, 0, 0] = (w - 1, h - 1)  # lands on the bottom-right corner: inside
        flow[:, 1, 1] = (0.0, h)  # straight down, past the bottom: outside
        flow[:, 2, 2] = (w, 0.0)  # straight right, past the edge: outside
        got = inside(torch.from_numpy(flow)[None])[0, 0].numpy()
        want = np.array(
            [
                [
                    float(0 <= x + flow[0, y, x] <= w - 1 and 0 <= y + flow[1, y, x] <= h - 1)
                    for x in range(w)
                ]
                for y in range(h)
            ]
        )
        assert np.array_equal(got, want)
        assert 0.2 < want.mean() < 0.9  # both answers occur
        assert (got[0, 0], got[1, 1], got[2, 2]) == (1, 0, 0)


def test_wake_means_and_figure_on_known_values():
    """The wake figure's two means on a 1x2 picture: the left pixel changes at frame 1 and is
    still at frame 2, the right one never changes; |S - U| is 0.3 on the left at frame 2 and
    0.1 on the right at frames 1 and 2."""
    changed = [torch.tensor([[True, False]]), torch.tensor([[False, False]])]
    motion = SourceMotion(flows=[], visible=[], moving=[], changed=changed)
    per_frame = [torch.zeros(3, 1, 2)] * 3
    steady = [torch.zeros(3, 1, 2), torch.tensor([0.9, 0.1]), torch.tensor([0.3, 0.1])]
    steady = [s.expand(3, 1, 2) if s.dim() == 1 else s for s in steady]
    crossed, never = wake_means(steady, per_frame, motion)
    assert crossed == pytest.approx(0.3) and never == pytest.approx(0.1)
    assert wake_figure(steady, per_frame, motion) == pytest.approx(3.0)


def test_misfit_at_the_point_and_outside_a_pixels_range():
    """Worked by hand on a step 0 0 1 1: 0.5 at the first pixel is 0.5 from it and from the
    range {0} of its neighbourhood; 0.3 at the third is 0.7 from its 1 but inside the range
    {0, 1} a pixel around it. The channel that lies farthest decides."""
    from neuralfx.flow import misfit

    step = torch.tensor([0.0, 0.0, 1.0, 1.0]).expand(3, 3, 4)  # 3 channels, 3 rows
    x = torch.tensor([0.5, 0.2, 0.3, 1.4]).expand(3, 3, 4).clone()
    x[1, :, 1] = -0.25  # channel 1 of the second pixel lies below its range by 0.25
    point, outside = misfit(x[None], step[None].contiguous(), 1)
    assert point.shape == outside.shape == (1, 1, 3, 4)
    expected_point = torch.tensor([0.5, 0.25, 0.7, 0.4])
    expected_outside = torch.tensor([0.5, 0.25, 0.0, 0.4])
    for row in range(3):
        assert torch.allclose(point[0, 0, row], expected_point, atol=1e-6)
        assert torch.allclose(outside[0, 0, row], expected_outside, atol=1e-6)
