"""FUNIT's generator loads ``animal149_gen.pt`` as released (its ``gen_test`` part) and computes
what the official test computes: checked against a functional reference written here from the
facts in ../shared/reference (MODELS.md §3, funit_animals_generator.json)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from helpers import deterministic_state, photo

import neuralfx.models

MANIFEST = "funit_animals_generator"


def conv(state, key, x, pad, stride=1):
    x = F.pad(x, (pad,) * 4, mode="reflect")
    return F.conv2d(x, state[key + ".weight"], state[key + ".bias"], stride=stride)


def inorm(x):
    mean = x.mean((2, 3), keepdim=True)
    var = x.var((2, 3), keepdim=True, unbiased=False)
    return (x - mean) / torch.sqrt(var + 1e-5)


def reference(state, content, class_images):
    """test_k_shot.py: each class image's code on its own, their mean, then
    gen_test.decode(gen_test.enc_content(content), code)."""
    codes = []
    for image in class_images:
        h = image[None]
        h = F.relu(conv(state, "enc_class_model.model.0.conv", h, 3))
        for i in (1, 2, 3, 4):
            h = F.relu(conv(state, f"enc_class_model.model.{i}.conv", h, 1, 2))
        h = h.mean((2, 3), keepdim=True)
        codes.append(
            F.conv2d(
                h, state["enc_class_model.model.6.weight"], state["enc_class_model.model.6.bias"]
            ).flatten(1)
        )
    code = torch.stack(codes).mean(0)
    p = code
    for i, act in ((0, True), (1, True), (2, False)):
        p = F.linear(p, state[f"mlp.model.{i}.fc.weight"], state[f"mlp.model.{i}.fc.bias"])
        p = F.relu(p) if act else p
    params = list(p[0].split(512))  # mean, std, mean, std, ... for the four AdaIN layers

    h = F.relu(inorm(conv(state, "enc_content.model.0.conv", content, 3)))
    for i in (1, 2, 3):
        h = F.relu(inorm(conv(state, f"enc_content.model.{i}.conv", h, 1, 2)))
    for b in (0, 1):
        k = f"enc_content.model.4.model.{b}.model"
        r = F.relu(inorm(conv(state, f"{k}.0.conv", h, 1)))
        h = h + inorm(conv(state, f"{k}.1.conv", r, 1))

    def adain(x):
        mean, std = params.pop(0), params.pop(0)
        return inorm(x) * std[None, :, None, None] + mean[None, :, None, None]

    for b in (0, 1):
        k = f"dec.model.0.model.{b}.model"
        r = F.relu(adain(conv(state, f"{k}.0.conv", h, 1)))
        h = h + adain(conv(state, f"{k}.1.conv", r, 1))
    for i in (2, 4, 6):
        h = F.interpolate(h, scale_factor=2, mode="nearest")
        h = F.relu(inorm(conv(state, f"dec.model.{i}.conv", h, 2)))
    return torch.tanh(conv(state, "dec.model.7.conv", h, 3))


@pytest.fixture(scope="module")
def official(tmp_path_factory):
    """``animal149_gen.pt`` as Trainer.save writes it: {'gen': ..., 'gen_test': ...}."""
    gen = deterministic_state(MANIFEST, seed=1)
    gen_test = deterministic_state(MANIFEST, seed=2)
    path = tmp_path_factory.mktemp("funit") / "animal149_gen.pt"
    torch.save({"gen": gen, "gen_test": gen_test}, path)
    return path, gen_test


def pictures(*names) -> torch.Tensor:
    return torch.stack([torch.from_numpy(photo(n, 128)).permute(2, 0, 1) for n in names]) * 2 - 1


def test_the_port_computes_what_the_official_test_computes(official):
    path, gen_test = official
    net = neuralfx.models.load("funit-animals-149", path)
    content, examples = pictures("chelsea"), pictures("astronaut", "coffee", "rocket")
    with torch.no_grad():
        got = net(content, examples)
        want = reference(gen_test, content, examples)
        assert want.std() > 0.05  # a picture with contrast, not a flat field
        assert (got - want).abs().max() < 1e-4
        # the class code, computed once, gives the same translation for a batch of frames
        code = net.class_code(examples)
        batch = torch.cat([content, pictures("coffee")])
        assert (net.translate(batch, code)[:1] - got).abs().max() < 1e-4
        other = net(content, pictures("coffee"))
        assert (other - got).abs().mean() > 1e-3  # the examples matter


def test_a_bare_generator_state_dict_loads_too(official, tmp_path):
    _, gen_test = official
    torch.save(gen_test, tmp_path / "gen.pt")
    net = neuralfx.models.load("funit-animals-149", tmp_path / "gen.pt")
    with torch.no_grad():
        assert (
            net(pictures("chelsea"), pictures("coffee"))
            - reference(gen_test, pictures("chelsea"), pictures("coffee"))
        ).abs().max() < 1e-4
