"""StarGAN v2's networks (issue 24): the released ``100000_nets_ema.ckpt`` layouts load through
``neuralfx.models.load`` (the celeba_hq file without its ``hpf.filter``, as released), and the
ports compute what a functional reference written here from the published facts
(../shared/reference/MODELS.md section 2) computes, on weights in the official layout."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from helpers import manifest, stargan_v2_release

import neuralfx.models

LAPLACIAN = torch.tensor([[-1.0, -1, -1], [-1, 8, -1], [-1, -1, -1]])


# -- the reference: plain functions over the state dict ---------------------------------------
def _conv(sd, name, x, padding=0):
    return F.conv2d(x, sd[name + ".weight"], sd.get(name + ".bias"), padding=padding)


def ref_resblock(sd, p, x, normalize, downsample):
    skip = _conv(sd, p + "conv1x1", x) if p + "conv1x1.weight" in sd else x
    h = x
    if normalize:
        h = F.instance_norm(h, weight=sd[p + "norm1.weight"], bias=sd[p + "norm1.bias"])
    h = _conv(sd, p + "conv1", F.leaky_relu(h, 0.2), 1)
    if downsample:
        skip, h = F.avg_pool2d(skip, 2), F.avg_pool2d(h, 2)
    if normalize:
        h = F.instance_norm(h, weight=sd[p + "norm2.weight"], bias=sd[p + "norm2.bias"])
    h = _conv(sd, p + "conv2", F.leaky_relu(h, 0.2), 1)
    return (skip + h) / math.sqrt(2)


def ref_adain(sd, p, x, s):
    gb = F.linear(s, sd[p + "fc.weight"], sd[p + "fc.bias"])
    c = x.shape[1]
    gamma, beta = gb[:, :c, None, None], gb[:, c:, None, None]
    return (1 + gamma) * F.instance_norm(x) + beta


def ref_generator(sd, x, s, masks=None):
    blocks = len({k.split(".")[1] for k in sd if k.startswith("encode.")})
    hpf = "hpf.filter" in sd or masks is not None
    x = _conv(sd, "from_rgb", x, 1)
    kept = {}
    for i in range(blocks):
        if masks is not None and x.shape[2] in (32, 64, 128):
            kept[x.shape[2]] = x
        x = ref_resblock(sd, f"encode.{i}.", x, True, i < blocks - 2)
    for i in range(blocks):
        p, up = f"decode.{i}.", i >= 2
        h = F.leaky_relu(ref_adain(sd, p + "norm1.", x, s), 0.2)
        if up:
            h = F.interpolate(h, scale_factor=2.0, mode="nearest")
        h = _conv(sd, p + "conv1", h, 1)
        h = _conv(sd, p + "conv2", F.leaky_relu(ref_adain(sd, p + "norm2.", h, s), 0.2), 1)
        if not hpf:
            skip = F.interpolate(x, scale_factor=2.0, mode="nearest") if up else x
            if p + "conv1x1.weight" in sd:
                skip = _conv(sd, p + "conv1x1", skip)
            h = (h + skip) / math.sqrt(2)
        x = h
        if masks is not None and x.shape[2] in (32, 64, 128):
            m = masks[0] if x.shape[2] == 32 else masks[1]
            m = F.interpolate(m, size=x.shape[2:], mode="bilinear", align_corners=False)
            c = x.shape[1]
            x = x + F.conv2d(
                m * kept[x.shape[2]], LAPLACIAN.expand(c, 1, 3, 3), padding=1, groups=c
            )
    x = F.instance_norm(x, weight=sd["to_rgb.0.weight"], bias=sd["to_rgb.0.bias"])
    return _conv(sd, "to_rgb.2", F.leaky_relu(x, 0.2))


def ref_mapping(sd, z, y):
    h = z
    for i in (0, 2, 4, 6):
        h = F.relu(F.linear(h, sd[f"shared.{i}.weight"], sd[f"shared.{i}.bias"]))
    out = []
    for row, domain in enumerate(y.tolist()):
        g = h[row : row + 1]
        for i in (0, 2, 4):
            p = f"unshared.{domain}.{i}."
            g = F.relu(F.linear(g, sd[p + "weight"], sd[p + "bias"]))
        p = f"unshared.{domain}.6."
        out.append(F.linear(g, sd[p + "weight"], sd[p + "bias"]))
    return torch.cat(out)


def ref_style(sd, x, y):
    h = _conv(sd, "shared.0", x, 1)
    for i in range(1, 7):
        h = ref_resblock(sd, f"shared.{i}.", h, False, True)
    h = F.leaky_relu(_conv(sd, "shared.8", F.leaky_relu(h, 0.2)), 0.2).flatten(1)
    return torch.cat(
        [
            F.linear(h[r : r + 1], sd[f"unshared.{d}.weight"], sd[f"unshared.{d}.bias"])
            for r, d in enumerate(y.tolist())
        ]
    )


# -- the released files, in their layout -----------------------------------------------------
@pytest.fixture(scope="module", params=["celeba_hq", "afhq"])
def release(request, tmp_path_factory):
    path = tmp_path_factory.mktemp(request.param) / "100000_nets_ema.ckpt"
    nets = stargan_v2_release(request.param)
    torch.save(nets, path)
    name = "stargan-v2-" + request.param.replace("_", "-")
    return request.param, nets, neuralfx.models.load(name, str(path))


def test_the_layouts_are_the_official_ones():
    for dataset in ("celeba_hq", "afhq"):
        net = neuralfx.models.spec_of("stargan-v2-" + dataset.replace("_", "-")).build()
        for part in ("generator", "mapping_network", "style_encoder"):
            expected = {k: s for k, s, _ in manifest(f"stargan_v2_{dataset}_{part}")["state_dict"]}
            got = {k: list(v.shape) for k, v in getattr(net, part).state_dict().items()}
            assert got == expected, (dataset, part)


def test_the_networks_compute_what_the_reference_computes(release):
    dataset, nets, model = release
    gen = torch.Generator().manual_seed(1)
    x = torch.rand(2, 3, 256, 256, generator=gen) * 2 - 1
    z = torch.randn(2, 16, generator=gen)
    y = torch.tensor([1, 0])
    with torch.no_grad():
        s = model.mapping_network(z, y)
        assert torch.allclose(s, ref_mapping(nets["mapping_network"], z, y), atol=1e-5)
        assert s.std() > 0.05 and not torch.allclose(s[0], s[1])  # contrast
        e = model.style_encoder(x, y)
        assert torch.allclose(e, ref_style(nets["style_encoder"], x, y), atol=1e-4)
        masks = None
        if dataset == "celeba_hq":  # the high-pass masks, as FAN would give them
            masks = tuple(torch.rand(2, 1, 256, 256, generator=gen) for _ in range(2))
        out = model.generator(x, s, masks=masks)
        ref = ref_generator(
            {**nets["generator"], **({"hpf.filter": LAPLACIAN} if masks else {})}, x, s, masks
        )
        assert out.shape == (2, 3, 256, 256)
        assert torch.allclose(out, ref, atol=1e-3 * float(ref.abs().max()))
        other = model.generator(x, s.flip(0), masks=masks)
        assert (other - out).abs().mean() > 0.01 * out.abs().mean()  # the style matters
    assert (
        model.domains == {"celeba_hq": ("female", "male"), "afhq": ("cat", "dog", "wild")}[dataset]
    )


def test_a_file_of_the_other_dataset_is_named(tmp_path):
    path = tmp_path / "100000_nets_ema.ckpt"
    torch.save(stargan_v2_release("afhq"), path)
    with pytest.raises(neuralfx.errors.NeuralFXError, match="stargan-v2-afhq"):
        neuralfx.models.load("stargan-v2-celeba-hq", str(path))


def test_latent_styles_are_seeded_and_truncated_towards_the_domains_mean(release):
    from neuralfx.models.stargan_v2 import LATENT_DIM, latent_styles

    _, nets, model = release
    y = torch.tensor([0, 1, 1])
    s = latent_styles(model.mapping_network, y, seed=7)
    z = torch.randn(3, LATENT_DIM, generator=torch.Generator().manual_seed(7))
    assert torch.allclose(s, ref_mapping(nets["mapping_network"], z, y), atol=1e-5)
    assert torch.equal(s, latent_styles(model.mapping_network, y, seed=7))  # seeded
    centre = latent_styles(model.mapping_network, y, seed=7, psi=0.0, samples=2000)
    assert torch.allclose(centre[1], centre[2], atol=1e-6)  # one domain, one mean
    half = latent_styles(model.mapping_network, y, seed=7, psi=0.5, samples=2000)
    assert torch.allclose(half, (s + centre) / 2, atol=1e-5)
