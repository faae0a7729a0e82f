"""Model ports: exact official layouts, and numerics against independent functional
re-implementations of the official forward passes, with deterministic weights."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from helpers import deterministic_state, manifest
from neuralfx import models
from neuralfx.errors import NeuralFXError

CASES = {
    "johnson": ("fast_neural_style_transformer_net", None),
    "adain-encoder": ("adain_vgg_normalised", None),
    "adain-decoder": ("adain_decoder", None),
    "vgg19": ("torchvision_vgg19", None),
}


@pytest.mark.parametrize("name", CASES)
def test_state_dict_layout_is_the_official_one(name):
    expected = [(k, tuple(s)) for k, s, _ in manifest(CASES[name][0])["state_dict"]]
    got = [(k, tuple(v.shape)) for k, v in models.spec_of(name).build().state_dict().items()]
    assert got == expected


def _save(tmp_path, state, name="w.pth"):
    path = tmp_path / name
    torch.save(state, path)
    return path


# -- independent references: plain functional code following the official source -------------
def _conv(x, sd, prefix, stride=1, pad=0):
    w = sd[prefix + ".weight"]
    if pad:
        x = F.pad(x, (pad,) * 4, mode="reflect")
    return F.conv2d(x, w, sd[prefix + ".bias"], stride=stride)


def _inorm(x, sd, prefix):
    return F.instance_norm(x, weight=sd[prefix + ".weight"], bias=sd[prefix + ".bias"], eps=1e-5)


def johnson_reference(sd, x):
    y = F.relu(_inorm(_conv(x, sd, "conv1.conv2d", 1, 4), sd, "in1"))
    y = F.relu(_inorm(_conv(y, sd, "conv2.conv2d", 2, 1), sd, "in2"))
    y = F.relu(_inorm(_conv(y, sd, "conv3.conv2d", 2, 1), sd, "in3"))
    for r in range(1, 6):
        p = f"res{r}"
        h = F.relu(_inorm(_conv(y, sd, p + ".conv1.conv2d", 1, 1), sd, p + ".in1"))
        y = y + _inorm(_conv(h, sd, p + ".conv2.conv2d", 1, 1), sd, p + ".in2")
    y = F.relu(
        _inorm(
            _conv(F.interpolate(y, scale_factor=2, mode="nearest"), sd, "deconv1.conv2d", 1, 1),
            sd,
            "in4",
        )
    )
    y = F.relu(
        _inorm(
            _conv(F.interpolate(y, scale_factor=2, mode="nearest"), sd, "deconv2.conv2d", 1, 1),
            sd,
            "in5",
        )
    )
    return _conv(y, sd, "deconv3.conv2d", 1, 4)


def adain_encoder_reference(sd, x):
    """net.vgg[:31]: 1x1 conv, then (pad, conv, relu) blocks with ceil-mode max pools."""
    plan = [2, 5, "P", 9, 12, "P", 16, 19, 22, 25, "P", 29]
    y = F.conv2d(x, sd["0.weight"], sd["0.bias"])
    for step in plan:
        y = (
            F.max_pool2d(y, 2, 2, ceil_mode=True)
            if step == "P"
            else F.relu(_conv(y, sd, str(step), 1, 1))
        )
    return y


def adain_decoder_reference(sd, x):
    plan = [1, "U", 5, 8, 11, 14, "U", 18, 21, "U", 25]
    y = x
    for step in plan:
        y = (
            F.interpolate(y, scale_factor=2, mode="nearest")
            if step == "U"
            else F.relu(_conv(y, sd, str(step), 1, 1))
        )
    return _conv(y, sd, "28", 1, 1)


def test_johnson_loads_the_old_official_file_and_computes_the_official_forward(tmp_path):
    # The released files carry pre-0.4 InstanceNorm running stats; loading must drop them.
    legacy = {
        f"{p}.running_{s}": torch.zeros(c)
        for p, c in [("in1", 32), ("in2", 64), ("in3", 128), ("in4", 64), ("in5", 32)]
        + [(f"res{i}.in{j}", 128) for i in range(1, 6) for j in (1, 2)]
        for s in ("mean", "var")
    }
    sd = deterministic_state("fast_neural_style_transformer_net", extra=legacy)
    path = _save(tmp_path, sd, "candy.pth")
    net = models.load("johnson", path)
    x = torch.rand(2, 3, 36, 44, generator=torch.Generator().manual_seed(1)) * 255
    with torch.no_grad():
        got = net(x)
        ref = johnson_reference(sd, x)
    assert got.shape == (2, 3, 36, 44)
    torch.testing.assert_close(got, ref, rtol=1e-4, atol=1e-3)


def test_adain_encoder_uses_the_first_31_layers_of_the_full_file(tmp_path):
    sd = deterministic_state("adain_vgg_normalised")
    enc = models.load("adain-encoder", _save(tmp_path, sd))
    assert len(enc) == 31
    x = torch.rand(1, 3, 37, 50, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        got = enc(x)
    assert got.shape == (1, 512, 5, 7)  # ceil-mode pooling: ceil(37/8), ceil(50/8)
    torch.testing.assert_close(got, adain_encoder_reference(sd, x), rtol=1e-4, atol=1e-5)


def test_adain_decoder_forward(tmp_path):
    sd = deterministic_state("adain_decoder")
    dec = models.load("adain-decoder", _save(tmp_path, sd))
    x = torch.rand(1, 512, 4, 6, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        got = dec(x)
    assert got.shape == (1, 3, 32, 48)
    torch.testing.assert_close(got, adain_decoder_reference(sd, x), rtol=1e-4, atol=1e-5)


def test_vgg19_features_match_the_torchvision_layout(tmp_path):
    sd = deterministic_state("torchvision_vgg19")
    net = models.load("vgg19", _save(tmp_path, sd))
    x = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        got = net.features[:21](x)  # up to relu4_1
    y = x
    for i in (0, 2, "P", 5, 7, "P", 10, 12, 14, 16, "P", 19):
        y = (
            F.max_pool2d(y, 2)
            if i == "P"
            else F.relu(
                F.conv2d(y, sd[f"features.{i}.weight"], sd[f"features.{i}.bias"], padding=1)
            )
        )
    torch.testing.assert_close(got, y, rtol=1e-4, atol=1e-5)


def test_a_checkpoint_that_does_not_fit_is_refused_with_the_keys(tmp_path):
    path = _save(tmp_path, deterministic_state("adain_decoder"), "decoder.pth")
    with pytest.raises(NeuralFXError) as err:
        models.load("johnson", path)
    text = str(err.value)
    assert "does not fit model 'johnson'" in text
    assert "missing: conv1.conv2d.weight" in text and "unexpected: 1.weight" in text
    bad = deterministic_state("adain_decoder")
    bad["28.weight"] = torch.zeros(3, 64, 5, 5)
    with pytest.raises(NeuralFXError, match=r"wrong shape: 28.weight \(3, 64, 5, 5\)"):
        models.load("adain-decoder", _save(tmp_path, bad, "bad.pth"))


def test_pickled_code_is_refused(tmp_path):
    path = tmp_path / "evil.pth"
    torch.save({"x": np.array([1, 2])}, path)  # needs arbitrary unpickling to load
    with pytest.raises(NeuralFXError, match="not a readable checkpoint") as info:
        models.load("johnson", path)
    assert "never unpickles" in info.value.message
    assert "weights_only" not in str(info.value)  # torch's advice to load it unsafely


def test_missing_default_weights_say_how_to_get_them():
    with pytest.raises(NeuralFXError) as err:
        models.load("adain-decoder")
    assert "neuralfx models fetch adain-decoder" in err.value.hint


def test_a_checkpoint_of_another_model_is_named_for_the_model_it_fits():
    from neuralfx.errors import NeuralFXError

    dumoulin = models.resolve_checkpoint("dumoulin", None)  # ships with neuralfx
    with pytest.raises(NeuralFXError) as info:
        models.load("johnson", dumoulin)
    assert info.value.message.startswith(
        f"{dumoulin} is a 'dumoulin' checkpoint, not a 'johnson' one: it does not fit"
    )
    assert "neuralfx models list" in info.value.hint
