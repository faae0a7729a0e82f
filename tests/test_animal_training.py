"""`neuralfx train animal-transfer` on tiny generated data: the recipe runs, resumes exactly,
and its generator drives the effect."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from faces_helpers import write_clip
from safetensors.torch import load_file


@pytest.fixture(scope="module")
def animals(tmp_path_factory):
    """Two 'classes' of 150 px pictures: real cat crops and coffee crops."""
    from skimage import data

    root = tmp_path_factory.mktemp("animals")
    for name, picture in (("cats", data.chelsea()), ("cups", data.coffee())):
        (root / name).mkdir()
        for i in range(3):
            crop = picture[10 * i : 10 * i + 200, 20 * i : 20 * i + 200]
            cv2.imwrite(str(root / name / f"{i}.png"), cv2.resize(crop, (150, 150))[..., ::-1])
    return root


def train(cli, animals, out, iterations):
    result = cli(
        "train",
        "animal-transfer",
        "--images",
        str(animals),
        "--out",
        str(out),
        "--iterations",
        str(iterations),
        "--batch-size",
        "2",
        "--save-every",
        "1",
        "--preview-every",
        "2",
        "--progress",
        "json",
    )
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_training_resumes_exactly_and_drives_the_effect(cli, animals, tmp_path):
    whole = train(cli, animals, tmp_path / "whole.safetensors", 2)
    steps = [e for e in whole if e["event"] == "iteration"]
    assert [e["iteration"] for e in steps] == [1, 2]
    assert all(np.isfinite(e[k]) for e in steps for k in ("d_gp", "g_fm", "g_rec"))
    assert (tmp_path / "whole.previews" / "iter_0000002.png").is_file()
    train(cli, animals, tmp_path / "parts.safetensors", 1)
    resumed = train(cli, animals, tmp_path / "parts.safetensors", 2)
    assert resumed[0] == {"event": "resume", "iteration": 1}
    a, b = load_file(tmp_path / "whole.safetensors"), load_file(tmp_path / "parts.safetensors")
    assert a.keys() == b.keys() and all((a[k] == b[k]).all() for k in a)

    from skimage import data

    src = write_clip(tmp_path / "in", {1: data.chelsea()})
    cli(
        "run",
        "animal-transfer",
        "--checkpoint",
        str(tmp_path / "whole.safetensors"),
        "--examples",
        str(animals / "cups" / "0.png"),
        "--box",
        "130,20,170,150",
        src,
        str(tmp_path / "out" / "f.####.png"),
        "--progress",
        "none",
    )
    assert (tmp_path / "out" / "f.0001.png").is_file()


def test_one_class_is_not_enough(cli, animals, tmp_path):
    result = cli(
        "train",
        "animal-transfer",
        "--images",
        str(animals / "cats"),
        "--out",
        str(tmp_path / "g.safetensors"),
        expect=2,
    )
    assert "a folder per class" in result.output
