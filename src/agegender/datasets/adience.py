"""Adience (Levi & Hassner 2015) → unified records, from the fold files as they really are.

``fold_{0..4}_data.txt`` rows carry odd age strings (``(38, 42)``, bare ``35``, ``None``), gender
``u`` or empty, and repeated images. Two modes (DESIGN §2):

* ``strict`` (default, the benchmark): only the 8 standard age strings and gender m/f, one row per
  unique image → 16,156 images.
* ``lenient`` (training only): also maps non-standard strings with the one table below.

Every row left out is counted by reason; malformed lines are reported with file:line.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from agegender import labels
from agegender.manifest import DropLog, Manifest, Record

SOURCE = "adience"
FOLD_FILE = "fold_{k}_data.txt"
NUM_FOLDS = 5
HEADER = ("user_id", "original_image", "face_id", "age", "gender")
#: The two image layouts of the Adience download: folder and file-name prefix.
LAYOUTS = {
    "aligned": ("aligned", "landmark_aligned_face"),
    "faces": ("faces", "coarse_tilt_aligned_face"),
}
MODES = ("strict", "lenient")

_RANGE = re.compile(r"^\(\s*(\d+)\s*,\s*(\d+)\s*\)$", re.ASCII)  # ASCII: "٣٥" is no age
_NUMBER = re.compile(r"^\d+(\.\d+)?$", re.ASCII)


def image_path(user_id: str, face_id: str, original_image: str, layout: str = "aligned") -> str:
    """Path of an image relative to the Adience root, e.g. ``aligned/<user>/landmark_aligned_face.<id>.<img>``."""
    folder, prefix = LAYOUTS[layout]
    return f"{folder}/{user_id}/{prefix}.{face_id}.{original_image}"


def parse_age(text: str, mode: str = "strict") -> tuple[int | None, str | None]:
    """An Adience age string → ``(group index, None)`` or ``(None, drop reason)``.

    Lenient table (DESIGN §2): a range goes to the group holding most of its integer years
    (``(38, 42)``, ``(38, 48)`` → 38-43; ``(27, 32)``, ``(25, 23)`` → 25-32); a tie such as ``(8, 23)``
    is dropped; a bare number goes to its group, else the nearest, ties to the older group; ``None``
    is dropped.
    """
    s = text.strip()
    if s in labels.ADIENCE_AGE_STRINGS:
        return labels.ADIENCE_AGE_STRINGS.index(s), None
    if s in ("", "None"):
        return None, "age missing (None)" if s == "None" else "age missing (empty)"
    m = _RANGE.match(s)
    if mode == "strict":
        return None, f"non-standard age {s!r}"
    if m:
        group = labels.age_group_of_range(int(m.group(1)), int(m.group(2)))
        return (group, None) if group is not None else (None, "age range spans two groups equally")
    if _NUMBER.match(s):
        return labels.nearest_age_group(float(s)), None
    return None, "unreadable age string"


def parse_gender(text: str) -> tuple[int | None, str | None]:
    s = text.strip().lower()
    if s in labels.GENDERS:
        return labels.GENDERS.index(s), None
    if s == "u":
        return None, "gender unknown (u)"
    if s == "":
        return None, "gender missing (empty)"
    return None, "unreadable gender"


@dataclass
class FoldRow:
    """One parsed row of a fold file, before mode filtering."""

    fold: int
    line: int
    user_id: str
    original_image: str
    face_id: str
    age: str
    gender: str


#: A fold-file line longer than this is not a label row (real rows are ~100 bytes).
MAX_LINE = 4096


def label_lines(path: Path, drops: DropLog) -> list[tuple[int, str]]:
    """``(line number, text)`` of a label file's non-empty lines, a UTF-8 BOM ignored.

    Lines that are not valid UTF-8, hold NUL bytes or are longer than :data:`MAX_LINE` bytes are
    dropped into ``drops`` with ``file:line`` — a damaged row never reaches a manifest or a path.
    """
    raw = path.read_bytes()
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    out = []
    for n, line in enumerate(raw.splitlines(), start=1):  # \n, \r\n and \r alike
        where = f"{path.name}:{n}"
        if len(line) > MAX_LINE:
            drops.add(f"malformed line (longer than {MAX_LINE} bytes)", where, f"{len(line):,} bytes")
            continue
        if b"\x00" in line:
            drops.add("malformed line (NUL byte)", where, repr(line[:80]))
            continue
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError:
            drops.add("malformed line (not valid UTF-8)", where, repr(line[:80]))
            continue
        if text.strip():
            out.append((n, text))
    return out


def _path_part(text: str) -> bool:
    """Whether ``text`` can be one component of an image path (no separators, not ``.``/``..``)."""
    return bool(text) and text not in (".", "..") and not any(c in text for c in "/\\")


def read_fold_file(path: Path, fold: int, drops: DropLog) -> list[FoldRow]:
    """Rows of one ``fold_k_data.txt``; malformed lines go to ``drops`` with ``file:line``."""
    rows: list[FoldRow] = []
    lines = label_lines(path, drops)
    if not lines:
        drops.add("empty fold file", str(path))
        return rows
    first, head = lines[0]
    header = [h.strip().lower() for h in head.split("\t")]
    if tuple(header[: len(HEADER)]) != HEADER:
        raise ValueError(f"{path}:{first}: not an Adience fold file (header starts {header[:5]}, expected {list(HEADER)})")
    for n, line in lines[1:]:
        cells = line.split("\t")
        if len(cells) < len(HEADER):
            drops.add("malformed line (too few columns)", f"{path.name}:{n}", repr(line[:80]))
            continue
        user_id, original_image, face_id = (c.strip() for c in cells[:3])
        if not (_path_part(user_id) and _path_part(original_image) and face_id.isascii() and face_id.isdigit()):
            drops.add("malformed line (bad user/image/face id)", f"{path.name}:{n}", repr(line[:80]))
            continue
        rows.append(FoldRow(fold, n, user_id, original_image, face_id, cells[3], cells[4]))
    return rows


def load(
    folds_dir: str | Path,
    mode: str = "strict",
    layout: str = "aligned",
    images_root: str | Path | None = None,
) -> Manifest:
    """Build the unified Adience dataset from ``fold_{0..4}_data.txt`` in ``folds_dir``.

    ``folds_dir`` may be the folder holding the fold files, or any folder above it (the download's
    ``Folds/`` or ``Folds/original_txt_files``). ``images_root`` is the folder holding ``aligned/`` and
    ``faces/``; it is stored with the records so image paths resolve later.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {tuple(LAYOUTS)}, got {layout!r}")
    files = find_fold_files(folds_dir)
    drops = DropLog()
    records: list[Record] = []
    seen: dict[str, tuple[int, int, int, str]] = {}
    for fold, path in files:
        for row in read_fold_file(path, fold, drops):
            where = f"{path.name}:{row.line}"
            age, why = parse_age(row.age, mode)
            if why:
                drops.add(why, where, repr(row.age.strip()))
                continue
            gender, why = parse_gender(row.gender)
            if why:
                drops.add(why, where, repr(row.gender.strip()))
                continue
            key = f"{row.user_id}/{row.face_id}/{row.original_image}"
            if key in seen:
                prev = seen[key]
                if prev[:3] == (age, gender, fold):
                    drops.add("duplicate image (same labels, counted once)", where, f"first at {prev[3]}")
                else:
                    drops.add("duplicate image with conflicting labels (first kept)", where, f"first at {prev[3]}")
                continue
            seen[key] = (age, gender, fold, where)
            records.append(
                Record(
                    path=image_path(row.user_id, row.face_id, row.original_image, layout),
                    root="" if images_root is None else str(images_root),
                    source=SOURCE,
                    key=key,
                    subject=row.user_id,
                    fold=fold,
                    age_group=age,
                    gender=gender,
                )
            )
    notes = [f"adience: mode={mode}, layout={layout}, fold files from {files[0][1].parent}"]
    return Manifest(records, drops, notes)


