"""Walking a dataset folder for image files, the same way in every loader."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from agegender.manifest import DropLog

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".ppm", ".ppm.bz2", ".pgm")


def image_files(folder: Path, base: Path | None = None, drops: DropLog | None = None) -> Iterator[tuple[Path, str]]:
    """``(path, path relative to base)`` of every image under ``folder``, recursively and sorted;
    other files are counted in ``drops`` as "not an image file name"."""
    base = base or folder
    for p in sorted(folder.rglob("*")):
        if not p.is_file():
            continue
        rel = p.relative_to(base).as_posix()
        if not p.name.lower().endswith(IMAGE_SUFFIXES):
            if drops is not None:
                drops.add("not an image file name", rel)
            continue
        yield p, rel
