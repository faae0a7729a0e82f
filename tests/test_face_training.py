"""`neuralfx train face-attributes` on tiny data: the recipe runs, resumes exactly, and what it
writes is what face-attributes loads."""

from __future__ import annotations

import json

import numpy as np
import pytest
from faces_helpers import astronaut, moved, write_clip
from safetensors.torch import load_file

pytest.importorskip("skimage.data")

SELECT = ["Black_Hair", "Blond_Hair", "Brown_Hair", "Male", "Young"]


@pytest.fixture(scope="module")
def faces(tmp_path_factory):
    """Four aligned faces (neuralfx faces extract) and CelebA-style labels for them."""
    from click.testing import CliRunner

    from neuralfx.cli import main

    root = tmp_path_factory.mktemp("train")
    clip = write_clip(
        root / "clip", {i: moved(astronaut(), 2 * i, 0, 1 + 0.05 * i) for i in range(1, 5)}
    )
    result = CliRunner().invoke(main, ["faces", "extract", clip, str(root / "faces")])
    assert "4 face(s) written" in result.output, result.output
    names = sorted(p.name for p in (root / "faces" / "images").iterdir())
    rows = [
        f"{n} " + " ".join(["1", "-1", "-1", "-1", "1"] if i % 2 else ["-1", "1", "-1", "1", "-1"])
        for i, n in enumerate(names)
    ]
    (root / "attr.txt").write_text(
        "\n".join(
            [
                str(len(names)),
                " ".join(["Smiling", *SELECT]),
                *(r.replace(" ", " 1 ", 1) for r in rows),
            ]
        )
    )
    return root


def train(cli, faces, out, iterations, *extra):
    result = cli(
        "train",
        "face-attributes",
        "--images",
        str(faces / "faces" / "images"),
        "--attributes",
        str(faces / "attr.txt"),
        "--out",
        str(out),
        "--iterations",
        str(iterations),
        "--batch-size",
        "2",
        "--n-critic",
        "2",
        "--save-every",
        "2",
        "--preview-every",
        "2",
        "--progress",
        "json",
        "--decay-iterations",
        "2",
        *extra,
    )
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_training_resumes_exactly_and_its_output_runs(cli, faces, tmp_path):
    whole = train(cli, faces, tmp_path / "whole.safetensors", 4)
    assert [e["iteration"] for e in whole if e["event"] == "iteration"] == [1, 2, 3, 4]
    steps = [e for e in whole if e["event"] == "iteration"]
    assert "g_rec" in steps[1] and "g_rec" not in steps[0]  # G steps every n_critic
    assert all(np.isfinite(e["d_gp"]) for e in steps)
    assert (tmp_path / "whole.previews" / "iter_0000004.png").is_file()

    train(cli, faces, tmp_path / "parts.safetensors", 2)
    resumed = train(cli, faces, tmp_path / "parts.safetensors", 4)
    assert resumed[0] == {"event": "resume", "iteration": 2}
    for name in ("whole", "parts"):
        assert (tmp_path / f"{name}-d.safetensors").is_file()
    a, b = load_file(tmp_path / "whole.safetensors"), load_file(tmp_path / "parts.safetensors")
    assert a.keys() == b.keys() and all((a[k] == b[k]).all() for k in a)

    # the trained generator (and the discriminator beside it) drive face-attributes
    src = write_clip(tmp_path / "in", {1: astronaut()})
    cli(
        "run",
        "face-attributes",
        "--checkpoint",
        str(tmp_path / "whole.safetensors"),
        "--hair",
        "blond",
        src,
        str(tmp_path / "out" / "f.####.png"),
        "--progress",
        "none",
    )
    assert (tmp_path / "out" / "f.0001.png").is_file()


def test_a_label_file_without_the_attributes_is_refused(cli, faces, tmp_path):
    result = cli(
        "train",
        "face-attributes",
        "--images",
        str(faces / "faces" / "images"),
        "--attributes",
        str(faces / "attr.txt"),
        "--out",
        str(tmp_path / "g.safetensors"),
        "--select",
        "Bald",
        expect=2,
    )
    assert "has no Bald" in result.output
