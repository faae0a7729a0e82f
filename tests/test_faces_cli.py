"""`neuralfx faces list` and `neuralfx faces extract` on clips made from a real face."""

from __future__ import annotations

import csv
import json

import cv2
import pytest
from faces_helpers import astronaut, moved, no_face, read_rgb, two_faces, write_clip

pytest.importorskip("skimage.data")


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """Two faces that move; frame 4 has none (a cut), frame 5 brings the left one back, larger
    (the same person: her id again)."""
    folder = tmp_path_factory.mktemp("faces")
    return write_clip(
        folder,
        {
            1: two_faces(),
            2: moved(two_faces(), 3),
            3: moved(two_faces(), 6),
            4: no_face(),
            5: astronaut(),
        },
    )


def test_list_gives_stable_ids_and_the_same_id_to_a_face_found_again(cli, clip):
    tracks = json.loads(cli("faces", "list", clip, "--json").stdout)
    assert [(t["id"], t["first"], t["last"], t["frames"]) for t in tracks] == [
        (1, 1, 5, 4),
        (2, 1, 3, 3),
    ]
    assert tracks[0]["box"][0] < tracks[1]["box"][0]  # id 1 is the left face
    table = cli("faces", "list", clip).stdout
    assert "1-5" in table and "1-3" in table


def test_extract_writes_aligned_crops_and_their_sources(cli, clip, tmp_path):
    out = tmp_path / "crops"
    result = cli("faces", "extract", clip, str(out), "--min-face", "48", "--every", "2")
    # every second face of each track: her track has frames 1, 2, 3 and 5
    assert "4 face(s) written" in result.stdout and "3 by --every" in result.stdout
    with open(out / "faces.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [(r["frame"], r["track"]) for r in rows] == [
        ("1", "1"),
        ("1", "2"),
        ("3", "1"),
        ("3", "2"),
    ]
    crop = read_rgb(out / "images" / rows[0]["file"])
    assert crop.shape == (218, 178, 3)
    assert len(rows[0]["landmarks68"].split()) == 136
    # CelebA's layout: the eyes at y 111 (the brightest-to-darkest change across the eye row)
    row = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY)[100:122, 60:120].astype(float)
    assert row.std() > 15


def test_extract_skips_tiny_and_blurred_faces(cli, tmp_path):
    src = write_clip(
        tmp_path / "in", {1: cv2.GaussianBlur(astronaut(), (0, 0), 2.5), 2: astronaut()}
    )
    result = cli("faces", "extract", src, str(tmp_path / "a"), "--min-sharpness", "60")
    assert "1 face(s) written" in result.stdout and "1 blurred" in result.stdout
    result = cli("faces", "extract", src, str(tmp_path / "b"), "--min-face", "200")
    assert "0 face(s) written" in result.stdout and "2 tiny" in result.stdout


def test_no_faces_is_said_plainly(cli, tmp_path):
    src = write_clip(tmp_path / "none", {1: no_face()})
    assert "no faces found" in cli("faces", "list", src).stdout


def test_extract_celeba_hq_crops_for_stargan_v2(cli, tmp_path):
    """--layout celeba-hq writes 256x256 crops whose eyes sit where CelebA-HQ's template puts
    them (what `neuralfx train face-attributes --model stargan-v2` reads)."""
    from neuralfx.faces.align import CropTemplate
    from neuralfx.faces.detect import DlibFaceFinder

    src = write_clip(tmp_path / "her", {1: astronaut(), 2: moved(astronaut(), 4)})
    out = tmp_path / "hq"
    result = cli("faces", "extract", src, str(out), "--layout", "celeba-hq")
    assert "2 face(s) written" in result.stdout
    for path in sorted((out / "images").iterdir()):
        crop = read_rgb(path)
        assert crop.shape == (256, 256, 3)
        (face,) = DlibFaceFinder("hog").find(crop)
        eyes = [face.landmarks[36:42].mean(0), face.landmarks[42:48].mean(0)]
        for eye, want in zip(eyes, CropTemplate.celeba_hq(256).points[:2], strict=True):
            assert abs(eye - want).max() < 6
