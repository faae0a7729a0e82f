"""EXR as compositors write it: multi-part and multi-layer files, overscan, header attributes.

The fixtures are written with OpenEXR's own API in Blender's naming (one part,
``ViewLayer.Combined.R`` ..., as *OpenEXR MultiLayer* writes) and Nuke's (one part per layer);
every check reads the outputs back with the same API, independently of neuralfx's reader."""

from __future__ import annotations

import os

import numpy as np
import OpenEXR
import pytest

import neuralfx
from helpers import plugin_with
from neuralfx.errors import FrameError, ParameterError
from neuralfx.pipeline.runner import RunOptions

H, W = 24, 40
#: overscan: the data window reaches 6 px left of and 4 px above the display window
DATA_WINDOW = (np.array([-6, -4], np.int32), np.array([-6 + W - 1, -4 + H - 1], np.int32))
DISPLAY_WINDOW = (np.array([0, 0], np.int32), np.array([27, 15], np.int32))


class Invert(neuralfx.Effect):
    """1 - RGB, on the samples as decoded: a change that shows where every pixel went."""

    name = "invert"
    working_space = None

    def process(self, batch):
        return batch.replace(rgb=1 - batch.rgb)


def _planes(seed: int, names: list[str], dtype=np.float32) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {n: rng.random((H, W)).astype(dtype) for n in names}


def _blender_file(path: str, seed: int) -> None:
    channels = _planes(seed, [f"ViewLayer.Combined.{c}" for c in "RGBA"])
    channels.update(_planes(seed + 100, ["ViewLayer.Depth.Z"]))
    channels.update(_planes(seed + 200, [f"ViewLayer.Normal.{c}" for c in "XYZ"], np.float16))
    channels["ViewLayer.IndexOB.X"] = np.arange(H * W, dtype=np.uint32).reshape(H, W)
    header = {
        "compression": OpenEXR.ZIP_COMPRESSION,
        "type": OpenEXR.scanlineimage,
        "dataWindow": DATA_WINDOW,
        "displayWindow": DISPLAY_WINDOW,
        "owner": "Blender 5.0",
        "cameraFocalLength": 35.0,
    }
    with OpenEXR.File(header, channels) as f:
        f.write(path)


def _nuke_file(path: str, seed: int) -> None:
    def part(name, channels):
        header = {
            "compression": OpenEXR.PIZ_COMPRESSION,
            "type": OpenEXR.scanlineimage,
            "dataWindow": DATA_WINDOW,
            "displayWindow": DISPLAY_WINDOW,
            "nuke/node_hash": "b5e4f0",
        }
        return OpenEXR.Part(header, channels, name)

    parts = [
        part("rgba", _planes(seed, list("RGBA"), np.float16)),
        part("depth", _planes(seed + 1, ["depth.Z"])),
        part("diffuse", _planes(seed + 2, [f"diffuse.{c}" for c in "RGB"], np.float16)),
    ]
    with OpenEXR.File(parts) as f:
        f.write(path)


def _sequence(tmp_path, writer, frames=(1, 2)) -> str:
    os.makedirs(tmp_path / "in", exist_ok=True)
    pattern = str(tmp_path / "in" / "shot.####.exr")
    for frame in frames:
        writer(pattern.replace("####", f"{frame:04d}"), seed=frame)
    return pattern


def _read(path: str) -> list[tuple[str, dict, dict]]:
    with OpenEXR.File(path, separate_channels=True) as f:
        return [
            (
                p.name(),
                {k: v for k, v in p.header.items() if k != "channels"},
                {n: c.pixels.copy() for n, c in p.channels.items()},
            )
            for p in f.parts
        ]


def _same_header(a: dict, b: dict) -> None:
    assert sorted(a) == sorted(b)
    for key in a:
        if isinstance(a[key], tuple):  # windows: (min, max) arrays
            assert all(np.array_equal(x, y) for x, y in zip(a[key], b[key])), key
        elif isinstance(a[key], np.ndarray):
            assert np.array_equal(a[key], b[key]), key
        else:
            assert a[key] == b[key], key


