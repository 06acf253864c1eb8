"""UTKFace (Zhang, Song, Qi 2017) → unified records, labels read from the file names.

Names are ``<age>_<gender>_<race>_<datetime>.jpg.chip.jpg`` (gender 0 = male, 1 = female, race 0–4).
Ages map strictly onto the Adience groups (DESIGN §3): a gap age (3, 7, 14, 21–24, …) keeps its
years and gender but gets no age group. A name with a field missing (``61_3_2017….jpg.chip.jpg``:
the race is gone, so the second number cannot be trusted as a gender) is reported and skipped.
"""

from __future__ import annotations

import re
from pathlib import Path

from agegender import labels
from agegender.datasets.files import image_files
from agegender.manifest import DropLog, Manifest, Record

SOURCE = "utkface"
_NAME = re.compile(r"^(?P<age>\d+)_(?P<gender>\d+)_(?P<race>\d+)_(?P<stamp>\d+)\s*\.?(jpe?g|png)", re.IGNORECASE | re.ASCII)
MAX_AGE = 116


def parse_name(name: str) -> tuple[int, int, str] | str:
    """``(age_years, gender_index, race)`` from a UTKFace file name, or the reason it is malformed."""
    m = _NAME.match(name)
    if m is None:
        fields = name.split(".")[0].split("_")
        if len(fields) == 3 and all(f.isascii() and f.isdigit() for f in fields):
            return "malformed name: 3 fields instead of 4 (race missing, gender untrustworthy)"
        return "malformed name: expected <age>_<gender>_<race>_<datetime>.jpg"
    age, gender, race = int(m["age"]), int(m["gender"]), int(m["race"])
    if gender not in (0, 1):
        return f"malformed name: gender {gender} is not 0 or 1"
    if race > 4:
        return f"malformed name: race {race} is not 0-4"
    if age > MAX_AGE:
        return f"malformed name: age {age} out of range"
    return age, gender, labels.RACES[race]


def load(root: str | Path, drops: DropLog | None = None) -> Manifest:
    """All UTKFace images under ``root`` (searched recursively), paths relative to ``root``."""
    base = Path(root)
    if not base.is_dir():
        raise FileNotFoundError(f"{base}: no such folder (expected UTKFace images)")
    drops = drops if drops is not None else DropLog()
    records = []
    gap = 0
    for p, rel in image_files(base, base, drops):
        parsed = parse_name(p.name)
        if isinstance(parsed, str):
            drops.add(parsed, rel)
            continue
        age, gender, race = parsed
        group = labels.age_group_of_years(age)
        gap += group is None
        records.append(Record(path=rel, root=str(base), source=SOURCE, key=rel, age_group=group, gender=gender,
                              age_years=float(age), race=race))
    if not records and not drops.total:
        raise FileNotFoundError(f"{base}: no images found")
    notes = [
        f"utkface: {len(records)} images from {base}; {gap} have a gap age "
        "(3, 7, 14, 21-24, 33-37, 44-47, 54-59): no age group, kept for gender"
    ]
    return Manifest(records, drops, notes)
