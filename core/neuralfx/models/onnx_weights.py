"""Reading the weights of an ONNX file as a state dict (for ``neuralfx models import`` and
``scripts/convert_magenta.py``): the graph's initialisers, with quantised ones dequantised.

A QDQ graph (int8 weights) stores each weight as an int8 initialiser feeding a
``DequantizeLinear`` node with a scale and a zero point (per tensor, or per channel along
``axis``); the float weight is ``(q - zero_point) * scale``, named after the node's output, as
the rest of the graph sees it. Float initialisers keep their names. Needs the ``onnx`` package
(a dev dependency; never needed to run the converted weights).
"""

from __future__ import annotations

import os

import numpy as np
import torch

from ..errors import NeuralFXError


def read_onnx_state(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    try:
        import onnx
        from onnx import numpy_helper
    except ImportError:
        raise NeuralFXError(
            f"{path} is an ONNX file and reading it needs the onnx package",
            hint="pip install onnx (only needed to convert the file)",
        ) from None
    try:
        model = onnx.load(str(path))
    except Exception as exc:
        raise NeuralFXError(f"{path} is not a readable ONNX file: {exc}") from None
    raw = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    state: dict[str, np.ndarray] = {}
    used: set[str] = set()
    for node in model.graph.node:
        if node.op_type != "DequantizeLinear" or node.input[0] not in raw:
            continue
        q = raw[node.input[0]].astype(np.float32)
        scale = raw[node.input[1]].astype(np.float32)
        zero = (
            raw[node.input[2]].astype(np.float32)
            if len(node.input) > 2 and node.input[2]
            else np.zeros_like(scale)
        )
        axis = next((a.i for a in node.attribute if a.name == "axis"), 1)
        if scale.ndim == 1 and q.ndim > 1:  # per channel: broadcast along axis
            shape = [1] * q.ndim
            shape[axis] = -1
            scale, zero = scale.reshape(shape), zero.reshape(shape)
        state[node.output[0]] = (q - zero) * scale
        used.update(node.input)
    for name, value in raw.items():
        if name not in used and value.dtype.kind == "f":
            state[name] = value
    return {k: torch.from_numpy(np.array(v, dtype=np.float32)) for k, v in state.items()}
