"""--executor ray on a local Ray cluster (CPU actors): the same outputs as a local run, bit for
bit, with stateful effects too; progress gathered from every actor; resume and the record;
a worker killed midway; errors from an actor reach the user by name."""

from __future__ import annotations

import hashlib
import os
import sys

import numpy as np
import pytest

from helpers import leftovers

ray = pytest.importorskip("ray")
HERE = os.path.dirname(__file__)
PLUGINS = os.path.join(HERE, "plugin_modules")


@pytest.fixture(scope="module", autouse=True)
def cluster():
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        logging_level="error",
        _node_ip_address="127.0.0.1",
    )
    yield
    ray.shutdown()


def hashes(folder) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.iterdir())
        if not p.name.startswith(".")
    }


def test_shards_match_a_local_run_and_report_every_frame_once(cli, make_sequence, tmp_path):
    src = make_sequence(frames=range(1, 10))
    args = ["run", "painting-style", "--preset", "3:0.5,12:0.5"]
    cli(*args, src, tmp_path / "local" / "p.####.png", "--progress", "none")
    result = cli(
        *args,
        src,
        tmp_path / "ray" / "p.####.png",
        "--executor",
        "ray",
        "--actors",
        "2",
        "--progress",
        "json",
    )
    events = cli.events(result)
    assert events[0]["device"] == "ray: 2 CPU actor(s)" and events[0]["total"] == 9
    frames = [e["frame"] for e in events if e["event"] == "frame"]
    assert sorted(frames) == list(range(1, 10))
    assert [e["done"] for e in events if e["event"] == "frame"] == list(range(1, 10))
    assert events[-1]["event"] == "done" and events[-1]["written"] == 9
    assert hashes(tmp_path / "ray") == hashes(tmp_path / "local")
    # The record (journal and the actors' parts) knows every frame: a local rerun has nothing
    # to do, and a changed setting is refused as for any run.
    again = cli.events(cli(*args, src, tmp_path / "ray" / "p.####.png", "--progress", "json"))
    assert again[0]["total"] == 0 and again[0]["skipped"] == 9
    refused = cli(
        "run",
        "painting-style",
        "--preset",
        "3:0.5,12:0.4",
        src,
        tmp_path / "ray" / "p.####.png",
        "--progress",
        "json",
        expect=1,
    )
    assert "made differently" in refused.stdout
    # Removed frames are redone by the actors; the next compaction merges the parts.
    for f in (2, 8):
        os.unlink(tmp_path / "ray" / f"p.{f:04d}.png")
    cli(*args, src, tmp_path / "ray" / "p.####.png", "--executor", "ray", "--progress", "none")
    assert hashes(tmp_path / "ray") == hashes(tmp_path / "local")
    assert not leftovers(tmp_path / "ray")


def test_shard_boundaries_are_invisible_to_a_stateful_effect(cli, make_sequence, tmp_path):
    src = make_sequence(frames=range(1, 9), width=40, height=32)
    args = [
        "run",
        "painting-style",
        "--method",
        "dumoulin",
        "--temporal",
        "--preset",
        "3:0.5,12:0.5",
    ]
    cli(*args, src, tmp_path / "local" / "p.####.png", "--progress", "none")
    # Later shards replay the frames before them, or start from a snapshot an earlier shard
    # saved, whichever the actors' timing gives: either way the frames are the same.
    cli(
        *args,
        src,
        tmp_path / "ray" / "p.####.png",
        "--executor",
        "ray",
        "--actors",
        "3",
        "--progress",
        "none",
    )
    assert hashes(tmp_path / "ray") == hashes(tmp_path / "local")


def test_a_killed_worker_is_retried_and_no_frame_is_missing_or_doubled(
    cli, make_sequence, tmp_path, monkeypatch, fresh_host
):
    monkeypatch.setenv("NEURALFX_PLUGINS", "dying_plugin")
    monkeypatch.setenv("PYTHONPATH", PLUGINS)
    monkeypatch.syspath_prepend(PLUGINS)
    import dying_plugin

    fresh_host.add_plugin(dying_plugin, name="dying_plugin")
    src = make_sequence(frames=range(1, 9))
    marker = tmp_path / "died"
    args = ["run", "die-once", "--at", "3", "--marker", str(marker)]
    result = cli(
        *args,
        src,
        tmp_path / "ray" / "p.####.png",
        "--executor",
        "ray",
        "--actors",
        "2",
        "--progress",
        "json",
    )
    assert marker.exists()  # an actor did die, at frame 3 of the first shard
    events = cli.events(result)
    frames = [e["frame"] for e in events if e["event"] == "frame"]
    assert sorted(frames) == list(range(1, 9))  # each once
    assert events[-1]["written"] == 8
    cli(*args, src, tmp_path / "local" / "p.####.png", "--progress", "none")
    assert hashes(tmp_path / "ray") == hashes(tmp_path / "local")
    assert not leftovers(tmp_path / "ray")
    again = cli.events(cli(*args, src, tmp_path / "ray" / "p.####.png", "--progress", "json"))
    assert again[0]["total"] == 0


