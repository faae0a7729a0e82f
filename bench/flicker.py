"""painting-style flicker with and without temporal stabilisation, on the shipped clip.

    python bench/flicker.py                              # johnson, adain and gatys, 8 frames
    python bench/flicker.py --methods gatys --frames 1001-1024 --iterations 80

Flicker is the mean warping error between consecutive outputs: output t-1 is warped to frame t
with optical flow computed on the *input* frames, and the mean squared difference is taken
where the flow is trusted (see neuralfx.temporal.warping_error). Lower is steadier. Johnson and
AdaIN use the official checkpoints when they are in the weights cache and deterministic random
weights in the official layouts otherwise (the figures then measure the stabiliser, not the
look); Gatys uses VGG-19 if cached, else the training-free encoder.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

import neuralfx
from neuralfx import models, weights
from neuralfx.frames.images import read_image
from neuralfx.frames.io import open_source
from neuralfx.frames.pixels import to_unit_float
from neuralfx.progress import Reporter
from neuralfx.temporal import warping_error

ROOT = Path(__file__).resolve().parent.parent
CLIP = str(ROOT / "samples" / "clip" / "clip.####.png")
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
    state = {k: (torch.randn(v.shape, generator=gen) / max(1, v[0].numel()) ** 0.5
                 if v.dim() > 1 else 1 + 0.1 * torch.randn(v.shape, generator=gen)
                 if k.endswith("weight") else 0.05 * torch.randn(v.shape, generator=gen))
             for k, v in shapes.items()}
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
    out = []
    for f in frames:
        rgb = to_unit_float(read_image(pattern.replace("####", f"{f:04d}")))[:, :, :3]
        out.append(torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--methods", default="dumoulin,johnson,adain,gatys")
    parser.add_argument("--frames", default="1001-1008")
    parser.add_argument("--iterations", type=int, default=40, help="gatys steps per frame")
    parser.add_argument("--stability", type=float, default=0.6)
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    frames = open_source(CLIP, frames=args.frames).frames
    inputs = _load(CLIP, frames)
    probe = inputs[0][None]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for method in args.methods.split(","):
            settings = {"method": method, "stability": args.stability}
            if method == "johnson":
                settings["checkpoint"] = _checkpoint("johnson-candy", "johnson", tmp, probe)
            elif method == "dumoulin":
                pass  # the shipped weights, default preset
            else:
                settings["style"] = [STYLE]
            if method == "adain":
                settings["encoder"] = _checkpoint("adain-encoder", "adain-encoder", tmp, probe)
                with torch.no_grad():
                    feats = models.load("adain-encoder", settings["encoder"])(probe)
                settings["checkpoint"] = _checkpoint("adain-decoder", "adain-decoder", tmp, feats)
            if method == "gatys":
                settings["iterations"] = args.iterations
            figures = {}
            for temporal in (False, True):
                out = str(tmp / f"{method}-{temporal}" / "o.####.png")
                neuralfx.run("painting-style", CLIP, out,
                             settings={**settings, "temporal": temporal},
                             options=neuralfx.RunOptions(frames=args.frames, device=args.device),
                             reporter=Reporter())
                figures[temporal] = warping_error(_load(out, frames), inputs)
            source = {"johnson": "johnson-candy", "adain": "adain-decoder", "gatys": "vgg19",
                      "dumoulin": "magenta-dumoulin-26"}[method]
            source = "official" if weights.cached_path(source) else (
                "training-free encoder" if method == "gatys" else "random, official layout")
            rows.append((method, figures[False], figures[True], source))
    print(f"# neuralfx {neuralfx.__version__}: flicker (mean warping error) on samples/clip "
          f"frames {args.frames}, stability {args.stability}")
    print(f"{'method':<9}{'no temporal':>13}{'temporal':>11}{'ratio':>8}  weights")
    for method, raw, steady, source in rows:
        print(f"{method:<9}{raw:>13.3e}{steady:>11.3e}{steady / raw:>8.2f}  {source}")
    print("reproduce: python " + " ".join(shlex.quote(a) for a in sys.argv))


if __name__ == "__main__":
    main()
