"""Loaders that add other public face datasets to the unified manifest, one function each.

Every loader maps ages in years strictly onto the 8 Adience groups (DESIGN §3: an age in a gap gets
no group but keeps its years and gender), counts what it drops by reason, and reports images that the
labels name but the folder lacks (and the reverse) without failing. Where a dataset's age labels
cannot be mapped onto the groups, the rows are used for gender only; docs/DATASETS.md says why.
"""

from __future__ import annotations

import csv
import re
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

from agegender import labels
from agegender.datasets.files import image_files
from agegender.manifest import DropLog, Manifest, Record
from agegender.paths import is_file


def _images(root: Path) -> list[Path]:
    return [p for p, _ in image_files(root)]


def _gender(value: object) -> int | None:
    s = str(value or "").strip().lower()
    return {"m": 0, "male": 0, "man": 0, "f": 1, "female": 1, "woman": 1}.get(s)


def _record(root: Path, path: Path, source: str, subject: str, gender: int | None, years: float | None) -> Record:
    rel = path.relative_to(root).as_posix()
    group = None if years is None else labels.age_group_of_years(years)
    return Record(path=rel, root=str(root), source=source, key=rel, subject=subject, gender=gender,
                  age_group=group, age_years=years)


def _require(root: Path, what: str) -> Path:
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: no such folder (expected {what})")
    return root


def _csv_rows(path: Path, need: set[str], drops: DropLog, delimiter: str = ",") -> Iterator[tuple[str, dict[str, str]]]:
    """The rows of a label CSV as ``(file:line, row)``, column names lower-cased and cells stripped; a row
    the csv module cannot read is counted and skipped; a missing column raises, naming the file.

    Undecodable bytes become U+FFFD: such a row names no file that exists and is dropped as missing."""
    with open(path, newline="", encoding="utf-8-sig", errors="replace") as f:
        reader = csv.DictReader(f, delimiter=delimiter)
        try:
            header = reader.fieldnames or []
        except csv.Error as e:
            raise ValueError(f"{path}:1: not a readable CSV header ({e})") from None
        missing = need - {c.strip().lower() for c in header}
        if missing:
            raise ValueError(f"{path}:1: missing column(s) {', '.join(sorted(missing))}")
        rows = iter(reader)
        while True:
            try:
                row = next(rows)
            except StopIteration:
                return
            except csv.Error as e:
                drops.add("unreadable CSV row", f"{path.name}:{reader.line_num}", str(e))
                continue
            yield (f"{path.name}:{reader.line_num}",
                   {k.strip().lower(): (v if isinstance(v, str) else "").strip() for k, v in row.items() if k is not None})


def _listed_image(root: Path, name: str, where: str, drops: DropLog, seen: set[str]) -> str | None:
    """The path relative to ``root`` of the image a label row names, added to ``seen``; None with the reason counted
    when it is outside ``root``, missing, or named by an earlier row (in ``seen``: the first row's labels kept)."""
    rel = Path(name)
    if rel.is_absolute() or ".." in rel.parts:
        drops.add("file outside the image folder", where, name[:80])
        return None
    p = root / rel
    if not name or not is_file(p):
        drops.add("listed image missing", where, name[:80])
        return None
    out = p.relative_to(root).as_posix()
    if out in seen:
        drops.add("repeated image (first row kept)", where, out[:80])
        return None
    seen.add(out)
    return out


# --------------------------------------------------------------------------- Chicago Face Database