def find_fold_files(folds_dir: str | Path) -> list[tuple[int, Path]]:
    """Locate the 5 fold files under ``folds_dir``; one clear error if any is missing."""
    base = Path(folds_dir)
    if not base.exists():
        raise FileNotFoundError(f"{base}: no such folder (expected the Adience fold files here)")
    for cand in (base, base / "original_txt_files", base / "Folds" / "original_txt_files"):
        paths = [cand / FOLD_FILE.format(k=k) for k in range(NUM_FOLDS)]
        if any(p.is_file() for p in paths):
            missing = [p.name for p in paths if not p.is_file()]
            if missing:
                raise FileNotFoundError(f"{cand}: missing fold file(s) {', '.join(missing)}")
            return list(enumerate(paths))
    raise FileNotFoundError(f"{base}: no fold_0_data.txt … fold_4_data.txt here or in original_txt_files/")


# --------------------------------------------------------------------------- per-fold lists

_LIST_NAME = re.compile(r"^(age|gender)_(train|train_subset|val|test)\.txt$")
_LIST_IMAGE = re.compile(r"^(?P<user>[^/]+)/landmark_aligned_face\.(?P<face>\d+)\.(?P<image>.+)$", re.ASCII)


@dataclass
class FoldListReport:
    """What the ``train_val_txt_files_per_fold`` lists hold, and where they disagree with the fold files."""

    images: int                      # images with both an age and a gender class in the lists
    only_in_lists: list[str]
    only_in_fold_files: list[str]
    label_conflicts: list[str]
    fold_conflicts: list[str]
    drops: DropLog
    #: test fold k → (images with both labels in test_fold_is_k/, fold-file images missing there)
    per_folder: dict[int, tuple[int, list[str]]]

    def lines(self) -> list[str]:
        out = [
            f"per-fold lists: {self.images} images with age and gender",
            f"  in the fold files (strict) but not the lists: {len(self.only_in_fold_files)}"
            + (f"  e.g. {', '.join(self.only_in_fold_files[:3])}" if self.only_in_fold_files else ""),
            f"  in the lists but not the fold files (strict): {len(self.only_in_lists)}"
            + (f"  e.g. {', '.join(self.only_in_lists[:3])}" if self.only_in_lists else ""),
            f"  label disagreements: {len(self.label_conflicts)}"
            + (f"  e.g. {', '.join(self.label_conflicts[:3])}" if self.label_conflicts else ""),
            f"  test-fold disagreements: {len(self.fold_conflicts)}"
            + (f"  e.g. {', '.join(self.fold_conflicts[:3])}" if self.fold_conflicts else ""),
        ]
        for k, (n, missing) in sorted(self.per_folder.items()):
            out.append(
                f"  test_fold_is_{k}/ (train+val+test): {n} images"
                + (f", missing {len(missing)} of the fold files' images: {', '.join(missing[:3])}" if missing else "")
            )
        if self.drops.total:
            out.append(f"  unreadable list lines: {self.drops.total}")
            out.extend(self.drops.lines())
        return out


