"""`neuralfx train face-attributes --model stargan-v2` on tiny real data (two photographs of her,
two frames of him, aligned as CelebA-HQ): the published recipe runs, resumes bit for bit, and
what it writes is what face-attributes --model stargan-v2 loads."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from faces_helpers import astronaut, carphone, write_clip
from helpers import wing_release
from safetensors.torch import load_file

pytest.importorskip("skimage.data")


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """images/female, images/male (the official celeba_hq/train layout), made as a user makes
    them: `neuralfx faces extract --layout celeba-hq` on a clip of each person, sorted; and
    wing.ckpt."""
    from click.testing import CliRunner

    from neuralfx.cli import main

    root = tmp_path_factory.mktemp("v2data")
    people = {
        "female": {1: astronaut(), 2: np.ascontiguousarray(astronaut()[:, ::-1])},
        "male": {1: carphone(0), 2: carphone(20)},
    }
    for domain, frames in people.items():
        clip = write_clip(root / "clips" / domain, frames)
        out = str(root / "images" / domain)
        result = CliRunner().invoke(  # (the carphone clip, QCIF enlarged 3x, is soft)
            main, ["faces", "extract", clip, out, "--layout", "celeba-hq", "--min-sharpness", "5"]
        )
        assert "2 face(s) written" in result.output, result.output
        for crop in (root / "images" / domain / "images").iterdir():
            crop.rename(root / "images" / domain / crop.name)
    torch.save(wing_release(), root / "wing.ckpt")
    return root


def train(cli, data, out, iterations, *extra, expect=0):
    result = cli(
        "train", "face-attributes", "--model", "stargan-v2", "--images", str(data / "images"),
        "--fan", str(data / "wing.ckpt"), "--out", str(out), "--iterations", str(iterations),
        "--batch-size", "1", "--save-every", "1", "--preview-every", "100", "--ds-iter", "2",
        "--progress", "json", *extra, expect=expect,
    )  # fmt: skip
    return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]


@pytest.mark.slow  # four iterations at 256 px on the CPU: about 100 s
def test_the_recipe_runs_resumes_exactly_and_face_attributes_loads_it(cli, data, tmp_path):
    whole = tmp_path / "whole" / "v2.safetensors"
    events = train(cli, data, whole, 2)
    steps = [e for e in events if e["event"] == "iteration"]
    assert [e["lambda_ds"] for e in steps] == [1.0, 0.5]  # λ_ds decays to 0 over --ds-iter
    for loss in ("d_real", "d_r1", "g_adv", "g_sty", "g_ds", "g_cyc"):
        assert all(np.isfinite(e[loss]) for e in steps), loss
    assert steps[0]["d_r1"] > 0 and steps[0]["g_ds"] > 0

    parts = tmp_path / "parts" / "v2.safetensors"
    train(cli, data, parts, 1)
    resumed = train(cli, data, parts, 2)
    assert any(e["event"] == "resume" and e["iteration"] == 1 for e in resumed)
    a, b = load_file(str(whole)), load_file(str(parts))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)  # bit for bit
    assert any(k.startswith("mapping_network.") for k in a) and "generator.hpf.filter" in a

    import neuralfx.models

    nets = neuralfx.models.load("stargan-v2-celeba-hq", str(whole))
    assert nets.domains == ("female", "male")


def test_options_of_the_other_model_are_refused(cli, data, tmp_path):
    result = cli(
        "train", "face-attributes", "--model", "stargan-v2", "--images", str(data / "images"),
        "--attributes", "attr.txt", "--out", str(tmp_path / "x.safetensors"), expect=2,
    )  # fmt: skip
    assert "--attributes does not apply to --model stargan-v2" in result.output
    helped = cli("train", "face-attributes", "--help").stdout
    text = " ".join(helped.split())
    assert "(default: 16 with --model stargan; 8 with --model stargan-v2)" in text
    assert "(with --model stargan-v2)" in text and "--lambda-ds" in text


def test_a_missing_domain_folder_is_named(cli, tmp_path, data):
    (tmp_path / "images" / "female").mkdir(parents=True)
    result = cli(
        "train", "face-attributes", "--model", "stargan-v2", "--images", str(tmp_path / "images"),
        "--fan", str(data / "wing.ckpt"), "--out", str(tmp_path / "x.safetensors"), expect=2,
    )  # fmt: skip
    assert "female has no faces" in result.output and "celeba_hq/train" in result.output