def load_cfd(root: str | Path, workbook: str | Path | None = None, age: str = "auto") -> Manifest:
    """Chicago Face Database (v2.0.3 or v3.0): labels from its norming-data workbook.

    The header row is the one whose first cell is ``Target`` (v2: row 5) or ``Model`` (v3); every
    sheet holding such a row is read (v3's U.S., MR, I and INDIA sheets). ``age``: ``self`` uses a
    self-reported column (``AgeSelf``) when present, ``rated`` the raters' mean (``Age`` in v2,
    ``AgeRated`` in v3), ``auto`` (default) self-reported when the sheet has it, else rated — the notes
    say which. Images ``CFD-<model>-….jpg`` are matched to rows by the model id in their name.
    """
    from openpyxl import load_workbook

    root = _require(Path(root), "the Chicago Face Database folder")
    if workbook is None:
        books = sorted(p for p in root.rglob("*.xlsx") if "norming" in p.name.lower())
        if not books:
            raise FileNotFoundError(f"{root}: no '* Norming Data and Codebook.xlsx' workbook found (pass workbook=)")
        workbook = books[0]
    workbook = Path(workbook)
    drops = DropLog()
    notes = []
    rows: dict[str, tuple[int | None, float | None, str]] = {}
    wb = load_workbook(workbook, read_only=True, data_only=True)
    for ws in wb.worksheets:
        header_at, header = None, None
        for i, row in enumerate(ws.iter_rows(values_only=True), start=1):
            first = str(row[0]).strip() if row and row[0] is not None else ""
            if header is None:
                if first in ("Target", "Model"):
                    header_at, header = i, [str(c).strip() if c is not None else "" for c in row]
                    col = {name: j for j, name in enumerate(header)}
                    gcol = col.get("GenderSelf", col.get("Gender"))
                    self_col = col.get("AgeSelf")
                    rated_col = col.get("AgeRated", col.get("Age"))
                    acol = {"self": self_col, "rated": rated_col}.get(age, self_col if self_col is not None else rated_col)
                    kind = "self-reported" if acol is not None and acol == self_col else "rated"
                    notes.append(f"cfd: sheet '{ws.title}', header on row {i}, age {kind} "
                                 f"({header[acol] if acol is not None else 'none'}), gender {header[gcol] if gcol is not None else 'none'}")
                continue
            if not first:
                continue
            where = f"{workbook.name}[{ws.title}]:{i}"
            g = _gender(row[gcol]) if gcol is not None else None
            years = None
            if acol is not None and row[acol] not in (None, ""):
                years = labels.parse_years(row[acol])
                if years is None:
                    drops.add("unreadable age (kept for gender)", where, repr(row[acol]))
            if g is None and gcol is not None:
                drops.add("unreadable gender", where, repr(row[gcol]))
            if first in rows:
                drops.add("model listed twice (first row kept)", where, first)
                continue
            rows[first] = (g, years, where)
        if header_at is None:
            notes.append(f"cfd: sheet '{ws.title}' has no Target/Model header row (skipped)")
    wb.close()
    if not rows:
        raise ValueError(f"{workbook}: no sheet with a header row starting 'Target' (v2) or 'Model' (v3)")
    pattern = re.compile(r"^CFD-(.+)-[A-Z]+\.jpe?g$", re.IGNORECASE)
    records, used = [], set()
    for p in _images(root):
        m = pattern.match(p.name)
        if not m:
            continue
        stem = m.group(1)
        model = next((k for k in (stem, *("-".join(stem.split("-")[:n]) for n in range(len(stem.split("-")) - 1, 0, -1))) if k in rows), None)
        if model is None:
            drops.add("image without a norming row", p.relative_to(root).as_posix())
            continue
        g, years, _ = rows[model]
        used.add(model)
        records.append(_record(root, p, "cfd", model, g, years))
    for model in sorted(set(rows) - used):
        drops.add("norming row without an image", rows[model][2], model)
    return Manifest(records, drops, notes)


# --------------------------------------------------------------------------- Color FERET

_FERET_NAME = re.compile(r"^(?P<subj>\d{5})_(?P<date>\d{6})_(?P<pose>[a-z]{2})(?:_[a-z])?\.(ppm|ppm\.bz2|jpg|png)$", re.IGNORECASE | re.ASCII)


