"""The third-party example plugin (examples/neuralfx-lut), installed as its own distribution and
driven through the CLI like any user would."""

from __future__ import annotations

import json

import numpy as np
import pytest

from helpers import read_unit

pytest.importorskip(
    "neuralfx_lut", reason="install ./examples/neuralfx-lut (the README's test command does)"
)


def write_cube(path, size, fn, title="test"):
    """A .cube file whose entry for (r, g, b) is fn(r, g, b); red varies fastest."""
    grid = np.linspace(0, 1, size)
    lines = [f'TITLE "{title}"', f"LUT_3D_SIZE {size}"]
    for b in grid:
        for g in grid:
            for r in grid:
                lines.append("%.6f %.6f %.6f" % tuple(fn(r, g, b)))
    path.write_text("\n".join(lines) + "\n")
    return path


def test_plugin_is_discovered_through_its_entry_point(cli):
    data = json.loads(cli("plugins", "--json").stdout)
    lut = next(p for p in data["plugins"] if p["name"] == "lut")
    assert lut["module"] == "neuralfx_lut" and lut["version"] == "1.0.0"
    assert lut["hooks"] == ["register_commands", "register_effects"]
    assert lut["effects"] == ["lut"]


def test_lut_grade_matches_the_table(cli, make_sequence, tmp_path):
    # A LUT that is linear in r, g, b is reproduced exactly by trilinear interpolation, so the
    # expected output is known in closed form: swap red and blue, and darken green.
    cube = write_cube(tmp_path / "swap.cube", 9, lambda r, g, b: (b, 0.5 * g, r))
    src = make_sequence()
    cli("run", "lut", "--lut", cube, "--batch-size", "2", src, tmp_path / "g.####.png")
    original = read_unit(src.replace("####", "1002"))
    graded = read_unit(tmp_path / "g.1002.png")
    expected = np.stack([original[..., 2], 0.5 * original[..., 1], original[..., 0]], axis=-1)
    np.testing.assert_allclose(graded, expected, atol=1 / 255 + 1e-6)


def test_strength_blends_with_the_original(cli, make_sequence, tmp_path):
    cube = write_cube(tmp_path / "invert.cube", 5, lambda r, g, b: (1 - r, 1 - g, 1 - b))
    src = make_sequence()
    cli("run", "lut", "--lut", cube, "--strength", "0.25", src, tmp_path / "s.####.png")
    original = read_unit(src.replace("####", "1001"))
    np.testing.assert_allclose(
        read_unit(tmp_path / "s.1001.png"),
        0.75 * original + 0.25 * (1 - original),
        atol=1 / 255 + 1e-6,
    )


def test_bad_lut_usage(cli, make_sequence, tmp_path):
    src = make_sequence()
    result = cli("run", "lut", src, tmp_path / "o.####.png", expect=2)
    assert "lut is required" in result.stderr and "--lut" in result.stderr
    result = cli(
        "run",
        "lut",
        "--lut",
        tmp_path / "x.cube",
        "--strenght",
        "1",
        src,
        tmp_path / "o.####.png",
        expect=2,
    )
    assert "Did you mean '--strength'?" in result.stderr
    broken = tmp_path / "broken.cube"
    broken.write_text("LUT_3D_SIZE 4\n0 0 0\n")
    result = cli("run", "lut", "--lut", broken, src, tmp_path / "o.####.png", expect=1)
    assert "needs 64 entries, found 1" in result.stderr
    assert not list(tmp_path.glob("o.*"))


def test_plugin_command(cli, tmp_path):
    cube = write_cube(tmp_path / "id.cube", 3, lambda r, g, b: (r, g, b), title="identity")
    out = cli("lut-info", cube).stdout
    assert "3x3x3 3D LUT 'identity'" in out
    assert "domain: [0.0, 0.0, 0.0] to [1.0, 1.0, 1.0]" in out