def read_fold_lists(lists_dir: str | Path) -> tuple[dict[str, dict], dict[int, set[str]], DropLog]:
    """Parse ``test_fold_is_{k}/{age,gender}_{split}.txt``.

    Returns key → {age, gender, test_fold} over all folders, and per folder the keys that have both
    an age and a gender line there (train, val or test).
    """
    base = Path(lists_dir)
    if (base / "train_val_txt_files_per_fold").is_dir():
        base = base / "train_val_txt_files_per_fold"
    if not base.is_dir():
        raise FileNotFoundError(f"{base}: no such folder (expected train_val_txt_files_per_fold)")
    drops = DropLog()
    info: dict[str, dict] = defaultdict(dict)
    per_folder: dict[int, set[str]] = {}
    found = 0
    for k in range(NUM_FOLDS):
        d = base / f"test_fold_is_{k}"
        if not d.is_dir():
            raise FileNotFoundError(f"{d}: missing per-fold list folder")
        tasks: dict[str, set[str]] = {"age": set(), "gender": set()}
        for f in sorted(d.iterdir()):
            m = _LIST_NAME.match(f.name)
            if not m:
                continue
            found += 1
            task, split = m.groups()
            for n, line in label_lines(f, drops):
                parts = line.strip().rsplit(maxsplit=1)
                im = _LIST_IMAGE.match(parts[0]) if len(parts) == 2 else None
                if im is None or not (parts[1].isascii() and parts[1].isdigit()):
                    drops.add("malformed list line", f"{d.name}/{f.name}:{n}", repr(line[:80]))
                    continue
                cls = int(parts[1])
                limit = labels.NUM_AGE_GROUPS if task == "age" else labels.NUM_GENDERS
                if cls >= limit:
                    drops.add("class index out of range", f"{d.name}/{f.name}:{n}", repr(line[:80]))
                    continue
                key = f"{im['user']}/{im['face']}/{im['image']}"
                entry = info[key]
                entry.setdefault(task, cls)
                tasks[task].add(key)
                if split == "test":
                    entry.setdefault("test_fold", k)
        per_folder[k] = tasks["age"] & tasks["gender"]
    if not found:
        raise FileNotFoundError(f"{base}: no age_*.txt / gender_*.txt lists found")
    return dict(info), per_folder, drops


def compare_fold_lists(manifest: Manifest, lists_dir: str | Path) -> FoldListReport:
    """Compare the per-fold lists with a strict manifest built from the fold files."""
    info, per_folder, drops = read_fold_lists(lists_dir)
    both = {k: v for k, v in info.items() if "age" in v and "gender" in v}
    by_key = {r.key: r for r in manifest.records if r.source == SOURCE}
    only_lists = sorted(set(both) - set(by_key))
    only_files = sorted(set(by_key) - set(both))
    label_conf, fold_conf = [], []
    for key in sorted(set(both) & set(by_key)):
        r, e = by_key[key], both[key]
        if (r.age_group, r.gender) != (e["age"], e["gender"]):
            label_conf.append(key)
        if "test_fold" in e and e["test_fold"] != r.fold:
            fold_conf.append(key)
    folders = {k: (len(keys), sorted(set(by_key) - keys)) for k, keys in per_folder.items()}
    return FoldListReport(len(both), only_lists, only_files, label_conf, fold_conf, drops, folders)
