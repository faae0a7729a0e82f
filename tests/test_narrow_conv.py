"""Narrow, wide-kernel convolutions computed with the kernel's columns folded into outputs
give what ``F.conv2d`` gives."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from neuralfx.models import narrow_conv


@pytest.mark.parametrize(
    "cin,cout,k,folds",
    [(4, 3, 9, True), (8, 3, 9, True), (8, 4, 3, False), (3, 32, 9, False), (4, 3, 1, False)],
)
@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("channels_last", [False, True])
def test_conv2d_is_f_conv2d(monkeypatch, cin, cout, k, folds, bias, channels_last):
    g = torch.Generator().manual_seed(cin * 100 + cout * 10 + k)
    x = torch.rand(1, cin, 23 + k, 37 + k, generator=g)  # not square: rows and columns differ
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    w = torch.randn(cout, cin, k, k, generator=g)
    b = torch.randn(cout, generator=g) if bias else None
    kernels = []
    real = F.conv2d

    def spy(x, weight, *args, **kwargs):
        kernels.append(tuple(weight.shape))
        return real(x, weight, *args, **kwargs)

    monkeypatch.setattr(narrow_conv.F, "conv2d", spy)
    monkeypatch.setattr(narrow_conv, "WIDE_VECTORS", True)  # the fold's arithmetic, on any CPU
    out = narrow_conv.conv2d(x, w, b)
    expected = real(x, w, b)
    assert out.shape == expected.shape
    torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-4)
    assert kernels == ([(cout * k, cin, k, 1)] if folds else [tuple(w.shape)])


def test_strided_and_too_narrow_inputs_are_left_to_f_conv2d():
    w = torch.randn(3, 4, 9, 9)
    x = torch.rand(1, 4, 40, 40)
    torch.testing.assert_close(narrow_conv.conv2d(x, w, stride=2), F.conv2d(x, w, stride=2))
    with pytest.raises(RuntimeError) as ours:
        narrow_conv.conv2d(torch.rand(1, 4, 40, 5), w)
    with pytest.raises(RuntimeError) as theirs:
        F.conv2d(torch.rand(1, 4, 40, 5), w)
    assert str(ours.value) == str(theirs.value)


def test_nothing_folds_without_wide_vectors(monkeypatch):
    """On AVX2 the fold is slower than oneDNN's own kernel."""
    assert narrow_conv.WIDE_VECTORS is (torch.backends.cpu.get_cpu_capability() == "AVX512")
    kernels = []
    real = F.conv2d
    monkeypatch.setattr(
        narrow_conv.F, "conv2d", lambda x, w, *a: kernels.append(w.shape) or real(x, w, *a)
    )
    monkeypatch.setattr(narrow_conv, "WIDE_VECTORS", False)
    narrow_conv.conv2d(torch.rand(1, 4, 40, 40), torch.randn(3, 4, 9, 9))
    assert kernels == [(3, 4, 9, 9)]
