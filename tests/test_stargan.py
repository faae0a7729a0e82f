"""StarGAN's generator loads the official checkpoint layout and computes what the official test
computes: checked against a functional reference written here from the facts in
../shared/reference (MODELS.md §1 and stargan_v1_celeba128_generator.json), not from the port."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from helpers import deterministic_state, photo

import neuralfx.models
from neuralfx.errors import NeuralFXError

MANIFEST = "stargan_v1_celeba128_generator"


def reference_generator(state: dict, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    """The official G in training mode (as solver.test runs it): per-image instance norm with
    the affine weights, running buffers unused."""

    def norm(h, key):
        mean = h.mean(dim=(2, 3), keepdim=True)
        var = h.var(dim=(2, 3), keepdim=True, unbiased=False)
        h = (h - mean) / torch.sqrt(var + 1e-5)
        return (
            h * state[key + ".weight"][None, :, None, None]
            + state[key + ".bias"][None, :, None, None]
        )

    h = torch.cat([x, c[:, :, None, None].expand(-1, -1, *x.shape[2:])], 1)
    h = F.relu(norm(F.conv2d(h, state["main.0.weight"], padding=3), "main.1"))
    h = F.relu(norm(F.conv2d(h, state["main.3.weight"], stride=2, padding=1), "main.4"))
    h = F.relu(norm(F.conv2d(h, state["main.6.weight"], stride=2, padding=1), "main.7"))
    for block in range(9, 15):
        p = f"main.{block}.main"
        r = F.relu(norm(F.conv2d(h, state[p + ".0.weight"], padding=1), p + ".1"))
        h = h + norm(F.conv2d(r, state[p + ".3.weight"], padding=1), p + ".4")
    h = F.relu(norm(F.conv_transpose2d(h, state["main.15.weight"], stride=2, padding=1), "main.16"))
    h = F.relu(norm(F.conv_transpose2d(h, state["main.18.weight"], stride=2, padding=1), "main.19"))
    return torch.tanh(F.conv2d(h, state["main.21.weight"], padding=3))


#: Float rounding only: the port and the reference sum in different orders, and oneDNN picks
#: its kernels by CPU (up to 1.4e-5 on an AVX2 EPYC, under 1e-5 with AVX-512). A wrong
#: layer, scale or channel order is off by 1e-2 or more.
ROUNDING = 5e-5


@pytest.fixture(scope="module")
def official(tmp_path_factory):
    """``200000-G.ckpt`` as the official solver writes it: a plain state dict via torch.save."""
    state = deterministic_state(MANIFEST, seed=9)
    path = tmp_path_factory.mktemp("stargan") / "200000-G.ckpt"
    torch.save(state, path)
    return path, state


def faces(size: int) -> torch.Tensor:
    pics = [photo("astronaut", size), photo("chelsea", size)]
    return torch.stack([torch.from_numpy(p).permute(2, 0, 1) for p in pics]) * 2 - 1


@pytest.mark.parametrize("name, size", [("stargan-celeba-128", 128), ("stargan-celeba-256", 256)])
def test_the_port_computes_what_the_official_test_computes(official, name, size):
    path, state = official
    net = neuralfx.models.load(name, path)
    x = faces(size)
    c = torch.tensor([[0, 1, 0, 1, 0], [1, 0, 0, 0, 1]], dtype=torch.float32)
    with torch.no_grad():
        got, want = net(x, c), reference_generator(state, x, c)
    assert got.shape == (2, 3, size, size)
    assert want.std() > 0.1  # the weights give a picture with contrast, not a flat field
    assert (got - want).abs().max() < ROUNDING
    other = torch.tensor([[1, 0, 0, 0, 1]] * 2, dtype=torch.float32)
    with torch.no_grad():
        assert (net(x, other) - got).abs().mean() > 1e-3  # the label matters


def test_eval_mode_and_running_buffers_change_nothing(official):
    """The official test never calls eval(): norms use each image's statistics."""
    path, state = official
    net = neuralfx.models.load("stargan-celeba-128", path)  # load() returns eval mode
    x, c = faces(128)[:1], torch.tensor([[0, 0, 1, 0, 1]], dtype=torch.float32)
    with torch.no_grad():
        evaluated = net(x, c)
        trained = net.train()(x, c)
    assert torch.equal(evaluated, trained)
    assert (evaluated - reference_generator(state, x, c)).abs().max() < ROUNDING


def test_a_checkpoint_saved_before_pytorch_041_loads(tmp_path, official):
    _, state = official
    legacy = {k: v for k, v in state.items() if not k.endswith("num_batches_tracked")}
    torch.save(legacy, tmp_path / "old-G.ckpt")
    net = neuralfx.models.load("stargan-celeba-128", tmp_path / "old-G.ckpt")
    x, c = faces(128)[:1], torch.tensor([[1, 0, 0, 1, 1]], dtype=torch.float32)
    with torch.no_grad():
        assert (net(x, c) - reference_generator(state, x, c)).abs().max() < ROUNDING


def test_a_checkpoint_of_another_model_is_refused_with_the_keys(tmp_path):
    torch.save(deterministic_state("stargan_v1_celeba128_discriminator"), tmp_path / "D.ckpt")
    with pytest.raises(NeuralFXError) as err:
        neuralfx.models.load("stargan-celeba-128", tmp_path / "D.ckpt")
    assert "main.0.weight" in str(err.value) or "conv1.weight" in str(err.value)
