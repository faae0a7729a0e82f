"""Watermark robustness and speed: NeuralFX's mark beside the PyPI package
``invisible-watermark`` (dwtDct, dwtDctSvd, rivaGan) on the same frames and attacks, at every
size; and how often unmarked pictures read as marked.

    python bench/watermark.py                                  # NeuralFX, 360p to 4K
    pip install --no-deps invisible-watermark PyWavelets       # not its opencv-python: one
    python bench/watermark.py --methods neuralfx,dwtDct,dwtDctSvd   # OpenCV wheel per env
    python bench/watermark.py --false-positives 1000           # unmarked pictures

For each size, method and attack: how many single frames decode the whole payload exactly
(three scikit-image photographs and three Big Buck Bunny frames, scaled to the size; bit
accuracy in brackets when not all do), and whether a 12-frame clip of Big Buck Bunny does
(NeuralFX folds its frames; the others read frame by frame and count when most frames
decode). The attacks are tests/watermark_attacks.py's, the same as the tests'. PSNR of the
marked frames; embed and detect ms a frame (detect: the worst case, a frame with no mark,
which runs the whole geometry search). One CPU thread. rivaGan takes about 5 s a frame each
way: add it explicitly, with --sizes 1080p.
"""

from __future__ import annotations

import argparse
import math
import shlex
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from watermark_attacks import (
    ATTACKS,
    CODECS,
    GEOMETRY,
    bunny_frames,
    marked,  # noqa: E402
    natural,
    unmarked_pictures,
)

SIZES = {"360p": (640, 360), "720p": (1280, 720), "1080p": (1920, 1080), "4K": (3840, 2160)}


class NeuralFX:
    name, bits = "neuralfx", 48

    def __init__(self) -> None:
        from neuralfx.marks import watermark

        self.wm = watermark
        self.payload = watermark.Payload(watermark.TOOL_ID, 0xBEEF, 0x123456)
        self.truth = np.array(self.payload.bits()[:48])

    def embed(self, frames: list[np.ndarray]) -> list[np.ndarray]:
        return marked(frames, self.payload)

    def bits_of(self, frames: list[np.ndarray]) -> np.ndarray:
        """The payload read from the frames folded together, or the raw bits of the first
        when none is (bit accuracy)."""
        found = self.wm.detect(*frames)
        if found.payload is not None:
            return np.array(found.payload.bits()[:48])
        _, scores = self.wm.bit_scores(*self.wm.fold(frames[0]))
        return (scores[:48] > 0).astype(int)


class InvisibleWatermark:
    """The ``imwatermark`` package (BGR frames, ``bits`` payloads), frame by frame."""

    def __init__(self, method: str) -> None:
        from imwatermark import WatermarkDecoder, WatermarkEncoder

        self.name, self.method = method, method
        self.bits = 32 if method == "rivaGan" else 48
        self.truth = np.random.default_rng(1).integers(0, 2, self.bits)
        if method == "rivaGan":
            WatermarkEncoder.loadModel()
        self.encoder = WatermarkEncoder()
        self.encoder.set_watermark("bits", self.truth.tolist())
        self.decoder = WatermarkDecoder("bits", self.bits)

    def embed(self, frames: list[np.ndarray]) -> list[np.ndarray]:
        return [
            self.encoder.encode(f[..., ::-1].copy(), self.method)[..., ::-1].copy() for f in frames
        ]

    def bits_of(self, frames: list[np.ndarray]) -> np.ndarray:
        """The bits most frames agree on (none from a frame it refuses: under 256x256)."""
        votes = []
        for f in frames:
            try:
                votes.append(np.array(self.decoder.decode(f[..., ::-1].copy(), self.method)))
            except RuntimeError:
                votes.append(np.full(self.bits, np.nan))
        return np.where(
            np.isnan(np.mean(votes, axis=0)), -1, np.nanmean(votes, axis=0) > 0.5
        ).astype(int)


