#!/usr/bin/env bash
# The wheels NeuralFX needs beyond what the lent GPU machine's python3 has (torch, torchvision,
# opencv, pluggy, click, numpy, pytest), for a machine that reaches no package registry:
# about 46 MB, under the device tool's 64 MiB carry limit. Usage (PYVER: the device's
# `python3 -V`, e.g. 3.11):
#   bash scripts/device_wheels.sh 3.11        # here, with internet: fills .device-wheels/
# then on the device (the run tool, carry [".device-wheels"]):
#   python3 -m pip install --no-deps --no-index .device-wheels/*.whl && \
#   python3 -m pip install --no-deps --no-build-isolation -e . && python3 bench/all.py --device cuda --budget-s 420
set -euo pipefail
cd "$(dirname "$0")/.."
PYVER="${1:-3.11}"
rm -rf .device-wheels
python3 -m pip download --quiet --only-binary=:all: --no-deps --python-version "$PYVER" \
  --platform manylinux_2_28_x86_64 --platform manylinux2014_x86_64 \
  --platform manylinux_2_17_x86_64 -d .device-wheels \
  safetensors OpenEXR av tqdm scikit-video opencolorio "setuptools>=77"
du -sh .device-wheels
