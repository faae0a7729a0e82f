"""animal-transfer speed and steadiness: FUNIT crops/s (model only, class code cached), frames/s
end to end at 1080p, and the region flicker with and without temporal smoothing.

    python bench/animal_transfer.py
    python bench/animal_transfer.py --device cuda --precisions fp32,bf16,fp16 --batches 1,64,256

Weights are deterministic tensors in the official layout (speed does not depend on them).
Flicker is measured on Big Buck Bunny (samples/bbb, (c) Blender Foundation, CC-BY 3.0) with the
region tracked on the bunny: the mean frame-to-frame change inside the region, with and
without --temporal. Goal on an H100: >= 6,000 crops/s model-only.
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

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
import neuralfx  # noqa: E402
from common import codec_ceiling, default_precisions, device_name, model_table  # noqa: E402
from helpers import deterministic_state  # noqa: E402
from neuralfx.devices import prepare_process, resolve_device  # noqa: E402
from neuralfx.models.funit import FewShotGenerator  # noqa: E402

BBB = ROOT / "samples" / "bbb" / "bbb-excerpt.mp4"
BUNNY = "150,120,110,110"  # his head on frame 1 of the excerpt


def sync(device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def crops_per_second(device, dtype, batch: int, runs: int) -> float:
    g = FewShotGenerator()
    g.load_state_dict(deterministic_state("funit_animals_generator", seed=1))
    g = g.eval().to(device=device, dtype=dtype)
    if device.type == "cuda":
        g = g.to(memory_format=torch.channels_last)
    with torch.inference_mode():
        code = g.class_code(torch.rand(3, 3, 128, 128, device=device, dtype=dtype) * 2 - 1)
        x = torch.rand(batch, 3, 128, 128, device=device, dtype=dtype) * 2 - 1
        g.translate(x, code)
        sync(device)
        start = time.perf_counter()
        for _ in range(runs):
            g.translate(x, code)
        sync(device)
    return batch * runs / (time.perf_counter() - start)


def checkpoint_and_examples(folder: str) -> list[str]:
    from skimage import data

    path = os.path.join(folder, "animal149_gen.pt")
    torch.save({"gen_test": deterministic_state("funit_animals_generator", seed=2)}, path)
    example = os.path.join(folder, "example.png")
    cv2.imwrite(example, data.chelsea()[..., ::-1])
    return ["--checkpoint", path, "--examples", example]


def run_cli(args: list[str]) -> None:
    from click.testing import CliRunner

    from neuralfx.cli import main

    result = CliRunner().invoke(main, ["run", "animal-transfer", *args, "--progress", "none"])
    if result.exit_code:
        raise SystemExit(result.output)


def end_to_end(device: str, precision: str, frames: int, folder: str, weights) -> float:
    """1080p PNG frames (the bunny clip scaled up) in, JPEG out, the region tracked."""
    from neuralfx.frames.video import read_frames

    for f, rgb in read_frames(str(BBB), set(range(1, frames + 1))):
        big = cv2.resize(rgb, (1920, 1080), interpolation=cv2.INTER_LINEAR)
        cv2.imwrite(os.path.join(folder, f"in.{f:04d}.png"), big[..., ::-1])
    started = time.perf_counter()
    run_cli(
        [
            *weights,
            "--box",
            "450,360,330,330",
            "--track",
            "--device",
            device,
            "--precision",
            precision,
            os.path.join(folder, "in.####.png"),
            os.path.join(folder, "out", "o.####.jpg"),
        ]
    )
    return frames / (time.perf_counter() - started)


def still_cat(folder: str, frames: int) -> str:
    """scikit-image's chelsea, still, with fresh sensor noise (sigma 2/255) in each frame."""
    from skimage import data

    rng = np.random.default_rng(0)
    base = data.chelsea().astype(np.float32)
    os.makedirs(os.path.join(folder, "cat"), exist_ok=True)
    for f in range(1, frames + 1):
        noisy = np.clip(base + rng.normal(0, 2, base.shape), 0, 255).astype(np.uint8)
        cv2.imwrite(os.path.join(folder, "cat", f"c.{f:04d}.png"), noisy[..., ::-1])
    return os.path.join(folder, "cat", "c.####.png")


