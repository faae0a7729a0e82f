"""House rules the CI checks on every run, as pyproject.toml writes them: ruff's pyflakes rules
(unused imports and variables, undefined names) and lines within 100 characters, ruff format's
layout, over the code; and every doctest in the package passes."""

from __future__ import annotations

import doctest
import importlib
import pkgutil
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import neuralfx

ROOT = Path(__file__).resolve().parent.parent
CHECKED = [
    "core",
    "plugins",
    "blender_addon",
    "bench",
    "scripts",
    "tests",
    "examples/neuralfx-lut/neuralfx_lut",
    "examples/neuralfx-blur-faces",
]


def test_ruff_finds_nothing():
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    if ruff is None:
        pytest.skip("ruff is not installed (the test extra installs it)")
    # the rules are pyproject.toml's ([tool.ruff.lint], [tool.ruff.format])
    done = subprocess.run([ruff, "check", *CHECKED], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    done = subprocess.run(
        [ruff, "format", "--check", *CHECKED], cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0, "run `ruff format` on:\n" + done.stdout + done.stderr


def test_the_packages_doctests_pass():
    failed, tried = 0, 0
    for info in pkgutil.walk_packages(neuralfx.__path__, "neuralfx."):
        if info.name.endswith("__main__"):  # importing it runs the command
            continue
        module = importlib.import_module(info.name)
        if ">>>" not in (module.__doc__ or "") and not any(
            ">>>" in (getattr(v, "__doc__", None) or "") for v in vars(module).values()
        ):
            continue
        result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
        failed, tried = failed + result.failed, tried + result.attempted
    assert tried > 0 and failed == 0
