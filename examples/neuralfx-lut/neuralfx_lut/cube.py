"""Reading Adobe/Resolve .cube 3D LUT files."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import torch

from neuralfx import NeuralFXError


@dataclasses.dataclass
class CubeLUT:
    title: str
    size: int
    table: torch.Tensor  # (B, G, R, 3) float32: entry [b, g, r] is the output for input (r, g, b)
    domain_min: torch.Tensor  # (3,)
    domain_max: torch.Tensor  # (3,)


def read_cube(path: str | Path) -> CubeLUT:
    """Parse ``path``; errors name the file and line."""
    path = Path(path)
    title, size = "", None
    lo, hi = [0.0, 0.0, 0.0], [1.0, 1.0, 1.0]
    rows: list[list[float]] = []
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError as exc:
        raise NeuralFXError(f"cannot read LUT {path}: {exc.strerror}") from None
    for number, line in enumerate(lines, 1):
        words = line.split("#", 1)[0].split()
        if not words:
            continue
        key = words[0].upper()
        try:
            if key == "TITLE":
                title = line.split(None, 1)[1].strip().strip('"')
            elif key == "LUT_3D_SIZE":
                size = int(words[1])
            elif key == "LUT_1D_SIZE":
                raise NeuralFXError(
                    f"{path}: 1D LUTs are not supported (line {number})",
                    hint="give a 3D LUT (LUT_3D_SIZE)",
                )
            elif key == "DOMAIN_MIN":
                lo = [float(v) for v in words[1:4]]
            elif key == "DOMAIN_MAX":
                hi = [float(v) for v in words[1:4]]
            elif key[0].isdigit() or key[0] in "-.":
                rows.append([float(v) for v in words[:3]])
        except (IndexError, ValueError):
            raise NeuralFXError(
                f"{path}, line {number}: cannot read {line.strip()!r}", hint="check the .cube file"
            ) from None
    if size is None or size < 2:
        raise NeuralFXError(f"{path}: no LUT_3D_SIZE line", hint="give a 3D .cube LUT")
    if len(rows) != size**3:
        raise NeuralFXError(
            f"{path}: LUT_3D_SIZE {size} needs {size**3} entries, found {len(rows)}",
            hint="the file is truncated or malformed",
        )
    table = torch.tensor(rows, dtype=torch.float32).view(size, size, size, 3)
    return CubeLUT(title, size, table, torch.tensor(lo), torch.tensor(hi))