def _feret_truth(root: Path, drops: DropLog) -> dict[str, dict[str, str]]:
    truth: dict[str, dict[str, str]] = {}
    for p in sorted(root.rglob("*")):
        if not p.is_file():
            continue
        parts = {q.lower() for q in p.parts}
        if "ground_truths" not in parts:
            continue
        if p.suffix.lower() == ".txt" and "name_value" in parts:
            kv = {}
            for line in p.read_text(errors="replace").splitlines():
                if "=" in line:
                    k, v = line.split("=", 1)
                    kv[k.strip().lower()] = v.strip()
            sid = kv.get("id", "")
            if not sid.lower().startswith("cfrs"):
                continue  # a per-recording file (id=cfrR…) beside the subject's own <subj>.txt
            m = re.search(r"(\d{5})", sid, re.ASCII)
            if not m:
                drops.add("ground-truth file without a subject id", p.name)
                continue
            truth.setdefault(m.group(1), {}).update({k: v for k, v in kv.items() if k in ("gender", "yob", "race")})
        elif p.suffix.lower() == ".xml" and "xml" in parts and (p.stem.isascii() and p.stem.isdigit()):
            text = p.read_text(errors="replace")
            got = {k.lower(): v for k, v in re.findall(r"<(Gender|YOB|Race)\s+value=\"([^\"]*)\"", text)}
            if got:
                truth.setdefault(p.stem, {}).update({k: v for k, v in got.items() if k not in truth.get(p.stem, {})})
    return truth


def load_feret(root: str | Path, resolution: str = "images") -> Manifest:
    """Color FERET: gender and year of birth from ``ground_truths`` (name/value files, or XML), the
    capture date from the image name ``SSSSS_YYMMDD_PP[_x].ppm.bz2`` → age = 19YY − yob (±1 year).

    ``resolution``: which image folder to read (``images``, ``smaller`` or ``thumbnails``).
    """
    root = _require(Path(root), "the colorferet folder")
    drops = DropLog()
    truth = _feret_truth(root, drops)
    if not truth:
        raise FileNotFoundError(f"{root}: no ground_truths/name_value/*.txt or ground_truths/xml/*.xml found")
    records = []
    seen_subjects = set()
    for p in _images(root):
        if resolution not in {q.lower() for q in p.parts}:
            continue
        rel = p.relative_to(root).as_posix()
        m = _FERET_NAME.match(p.name)
        if not m:
            drops.add("malformed image name", rel)
            continue
        subj = m["subj"]
        t = truth.get(subj)
        if t is None:
            drops.add("image of a subject without ground truth", rel)
            continue
        seen_subjects.add(subj)
        g = _gender(t.get("gender"))
        years = None
        yob = t.get("yob", "")
        if yob.isascii() and yob.isdigit():
            yy = int(m["date"][:2])
            years = float((1900 + yy if yy >= 30 else 2000 + yy) - int(yob))
        else:
            drops.add("no year of birth (kept for gender)", rel, repr(yob))
        records.append(_record(root, p, "feret", subj, g, years))
    for subj in sorted(set(truth) - seen_subjects):
        drops.add("subject with ground truth but no image", subj)
    notes = [f"feret: {len(truth)} subjects with ground truth, {resolution}/ images; age = capture year − year of birth (±1)"]
    return Manifest(records, drops, notes)


# --------------------------------------------------------------------------- KDEF

_KDEF_NAME = re.compile(r"^([AB])([FM])(\d\d)(AF|AN|DI|HA|NE|SA|SU)(S|HL|HR|FL|FR)\.jpe?g$", re.IGNORECASE | re.ASCII)


def load_kdef(root: str | Path, frontal_only: bool = False) -> Manifest:
    """KDEF: gender and identity from the file-name code (``AF01ANS.JPG``).

    All 70 actors are documented only as "aged 20 to 30", a range that spans 15-20, the 21-24 gap and
    25-32: no age group is assigned (gender only), and no age in years is invented.
    """
    root = _require(Path(root), "the KDEF folder")
    drops = DropLog()
    records = []
    for p in _images(root):
        m = _KDEF_NAME.match(p.name)
        if not m:
            drops.add("name does not follow the KDEF code", p.relative_to(root).as_posix())
            continue
        if frontal_only and m.group(5).upper() != "S":
            continue
        g = 0 if m.group(2).upper() == "M" else 1
        records.append(_record(root, p, "kdef", f"{m.group(2).upper()}{m.group(3)}", g, None))
    notes = ["kdef: ages documented only as 20-30 for everyone: gender only (no age group)"]
    return Manifest(records, drops, notes)