def robustness(method, size: tuple[int, int], sizes_name: str) -> None:
    pictures = [natural(n, size) for n in ("astronaut", "coffee", "chelsea")]
    pictures += [cv2.resize(f, size, interpolation=cv2.INTER_CUBIC) for f in bunny_frames(48)[::23]]
    clip = [cv2.resize(f, size, interpolation=cv2.INTER_CUBIC) for f in bunny_frames(12)]
    started = time.perf_counter()
    singles = [method.embed([p])[0] for p in pictures]
    embed_ms = 1000 * (time.perf_counter() - started) / len(pictures)
    psnr = np.mean(
        [
            10 * np.log10(255**2 / np.mean((m.astype(float) - p) ** 2))
            for m, p in zip(singles, pictures, strict=True)
        ]
    )
    marked_clip = method.embed(clip)
    for attack, fn in {**ATTACKS, **GEOMETRY, **CODECS}.items():
        cells = []
        if attack not in CODECS:
            got = [method.bits_of(fn([m])) for m in singles]
            acc = np.mean([np.mean(g == method.truth) for g in got])
            exact = sum(bool(np.all(g == method.truth)) for g in got)
            cells.append(f"{exact}/{len(got)}" + (f" ({acc:.2f})" if exact < len(got) else ""))
        else:
            cells.append("-")
        clip_bits = method.bits_of(fn(marked_clip))
        cells.append(
            "yes"
            if np.all(clip_bits == method.truth)
            else f"no ({np.mean(clip_bits == method.truth):.2f})"
        )
        print(
            f"{sizes_name:<6}{method.name:<10}{attack:<30}{cells[0]:>13}{cells[1]:>11}", flush=True
        )
    started = time.perf_counter()
    for p in pictures:
        method.bits_of([p])
    detect_ms = 1000 * (time.perf_counter() - started) / len(pictures)
    print(
        f"{sizes_name:<6}{method.name:<10}PSNR {psnr:.1f} dB, embed {embed_ms:.0f} ms, "
        f"detect {detect_ms:.0f} ms an unmarked frame (NeuralFX: the whole geometry search)",
        flush=True,
    )


def false_positives(count: int) -> None:
    """``count`` unmarked pictures and 8-frame clips: how many read as marked, and how their
    sync z-scores compare with the normal tail the stated false-match rate assumes."""
    from neuralfx.marks import watermark as wm

    zs, found, started = [], [], time.perf_counter()
    for k, (what, picture) in enumerate(unmarked_pictures(count)):
        d = wm.detect(picture)
        zs.append(d.confidence)
        if d.found:
            found.append(what)
        if (k + 1) % 100 == 0:
            print(
                f"  {k + 1} pictures, {len(found)} read as marked, highest z "
                f"{max(zs):.2f}, {time.perf_counter() - started:.0f} s",
                flush=True,
            )
    frames = bunny_frames(48)
    clips = [frames[s : s + 8] for s in range(0, 41, 4)]
    for clip in clips:
        d = wm.detect(*clip)
        zs.append(d.confidence)
        if d.found:
            found.append("bbb clip")
    zs = np.array(zs)
    print(
        f"unmarked: {len(zs) - len(clips)} pictures and {len(clips)} clips of 8 frames, "
        f"{len(found)} read as marked {found[:5]}"
    )
    print(
        f"sync z: median {np.median(zs):.2f}, 99th percentile {np.percentile(zs, 99):.2f}, "
        f"highest {zs.max():.2f}; found needs {wm.FOUND_Z}"
    )
    for z in (4.0, 4.5, 5.0):
        # the z of the best of 2 x 65536 phases, were they independent normal variables
        tail = 1 - (1 - math.erfc(z / math.sqrt(2))) ** (wm.TILE * wm.TILE)
        print(
            f"  share of readings with z >= {z}: {np.mean(zs >= z):.4f} "
            f"(independent-phase bound {tail:.4f})"
        )
    one = wm.Detection(False, None, wm.FOUND_Z).false_match
    print(
        f"stated false-match rate: at most {one:.1e} a reading at z {wm.FOUND_Z}, "
        f"{wm.READINGS * one:.1e} a file ({wm.READINGS} readings at most)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--methods", default="neuralfx", help="comma list: neuralfx, dwtDct, dwtDctSvd, rivaGan"
    )
    parser.add_argument(
        "--sizes", default="360p,720p,1080p,4K", help="comma list of " + ", ".join(SIZES)
    )
    parser.add_argument(
        "--false-positives",
        type=int,
        default=0,
        metavar="N",
        help="instead: read N unmarked pictures (and 11 clips)",
    )
    args = parser.parse_args()
    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    if args.false_positives:
        false_positives(args.false_positives)
    else:
        print(
            "# one CPU thread; single frames: 6 natural pictures exact (bit accuracy); "
            "clip: 12 frames of Big Buck Bunny"
        )
        print(f"{'size':<6}{'method':<10}{'attack':<30}{'frames':>13}{'clip':>11}")
        for size in args.sizes.split(","):
            for name in args.methods.split(","):
                method = NeuralFX() if name == "neuralfx" else InvisibleWatermark(name)
                robustness(method, SIZES[size], size)
    print("reproduce: python " + " ".join(shlex.quote(a) for a in sys.argv))


if __name__ == "__main__":
    main()
