"""Shared fixtures: a fresh plugin host per test, frame writers, and a CLI runner."""

from __future__ import annotations

import json
import os
from collections.abc import Callable

import numpy as np
import pytest
from click.testing import CliRunner

import neuralfx.host.plugins
from helpers import deterministic_state, gradient, to_dtype
from neuralfx.cli import main
from neuralfx.frames.images import write_image

# The Blender add-on's tests run in Blender's own environment (tests/blender/conftest.py).
collect_ignore = ["blender"]
# The fixtures plugin authors use (neuralfx_host, make_clip, quick_snapshots): ours too.
pytest_plugins = ["neuralfx.testing"]


@pytest.fixture(autouse=True)
def fresh_host(neuralfx_host) -> neuralfx.host.plugins.PluginHost:
    """Every test gets its own plugin host (installed plugins only) and weights caches."""
    return neuralfx_host


@pytest.fixture
def make_sequence(tmp_path) -> Callable[..., str]:
    """Write a numbered sequence; returns its #### pattern."""

    def make(
        name: str = "in/shot.####.png",
        frames=range(1001, 1005),
        *,
        dtype=np.uint8,
        channels: int = 3,
        width: int = 64,
        height: int = 48,
    ) -> str:
        pattern = str(tmp_path / name)
        os.makedirs(os.path.dirname(pattern), exist_ok=True)
        for f in frames:
            pic = to_dtype(gradient(width, height, channels, seed=f), dtype)
            write_image(pattern.replace("####", f"{f:04d}"), pic)
        return pattern

    return make


class CLI:
    def __init__(self) -> None:
        self.runner = CliRunner()

    def __call__(self, *args: str, expect: int = 0):
        result = self.runner.invoke(main, [str(a) for a in args], catch_exceptions=False)
        assert result.exit_code == expect, (result.exit_code, result.output, result.stderr)
        return result

    @staticmethod
    def events(result) -> list[dict]:
        return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]


@pytest.fixture
def cli() -> CLI:
    return CLI()


@pytest.fixture(scope="session")
def checkpoints(tmp_path_factory):
    """Johnson and AdaIN checkpoints in the official layouts, deterministic weights whose
    outputs have contrast (see helpers.lively_state)."""
    import torch

    from helpers import lively_state
    from neuralfx.models import adain, johnson

    root = tmp_path_factory.mktemp("ckpt")
    probe = torch.from_numpy(gradient(64, 48, seed=1)).permute(2, 0, 1)[None]
    encoder_state = deterministic_state("adain_vgg_normalised", seed=5)
    encoder = adain.encoder()
    encoder.load_state_dict(encoder_state)
    with torch.no_grad():
        features = encoder[:31](probe)
    states = {
        "johnson": lively_state(
            "fast_neural_style_transformer_net",
            johnson.TransformerNet,
            "deconv3.conv2d",
            255.0,
            probe * 255,
        ),
        "encoder": encoder_state,
        "decoder": lively_state("adain_decoder", adain.decoder, "28", 1.0, features),
    }
    paths = {}
    for name, state in states.items():
        paths[name] = root / f"{name}.pth"
        torch.save(state, paths[name])
    return paths


@pytest.fixture
def style_images(tmp_path):
    a, b = tmp_path / "style_a.png", tmp_path / "style_b.jpg"
    write_image(str(a), to_dtype(gradient(96, 80, seed=11)[:, :, ::-1], np.uint8))
    write_image(str(b), to_dtype(1 - gradient(80, 96, seed=12), np.uint8))
    return a, b


def pytest_collection_modifyitems(config, items):
    """Tests marked ``gpu`` run only where torch sees a CUDA device."""
    import torch

    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA device")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)
