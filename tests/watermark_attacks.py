"""What the world does to marked footage, for the watermark's tests and bench/watermark.py:
natural pictures at any size, marking, and every attack by name (one frame or a whole clip)."""

from __future__ import annotations

import io

import cv2
import numpy as np
import torch

from neuralfx.marks import watermark as wm


def natural(name: str, size: tuple[int, int] = (1920, 1080)) -> np.ndarray:
    """A scikit-image photograph (``astronaut``, ``coffee``...) at ``size`` (width, height)."""
    from skimage import data

    picture = getattr(data, name)()
    if picture.ndim == 2:
        picture = np.repeat(picture[..., None], 3, -1)
    return cv2.resize(
        picture[..., :3],
        size,
        interpolation=cv2.INTER_AREA if size[0] < picture.shape[1] else cv2.INTER_CUBIC,
    )


def marked(frames: list[np.ndarray], payload: wm.Payload, first: int = 1) -> list[np.ndarray]:
    """8-bit RGB frames marked as a run marks frames ``first``, ``first + 1``..."""
    x = torch.from_numpy(np.stack(frames)).permute(0, 3, 1, 2).float() / 255
    y = wm.embed(x, payload, list(range(first, first + len(frames))))
    return [(f.permute(1, 2, 0).numpy() * 255 + 0.5).astype(np.uint8) for f in y]


def scale(rgb: np.ndarray, sx: float, sy: float | None = None) -> np.ndarray:
    sy = sx if sy is None else sy
    size = (max(2, round(rgb.shape[1] * sx / 2) * 2), max(2, round(rgb.shape[0] * sy / 2) * 2))
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA if sx * sy < 1 else cv2.INTER_CUBIC)


def rotate(rgb: np.ndarray, degrees: float) -> np.ndarray:
    """Turned about its centre, the corners filled by reflection (as a stabiliser does)."""
    h, w = rgb.shape[:2]
    turn = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    return cv2.warpAffine(rgb, turn, (w, h), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)


def crop(rgb: np.ndarray, share: float, side: str = "top-left") -> np.ndarray:
    h, w = rgb.shape[:2]
    dy, dx = int(h * share), int(w * share)
    return {
        "top-left": rgb[dy:, dx:],
        "bottom-right": rgb[: h - dy, : w - dx],
        "all": rgb[dy // 2 : h - dy // 2, dx // 2 : w - dx // 2],
    }[side]


def letterbox(rgb: np.ndarray, share: float = 0.75) -> np.ndarray:
    """Shrunk to ``share`` and centred on black of the same size."""
    h, w = rgb.shape[:2]
    small = scale(rgb, share)
    out = np.zeros_like(rgb)
    y0, x0 = (h - small.shape[0]) // 2, (w - small.shape[1]) // 2
    out[y0 : y0 + small.shape[0], x0 : x0 + small.shape[1]] = small
    return out


def jpeg(rgb: np.ndarray, quality: int) -> np.ndarray:
    _, buf = cv2.imencode(".jpg", rgb, [cv2.IMWRITE_JPEG_QUALITY, quality])
    return cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)


def brightness(rgb: np.ndarray, levels: int) -> np.ndarray:
    return np.clip(rgb.astype(int) + levels, 0, 255).astype(np.uint8)


def noise(rgb: np.ndarray, sigma: float, seed: int = 0) -> np.ndarray:
    return np.clip(rgb + np.random.default_rng(seed).normal(0, sigma, rgb.shape), 0, 255).astype(
        np.uint8
    )


