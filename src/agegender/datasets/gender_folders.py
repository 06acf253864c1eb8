"""Gender-only face sets laid out as ``<root>/male/…`` and ``<root>/female/…`` (e.g. CelebA crops).

Age is left empty, never guessed: training and evaluation use such rows for gender alone.
"""

from __future__ import annotations

from pathlib import Path

from agegender.datasets.files import image_files
from agegender.manifest import DropLog, Manifest, Record

FOLDERS = {"male": 0, "m": 0, "men": 0, "female": 1, "f": 1, "women": 1}


def load(root: str | Path, source: str | None = None) -> Manifest:
    """Every image under ``root/<gender folder>/`` (recursively); unknown folders are reported."""
    base = Path(root)
    if not base.is_dir():
        raise FileNotFoundError(f"{base}: no such folder (expected male/ and female/ inside)")
    source = source or base.name
    drops = DropLog()
    records = []
    gender_dirs = [d for d in sorted(base.iterdir()) if d.is_dir() and d.name.lower() in FOLDERS]
    if not gender_dirs:
        raise FileNotFoundError(f"{base}: no male/ or female/ folder inside")
    for d in sorted(base.iterdir()):
        if d.is_dir() and d.name.lower() not in FOLDERS:
            drops.add("folder is not a gender name (skipped)", d.name)
    for d in gender_dirs:
        gender = FOLDERS[d.name.lower()]
        for _, rel in image_files(d, base, drops):
            records.append(Record(path=rel, root=str(base), source=source, key=rel, gender=gender))
    notes = [f"{source}: {len(records)} gender-only images from {base} (age left empty)"]
    return Manifest(records, drops, notes)
