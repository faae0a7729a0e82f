"""StarGAN v2's FAN (issue 24): ``wing.ckpt`` in its released layout loads through
``neuralfx.models.load("wing-fan")``, and the port computes what a functional reference written
here from the official code's facts computes: the heatmaps, and the two masks of
``wing.preprocess`` (written with the official permutation-index shifts, not with a roll)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from helpers import manifest, stargan_v2_release, wing_release

import neuralfx.models
from neuralfx.models.wing import masks_from_heatmaps


# -- the reference: plain functions over the state dict ---------------------------------------
def ref_bn(sd, p, x):
    return F.batch_norm(
        x, sd[p + ".running_mean"], sd[p + ".running_var"], sd[p + ".weight"], sd[p + ".bias"]
    )


def ref_add_coords(x):
    n, _, h, w = x.shape
    xs = torch.arange(h).unsqueeze(1).expand(h, w).float() / (h - 1) * 2 - 1
    ys = torch.arange(w).unsqueeze(0).expand(h, w).float() / (w - 1) * 2 - 1
    rr = torch.sqrt(xs**2 + ys**2)
    coords = torch.stack([xs, ys, rr / rr.max()]).unsqueeze(0).repeat(n, 1, 1, 1)
    return torch.cat([x, coords], 1)


def ref_block(sd, p, x):
    o1 = F.conv2d(F.relu(ref_bn(sd, p + ".bn1", x)), sd[p + ".conv1.weight"], padding=1)
    o2 = F.conv2d(F.relu(ref_bn(sd, p + ".bn2", o1)), sd[p + ".conv2.weight"], padding=1)
    o3 = F.conv2d(F.relu(ref_bn(sd, p + ".bn3", o2)), sd[p + ".conv3.weight"], padding=1)
    res = x
    if p + ".downsample.0.weight" in sd:
        res = F.conv2d(F.relu(ref_bn(sd, p + ".downsample.0", x)), sd[p + ".downsample.2.weight"])
    return torch.cat([o1, o2, o3], 1) + res


def ref_hourglass(sd, level, x):
    up1 = ref_block(sd, f"m0.b1_{level}", x)
    low1 = ref_block(sd, f"m0.b2_{level}", F.avg_pool2d(x, 2, stride=2))
    if level > 1:
        low2 = ref_hourglass(sd, level - 1, low1)
    else:
        low2 = ref_block(sd, "m0.b2_plus_1", low1)
    low3 = ref_block(sd, f"m0.b3_{level}", low2)
    return up1 + F.interpolate(low3, scale_factor=2, mode="nearest")


def ref_fan(sd, x):
    x = F.conv2d(ref_add_coords(x), sd["conv1.conv.weight"], sd["conv1.conv.bias"], 2, 3)
    x = F.relu(ref_bn(sd, "bn1", x))
    x = F.avg_pool2d(ref_block(sd, "conv2", x), 2, stride=2)
    x = ref_block(sd, "conv4", ref_block(sd, "conv3", x))
    x = F.conv2d(ref_add_coords(x), sd["m0.coordconv.conv.weight"], sd["m0.coordconv.conv.bias"])
    x = ref_block(sd, "top_m_0", ref_hourglass(sd, 4, x))
    x = F.relu(ref_bn(sd, "bn_end0", F.conv2d(x, sd["conv_last0.weight"], sd["conv_last0.bias"])))
    return F.conv2d(x, sd["l0.weight"], sd["l0.bias"])


def ref_shift(x, n):
    """The official shift: a permutation of the rows."""
    h = x.shape[2]
    if n >= 0:
        perm = torch.cat([torch.arange(h - n) + n, torch.arange(n)])
    else:
        n = -n
        perm = torch.cat([torch.arange(n) + (h - n), torch.arange(h - n)])
    return x[:, :, perm, :]


def ref_preprocess(x):
    x = x.clone()
    n, c, h, w = x.shape
    x = torch.where(x < 0.1, torch.zeros_like(x), x)
    flat = x.reshape(n * c, -1)
    mx, mn = flat.max(1, keepdim=True)[0], flat.min(1, keepdim=True)[0]
    x = ((flat - mn) / (mx - mn + 1e-6)).reshape(n, c, h, w)
    for (start, end), shift, power in [
        ((8, 25), 0, 3),
        ((33, 51), -7, 2),
        ((55, 60), 8, 4),
        ((77, 82), -8, 4),
        ((83, 88), 8, 4),
        ((88, 96), -2, 3),
    ]:
        x[:, start:end] = ref_shift(x[:, start:end], shift) ** power
    zero = list(range(0, 8)) + list(range(25, 33)) + [33, 46, 76, 82]
    x[:, zero] = 0
    x[:, 52:55] = ref_shift(x[:, 52:55], 4)
    eyes = x[:, 60:76].clone()
    x[:, 60:76] = ref_shift(eyes, -8) ** 3 + ref_shift(eyes, -24)
    x2 = x.clone()
    x2[:, 8:25] = 0
    x2[:, 76:96] = 0
    x2[:, 33:51] = 0
    x, x2 = x.sum(1, keepdim=True), x2.sum(1, keepdim=True)
    nan = x != x
    x[nan] = 0
    x2[nan] = 0
    return x.clamp(0, 1), x2.clamp(0, 1)


def blob_heatmaps(n=2, size=256, seed=0):
    """98 heatmaps with one Gaussian peak each, at face-like places (contrast for the masks)."""
    gen = torch.Generator().manual_seed(seed)
    centres = 64 + torch.rand(n, 98, 2, generator=gen) * 128
    yy, xx = torch.meshgrid(torch.arange(size).float(), torch.arange(size).float(), indexing="ij")
    d2 = (xx - centres[..., 0, None, None]) ** 2 + (yy - centres[..., 1, None, None]) ** 2
    return torch.exp(-d2 / (2 * 6.0**2))


# -- the release --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def wing(tmp_path_factory):
    path = tmp_path_factory.mktemp("wing") / "wing.ckpt"
    release = wing_release()
    release["state_dict"]["fc.extra.weight"] = torch.zeros(3)  # dropped, as officially
    torch.save(release, path)
    return release["state_dict"], neuralfx.models.load("wing-fan", str(path))


def test_the_layout_is_the_official_one():
    expected = {k: s for k, s, _ in manifest("stargan_v2_wing_fan")["state_dict"]}
    got = {
        k: list(v.shape)
        for k, v in neuralfx.models.spec_of("wing-fan").build().state_dict().items()
    }
    assert got == expected


def test_the_heatmaps_are_what_the_reference_computes(wing):
    sd, fan = wing
    x = torch.rand(2, 3, 256, 256, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        outputs, boundaries = fan(x)
        ref = ref_fan(sd, x)
    assert outputs[0].shape == (2, 99, 64, 64) and boundaries[0].shape == (2, 2, 64, 64)
    assert torch.allclose(outputs[0], ref, atol=1e-4 * float(ref.abs().max()))
    assert ref.std() > 0.01 * ref.abs().max()  # contrast: not a flat map
    assert not torch.allclose(outputs[0][0], outputs[0][1], atol=1e-3)  # follows the image


def test_the_masks_are_the_official_preprocess():
    heat = blob_heatmaps()
    whole, inner = masks_from_heatmaps(heat.clone())
    ref_whole, ref_inner = ref_preprocess(heat)
    assert whole.shape == inner.shape == (2, 1, 256, 256)
    assert torch.allclose(whole, ref_whole, atol=1e-6)
    assert torch.allclose(inner, ref_inner, atol=1e-6)
    assert whole.max() == 1 and (whole > 0.5).float().mean() > 0.01  # marks the parts...
    assert (whole == 0).float().mean() > 0.3 and inner.sum() < whole.sum()  # ...and only them


def test_get_heatmap_chains_the_reference_steps(wing):
    sd, fan = wing
    x = torch.rand(1, 3, 200, 200, generator=torch.Generator().manual_seed(4)) * 2 - 1
    masks = fan.get_heatmap(x)
    x256 = F.interpolate(x, size=256, mode="bilinear", align_corners=False)
    heat = ref_fan(sd, x256 * 0.5 + 0.5)[:, :-1]
    heat = F.interpolate(heat, scale_factor=4, mode="bilinear", align_corners=True)
    for got, want in zip(masks, ref_preprocess(heat)):
        assert got.shape == (1, 1, 256, 256)
        assert (got - want).abs().max() < 1e-3


def test_the_fan_of_a_nets_ema_file_loads_too(tmp_path):
    path = tmp_path / "100000_nets_ema.ckpt"
    torch.save({**stargan_v2_release("celeba_hq"), "fan": wing_release()["state_dict"]}, path)
    fan = neuralfx.models.load("wing-fan", str(path))
    assert torch.equal(fan.l0.weight, wing_release()["state_dict"]["l0.weight"])
    assert neuralfx.models.load("stargan-v2-celeba-hq", str(path)).domains == ("female", "male")


def test_another_checkpoint_is_refused_with_its_name(tmp_path):
    path = tmp_path / "wing.ckpt"
    torch.save(stargan_v2_release("afhq"), path)
    with pytest.raises(neuralfx.errors.NeuralFXError, match="stargan-v2-afhq"):
        neuralfx.models.load("wing-fan", str(path))