@pytest.mark.parametrize("kind", ["blender", "nuke"])
def test_every_other_part_layer_and_attribute_passes_through_bit_exact(fresh_host, tmp_path, kind):
    fresh_host.add_plugin(plugin_with(Invert), name="inv")
    writer = _blender_file if kind == "blender" else _nuke_file
    src = _sequence(tmp_path, writer)
    out = str(tmp_path / "out" / "shot.####.exr")
    neuralfx.run("invert", src, out)
    beauty = "ViewLayer.Combined." if kind == "blender" else ""
    for frame in (1, 2):
        before = _read(src.replace("####", f"{frame:04d}"))
        after = _read(out.replace("####", f"{frame:04d}"))
        assert [p[0] for p in after] == [p[0] for p in before]
        for (_, head_a, chans_a), (_, head_b, chans_b) in zip(before, after):
            _same_header(head_a, head_b)  # windows (overscan), compression, custom attributes
            assert sorted(chans_a) == sorted(chans_b)
            for name, pixels in chans_a.items():
                got = chans_b[name]
                assert got.dtype == pixels.dtype, name  # pixel types kept (half, float, uint)
                if name in {beauty + c for c in "RGB"}:
                    # processed in place: the overscan picture does not move
                    np.testing.assert_allclose(got, 1 - pixels.astype(np.float32), atol=1e-3)
                else:
                    assert np.array_equal(got, pixels), name  # alpha, depth, normals, ids


def test_layer_option_processes_the_named_layer_only(fresh_host, tmp_path):
    fresh_host.add_plugin(plugin_with(Invert), name="inv")
    src = _sequence(tmp_path, _nuke_file, frames=(1,))
    out = str(tmp_path / "out.####.exr")
    neuralfx.run("invert", src, out, options=RunOptions(layer="diffuse"))
    before, after = _read(src.replace("####", "0001")), _read(out.replace("####", "0001"))
    assert np.array_equal(after[0][2]["R"], before[0][2]["R"])  # the beauty untouched
    np.testing.assert_allclose(
        after[2][2]["diffuse.G"], 1 - before[2][2]["diffuse.G"].astype(np.float32), atol=1e-3
    )


def test_blender_layer_by_its_short_name_and_the_log_names_it(tmp_path, cli):
    src = _sequence(tmp_path, _blender_file, frames=(1,))
    r = cli("run", "convert", "--layer", "Combined", src, tmp_path / "o.####.exr")
    assert "(EXR layer ViewLayer.Combined)" in r.output
    r = cli("run", "convert", src, tmp_path / "o.####.png")
    assert "only ViewLayer.Combined is written" in r.output
    assert "ViewLayer.Depth" in r.output and "ViewLayer.Normal" in r.output


@pytest.mark.parametrize(
    "layer, says",
    [
        ("Depth", "layer 'Depth' holds no R,G,B or Y channels (its channels: ViewLayer.Depth.Z)"),
        ("Nope", "layer 'Nope' is not in the file (colour layers: ViewLayer.Combined)"),
    ],
)
def test_a_layer_that_is_not_a_picture_is_refused_before_the_run(tmp_path, layer, says):
    src = _sequence(tmp_path, _blender_file, frames=(1,))
    out = tmp_path / "o.####.exr"
    with pytest.raises(FrameError) as info:
        neuralfx.run("convert", src, str(out), options=RunOptions(layer=layer))
    assert says in info.value.message and "shot.0001.exr" in info.value.message
    assert not out.parent.joinpath("o.0001.exr").exists()


def test_layerless_multichannel_file_is_explained_not_called_corrupt(tmp_path):
    path = str(tmp_path / "aovs.exr")
    with OpenEXR.File(
        {"type": OpenEXR.scanlineimage}, _planes(0, ["Z", "N.X", "N.Y", "N.Z", "velocity.U"])
    ) as f:
        f.write(path)
    with pytest.raises(FrameError) as info:
        neuralfx.run("convert", path, str(tmp_path / "o.exr"))
    assert "no colour layer" in info.value.message
    assert "corrupt" not in info.value.message + info.value.hint
    assert "N.X" in info.value.message  # what the file does hold


def test_several_colour_layers_and_no_beauty_asks_for_one(tmp_path):
    path = str(tmp_path / "two.exr")
    with OpenEXR.File(
        {"type": OpenEXR.scanlineimage},
        _planes(0, ["diffuse.R", "diffuse.G", "diffuse.B", "spec.R", "spec.G", "spec.B"]),
    ) as f:
        f.write(path)
    with pytest.raises(FrameError) as info:
        neuralfx.run("convert", path, str(tmp_path / "o.exr"))
    assert "diffuse, spec" in info.value.message and "--layer" in info.value.hint


def test_layer_option_is_for_exr_only(tmp_path, make_sequence):
    src = make_sequence(frames=[1])
    with pytest.raises(ParameterError, match="not an EXR"):
        neuralfx.run("convert", src, str(tmp_path / "o.####.png"), options=RunOptions(layer="rgba"))
