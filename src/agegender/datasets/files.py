"""Walking a dataset folder for image files, the same way in every loader."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from agegender.imaging import os_problem
from agegender.inputs import IMAGE_SUFFIXES as PHOTO_SUFFIXES
from agegender.manifest import DropLog
from agegender.paths import walk_files

#: What prediction reads, and Color FERET's bzip2-compressed PPMs.
IMAGE_SUFFIXES = (*sorted(PHOTO_SUFFIXES), ".ppm.bz2")


def image_files(folder: Path, base: Path | None = None, drops: DropLog | None = None) -> Iterator[tuple[Path, str]]:
    """``(path, path relative to base)`` of every image under ``folder``, recursively and sorted, each
    real file once (see :mod:`agegender.paths`). Other files, names that are not valid UTF-8 (a
    manifest could not store them) and unreadable folders are counted in ``drops`` with the reason."""
    base = base or folder

    def unreadable(where: str, e: OSError) -> None:
        if drops is not None:
            drops.add("folder cannot be read", where, os_problem(e, "folder"))

    for p in sorted(walk_files(folder, unreadable)):
        rel = p.relative_to(base).as_posix()
        try:
            rel.encode("utf-8")
        except UnicodeEncodeError:
            if drops is not None:
                drops.add("file or folder name is not valid UTF-8", ascii(rel))
            continue
        if not p.name.lower().endswith(IMAGE_SUFFIXES):
            if drops is not None:
                drops.add("not an image file name", rel)
            continue
        yield p, rel
