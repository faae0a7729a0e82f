"""The host's face pipeline (neuralfx.faces) on a real face: detection without false positives,
alignment to the CelebA crop and back, tracking with stable ids, held misses, steady crops."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from faces_helpers import ASTRONAUT_FACE, astronaut, moved, two_faces

import neuralfx
from neuralfx.faces import align
from neuralfx.faces.align import CropTemplate
from neuralfx.faces.detect import DlibFaceFinder
from neuralfx.faces.pipeline import FacePipeline
from neuralfx.faces.track import FaceTracker

pytest.importorskip("skimage.data")


@pytest.fixture(scope="module")
def finder():
    return DlibFaceFinder("hog", min_face=48)  # small enough to meet the patch and the glove


def test_the_astronaut_is_found_and_her_mission_patch_is_not(finder):
    found = finder.find(astronaut())
    assert len(found) == 1
    assert np.allclose(found[0].box, ASTRONAUT_FACE, atol=12)
    assert found[0].landmarks.shape == (68, 2)
    # Without the CNN's confirmation, HOG also fires on the patch and the glove.
    assert len(DlibFaceFinder("hog", min_face=48, confirm=False).find(astronaut())) > 1


def test_the_cnn_detector_and_a_reduced_detection_frame_find_her_too():
    big = moved(astronaut(), scale=2.0, size=(1024, 1024))  # a 180 px face
    found = DlibFaceFinder("hog", min_face=120).find(big)  # detects on a third of the frame
    assert len(found) == 1 and found[0].width > 150
    assert len(DlibFaceFinder("cnn").find(astronaut())) == 1


def test_alignment_is_the_least_squares_similarity_onto_the_template(finder):
    template = CropTemplate.celeba(128)
    pipe = FacePipeline(template)
    image = astronaut()
    frame = torch.from_numpy(image).permute(2, 0, 1)[None].float() / 255
    found = finder.find(image)
    crops = pipe.crop(frame, pipe.track([found]))
    # x' = a x - b y + tx, y' = b x + a y + ty, solved as a linear least-squares problem
    src, dst = align.five_points(found[0].landmarks).astype(np.float64), np.array(template.points)
    rows = [[x, -y, 1, 0] for x, y in src] + [[y, x, 0, 1] for x, y in src]
    a, b, tx, ty = np.linalg.lstsq(
        np.array(rows), np.concatenate([dst[:, 0], dst[:, 1]]), rcond=None
    )[0]
    expected = np.array([[a, -b, tx], [b, a, ty]])
    assert np.abs(crops.to_crop[0].numpy() - expected).max() < 1e-3
    # her smile is wider than CelebA's average mouth; the eyes and nose land within 2.5 px
    five = align.five_points(crops.landmarks[0])
    assert np.abs(five[:3] - dst[:3]).max() < 2.5
    # the crop shows the frame there: the pixel under the nose tip is the frame's
    nose = found[0].landmarks[30].round().astype(int)
    u, v = crops.landmarks[0][30].round().astype(int)
    assert np.abs(crops.images[0, :, v, u].numpy() * 255 - image[nose[1], nose[0]]).max() < 25


def test_pasting_the_crops_back_unchanged_gives_the_frame(finder):
    pipe = FacePipeline(CropTemplate.celeba(128), colour_match=False)
    image = astronaut()
    frame = torch.from_numpy(image).permute(2, 0, 1)[None].float() / 255
    crops = pipe.crop(frame, pipe.track([finder.find(image)]))
    out = pipe.paste(frame, crops, crops.images)
    diff = (out - frame).abs()
    x0, y0, x1, y1 = align.crop_region(crops.to_crop, 128, 512, 512)[0]
    # resampled twice: a slight blur only, far less than a crop put back one pixel off
    off = pipe.paste(frame, crops, crops.images.roll(1, dims=-1))
    assert diff[..., y0:y1, x0:x1].mean() < 0.5 * (off - frame).abs()[..., y0:y1, x0:x1].mean()
    assert diff[..., y0:y1, x0:x1].mean() < 0.015
    outside = torch.ones_like(diff, dtype=torch.bool)
    outside[..., y0:y1, x0:x1] = False
    assert torch.equal(out[outside], frame[outside])  # bit for bit


def test_a_still_face_gives_a_steady_crop(finder):
    """The detector's landmarks jitter by about a pixel on a face moved only by sub-pixel
    noise; the One Euro smoothing keeps the crop centre within a fraction of a pixel."""
    rng = np.random.default_rng(0)
    tracker = FaceTracker(fps=25)
    raw, smooth = [], []
    target = torch.tensor(CropTemplate.celeba(128).points, dtype=torch.float64)
    centre = torch.tensor([[63.5, 63.5, 1.0]], dtype=torch.float64).T
    for _ in range(25):
        dx, dy = rng.uniform(-0.4, 0.4, 2)
        found = finder.find(moved(astronaut(), dx, dy))
        (face,) = tracker.update(found)
        for points, out in ((found[0].landmarks, raw), (face.landmarks, smooth)):
            m = align.similarity(torch.from_numpy(align.five_points(points)).double()[None], target)
            out.append((align.invert(m)[0].double() @ centre)[:, 0].numpy())
    raw_std, smooth_std = np.std(raw, 0).max(), np.std(smooth[5:], 0).max()
    assert raw_std > 0.2  # the detector really jitters
    assert smooth_std < 0.5 * raw_std and smooth_std < 0.2


def test_track_ids_are_stable_and_a_missed_face_is_held(finder):
    frames = [two_faces()] * 3
    tracker = FaceTracker(hold=2)
    ids = [[f.id for f in tracker.update(finder.find(f))] for f in frames]
    assert ids == [[1, 2]] * 3
    held = tracker.update([])  # the detector misses both for a frame
    assert [f.id for f in held] == [1, 2] and all(f.held for f in held)
    assert [f.id for f in tracker.update(finder.find(frames[0]))] == [1, 2]
    for _ in range(3):
        tracker.update([])
    assert tracker.update([]) == [] and tracker.tracks == {}  # gone after `hold` misses
    assert [f.id for f in tracker.update(finder.find(frames[0]))] == [3, 4]


def test_tracker_state_round_trips(finder):
    a = FaceTracker()
    a.update(finder.find(two_faces()))
    b = FaceTracker()
    b.load_state_dict(a.state_dict())
    found = finder.find(moved(two_faces(), 2, 1))
    assert [(f.id, f.landmarks.tolist()) for f in a.update(found)] == [
        (f.id, f.landmarks.tolist()) for f in b.update(found)
    ]


def test_a_held_face_is_kept_while_it_is_there_and_ended_at_a_cut(finder):
    from faces_helpers import no_face

    pipe = FacePipeline(CropTemplate.celeba(128))
    frames = torch.stack(
        [
            torch.from_numpy(p).permute(2, 0, 1).float() / 255
            for p in (astronaut(), moved(astronaut(), 1, 0), no_face())
        ]
    )
    # the detector finds her in the first frame only
    crops = pipe.crop(frames, pipe.track([finder.find(astronaut()), [], []], frames))
    assert crops.frame_index.tolist() == [0, 1]  # held in frame 2, gone at the cut (frame 3)
    assert pipe.tracker.tracks == {}


def test_the_whole_crop_goes_back_where_the_head_shield_stops(finder):
    """StarGAN redraws its whole 128 crop, side hair included: face-attributes pastes the crop
    (mask "crop", feathered at its border), where the head shield left the sides out."""
    image = astronaut()
    frame = torch.from_numpy(image).permute(2, 0, 1)[None].float() / 255
    changed = {}
    for shape in ("crop", "head"):
        pipe = FacePipeline(CropTemplate.celeba(128), colour_match=False, mask=shape)
        crops = pipe.crop(frame, pipe.track([finder.find(image)]))
        out = pipe.paste(frame, crops, 1 - crops.images)  # every pixel of the crop redrawn
        changed[shape] = ((out - frame).abs().amax(1)[0] > 0.2).numpy()
    assert changed["head"].sum() < changed["crop"].sum()
    beside = changed["crop"] & ~changed["head"]  # what the shield kept out
    ys, xs = np.nonzero(beside)
    x0, y0, x1, y1 = ASTRONAUT_FACE
    assert beside.sum() > 0.3 * changed["head"].sum()
    assert (xs < x0).any() and (xs > x1).any()  # on both sides of the face: hair, ears


def test_a_box_only_detector_with_options_gets_landmarks_from_the_host(finder, fresh_host):
    """A plugin's detector that finds boxes only (dlib's HOG boxes here, without their
    landmarks), given options in the command line's form (``boxes:upsample=0``): the pipeline
    fits dlib's 68 landmarks in each box, and the crops carry the boxes."""
    from helpers import plugin_with
    from neuralfx.faces.detect import Detection
    from neuralfx.faces.registry import FaceDetectorEntry

    class BoxesOnly:
        def __init__(self, min_face=64, upsample=1):
            self.upsample, self.inner = upsample, DlibFaceFinder("hog", min_face=min_face)

        def find(self, rgb):
            return [Detection(d.box, d.score, None) for d in self.inner.find(rgb)]

    def register_face_detectors(register):
        register(FaceDetectorEntry("boxes", BoxesOnly, "boxes, no landmarks"))

    fresh_host.add_plugin(
        plugin_with(register_face_detectors=register_face_detectors), name="boxes_plugin"
    )
    pipe = FacePipeline(CropTemplate.celeba(128), detector="boxes:upsample=0")
    assert pipe.finder.upsample == 0  # the option reached the factory, as a number
    image = astronaut()
    found = pipe.find(image)
    reference = finder.find(image)
    assert len(found) == len(reference) == 1 and found[0].landmarks.shape == (68, 2)
    # (the reference finds the box at another scale: the same face within a few pixels)
    assert np.abs(found[0].landmarks - reference[0].landmarks).mean() < 3.0
    frame = torch.from_numpy(image).permute(2, 0, 1)[None].float() / 255
    crops = pipe.crop(frame, pipe.track([found], frame))
    assert crops.boxes == [tuple(float(v) for v in found[0].box)]
    with pytest.raises(neuralfx.errors.ParameterError, match="unexpected keyword"):
        FacePipeline(CropTemplate.celeba(128), detector="boxes:threshold=3")


