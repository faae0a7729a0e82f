"""StarGAN v2 speed: translations/s at 256 px, model only (a style code given): AFHQ's
generator, and CelebA-HQ's faces (the FAN's masks, then the generator with them, as
face-attributes runs them); end to end, ``animal-transfer --model stargan-v2`` on Big Buck
Bunny (640x360) and ``face-attributes --model stargan-v2`` on 1080p frames with one face
(frames/s, decode and encode included).

    python bench/stargan_v2.py
    python bench/stargan_v2.py --device cuda --precisions fp32,bf16,fp16 --batches 1,32,128

Weights are deterministic tensors in the official layouts (speed does not depend on them).
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
import neuralfx  # noqa: E402
from common import default_precisions, device_name, model_table  # noqa: E402
from faces import frame_with_faces  # noqa: E402
from helpers import stargan_v2_release, wing_release  # noqa: E402
from neuralfx.devices import prepare_process, resolve_device  # noqa: E402
from neuralfx.models.stargan_v2 import StarGANv2  # noqa: E402
from neuralfx.models.wing import FAN  # noqa: E402

BBB = ROOT / "samples" / "bbb" / "bbb-excerpt.mp4"
BUNNY = "150,120,110,110"  # his head on frame 1 of the excerpt


def sync(device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def translations_per_second(dataset: str, device, dtype, batch: int, runs: int) -> float:
    model = StarGANv2(dataset)
    state = {
        f"{part}.{k}": v for part, sd in stargan_v2_release(dataset).items() for k, v in sd.items()
    }
    if dataset == "celeba_hq":
        state["generator.hpf.filter"] = model.generator.hpf.filter
    model.load_state_dict(state)
    g = model.generator.eval().to(device=device, dtype=dtype)
    if device.type == "cuda":
        g = g.to(memory_format=torch.channels_last)
    with torch.inference_mode():
        x = torch.rand(batch, 3, 256, 256, device=device, dtype=dtype) * 2 - 1
        s = torch.randn(batch, 64, device=device, dtype=dtype)
        fan = None
        if dataset == "celeba_hq":  # the masks come from the FAN, as in face-attributes
            fan = FAN().eval()
            fan.load_state_dict(wing_release()["state_dict"])
            fan = fan.to(device=device, dtype=dtype)

        def translate():
            masks = None if fan is None else tuple(m.to(dtype) for m in fan.get_heatmap(x))
            return g(x, s, masks)

        translate()
        sync(device)
        start = time.perf_counter()
        for _ in range(runs):
            translate()
        sync(device)
    return batch * runs / (time.perf_counter() - start)


def end_to_end(device: str, precision: str, frames: int) -> float:
    from click.testing import CliRunner

    from neuralfx.cli import main

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "100000_nets_ema.ckpt")
        torch.save(stargan_v2_release("afhq"), path)
        args = [
            "run",
            "animal-transfer",
            "--model",
            "stargan-v2",
            "--domain",
            "dog",
            "--checkpoint",
            path,
            "--box",
            BUNNY,
            "--track",
            "--frames",
            f"1-{frames}",
            "--device",
            device,
            "--precision",
            precision,
            "--progress",
            "none",
            str(BBB),
            os.path.join(tmp, "out", "f.####.png"),
        ]
        start = time.perf_counter()
        result = CliRunner().invoke(main, args)
        if result.exit_code:
            raise SystemExit(result.output)
        return frames / (time.perf_counter() - start)


def faces_end_to_end(device: str, precision: str, frames: int) -> float:
    """Frames/s of face-attributes --model stargan-v2 on 1080p PNG frames with one face."""
    import cv2
    import numpy as np

    from neuralfx.pipeline.runner import RunOptions, run

    with tempfile.TemporaryDirectory() as tmp:
        nets, fan = os.path.join(tmp, "100000_nets_ema.ckpt"), os.path.join(tmp, "wing.ckpt")
        torch.save(stargan_v2_release("celeba_hq"), nets)
        torch.save(wing_release(), fan)
        rgb = frame_with_faces(1)
        for f in range(1, frames + 1):
            bgr = cv2.cvtColor(np.roll(rgb, 2 * f, axis=1), cv2.COLOR_RGB2BGR)
            cv2.imwrite(os.path.join(tmp, f"in.{f:04d}.png"), bgr)
        started = time.perf_counter()
        summary = run(
            "face-attributes",
            os.path.join(tmp, "in.####.png"),
            os.path.join(tmp, "out", "o.####.jpg"),
            settings={
                "model": "stargan-v2",
                "domain": "male",
                "seed": 1,
                "psi": 0.7,
                "checkpoint": nets,
                "fan": fan,
            },  # fmt: skip
            options=RunOptions(device=device, precision=precision),
        )
        return summary.written / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="auto")
    parser.add_argument(
        "--precisions",
        default=None,
        help="default: fp32, and bf16 on a CPU with bf16 instructions (CUDA: +fp16)",
    )
    parser.add_argument("--batches", default=None, help="default: 1,4 (CUDA: 1,32,128)")
    parser.add_argument("--runs", type=int, default=None)
    parser.add_argument("--frames", type=int, default=None, help="frames end to end")
    args = parser.parse_args()
    device = resolve_device(args.device)
    prepare_process(device)
    cuda = device.type == "cuda"
    precisions = args.precisions.split(",") if args.precisions else default_precisions(cuda)
    batches = [int(b) for b in (args.batches or ("1,32,128" if cuda else "1,4")).split(",")]
    runs = args.runs or (20 if cuda else 2)
    frames = args.frames or (48 if cuda else 6)
    print(f"# neuralfx {neuralfx.__version__}, torch {torch.__version__}, {device_name(device)}")
    for dataset in ("afhq", "celeba_hq"):
        what = "FAN masks + generator" if dataset == "celeba_hq" else "generator"
        print(f"## StarGAN v2 {what}, {dataset}, 256x256, model only")
        model_table(
            device,
            precisions,
            batches,
            "images/s",
            lambda dtype, batch, d=dataset: translations_per_second(d, device, dtype, batch, runs),
        )
    print("## end to end: animal-transfer --model stargan-v2 --track, Big Buck Bunny 640x360")
    fps = end_to_end(str(device), precisions[0], frames)
    print(f"{fps:.2f} frames/s ({frames} frames, {precisions[0]})")
    print("## end to end: face-attributes --model stargan-v2, 1080p PNG in, JPEG out, one face")
    for precision in precisions[:2]:
        fps = faces_end_to_end(str(device), precision, frames)
        print(f"{fps:.2f} frames/s ({frames} frames, {precision})")
    print("reproduce: python " + " ".join(shlex.quote(a) for a in sys.argv))


if __name__ == "__main__":
    main()
