"""The sRGB transfer functions against IEC 61966-2-1's own numbers (written out here, not taken
from the implementation): the linear toe below 0.04045 and the 2.4 power segment above."""

from __future__ import annotations

import numpy as np
import pytest

from neuralfx.colour import linear_to_srgb, srgb_to_linear

# (encoded, linear) pairs from the standard's formulas: the toe is V / 12.92 up to 0.04045,
# then ((V + 0.055) / 1.055) ** 2.4.
POINTS = [
    (0.0, 0.0),
    (0.01, 0.000773994),  # toe: 0.01 / 12.92
    (0.02, 0.001547988),  # toe: 0.02 / 12.92
    (0.04045, 0.003130805),  # the joint of the two segments
    (0.1, 0.010022825),
    (0.5, 0.214041140),
    (0.735356983, 0.5),
    (1.0, 1.0),
]


@pytest.mark.parametrize("encoded, linear", POINTS)
def test_srgb_matches_the_standard(encoded, linear):
    x = np.array([encoded], np.float32)
    assert srgb_to_linear(x)[0] == pytest.approx(linear, abs=2e-7, rel=1e-5)
    assert linear_to_srgb(np.array([linear], np.float32))[0] == pytest.approx(encoded, abs=2e-6)


def test_the_toe_is_linear_not_a_power():
    x = np.linspace(0, 0.04, 9, dtype=np.float32)
    np.testing.assert_allclose(srgb_to_linear(x), x / 12.92, rtol=1e-6, atol=1e-9)