def region_flicker(
    source_path: str, box: str, temporal: bool, frames: int, folder: str, weights
) -> float:
    """Mean frame-to-frame change inside the painted region (8-bit steps)."""
    tag = f"{Path(source_path).stem.split('.')[0]}-{temporal}"
    out = os.path.join(folder, tag, "o.####.png")
    run_cli(
        [
            *weights,
            "--box",
            box,
            "--track",
            "--frames",
            f"1-{frames}",
            "--temporal" if temporal else "--no-temporal",
            source_path,
            out,
        ]
    )
    from neuralfx.frames.io import open_source
    from neuralfx.frames.video import read_frames

    opened = open_source(source_path)
    source = (
        dict(read_frames(source_path, set(range(1, frames + 1))))
        if opened.video_path
        else {f: opened.read(f) for f in range(1, frames + 1)}
    )
    changes = []
    previous = None
    for f in range(1, frames + 1):
        picture = cv2.imread(out.replace("####", f"{f:04d}"))[..., ::-1].astype(np.float32)
        region = np.abs(picture - source[f]).max(-1) > 3  # where the effect painted
        if previous is not None:
            both = region & previous[1]
            changes.append(np.abs(picture - previous[0])[both].mean())
        previous = (picture, region)
    return float(np.mean(changes))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--precisions", default=None)
    parser.add_argument("--batches", default=None)
    parser.add_argument("--runs", type=int, default=None)
    parser.add_argument("--frames", type=int, default=None)
    args = parser.parse_args()
    device = resolve_device(args.device)
    prepare_process(device)
    cuda = device.type == "cuda"
    precisions = args.precisions.split(",") if args.precisions else default_precisions(cuda)
    batches = [int(b) for b in (args.batches or ("1,64,256" if cuda else "1,8")).split(",")]
    runs = args.runs or (20 if cuda else 3)
    frames = args.frames or (48 if cuda else 8)
    name = device_name(device)
    print(f"# neuralfx {neuralfx.__version__}, torch {torch.__version__}, {name}")
    print("## FUNIT at 128x128, class code cached, model only")
    model_table(
        device,
        precisions,
        batches,
        "crops/s",
        lambda dtype, batch: crops_per_second(device, dtype, batch, runs),
    )
    with tempfile.TemporaryDirectory() as folder:
        weights = checkpoint_and_examples(folder)
        fps = end_to_end(str(device), precisions[0], frames, folder, weights)
        ceiling = codec_ceiling(os.path.join(folder, "in.####.png"), ".jpg")
        print(
            f"## end to end, 1080p PNG in, JPEG out, tracked: {fps:.2f} frames/s "
            f"({frames} frames, {precisions[0]}); codec ceiling {ceiling:.2f}, ratio "
            f"{fps / ceiling:.2f}"
        )
        print("## region flicker, tracked (8-bit steps a frame inside the region)")
        cat = still_cat(folder, 8)
        for label, path, box, count in (
            ("still cat + sensor noise, 8 frames", cat, "130,20,170,150", 8),
            ("Big Buck Bunny frames 1-16 (he moves)", str(BBB), BUNNY, 16),
        ):
            steady, raw = (
                region_flicker(path, box, t, count, folder, weights) for t in (True, False)
            )
            print(
                f"{label}: --temporal {steady:.2f}, --no-temporal {raw:.2f}, "
                f"ratio {steady / raw:.2f}"
            )
    print("reproduce: python " + " ".join(shlex.quote(a) for a in sys.argv))


if __name__ == "__main__":
    main()