def test_an_actor_that_keeps_dying_is_a_clear_error(
    cli, make_sequence, tmp_path, monkeypatch, fresh_host
):
    monkeypatch.setenv("NEURALFX_PLUGINS", "dying_plugin")
    monkeypatch.setenv("PYTHONPATH", PLUGINS)
    monkeypatch.syspath_prepend(PLUGINS)
    import dying_plugin

    fresh_host.add_plugin(dying_plugin, name="dying_plugin")
    src = make_sequence(frames=range(1, 5))
    result = cli(
        "run",
        "die-once",
        "--at",
        "1",
        "--always",
        "--marker",
        tmp_path / "died",
        src,
        tmp_path / "o" / "p.####.png",
        "--executor",
        "ray",
        "--actors",
        "2",
        "--progress",
        "json",
        expect=1,
    )
    error = [e for e in cli.events(result) if e["event"] == "error"][0]
    assert "shard 1 (frames 1-2)" in error["message"] and "died 4 times" in error["message"]
    assert "resume" in error["hint"] and "Traceback" not in result.output
    assert not leftovers(tmp_path / "o")


def test_an_actor_error_names_the_frame_and_keeps_the_rest(cli, make_sequence, tmp_path):
    src = make_sequence(frames=range(1, 7))
    with open(src.replace("####", "0005"), "wb") as f:
        f.write(b"not a png")
    out = tmp_path / "o" / "p.####.png"
    result = cli(
        "run",
        "convert",
        src,
        out,
        "--executor",
        "ray",
        "--actors",
        "2",
        "--progress",
        "json",
        expect=1,
    )
    error = [e for e in cli.events(result) if e["event"] == "error"][0]
    assert "0005" in error["message"] and error["frame"] == 5
    assert "Traceback" not in result.output
    assert not leftovers(out.parent)


BUNNY = os.path.join(os.path.dirname(HERE), "samples", "bbb", "bbb-excerpt.mp4")


def decoded(path, fmt="rgb48le"):
    import av

    with av.open(str(path)) as clip:
        frames = [f.to_ndarray(format=fmt) for f in clip.decode(video=0)]
        audio = [(s.codec_context.name, s.duration * s.time_base) for s in clip.streams.audio]
    return frames, audio


def with_timecode(source, path, timecode):
    """``source`` remuxed (no re-encoding) with a timecode, as a camera or an editor writes."""
    import av

    path.parent.mkdir()
    with av.open(str(source)) as inp, av.open(str(path), "w") as out:
        copies = {s.index: out.add_stream_from_template(s) for s in inp.streams}
        copies[inp.streams.video[0].index].metadata["timecode"] = timecode
        for packet in inp.demux():
            if packet.dts is not None:
                packet.stream = copies[packet.stream.index]
                out.mux(packet)
    return str(path)


def timecode_of(path):
    import av

    with av.open(str(path)) as clip:
        return clip.streams.video[0].metadata.get("timecode")


def test_a_video_is_joined_from_shard_segments_with_its_audio(cli, tmp_path):
    """Shards encode segments; the driver joins their packets (no second encoding) and adds
    the source's audio and timecode for the frames kept. ProRes is intra-only, so the joined
    file decodes to exactly the local run's frames; H.264 has the same frames, timing and
    sound."""
    source = with_timecode(BUNNY, tmp_path / "source" / "bunny.mov", "00:59:58:20")
    args = ["run", "convert", "--frames", "5-30", source]
    cli(*args, tmp_path / "local.mov", "--progress", "none")
    # What a killed run would leave: a shard's segment, and the temporary file of another.
    for name in (
        ".ray.mov.neuralfx-tmp-0123abcd.mov",
        "..ray.mov.neuralfx-tmp-0123abcd.mov.neuralfx-tmp-89abcdef.mov",
    ):
        (tmp_path / name).write_bytes(b"partial")
    result = cli(
        *args, tmp_path / "ray.mov", "--executor", "ray", "--actors", "3", "--progress", "json"
    )
    events = cli.events(result)
    assert {e["path"] for e in events if e["event"] == "frame"} == {str(tmp_path / "ray.mov")}
    assert sorted(e["frame"] for e in events if e["event"] == "frame") == list(range(5, 31))
    ray_frames, ray_audio = decoded(tmp_path / "ray.mov")
    local_frames, local_audio = decoded(tmp_path / "local.mov")
    assert len(ray_frames) == 26 and ray_audio == local_audio and ray_audio[0][0] == "aac"
    assert all((a == b).all() for a, b in zip(ray_frames, local_frames, strict=True))
    # Frame 5 of a 25 fps clip that starts at 00:59:58:20.
    assert timecode_of(tmp_path / "ray.mov") == timecode_of(tmp_path / "local.mov") == "00:59:58:24"

    cli("run", "convert", BUNNY, tmp_path / "local.mp4", "--frames", "1-24", "--progress", "none")
    cli(
        "run",
        "convert",
        BUNNY,
        tmp_path / "ray.mp4",
        "--frames",
        "1-24",
        "--executor",
        "ray",
        "--actors",
        "2",
        "--progress",
        "none",
    )
    ray_frames, ray_audio = decoded(tmp_path / "ray.mp4", "rgb24")
    local_frames, local_audio = decoded(tmp_path / "local.mp4", "rgb24")
    assert len(ray_frames) == 24 and ray_audio == local_audio
    error = np.mean([(a.astype(float) - b) ** 2 for a, b in zip(ray_frames, local_frames)])
    assert 10 * np.log10(255**2 / error) > 38  # two CRF 18 encodings of the same frames
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == [
        "local.mov",
        "local.mp4",
        "ray.mov",
        "ray.mp4",
    ]  # no segment left behind