def encode(
    frames: list[np.ndarray],
    codec: str = "libx264",
    crf: int | None = None,
    bit_rate: int | None = None,
) -> list[np.ndarray]:
    """RGB frames through a video codec (4:2:0, 24 fps, in memory) and decoded back."""
    import av

    height, width = frames[0].shape[:2]
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp4" if codec == "libx264" else "webm") as out:
        stream = out.add_stream(codec, rate=24)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        if bit_rate:
            stream.bit_rate = bit_rate
        if crf is not None:
            stream.options = {"crf": str(crf), **({"b": "0"} if "vpx" in codec else {})}
        for f in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(f, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    buffer.seek(0)
    with av.open(buffer) as decoded:
        return [f.to_ndarray(format="rgb24") for f in decoded.decode(video=0)]


def _each(fn):
    return lambda frames: [fn(f) for f in frames]


#: Attacks on a list of frames (one frame is a list of one; the codecs need a clip).
ATTACKS = {
    "none": lambda frames: frames,
    "jpeg q50": _each(lambda x: jpeg(x, 50)),
    "jpeg q75": _each(lambda x: jpeg(x, 75)),
    "scale 0.5x": _each(lambda x: scale(x, 0.5)),
    "scale 0.67x": _each(lambda x: scale(x, 0.67)),
    "scale 1.25x": _each(lambda x: scale(x, 1.25)),
    "crop 10% + 0.8x": _each(lambda x: scale(crop(x, 0.1), 0.8)),
    "brightness +20": _each(lambda x: brightness(x, 20)),
    "brightness -20": _each(lambda x: brightness(x, -20)),
    "noise 5": _each(lambda x: noise(x, 5)),
}
#: Geometry beyond a plain rescale.
GEOMETRY = {
    "scale 0.33x": _each(lambda x: scale(x, 0.33)),
    "scale 2x": _each(lambda x: scale(x, 2.0)),
    "1.05x across, 0.95x down": _each(lambda x: scale(x, 1.05, 0.95)),
    "0.95x across, 1.04x down": _each(lambda x: scale(x, 0.95, 1.04)),
    "crop 20% bottom-right + 1.2x": _each(lambda x: scale(crop(x, 0.2, "bottom-right"), 1.2)),
    "rotate 2 degrees": _each(lambda x: rotate(x, 2.0)),
    "rotate -1.5 degrees + 0.8x": _each(lambda x: scale(rotate(x, -1.5), 0.8)),
    "letterbox 0.75x": _each(letterbox),
}
#: Re-encodes (clips only).
CODECS = {
    "h264 crf 23": lambda frames: encode(frames, crf=23),
    "h264 crf 28": lambda frames: encode(frames, crf=28),
    "720p at 1 Mbit/s": lambda frames: encode(
        [cv2.resize(f, (1280, 720), interpolation=cv2.INTER_AREA) for f in frames],
        bit_rate=1_000_000,
    ),
    "vp9 crf 35": lambda frames: encode(frames, "libvpx-vp9", crf=35),
    "0.67x + h264 crf 23": lambda frames: encode([scale(f, 0.67) for f in frames], crf=23),
}


#: The scikit-image photographs that install with it (no download): every natural one.
PHOTOGRAPHS = (
    "astronaut",
    "coffee",
    "chelsea",
    "rocket",
    "camera",
    "moon",
    "page",
    "text",
    "coins",
    "clock",
    "grass",
    "gravel",
    "brick",
    "retina",
    "hubble_deep_field",
    "immunohistochemistry",
    "cell",
    "microaneurysms",
)
#: Sizes the unmarked pictures are read at (width, height): 360p to 4K, and odd ones.
SIZES = (
    (640, 360),
    (854, 480),
    (1280, 720),
    (1920, 1080),
    (3840, 2160),
    (512, 512),
    (1080, 1350),
    (720, 576),
)


def bunny_frames(count: int = 48) -> list[np.ndarray]:
    """The Big Buck Bunny excerpt (samples/bbb, (c) Blender Foundation, CC-BY 3.0), 640x360."""
    from pathlib import Path

    from neuralfx.frames.video import read_frames

    path = Path(__file__).resolve().parent.parent / "samples" / "bbb" / "bbb-excerpt.mp4"
    return [f for _, f in read_frames(str(path), set(range(1, count + 1)))]


def unmarked_pictures(count: int, seed: int = 0):
    """``count`` unmarked natural pictures, ``(what, rgb)``: every photograph and Big Buck
    Bunny frame in turn, each time at another size from :data:`SIZES` and another crop (a
    random window of 60-100 % of each side, then scaled)."""
    rng = np.random.default_rng(seed)
    sources = [(name, natural(name, (1920, 1080))) for name in PHOTOGRAPHS]
    sources += [(f"bbb frame {k + 1}", f) for k, f in enumerate(bunny_frames())]
    for i in range(count):
        name, picture = sources[i % len(sources)]
        width, height = SIZES[(i // len(sources) + i) % len(SIZES)]
        h, w = picture.shape[:2]
        ch, cw = (int(s * rng.uniform(0.6, 1.0)) for s in (h, w))
        y0, x0 = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
        window = picture[y0 : y0 + ch, x0 : x0 + cw]
        yield (
            f"{name} {width}x{height}",
            cv2.resize(
                window,
                (width, height),
                interpolation=cv2.INTER_AREA if width < cw else cv2.INTER_CUBIC,
            ),
        )
