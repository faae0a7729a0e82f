"""Watermark robustness and speed on natural 1080p frames, NeuralFX's mark beside the PyPI
package ``invisible-watermark`` (dwtDct, dwtDctSvd, rivaGan) on the same frames and attacks.

    python bench/watermark.py                                  # NeuralFX only
    pip install --no-deps invisible-watermark PyWavelets       # not its opencv-python: one
    python bench/watermark.py --methods neuralfx,dwtDct,dwtDctSvd   # OpenCV wheel per env

For each method and attack: bit accuracy (mean over frames) and how many frames decode the
whole payload exactly; PSNR of the marked frames; embed and detect ms per frame. Frames: Big
Buck Bunny (samples/bbb, (c) Blender Foundation, CC-BY 3.0) and scikit-image photographs,
scaled to 1920x1080. rivaGan takes about 12 s a frame on a CPU core: add it explicitly.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from helpers import h264_round_trip  # noqa: E402  (the same video attack as the tests)


def frames_1080p() -> list[np.ndarray]:
    from skimage import data

    from neuralfx.frames.video import read_frames

    bunny = [f for _, f in read_frames(str(ROOT / "samples" / "bbb" / "bbb-excerpt.mp4"),
                                       {1, 24, 48})]
    photos = [getattr(data, n)() for n in ("astronaut", "coffee", "chelsea")]
    return [cv2.resize(p, (1920, 1080), interpolation=cv2.INTER_CUBIC) for p in bunny + photos]


def jpeg(rgb, quality):
    ok, buf = cv2.imencode(".jpg", rgb, [cv2.IMWRITE_JPEG_QUALITY, quality])
    return cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)


ATTACKS = {
    "none": lambda x: x,
    "jpeg q90": lambda x: jpeg(x, 90), "jpeg q75": lambda x: jpeg(x, 75),
    "jpeg q50": lambda x: jpeg(x, 50),
    "resize 0.5x": lambda x: cv2.resize(cv2.resize(x, (960, 540), interpolation=cv2.INTER_AREA),
                                        (1920, 1080)),
    "crop 10%": lambda x: x[108:, 192:],
    "bright +20": lambda x: np.clip(x.astype(int) + 20, 0, 255).astype(np.uint8),
    "bright -20": lambda x: np.clip(x.astype(int) - 20, 0, 255).astype(np.uint8),
    "noise 5": lambda x: np.clip(x + np.random.default_rng(0).normal(0, 5, x.shape), 0,
                                 255).astype(np.uint8),
}
VIDEO_ATTACKS = {"h264 crf23": 23, "h264 crf28": 28}


class NeuralFX:
    name, bits = "neuralfx", 48

    def __init__(self) -> None:
        from neuralfx import watermark

        self.wm = watermark
        self.payload = watermark.Payload(watermark.TOOL_ID, 0xBEEF, 0x123456)
        self.truth = np.array(self.payload.bits()[:48])

    def embed(self, rgb):
        x = torch.from_numpy(rgb).permute(2, 0, 1)[None].float() / 255
        y = self.wm.embed(x, self.payload)[0].permute(1, 2, 0).numpy()
        return (y * 255 + 0.5).astype(np.uint8)

    def bits_of(self, rgb):
        found = self.wm.detect(rgb)
        if found.payload is not None:
            return np.array(found.payload.bits()[:48])
        _, scores = self.wm.bit_scores(*self.wm.fold(rgb))  # the raw bits when the CRC fails
        return (scores[:48] > 0).astype(int)


class InvisibleWatermark:
    """The ``imwatermark`` package (BGR frames, ``bits`` payloads)."""

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

    def embed(self, rgb):
        return self.encoder.encode(rgb[..., ::-1].copy(), self.method)[..., ::-1].copy()

    def bits_of(self, rgb):
        return np.array(self.decoder.decode(rgb[..., ::-1].copy(), self.method)).astype(int)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--methods", default="neuralfx",
                        help="comma list: neuralfx, dwtDct, dwtDctSvd, rivaGan")
    parser.add_argument("--frames", type=int, default=None,
                        help="use only the first N frames (rivaGan takes ~12 s a frame)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    frames = frames_1080p()[:args.frames]
    print(f"# {len(frames)} natural frames at 1920x1080, one CPU thread")
    print(f"{'method':<11}{'attack':<13}{'bit acc':>8}{'exact':>7}")
    for name in args.methods.split(","):
        method = NeuralFX() if name == "neuralfx" else InvisibleWatermark(name)
        started = time.perf_counter()
        marked = [method.embed(f) for f in frames]
        embed_ms = 1000 * (time.perf_counter() - started) / len(frames)
        psnr = np.mean([10 * np.log10(255 ** 2 / np.mean((m.astype(float) - f) ** 2))
                        for m, f in zip(marked, frames, strict=True)])
        detect_ms = None
        for attack, fn in ATTACKS.items():
            started = time.perf_counter()
            got = [method.bits_of(fn(m)) for m in marked]
            if attack == "none":
                detect_ms = 1000 * (time.perf_counter() - started) / len(frames)
            acc = np.mean([np.mean(g == method.truth) for g in got])
            exact = sum(bool(np.all(g == method.truth)) for g in got)
            print(f"{method.name:<11}{attack:<13}{acc:>8.3f}{exact:>4}/{len(frames)}")
        for attack, crf in VIDEO_ATTACKS.items():
            got = [method.bits_of(f) for f in h264_round_trip(marked, crf)]
            acc = np.mean([np.mean(g == method.truth) for g in got])
            exact = sum(bool(np.all(g == method.truth)) for g in got)
            print(f"{method.name:<11}{attack:<13}{acc:>8.3f}{exact:>4}/{len(frames)}")
        clean = [method.bits_of(f) for f in frames]
        print(f"{method.name:<11}PSNR {psnr:.1f} dB, embed {embed_ms:.0f} ms, detect "
              f"{detect_ms:.0f} ms a frame; unmarked frames reading as the payload: "
              f"{sum(bool(np.all(g == method.truth)) for g in clean)}/{len(frames)}")
    print("reproduce: python " + " ".join(shlex.quote(a) for a in sys.argv))


if __name__ == "__main__":
    main()