def test_the_cnn_finds_a_face_smaller_than_its_window():
    """A 36-48 px face (a crowd): HOG finds it, and the CNN now does too, on a copy enlarged
    until the smallest face asked for fills its 80 px window (it never looked below 80 px)."""
    import cv2

    from neuralfx.faces.params import no_face_hint

    small = cv2.resize(astronaut(), (224, 224), interpolation=cv2.INTER_AREA)  # face ~40 px
    frame = np.full((448, 448, 3), 128, np.uint8)
    frame[100:324, 100:324] = small
    hog = DlibFaceFinder("hog", min_face=32).find(frame)
    cnn = DlibFaceFinder("cnn", min_face=32).find(frame)
    assert len(hog) == 1 and len(cnn) == 1
    assert abs(cnn[0].box[0] - hog[0].box[0]) < 15 and cnn[0].width < 60
    assert "--detector hog" in no_face_hint("cnn", 64)
    assert "--detector cnn" in no_face_hint("hog:upsample=0", 64)


def test_a_crop_model_is_colour_matched_on_the_background_keeping_skin_and_hair(finder):
    """A stand-in for StarGAN's output: the skin made lighter and the hair yellower on purpose,
    and an overall tint the model should not have added. Matched on the background (the mask
    ``crop``), the tint goes and both changes stay; matched on the skin, the tint went but so
    did the skin change."""
    from neuralfx.faces import composite

    image = astronaut()
    frame = torch.from_numpy(image).permute(2, 0, 1)[None].float() / 255
    pipe = FacePipeline(CropTemplate.celeba(128), mask="crop")
    crops = pipe.crop(frame, pipe.track([finder.find(image)], frame))
    skin = composite.masks(crops.landmarks, 128, "face", feather=0.02)
    hair = (composite.masks(crops.landmarks, 128, "head", feather=0.02) > 0.5).float() * (
        1 - (skin > 0.01).float()
    )
    yellow = torch.tensor([0.25, 0.15, -0.2])[None, :, None, None]
    tint = torch.tensor([0.06, -0.04, 0.08])[None, :, None, None]
    made = (crops.images + 0.15 * skin + yellow * hair + tint).clamp(0, 1)
    out = pipe.paste(frame, crops, made)
    x0, y0, x1, y1 = ASTRONAUT_FACE
    face = np.s_[:, :, y0 + 30 : y1 - 20, x0 + 20 : x1 - 20]
    assert (out - frame)[face].mean() > 0.1  # the lighter skin stayed
    # the background beside the face, in the crop's region, is the original's again
    beside = np.s_[:, :, y1 + 20 : y1 + 40, x1 + 25 : x1 + 40]
    assert (out - frame)[beside].abs().mean() < 0.015
    matched = composite.match_colour(made, crops.images, crops.landmarks, 128, "skin")
    assert ((matched - crops.images) * skin).sum() / skin.sum() < 0.01  # skin change gone


def test_faces_list_takes_a_box_only_detector_too(fresh_host, tmp_path):
    """`neuralfx faces list` (neuralfx.faces.scan) fits the landmarks in a box-only
    detector's boxes, as a run's FacePipeline.find does (it crashed on them)."""
    from faces_helpers import write_clip
    from helpers import plugin_with

    from neuralfx.faces.detect import Detection
    from neuralfx.faces.registry import FaceDetectorEntry
    from neuralfx.faces.scan import list_tracks

    class BoxesOnly:
        def __init__(self, min_face=64):
            self.inner = DlibFaceFinder("hog", min_face=min_face)

        def find(self, rgb):
            return [Detection(d.box, d.score, None) for d in self.inner.find(rgb)]

    def register_face_detectors(register):
        register(FaceDetectorEntry("boxes", BoxesOnly, "boxes, no landmarks"))

    fresh_host.add_plugin(
        plugin_with(register_face_detectors=register_face_detectors), name="boxes_plugin"
    )
    src = write_clip(tmp_path, {1: astronaut(), 2: moved(astronaut(), 2, 1)})
    (track,) = list_tracks(src, detector="boxes")
    assert (track.id, track.frames) == (1, [1, 2])
