"""The temporal stabiliser's cost a frame on one core (torch and OpenCV on one thread each, as in
a CPU run that paints frames one per core): the tie (the DIS flow, trust masks, still weights)
and the blend, medians over a clip's frames with a random fresh look; and the flow alone.

    python bench/stabiliser.py                                   # the README's main job clip
    python bench/stabiliser.py --sizes 360p,720p --repeat 3 --compare-with /tmp/before

``--compare-with DIR`` times another checkout's stabiliser (``git worktree add DIR REV``) in
the same run, alternating, each in a fresh process.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SIZES = {"360p": (360, 640), "720p": (720, 1280), "1080p": (1080, 1920)}


def measure(clip: str, frames: int, size: str) -> dict[str, float]:
    """Milliseconds a frame (medians) in this process, whichever neuralfx it imports."""
    import av
    import cv2
    import torch
    import torch.nn.functional as F

    from neuralfx.temporal import Stabiliser

    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    h, w = SIZES[size]
    pictures = []
    with av.open(clip) as container:
        for frame in container.decode(video=0):
            rgb = torch.from_numpy(frame.to_ndarray(format="rgb24")).permute(2, 0, 1)
            pictures.append(F.interpolate(rgb[None].float() / 255, size=(h, w), mode="area")[0])
            if len(pictures) == frames:
                break
    stabiliser = Stabiliser(0.8)
    generator = torch.Generator().manual_seed(0)
    times: dict[str, list[float]] = {"flow": [], "tie": [], "blend": []}
    with torch.inference_mode():
        for picture in pictures:
            fresh = torch.rand((1, 3, h, w), generator=generator)
            previous = stabiliser.previous_input
            if previous is not None:
                start = time.perf_counter()
                type(stabiliser.estimator)().flow_to_previous(picture, previous)
                times["flow"].append(time.perf_counter() - start)
            start = time.perf_counter()
            tie = stabiliser.tie(picture)
            tied = time.perf_counter()
            stabiliser.blend(picture, fresh, tie)
            if tie is not None:
                times["tie"].append(tied - start)
                times["blend"].append(time.perf_counter() - tied)
    return {k: 1000 * statistics.median(v) for k, v in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clip", default=str(ROOT / "samples" / "bbb" / "bbb-excerpt.mp4"))
    parser.add_argument("--frames", type=int, default=48)
    parser.add_argument("--sizes", default="360p", help="comma list of " + ", ".join(SIZES))
    parser.add_argument("--repeat", type=int, default=1, help="runs of each checkout, alternating")
    parser.add_argument("--compare-with", metavar="DIR", help="another checkout of NeuralFX")
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    sizes = args.sizes.split(",")
    if args.json:  # one measurement, for the parent process
        print(json.dumps({s: measure(args.clip, args.frames, s) for s in sizes}))
        return
    checkouts = {"this": ROOT}
    if args.compare_with:
        checkouts[Path(args.compare_with).name] = Path(args.compare_with).resolve()
    runs: dict[str, list[dict]] = {name: [] for name in checkouts}
    for _ in range(args.repeat):
        for name, checkout in checkouts.items():
            env = dict(os.environ, PYTHONPATH=str(checkout / "core"))
            command = [sys.executable, __file__, "--json", "--clip", args.clip]
            command += ["--frames", str(args.frames), "--sizes", args.sizes]
            out = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
            runs[name].append(json.loads(out.stdout.strip().splitlines()[-1]))
    print(f"# stabiliser ms a frame on one core, median of {args.repeat} run(s) of each")
    print(f"{'size':<7}{'checkout':<12}{'flow':>8}{'tie':>8}{'blend':>8}{'tie+blend':>11}")
    for size in sizes:
        for name in checkouts:
            row = {
                k: statistics.median(r[size][k] for r in runs[name]) for k in runs[name][0][size]
            }
            total = row["tie"] + row["blend"]
            print(
                f"{size:<7}{name:<12}{row['flow']:>8.1f}{row['tie']:>8.1f}{row['blend']:>8.1f}"
                f"{total:>11.1f}"
            )
    print("reproduce: python " + shlex.join(sys.argv))


if __name__ == "__main__":
    main()
