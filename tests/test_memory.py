"""Frames too large for the machine: refused before the first frame with the size that fits,
instead of the process being killed part way; an automatic batch lowered to what fits."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import neuralfx
from helpers import plugin_with
from neuralfx import memory
from neuralfx.errors import ParameterError
from neuralfx.frames.images import read_image
from neuralfx.pipeline.runner import RunOptions


def test_painting_style_refuses_a_frame_that_cannot_fit_and_names_the_size_that_does(
    make_sequence, tmp_path, monkeypatch
):
    src = make_sequence(frames=[1], width=640, height=360)
    monkeypatch.setattr(memory, "free_bytes", lambda device: 60_000_000)
    out = tmp_path / "o.####.png"
    with pytest.raises(ParameterError) as info:
        neuralfx.run("painting-style", src, str(out))
    message, hint = info.value.message, info.value.hint
    assert "is 640x360: processing it takes about 0.1 GB on cpu" in message
    size = int(hint.split("--max-size ")[1].split()[0])
    assert 100 < size < 640 and size % 8 == 0
    assert not out.parent.joinpath("o.0001.png").exists()
    # the size it names does fit, and paints
    neuralfx.run("painting-style", src, str(out), settings={"max_size": size})
    assert read_image(str(tmp_path / "o.0001.png")).shape == (360, 640, 3)


def test_the_memory_check_can_be_skipped(make_sequence, tmp_path, monkeypatch):
    src = make_sequence(frames=[1])
    monkeypatch.setattr(memory, "free_bytes", lambda device: 1000)
    monkeypatch.setenv("NEURALFX_NO_MEMORY_CHECK", "1")
    neuralfx.run("painting-style", src, str(tmp_path / "o.####.png"))


class Hungry(neuralfx.Effect):
    name = "hungry"
    working_space = None

    def memory_needed(self, width, height):
        return 1000 * width * height

    def process(self, batch):
        return batch.replace(rgb=1 - batch.rgb)


@pytest.mark.parametrize(
    "free, batch, automatic, expect",
    [
        (10**12, 4, True, 4),  # room for all
        (5 * 10**6, 8, True, 1),  # an automatic batch is lowered to what fits
        (5 * 10**6, 8, False, 8),  # an explicit one is the user's choice
    ],
)
def test_fit_batch(monkeypatch, free, batch, automatic, expect):
    monkeypatch.setattr(memory, "free_bytes", lambda device: free)
    got = memory.fit_batch(
        Hungry({}), 64, 48, batch, 0, torch.device("cpu"), automatic=automatic, where="frame 1"
    )
    assert got == expect


def test_an_effect_without_an_estimate_is_not_checked(
    fresh_host, make_sequence, tmp_path, monkeypatch
):
    class Plain(Hungry):
        name = "plain"

        def memory_needed(self, width, height):
            return None

    fresh_host.add_plugin(plugin_with(Plain, Hungry), name="mem")
    src = make_sequence(frames=[1])
    monkeypatch.setattr(memory, "free_bytes", lambda device: 1000)
    neuralfx.run("plain", src, str(tmp_path / "p.####.png"))
    with pytest.raises(ParameterError, match="free memory"):
        neuralfx.run("hungry", src, str(tmp_path / "h.####.png"), options=RunOptions(batch_size=2))
    assert np.array_equal(
        read_image(str(tmp_path / "p.0001.png")), 255 - read_image(src.replace("####", "0001"))
    )