# --------------------------------------------------------------------------- FaceTracer

#: FaceTracer's coarse age words → an Adience group, only where the word clearly falls in one group.
FACETRACER_AGE = {"baby": 0, "senior": 7}


def load_facetracer(labels_dir: str | Path, images_dir: str | Path, coarse_age: bool = False) -> Manifest:
    """FaceTracer: ``facelabels.txt`` (face_id, attribute, label; ``#`` comments, tab-separated).

    Gender from ``gender`` male/female. The ``age`` attribute is coarse (baby, child, youth,
    middle_aged, senior); by default it is not mapped (gender only). ``coarse_age=True`` maps only
    ``baby`` → 0-2 and ``senior`` → 60+ and leaves the others without a group. FaceTracer ships URLs,
    not images: ``images_dir`` is a folder of already-downloaded images named ``<face_id>.<ext>``;
    labelled faces without an image are reported as missing.
    """
    labels_dir = Path(labels_dir)
    lab = labels_dir / "facelabels.txt" if labels_dir.is_dir() else labels_dir
    if not lab.is_file():
        raise FileNotFoundError(f"{lab}: no facelabels.txt")
    images_dir = _require(Path(images_dir), "a folder of downloaded FaceTracer images")
    drops = DropLog()
    attrs: dict[str, dict[str, str]] = defaultdict(dict)
    for n, line in enumerate(lab.read_text(errors="replace").splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        cells = [c.strip() for c in line.split("\t")]
        if len(cells) < 3 or not (cells[0].isascii() and cells[0].isdigit()):
            drops.add("malformed label line", f"{lab.name}:{n}", repr(line[:60]))
            continue
        attrs[cells[0]][cells[1].lower()] = cells[2].lower()
    by_id = {p.name.split(".")[0]: p for p in _images(images_dir)}
    records = []
    for fid, a in sorted(attrs.items(), key=lambda kv: int(kv[0])):
        g = _gender(a.get("gender"))
        group = FACETRACER_AGE.get(a.get("age", "")) if coarse_age else None
        if g is None and group is None:
            drops.add("no usable label (gender or mapped age)", fid)
            continue
        p = by_id.get(fid)
        if p is None:
            drops.add("labelled face without a downloaded image", fid)
            continue
        r = _record(images_dir, p, "facetracer", fid, g, None)
        r.age_group = group
        records.append(r)
    notes = ["facetracer: coarse age words " + ("mapped only baby→0-2, senior→60+" if coarse_age else "not mapped (gender only)")]
    return Manifest(records, drops, notes)


# --------------------------------------------------------------------------- PAL / Aging Mind

def load_pal(root: str | Path, labels_csv: str | Path | None = None, pattern: str | None = None) -> Manifest:
    """PAL / Minear & Park face database (adults 18–93): ages and genders from a CSV or the file names.

    The on-disk naming of the download is not documented consistently, so the caller says where the
    labels are: ``labels_csv`` with columns ``file`` (path relative to ``root``), ``age`` and
    ``gender`` (m/f/male/female), or ``pattern``, a regular expression with named groups ``age`` and
    ``gender`` searched in each path relative to ``root`` (e.g. ``r"(?P<gender>[MF])_(?P<age>\\d+)"``).
    """
    root = _require(Path(root), "the PAL image folder")
    if (labels_csv is None) == (pattern is None):
        raise ValueError("give exactly one of labels_csv= (file, age, gender columns) or pattern= (named groups age, gender)")
    drops = DropLog()
    records = []
    if labels_csv is not None:
        m = load_labels_csv(labels_csv, root, "pal")
        for r in m:
            r.subject = Path(r.path).stem
        records, drops = m.records, m.drops
        notes = [f"pal: labels from {labels_csv}"]
    else:
        rx = re.compile(pattern, re.ASCII)
        if not {"age", "gender"} <= set(rx.groupindex):
            raise ValueError("pattern needs named groups (?P<age>…) and (?P<gender>…)")
        for p in _images(root):
            rel = p.relative_to(root).as_posix()
            m = rx.search(rel)
            if not m:
                drops.add("name does not match the pattern", rel)
                continue
            g = _gender(m["gender"])
            years = labels.parse_years(m["age"] or "")
            records.append(_record(root, p, "pal", p.stem, g, years))
        notes = [f"pal: labels from file names with pattern {pattern!r}"]
    return Manifest(records, drops, notes)


# --------------------------------------------------------------------------- FairFace

#: FairFace's label files, one per split (it publishes no test labels: papers report on ``val``).
FAIRFACE_LABELS = {"train": "fairface_label_train.csv", "val": "fairface_label_val.csv"}
#: FairFace's seven race labels → the manifest's spelling (lower case, one word each).
FAIRFACE_RACES = {"white": "white", "black": "black", "latino_hispanic": "latino_hispanic",
                  "east asian": "east_asian", "southeast asian": "southeast_asian", "indian": "indian",
                  "middle eastern": "middle_eastern"}


def load_fairface(root: str | Path, split: str = "val", mode: str = "strict", labels_csv: str | Path | None = None) -> Manifest:
    """FairFace (Kärkkäinen & Joo 2021; faces from Flickr, balanced over seven race groups): the label CSVs
    (``file, age, gender, race[, service_test]``) beside the ``train/`` and ``val/`` image folders of either
    download (margin 0.25 or 1.25).

    Its ages are nine bins (``0-2``, ``3-9``, ``10-19`` … ``60-69``, ``more than 70``), kept as ``age_range``.
    ``mode="strict"`` (any test) fills ``age_group`` only where one group holds the whole bin — 0-2 → 0-2;
    60-69 and 70+ → 60+ — the others training and testing gender only; ``"lenient"`` (training only) also
    gives each bin the group holding most of its years (``labels.age_group_of_any_range``). FairFace names no
    identities: every image is its own subject. ``split``: ``val``, ``train`` or ``both``; ``labels_csv``:
    one label file of this layout read instead (its ``file`` paths relative to ``root``).
    """
    root = _require(Path(root), "the FairFace folder (train/, val/ and the label CSVs)")
    if split not in (*FAIRFACE_LABELS, "both"):
        raise ValueError(f"split must be train, val or both, got {split!r}")
    if mode not in ("strict", "lenient"):
        raise ValueError(f"mode must be strict or lenient, got {mode!r}")
    if labels_csv is not None:
        files = [Path(labels_csv)]
    else:
        files = [root / FAIRFACE_LABELS[s] for s in (FAIRFACE_LABELS if split == "both" else [split])]
    for f in files:
        if not f.is_file():
            raise FileNotFoundError(f"{f}: no such label file (FairFace's are {' and '.join(FAIRFACE_LABELS.values())})")
    drops = DropLog()
    records, seen = [], set()
    for f in files:
        for where, row in _csv_rows(f, {"file", "age", "gender", "race"}, drops):
            rel = _listed_image(root, row["file"], where, drops, seen)
            if rel is None:
                continue
            span, g = labels.parse_age_range(row["age"]), _gender(row["gender"])
            if span is None and g is None:
                drops.add("no usable label (age and gender unreadable)", where, repr(f"{row['age'][:20]}, {row['gender'][:20]}"))
                continue
            if span is None:
                drops.add("unreadable age (kept for gender)", where, repr(row["age"][:40]))
            if g is None:
                drops.add("unreadable gender (kept for age)", where, repr(row["gender"][:40]))
            race = FAIRFACE_RACES.get(row["race"].lower().replace("-", " "))
            if race is None:
                drops.add("unknown race label (kept without race)", where, repr(row["race"][:40]))
            group = None
            if span is not None:
                group = labels.age_group_within(span) if mode == "strict" else labels.age_group_of_any_range(span)
            records.append(Record(path=rel, root=str(root), source="fairface", key=rel, gender=g, age_group=group,
                                  race=race, age_range=span))
    for folder in sorted({Path(rel).parts[0] for rel in seen if len(Path(rel).parts) > 1}):
        for _, rel in image_files(root / folder, base=root):
            if rel not in seen:
                drops.add("image without a label row", rel)
    notes = [f"fairface: {', '.join(f.name for f in files)}; age bins kept as age_range, "
             + ("age_group only where one group holds the whole bin (0-2, 60-69, 70+)" if mode == "strict"
                else "lenient: each bin's age_group is the group holding most of its years (training only)")]
    return Manifest(records, drops, notes)


# --------------------------------------------------------------------------- any labelled CSV

def load_labels_csv(labels_csv: str | Path, root: str | Path, source: str, file: str = "file", age: str = "age",
                    gender: str = "gender", race: str | None = None, subject: str | None = None,
                    male: tuple[str, ...] = (), female: tuple[str, ...] = (), delimiter: str = ",") -> Manifest:
    """Any face set whose labels sit in one CSV, a row per image: the columns named by ``file`` (a path
    relative to ``root``), ``age``, ``gender`` and, where the set has them, ``race`` and ``subject`` (a
    person's id, for subject-exclusive splits) — for sets without a loader of their own (APPA-REAL, MORPH,
    AgeDB, IMDB-clean …).

    An age cell is years (``35``, ``35.5``: mapped strictly onto the groups) or a range (``20-29``, ``70+``:
    kept as ``age_range``, a group only where one holds it all); an empty cell is no age. Gender: ``male``
    and ``female`` list the cell values that mean each (case-insensitive; say them when a set writes 0/1,
    whose meaning differs between sets), else m/male/man and f/female/woman. Race is kept as written, lower
    case with ``_`` for spaces. A row whose age and gender are both unusable is dropped; every problem is
    counted by reason with its ``file:line``."""
    labels_csv, root = Path(labels_csv), _require(Path(root), "the image folder the label file's paths start from")
    if not labels_csv.is_file():
        raise FileNotFoundError(f"{labels_csv}: no such label file")
    genders = {**{v.strip().lower(): 0 for v in male}, **{v.strip().lower(): 1 for v in female}}
    if set(map(str.lower, male)) & set(map(str.lower, female)):
        raise ValueError(f"a value cannot mean both genders: {sorted(set(map(str.lower, male)) & set(map(str.lower, female)))}")
    cols = {"file": file.lower(), "age": age.lower(), "gender": gender.lower(), "race": (race or "").lower(),
            "subject": (subject or "").lower()}
    drops = DropLog()
    records, seen = [], set()
    for where, row in _csv_rows(labels_csv, {c for c in cols.values() if c}, drops, delimiter):
        rel = _listed_image(root, row[cols["file"]], where, drops, seen)
        if rel is None:
            continue
        age_cell, gender_cell = row[cols["age"]], row[cols["gender"]]
        years = labels.parse_years(age_cell) if age_cell else None
        span = labels.parse_age_range(age_cell) if age_cell and years is None else None
        g = (genders.get(gender_cell.lower()) if genders else _gender(gender_cell)) if gender_cell else None
        age_ok, gender_ok = years is not None or span is not None, g is not None
        if not age_ok and not gender_ok:
            drops.add("no usable label (age and gender)", where, repr(f"{age_cell[:20]}, {gender_cell[:20]}"))
            continue
        if age_cell and not age_ok:
            drops.add("unreadable age (kept for gender)", where, repr(age_cell[:40]))
        if gender_cell and not gender_ok:
            drops.add("unreadable gender (kept for age)", where, repr(gender_cell[:40]))
        group = labels.age_group_of_years(years) if years is not None else labels.age_group_within(span) if span else None
        records.append(Record(path=rel, root=str(root), source=source, key=rel, subject=row.get(cols["subject"]) or None,
                              gender=g, age_group=group, age_years=years, age_range=span,
                              race=(row.get(cols["race"]) or "").lower().replace(" ", "_") or None))
    return Manifest(records, drops, [f"{source}: labels from {labels_csv} (columns {', '.join(f'{k}={v}' for k, v in cols.items() if v)})"])
