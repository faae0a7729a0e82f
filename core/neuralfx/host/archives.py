"""Official releases packed in archives: zip (StarGAN, Johnson, a wheel) and tar.gz (FUNIT).

A member is found by its path in the archive, else by its file name when exactly one member
has it (archives move files between releases: FUNIT's ``pretrained.tar.gz`` holds
``animal149_gen.pt`` at its root, not under ``pretrained/``). Members are streamed to the
destination, never extracted by the archive's own paths.
"""

from __future__ import annotations

import posixpath
import shutil
import tarfile
import zipfile
from pathlib import Path

from ..errors import NeuralFXError


def is_archive(path: str | Path) -> bool:
    return zipfile.is_zipfile(path) or _is_tar(path)


def _is_tar(path: str | Path) -> bool:
    try:
        return tarfile.is_tarfile(path)
    except OSError:
        return False


def members(path: str | Path) -> list[str]:
    """The files in archive ``path``."""
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as z:
            return [i.filename for i in z.infolist() if not i.is_dir()]
    with tarfile.open(path) as t:
        return [m.name for m in t.getmembers() if m.isfile()]


def find_member(path: str | Path, wanted: str, what: str) -> str:
    """The member of ``path`` that ``wanted`` names (see the module doc); NeuralFXError
    listing what there is when none or several fit."""
    names = members(path)
    if wanted in names:
        return wanted
    base = posixpath.basename(wanted)
    same = [n for n in names if posixpath.basename(n) == base]
    if len(same) == 1:
        return same[0]
    shown = ", ".join(names[:8]) + (f" and {len(names) - 8} more" if len(names) > 8 else "")
    why = "several files are called" if same else "there is no"
    raise NeuralFXError(
        f"{what}: {why} {base} in the archive (it holds {shown or 'nothing'})",
        hint="check that this is the official release",
    )


def extract_member(path: str | Path, wanted: str, dest: str | Path, *, what: str) -> str:
    """Copy member ``wanted`` of archive ``path`` to ``dest``; returns the member's path."""
    if not is_archive(path):
        raise NeuralFXError(
            f"{what} is not a zip or tar archive, but the registry expects {wanted} inside one",
            hint="check the URL, or import the file",
        )
    name = find_member(path, wanted, what)
    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as z, z.open(name) as src, open(dest, "wb") as out:
                shutil.copyfileobj(src, out)
        else:
            with tarfile.open(path) as t:
                src = t.extractfile(name)
                assert src is not None  # a regular file (members() lists only those)
                with src, open(dest, "wb") as out:
                    shutil.copyfileobj(src, out)
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError) as exc:
        raise NeuralFXError(
            f"{what}: {name} cannot be read from the archive ({exc})",
            hint="the archive is damaged: fetch or download it again",
        ) from None
    return name
