"""Build the installable Blender extension zip from blender_addon/.

    python scripts/build_blender_addon.py            # -> dist/neuralfx_blender-VERSION.zip

Install it in Blender with Edit > Preferences > Get Extensions > Install from Disk
(docs/blender.md).
It is what `blender --command extension build` makes, without needing a Blender binary: the
manifest and the add-on's modules at the zip's top level, no caches. Written atomically. When
this Python has Blender as a module (`bpy`, as the add-on's test environment does), the zip
is then checked by Blender's own validator (`extension validate`, the same rules as the
extensions platform); `--validate` makes that check required.

The panel's run settings come from NeuralFX's declaration of its run options
(``neuralfx.options``) through ``blender_addon/run_options.json``; after changing a run option,
``python scripts/build_blender_addon.py --run-options`` writes that file again (a test says
when it is stale).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ADDON = ROOT / "blender_addon"


def manifest_version() -> str:
    text = (ADDON / "blender_manifest.toml").read_text(encoding="utf-8")
    return re.search(r'^version = "([^"]+)"', text, re.M).group(1)


def write_run_options() -> bool:
    """``blender_addon/run_options.json`` from NeuralFX's declaration; False where NeuralFX
    does not import in this Python."""
    import json

    try:
        from neuralfx.options import run_options_schema
    except ImportError:
        return False
    target = ADDON / "run_options.json"
    temp = target.with_suffix(".json.tmp")
    temp.write_text(json.dumps(run_options_schema(), indent=2) + "\n", encoding="utf-8")
    os.replace(temp, target)
    return True


def build(out_dir: Path) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"neuralfx_blender-{manifest_version()}.zip"
    temp = target.with_suffix(".zip.tmp")
    with zipfile.ZipFile(temp, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(ADDON.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                archive.write(path, path.relative_to(ADDON).as_posix())
    os.replace(temp, target)
    return target


def blender_validator() -> Path | None:
    """Blender's ``blender_ext.py`` (the ``extension validate`` command) from the ``bpy``
    module of this Python, or None when it has none."""
    import importlib.util

    spec = importlib.util.find_spec("bpy")
    if spec is None or not spec.submodule_search_locations:
        return None
    found = sorted(
        Path(next(iter(spec.submodule_search_locations))).glob(
            "*/scripts/addons_core/bl_pkg/cli/blender_ext.py"
        )
    )
    return found[-1] if found else None


def validate(archive: Path) -> tuple[bool, str]:
    """Blender's validator on ``archive``: (passed, what it said)."""
    import subprocess

    tool = blender_validator()
    if tool is None:
        return False, "no Blender validator here (install bpy: tests/blender/requirements.txt)"
    done = subprocess.run(
        [sys.executable, str(tool), "validate", str(archive)],
        capture_output=True,
        text=True,
        check=False,
    )
    return done.returncode == 0, (done.stdout + done.stderr).strip()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "dist", help="folder for the zip")
    parser.add_argument(
        "--validate",
        action="store_true",
        help="fail unless Blender's validator is here and passes the zip",
    )
    parser.add_argument(
        "--run-options",
        action="store_true",
        help="only write blender_addon/run_options.json from NeuralFX's "
        "declaration of its run options",
    )
    args = parser.parse_args()
    if args.run_options:
        if not write_run_options():
            print("NeuralFX does not import in this Python", file=sys.stderr)
            return 1
        return 0
    archive = build(args.out)
    print(archive)
    if blender_validator() is not None or args.validate:
        passed, said = validate(archive)
        print(f"Blender's validator: {said}")
        if not passed:
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
