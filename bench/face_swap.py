"""face-swap speed and steadiness: the swap model's faces/s, frames/s end to end at 1080p with
the label and the watermark, and the face-region flicker with and without --temporal.

    python bench/face_swap.py
    python bench/face_swap.py --device cuda --precisions fp32,bf16,fp16 --batches 1,64,256

Speed uses an untrained model (deterministic random weights scaled so its output follows its
input; 128 px, the default sizes): speed does not depend on the values. Flicker is measured
with a small model trained here (64 px, ``--train-steps``) on a still face (scikit-image's
astronaut in a 1080p frame) whose frames differ only by sensor noise.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import tempfile
import time

import cv2
import numpy as np
import torch

import neuralfx
from common import codec_ceiling, default_precisions, device_name, model_table
from neuralfx.devices import prepare_process, resolve_device
from neuralfx.models.faceswap import SwapConfig, SwapModel
from neuralfx.host.weights import save_safetensors


def sync(device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def lively(cfg: SwapConfig) -> SwapModel:
    """Random weights scaled so that the output follows the input (PyTorch's default
    initialisation leaves an untrained decoder's output almost flat, hence no flicker to
    measure)."""
    torch.manual_seed(0)
    model = SwapModel(cfg)
    with torch.no_grad():
        for p in model.parameters():
            if p.dim() > 1:
                p.normal_(0, 1.6 / p[0].numel() ** 0.5)
    return model


def model_file(folder: str, cfg: SwapConfig) -> str:
    model = lively(cfg)
    path = os.path.join(folder, "ab.safetensors")
    save_safetensors(path, model.state_dict(), {"format": "neuralfx-face-swap", **cfg.metadata()})
    return path


def faces_per_second(cfg, device, dtype, batch, runs) -> float:
    model = lively(cfg).eval().to(device=device, dtype=dtype)
    x = torch.rand(batch, 3, cfg.resolution, cfg.resolution, device=device, dtype=dtype)
    with torch.inference_mode():
        model(x, "b")
        sync(device)
        start = time.perf_counter()
        for _ in range(runs):
            model(x, "b")
        sync(device)
    return batch * runs / (time.perf_counter() - start)


def small_trained_model(folder: str, steps: int) -> str:
    from pathlib import Path

    from neuralfx.faces.scan import extract
    from neuralfx_face_swap.train import TrainConfig, train

    root = Path(folder)
    for name, tint in (("a", (1.0, 1.0, 1.0)), ("b", (1.1, 0.9, 0.8))):
        (root / f"{name}-in").mkdir()
        for f in range(1, 7):
            frame = frame_1080p(noise_seed=100 + f)
            frame = np.roll(frame, 6 * f, axis=1)
            if name == "b":
                frame = np.clip(frame[:, ::-1] * np.array(tint), 0, 255).astype(np.uint8)
            cv2.imwrite(str(root / f"{name}-in" / f"s.{f:04d}.png"), frame[..., ::-1])
        extract(str(root / f"{name}-in" / "s.####.png"), str(root / name), layout="swap", size=64)
    out = root / "small.safetensors"
    train(
        TrainConfig(
            a=root / "a",
            b=root / "b",
            out=out,
            resolution="64",
            width=32,
            latent=128,
            iterations=steps,
            batch_size=8,
            lr=5e-4,
            save_every=steps,
            preview_every=steps,
        ),
        torch.device("cpu"),
    )
    return str(out)


def frame_1080p(noise_seed: int | None = None) -> np.ndarray:
    from skimage import data

    frame = np.full((1080, 1920, 3), 90, np.uint8)
    frame[:, 420:1500] = cv2.resize(data.astronaut(), (1080, 1080))
    if noise_seed is not None:
        rng = np.random.default_rng(noise_seed)
        frame = np.clip(frame + rng.normal(0, 2, frame.shape), 0, 255).astype(np.uint8)
    return frame


def run_effect(folder, model, frames, out, *options) -> float:
    from click.testing import CliRunner

    from neuralfx.cli import main

    started = time.perf_counter()
    result = CliRunner().invoke(
        main,
        [
            "run",
            "face-swap",
            "--checkpoint",
            model,
            *options,
            os.path.join(folder, "in.####.png"),
            os.path.join(folder, out, "o.####.png"),
            "--progress",
            "none",
        ],
    )
    if result.exit_code:
        raise SystemExit(result.output)
    return frames / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--precisions", default=None)
    parser.add_argument("--batches", default=None)
    parser.add_argument("--frames", type=int, default=6)
    parser.add_argument(
        "--train-steps",
        type=int,
        default=1000,
        help="training steps of the flicker model (about 0.2 s each on 2 cores)",
    )
    args = parser.parse_args()
    device = resolve_device(args.device)
    prepare_process(device)
    cuda = device.type == "cuda"
    precisions = args.precisions.split(",") if args.precisions else default_precisions(cuda)
    batches = [int(b) for b in (args.batches or ("1,64,256" if cuda else "1,16")).split(",")]
    cfg = SwapConfig(resolution=128)
    name = device_name(device)
    print(f"# neuralfx {neuralfx.__version__}, torch {torch.__version__}, {name}")
    print("## swap model 128 px (width 128, latent 512), model only")
    model_table(
        device,
        precisions,
        batches,
        "faces/s",
        lambda dtype, batch: faces_per_second(cfg, device, dtype, batch, 3),
    )
    with tempfile.TemporaryDirectory() as folder:
        model = model_file(folder, cfg)
        for f in range(1, args.frames + 1):
            cv2.imwrite(
                os.path.join(folder, f"in.{f:04d}.png"), frame_1080p(noise_seed=f)[..., ::-1]
            )
        fps = run_effect(folder, model, args.frames, "out", "--device", str(device))
        ceiling = codec_ceiling(os.path.join(folder, "in.####.png"), ".png")
        print(
            f"## end to end, 1080p PNG in and out, labelled and watermarked: {fps:.2f} "
            f"frames/s ({args.frames} frames, fp32); codec ceiling {ceiling:.2f}, ratio "
            f"{fps / ceiling:.2f}"
        )

        def flicker(out: str | None) -> float:
            name = "in.{:04d}.png" if out is None else os.path.join(out, "o.{:04d}.png")
            pics = [
                cv2.imread(os.path.join(folder, name.format(f))).astype(float)[200:330, 820:950]
                for f in range(1, args.frames + 1)
            ]
            return float(
                np.mean([np.abs(b - a).mean() for a, b in zip(pics, pics[1:], strict=False)])
            )

        # Flicker needs a model whose output follows its input: a small one trained on these
        # frames' face (A) and a tinted mirror of it (B).
        trained = small_trained_model(folder, args.train_steps)
        run_effect(folder, trained, args.frames, "steady", "--device", str(device))
        run_effect(folder, trained, args.frames, "raw", "--device", str(device), "--no-temporal")
        steady, raw = flicker("steady"), flicker("raw")
        print(
            f"## face-region flicker on a still face with sensor noise (a 64 px model, width "
            f"32, trained {args.train_steps} steps; landmarks are smoothed in both): source "
            f"{flicker(None):.2f}, --temporal {steady:.2f}, --no-temporal {raw:.2f}, "
            f"ratio {steady / raw:.2f}"
        )
    print("reproduce: python " + " ".join(shlex.quote(a) for a in sys.argv))


if __name__ == "__main__":
    main()
