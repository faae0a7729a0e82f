"""H.264 as NeuralFX writes it, against x264's default macroblock tree: how many different files
the same frames make, file size, fidelity and speed.

    python bench/video_encode.py          # four clips at 320x240, 640x360 and 1280x720
    python bench/video_encode.py --clips shot.mp4 --sizes 320x240 --repeat 25

For each setting ("shipped": ``neuralfx.frames.video_out.X264_PARAMS``; "mbtree": x264's default
macroblock tree back on) the clip, written as a PNG sequence at each size, goes ``--repeat``
times through ``neuralfx.run("convert", ...)`` to an .mp4 in one process, as repeated and resumed
runs do (the decoders and the encoder share the process's memory); printed: how many different
files came out, the file size, the PSNR of the decoded frames against the YUV frames the encoder
was given (4:2:0, all planes), and the encoder's time a frame (``VideoWriter`` alone, frames back
to back). Re-run it when PyAV's FFmpeg or x264 changes: if "mbtree" ever makes one file, the tree
could come back.
"""

from __future__ import annotations

import argparse
import fractions
import glob
import hashlib
import itertools
import os
import shlex
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import av
import cv2
import numpy as np

import neuralfx
from neuralfx.frames import video_out
from neuralfx.pipeline.progress import Reporter

ROOT = Path(__file__).resolve().parent.parent
CLIP = str(ROOT / "samples" / "bbb" / "bbb-excerpt.mp4")
SETTINGS = {"shipped": video_out.X264_PARAMS, "mbtree": "mbtree=1"}


def source_frames(clip: str, width: int, height: int) -> list[np.ndarray]:
    """RGB frames of a video, or of an image sequence (``shot.####.png``), at ``width`` x
    ``height``; ``grain``: a still shot (the excerpt's first frame) with fresh noise in every
    frame (Gaussian, 5 levels), as a locked-off plate has; ``ramps``: 20 frames of colour ramps
    with a diagonal sine wave moving a pixel a frame and fresh noise, the test suite's pictures."""
    if clip == "grain":
        still = source_frames(CLIP, width, height)[0].astype(np.float32)
        rng = np.random.default_rng(0)
        return [
            np.clip(still + rng.normal(0, 5, still.shape), 0, 255).round().astype(np.uint8)
            for _ in range(24)
        ]
    if clip == "ramps":
        y, x = np.mgrid[0:height, 0:width].astype(np.float32)
        frames = []
        for number in range(1, 21):
            noise = np.random.default_rng(number).normal(0, 5, (height, width, 3))
            wave = 127.5 + 127.5 * np.sin((x + y + number) / 5)
            picture = np.stack([255 * x / (width - 1), 255 * y / (height - 1), wave], axis=-1)
            frames.append(np.clip(picture + noise, 0, 255).round().astype(np.uint8))
        return frames
    if "####" in clip:
        head, tail = clip.split("####")
        paths = sorted(glob.glob(glob.escape(head) + "[0-9]" * 4 + glob.escape(tail)))
        frames = [cv2.cvtColor(cv2.imread(p), cv2.COLOR_BGR2RGB) for p in paths]
    else:
        with av.open(clip) as video:
            frames = [f.to_ndarray(format="rgb24") for f in video.decode(video=0)]
    if frames[0].shape[:2] != (height, width):
        frames = [cv2.resize(f, (width, height), interpolation=cv2.INTER_AREA) for f in frames]
    return frames


def as_encoded(frame: np.ndarray) -> list[np.ndarray]:
    """The YUV planes the writer hands the encoder for an RGB frame."""
    return [p.copy() for p in _planes(video_out.to_yuv(frame, "yuv420p"))]


def _planes(frame: av.VideoFrame) -> list[np.ndarray]:
    return [
        np.frombuffer(p, np.uint8).reshape(p.height, p.line_size)[:, : p.width]
        for p in frame.planes
    ]


def encode(path: str, frames: list[np.ndarray]) -> float:
    """Seconds to encode ``frames`` into ``path`` in a thread of its own."""
    height, width = frames[0].shape[:2]

    def run() -> float:
        started = time.perf_counter()
        writer = video_out.VideoWriter(
            path, codec="h264", fps=fractions.Fraction(25), width=width, height=height, alpha=False
        )
        for frame in frames:
            writer.write(frame)
        writer.close()
        return time.perf_counter() - started

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(run).result()


def psnr(path: str, reference: list[list[np.ndarray]]) -> float:
    errors, count = 0.0, 0
    with av.open(path) as clip:
        for frame, planes in zip(clip.decode(video=0), reference, strict=True):
            for got, want in zip(_planes(frame), planes, strict=True):
                errors += float(np.sum((got.astype(np.float64) - want) ** 2))
                count += want.size
    return 10 * np.log10(255.0**2 / (errors / count))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--clips",
        default=f"{CLIP},{ROOT / 'samples' / 'clip' / 'clip.####.png'},grain,ramps",
        help="comma list of videos, image sequences (shot.####.png), 'grain' (a still shot "
        "with fresh noise) or 'ramps' (the test suite's pictures: ramps, a moving wave, fresh "
        "noise); default: the Big Buck Bunny excerpt, the synthetic clip (flat sky, hills, a "
        "ball), grain and ramps",
    )
    parser.add_argument("--sizes", default="320x240,640x360,1280x720", help="comma list of WxH")
    parser.add_argument("--repeat", type=int, default=6, help="runs per clip, size and setting")
    args = parser.parse_args()
    print(f"# PyAV {av.__version__}, FFmpeg libavcodec {av.library_versions['libavcodec']}")
    print(
        f"{'clip':<18}{'size':<11}{'setting':<9}{'files':>7}{'kB':>9}{'PSNR dB':>9}{'ms/frame':>10}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for clip, size in itertools.product(args.clips.split(","), args.sizes.split(",")):
            width, height = (int(v) for v in size.split("x"))
            frames = source_frames(clip, width, height)
            reference = [as_encoded(f) for f in frames]
            sequence = os.path.join(tmp, f"{len(os.listdir(tmp))}-{size}", "f.####.png")
            os.makedirs(os.path.dirname(sequence))
            for number, frame in enumerate(frames, 1):
                cv2.imwrite(sequence.replace("####", f"{number:04d}"), frame[:, :, ::-1])
            for name, params in SETTINGS.items():
                video_out.X264_PARAMS = params
                hashes = set()
                for k in range(args.repeat):
                    path = os.path.join(tmp, f"{name}-{k}.mp4")
                    neuralfx.run("convert", sequence, path, reporter=Reporter())
                    hashes.add(hashlib.sha256(Path(path).read_bytes()).hexdigest())
                first = os.path.join(tmp, f"{name}-0.mp4")
                seconds = encode(os.path.join(tmp, f"{name}-timed.mp4"), frames)
                print(
                    f"{Path(clip).name[:17]:<18}{size:<11}{name:<9}{len(hashes):>4}/{args.repeat:<2}"
                    f"{os.path.getsize(first) / 1e3:>9.1f}{psnr(first, reference):>9.2f}"
                    f"{seconds / len(frames) * 1e3:>10.2f}"
                )
                for k in range(args.repeat):
                    os.remove(os.path.join(tmp, f"{name}-{k}.mp4"))
    print("reproduce: python " + " ".join(shlex.quote(a) for a in sys.argv))


if __name__ == "__main__":
    main()
