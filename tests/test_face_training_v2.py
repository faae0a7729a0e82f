"""`neuralfx train face-attributes --model stargan-v2` on tiny real data (two photographs of her,
two frames of him, aligned as CelebA-HQ): the published recipe runs, resumes bit for bit, and
what it writes is what face-attributes --model stargan-v2 loads."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
import torch
from faces_helpers import astronaut, carphone
from helpers import wing_release
from safetensors.torch import load_file

pytest.importorskip("skimage.data")


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """images/female, images/male (the official celeba_hq/train layout) and wing.ckpt."""
    from neuralfx.faces.align import CropTemplate
    from neuralfx.faces.pipeline import FacePipeline

    root = tmp_path_factory.mktemp("v2data")
    faces = FacePipeline(CropTemplate.celeba_hq(256))
    people = {
        "female/a.png": astronaut(),
        "female/b.jpg": np.ascontiguousarray(astronaut()[:, ::-1]),
        "male/c.png": carphone(0),
        "male/d.png": carphone(20),
    }
    for name, image in people.items():
        image = cv2.resize(image, None, fx=3, fy=3) if name.startswith("male") else image
        crop = faces.align_still(image.astype(np.float32) / 255, name)
        out = (crop[0].permute(1, 2, 0).numpy() * 255 + 0.5).astype(np.uint8)
        (root / "images" / name).parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(root / "images" / name), cv2.cvtColor(out, cv2.COLOR_RGB2BGR))
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
