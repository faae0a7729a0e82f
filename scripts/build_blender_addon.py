"""Build the installable Blender extension zip from blender_addon/.

    python scripts/build_blender_addon.py            # -> dist/neuralfx_blender-VERSION.zip

Install it in Blender with Edit > Preferences > Get Extensions > Install from Disk
(docs/blender.md).
It is what `blender --command extension build` makes, without needing a Blender binary: the
manifest and the add-on's modules at the zip's top level, no caches. Written atomically. When
this Python has Blender as a module (`bpy`, as the add-on's test environment does), the zip
is then checked by Blender's own validator (`extension validate`, the same rules as the
extensions platform); `--validate` makes that check required.
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
    found = sorted(Path(next(iter(spec.submodule_search_locations))).glob(
        "*/scripts/addons_core/bl_pkg/cli/blender_ext.py"))
    return found[-1] if found else None


def validate(archive: Path) -> tuple[bool, str]:
    """Blender's validator on ``archive``: (passed, what it said)."""
    import subprocess

    tool = blender_validator()
    if tool is None:
        return False, "no Blender validator here (install bpy: tests/blender/requirements.txt)"
    done = subprocess.run([sys.executable, str(tool), "validate", str(archive)],
                          capture_output=True, text=True, check=False)
    return done.returncode == 0, (done.stdout + done.stderr).strip()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "dist", help="folder for the zip")
    parser.add_argument("--validate", action="store_true",
                        help="fail unless Blender's validator is here and passes the zip")
    args = parser.parse_args()
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