def test_bad_options_are_refused_clearly(cli, make_sequence, tmp_path):
    src = make_sequence(frames=range(1, 3))
    result = cli("run", "convert", src, tmp_path / "o.####.png", "--actors", "2", expect=2)
    assert "--executor ray" in result.output and "hint" in result.output
    result = cli("run", "convert", src, tmp_path / "o.####.png", "--executor", "slurm", expect=2)
    assert "slurm" in result.output


def test_the_python_api_runs_on_ray(make_sequence, tmp_path):
    import neuralfx
    from neuralfx.pipeline.runner import RunOptions

    src = make_sequence(frames=range(1, 5))
    summary = neuralfx.run(
        "convert", src, str(tmp_path / "o.####.png"), options=RunOptions(executor="ray", actors=2)
    )
    assert summary.written == 4 and summary.device == "ray: 2 CPU actor(s)"
    assert sys.modules.get("ray") is not None


def test_a_face_effect_with_chosen_faces_shards_like_one_run(cli, tmp_path):
    """face-attributes with ``--faces 1`` on real faces through a detector miss and two cuts
    (the carphone man, blurred for 7 frames, a cut to the astronaut at his place and back):
    three Ray actors give the frames of one local run, sha256 for sha256 (each shard replays
    the frames before it, so the tracker and the ids are the same)."""
    import torch
    from faces_helpers import cut_and_blink_shot, write_clip
    from helpers import deterministic_state

    root = tmp_path / "stargan"
    root.mkdir()
    torch.save(deterministic_state("stargan_v1_celeba128_generator", seed=3), root / "G.ckpt")
    torch.save(deterministic_state("stargan_v1_celeba128_discriminator", seed=4), root / "D.ckpt")
    src = write_clip(tmp_path / "clip", dict(enumerate(cut_and_blink_shot(), start=1)))
    args = [
        "run",
        "face-attributes",
        "--hair",
        "blond",
        "--faces",
        "1",
        "--batch-size",
        "3",
        "--checkpoint",
        str(root / "G.ckpt"),
        "--discriminator",
        str(root / "D.ckpt"),
    ]
    cli(*args, src, tmp_path / "local" / "f.####.png", "--progress", "none")
    cli(
        *args,
        src,
        tmp_path / "ray" / "f.####.png",
        "--executor",
        "ray",
        "--actors",
        "3",
        "--progress",
        "none",
    )
    local = hashes(tmp_path / "local")
    assert len(local) == 17 and hashes(tmp_path / "ray") == local


def test_stargan_v2_faces_in_a_references_style_shard_like_one_run(cli, tmp_path):
    """face-attributes --model stargan-v2 --reference: each Ray actor computes the reference's
    style and the FAN's masks again, and the frames are those of one local run, sha256 for
    sha256."""
    import cv2
    import torch
    from faces_helpers import astronaut, carphone, moved, write_clip
    from helpers import stargan_v2_release, wing_release

    torch.save(stargan_v2_release("celeba_hq", seed=5), tmp_path / "nets.ckpt")
    torch.save(wing_release(), tmp_path / "wing.ckpt")
    cv2.imwrite(str(tmp_path / "him.png"), cv2.cvtColor(carphone(0), cv2.COLOR_RGB2BGR))
    src = write_clip(tmp_path / "clip", {f: moved(astronaut(), dx=3 * f) for f in range(1, 5)})
    args = [
        "run", "face-attributes", "--model", "stargan-v2", "--domain", "male",
        "--reference", str(tmp_path / "him.png"), "--checkpoint", str(tmp_path / "nets.ckpt"),
        "--fan", str(tmp_path / "wing.ckpt"), "--batch-size", "2", "--progress", "none",
    ]  # fmt: skip
    cli(*args, src, tmp_path / "local" / "f.####.png")
    cli(*args, src, tmp_path / "ray" / "f.####.png", "--executor", "ray", "--actors", "2")
    local = hashes(tmp_path / "local")
    assert len(local) == 4 and hashes(tmp_path / "ray") == local
