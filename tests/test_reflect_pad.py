"""Padding written by the layer before it is the padding of that layer's result."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from neuralfx.models.reflect import interior, reflect_pad_into


def _reference(x, pad, relu, add, upsample):
    """Each step on its own, as the networks did before the padding was fused."""
    if add is not None:
        x = x + add
    if relu:
        x = torch.relu(x)
    if upsample:
        x = F.interpolate(x, scale_factor=2, mode="nearest")
    return F.pad(x, (pad,) * 4, mode="reflect")


@pytest.mark.parametrize("pad", [0, 1, 4])
@pytest.mark.parametrize("relu", [False, True])
@pytest.mark.parametrize("with_add", [False, True])
@pytest.mark.parametrize("upsample", [False, True])
@pytest.mark.parametrize("channels_last", [False, True])
def test_reflect_pad_into_is_the_padded_result(pad, relu, with_add, upsample, channels_last):
    g = torch.Generator().manual_seed(pad + 2 * relu + 4 * with_add + 8 * upsample)
    x = torch.randn(2, 5, 7, 9, generator=g)  # odd sizes: rows and columns are not confused
    add = torch.randn(2, 5, 7, 9, generator=g) if with_add else None
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    out = reflect_pad_into(x, pad, relu=relu, add=add, upsample=upsample)
    assert torch.equal(out, _reference(x, pad, relu, add, upsample))
    assert out.is_contiguous(memory_format=torch.channels_last) == channels_last


def test_layout_follows_a_residual_view_into_a_channels_last_tensor():
    x = torch.randn(1, 8, 6, 6).contiguous(memory_format=torch.channels_last)
    view = interior(reflect_pad_into(x, 1), 1)
    assert torch.equal(view, x) and not view.is_contiguous(memory_format=torch.channels_last)
    assert reflect_pad_into(view, 1).is_contiguous(memory_format=torch.channels_last)


def test_a_map_smaller_than_the_pad_fails_as_padding_it_would():
    x = torch.randn(1, 4, 2, 8)
    with pytest.raises(RuntimeError) as ours:
        reflect_pad_into(x, 4, relu=True)
    with pytest.raises(RuntimeError) as theirs:
        F.pad(x, (4,) * 4, mode="reflect")
    assert str(ours.value) == str(theirs.value)


def test_the_networks_stay_differentiable():
    """Writing into a padded tensor is not differentiable: with gradients wanted the steps run
    one by one, so a network can still be fine-tuned or differentiated through."""
    from neuralfx.models.magenta import multistyle26

    torch.manual_seed(0)
    net = multistyle26()
    for p in net.parameters():
        p.data.normal_(0, 0.2)
    image = torch.rand(1, 3, 32, 48, requires_grad=True)
    weights = torch.zeros(26)
    weights[3] = 1
    net(image, weights).square().mean().backward()
    assert image.grad is not None and image.grad.abs().sum() > 0
    assert net.contract[0].w.grad.abs().sum() > 0
    with torch.no_grad():
        assert torch.allclose(net(image, weights), net(image.detach(), weights))
