"""Keyframed boxes (neuralfx.regions), the Boxes parameter kind, and the schema fields the
Blender panel is generated from (soft limits, folders), through a third-party effect."""

from __future__ import annotations

import json
import os
import sys

import numpy as np
import pytest

import neuralfx.host.plugins
from neuralfx.frames.images import read_image
from neuralfx.host.plugins import PluginHost
from neuralfx.regions import boxes_document, read_boxes

MODULES = os.path.join(os.path.dirname(__file__), "plugin_modules")


@pytest.fixture
def region_host(monkeypatch):
    monkeypatch.syspath_prepend(MODULES)
    sys.modules.pop("region_plugin", None)
    monkeypatch.setenv("NEURALFX_PLUGINS", "region_plugin")
    host = PluginHost().load_all()
    monkeypatch.setattr(neuralfx.host.plugins, "_host", host)
    return host


def _write(path, doc) -> str:
    path.write_text(json.dumps(doc))
    return str(path)


def test_track_interpolates_holds_and_scales(tmp_path):
    doc = boxes_document({10: (0, 0, 10, 20), 20: (10, 20, 30, 40)}, (100, 50))
    track = read_boxes(_write(tmp_path / "b.json", doc))
    assert track.at(15) == (5.0, 10.0, 20.0, 30.0)  # halfway, every coordinate
    assert track.at(1) == (0, 0, 10, 20) and track.at(99) == (10, 20, 30, 40)
    assert track.at(20, size=(200, 25)) == (20.0, 10.0, 60.0, 20.0)  # x doubled, y halved


@pytest.mark.parametrize(
    "doc, words",
    [
        ({"boxes": {}}, 'no "neuralfx": "boxes"'),
        ({"neuralfx": "boxes", "version": 9, "frame_size": [4, 4], "boxes": {}}, "version 9"),
        ({"neuralfx": "boxes", "version": 1, "frame_size": [4], "boxes": {}}, "frame_size"),
        (
            {"neuralfx": "boxes", "version": 1, "frame_size": [4, 4], "boxes": {"3": [1, 1, 0, 2]}},
            "frame 3 is empty or inverted",
        ),
        (
            {"neuralfx": "boxes", "version": 1, "frame_size": [4, 4], "boxes": {"x": [0, 0, 1, 1]}},
            "frame 'x' needs a box",
        ),
        ({"neuralfx": "boxes", "version": 1, "frame_size": [4, 4], "boxes": {}}, "has no boxes"),
    ],
)
def test_bad_boxes_are_refused_before_any_frame(
    region_host, cli, make_sequence, tmp_path, doc, words
):
    src = make_sequence()
    bad = _write(tmp_path / "bad.json", doc)
    result = cli(
        "run",
        "mark-region",
        "--region",
        bad,
        src,
        str(tmp_path / "o" / "f.####.png"),
        "--progress",
        "json",
        expect=2,
    )
    error = CLI_error(result)
    assert words in error["message"] and "bad.json" in error["message"]
    assert not (tmp_path / "o").exists()


def CLI_error(result) -> dict:
    return next(
        json.loads(line)
        for line in result.stdout.splitlines()
        if line.startswith("{") and json.loads(line)["event"] == "error"
    )


def test_effect_follows_the_track(region_host, cli, make_sequence, tmp_path):
    src = make_sequence(frames=range(1001, 1004), width=64, height=48)
    # Keyed on a proxy of half the size: the box is scaled to the frames.
    region = _write(
        tmp_path / "r.json", boxes_document({1001: (2, 2, 10, 8), 1003: (12, 10, 20, 16)}, (32, 24))
    )
    out = tmp_path / "o" / "f.####.png"
    cli(
        "run",
        "mark-region",
        "--region",
        region,
        "--colour",
        "#00ff00",
        src,
        str(out),
        "--progress",
        "none",
    )
    for frame, (x0, y0, x1, y1) in (
        (1001, (4, 4, 20, 16)),
        (1002, (14, 12, 30, 24)),
        (1003, (24, 20, 40, 32)),
    ):
        got = read_image(str(out).replace("####", str(frame)))
        source = read_image(src.replace("####", str(frame)))
        inside = np.zeros(got.shape[:2], bool)
        inside[y0:y1, x0:x1] = True
        assert (got[inside] == [0, 255, 0]).all(), frame
        assert (got[~inside] == source[~inside]).all(), frame


def test_schema_carries_soft_limits_folders_and_boxes(region_host, cli):
    props = json.loads(cli("describe", "mark-region", "--json").stdout)["settings"]["properties"]
    assert props["opacity"]["x-soft-minimum"] == 0.25 and props["opacity"]["maximum"] == 1.0
    assert props["grow"]["x-soft-maximum"] == 8 and props["grow"]["minimum"] == -64
    assert props["region"]["x-kind"] == "boxes" and props["region"]["x-suffixes"] == [".json"]
    assert props["scratch"]["x-folder"] is True and props["reference"]["items"]["x-folder"] is False
