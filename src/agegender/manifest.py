"""The unified manifest: one row per face image from any source, with whichever labels it has.

Format: a CSV (or Parquet) file plus a ``<name>.summary.json`` beside it with the counts and the
drops by reason. Columns (in this order):

``path``        image path relative to ``root`` (or absolute when ``root`` is empty)
``root``        the folder the source was read from (empty when unknown, e.g. Adience labels only)
``source``      e.g. ``adience``, ``utkface``, ``celeba-gender``
``key``         unique id of the image within its source (de-duplication)
``subject``     person / uploader id when the source has one (subject-exclusive splits)
``fold``        the source's own fold, when it has one (Adience 0–4)
``age_group``   one of ``labels.AGE_GROUPS`` or empty
``gender``      ``m`` / ``f`` or empty
``age_years``   the age in years when the source gives it, else empty
``race``        the source's race label (UTKFace: white, black, asian, indian, others; FairFace's seven), else
                empty; for per-group accuracy only
``age_range``   the age range when the source labels one instead of years (FairFace: ``3-9``, ``70+``), else
                empty; a range that one group holds also fills ``age_group``

A missing label stays empty; it is never guessed. Writes go to a temporary file renamed into place,
so a failed write never leaves a partial manifest.
"""

from __future__ import annotations

import csv
import json
import os
import tempfile
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from agegender import labels

COLUMNS = ("path", "root", "source", "key", "subject", "fold", "age_group", "gender", "age_years", "race", "age_range")


class ManifestError(ValueError):
    """A manifest file that cannot be read; the message names the file and line."""


@dataclass
class Record:
    """One face image and its labels (indices into ``labels.AGE_GROUPS`` / ``labels.GENDERS``)."""

    path: str
    source: str
    key: str
    root: str = ""
    subject: str | None = None
    fold: int | None = None
    age_group: int | None = None
    gender: int | None = None
    age_years: float | None = None
    race: str | None = None
    age_range: labels.AgeRange | None = None

    @property
    def full_path(self) -> Path:
        return Path(self.root) / self.path if self.root else Path(self.path)

    @property
    def age_low(self) -> float | None:
        """The youngest age the labels allow: the years, else the low end of the range, else of the group."""
        if self.age_years is not None:
            return self.age_years
        if self.age_range is not None:
            return float(self.age_range[0])
        return None if self.age_group is None else float(labels.AGE_BOUNDS[self.age_group][0])

    @property
    def has_both(self) -> bool:
        return self.age_group is not None and self.gender is not None

    def to_row(self) -> dict[str, str]:
        return {
            "path": self.path,
            "root": self.root,
            "source": self.source,
            "key": self.key,
            "subject": self.subject or "",
            "fold": "" if self.fold is None else str(self.fold),
            "age_group": "" if self.age_group is None else labels.AGE_GROUPS[self.age_group],
            "gender": "" if self.gender is None else labels.GENDERS[self.gender],
            "age_years": "" if self.age_years is None else f"{self.age_years:g}",
            "race": self.race or "",
            "age_range": "" if self.age_range is None else labels.format_age_range(self.age_range),
        }

    @classmethod
    def from_row(cls, row: dict[str, str]) -> Record:
        def opt(name: str) -> str | None:
            v = (row.get(name) or "").strip()
            return v or None

        for name in ("path", "source"):
            if opt(name) is None:
                raise ValueError(f"no {name} (a row cut short, or a line that is not a manifest row?)")
        fold, age, gender, years, span = opt("fold"), opt("age_group"), opt("gender"), opt("age_years"), opt("age_range")
        age_range = None if span is None else labels.parse_age_range(span)
        if span is not None and age_range is None:
            raise ValueError(f"age_range {span!r} is not a range such as 3-9 or 70+")
        return cls(
            path=row["path"],
            root=row.get("root") or "",
            source=row["source"],
            key=row.get("key") or row["path"],
            subject=opt("subject"),
            fold=None if fold is None else int(fold),
            age_group=None if age is None else labels.age_index(age),
            gender=None if gender is None else labels.gender_index(gender),
            age_years=None if years is None else float(years),
            race=opt("race"),
            age_range=age_range,
        )


@dataclass
class DropLog:
    """Why rows or files were left out: counts by reason plus the first few examples of each.

    Every loader fills one; every build prints it and writes it into the summary JSON.
    """

    counts: Counter = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    max_examples: int = 5

    def add(self, reason: str, where: str = "", detail: str = "") -> None:
        self.counts[reason] += 1
        if len(self.examples[reason]) < self.max_examples:
            self.examples[reason].append(f"{where}: {detail}".strip(": ") if detail else where)

    def extend(self, other: DropLog) -> None:
        for reason, n in other.counts.items():
            self.counts[reason] += n
            room = self.max_examples - len(self.examples[reason])
            self.examples[reason].extend(other.examples.get(reason, [])[: max(room, 0)])

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def to_dict(self) -> dict:
        return {
            "total": self.total,
            "by_reason": dict(sorted(self.counts.items(), key=lambda kv: -kv[1])),
            "examples": {k: v for k, v in self.examples.items() if v},
        }

    def lines(self) -> list[str]:
        out = []
        for reason, n in sorted(self.counts.items(), key=lambda kv: -kv[1]):
            ex = self.examples.get(reason) or []
            out.append(f"  {n:>6}  {reason}" + (f"   e.g. {ex[0]}" if ex else ""))
        return out


@dataclass
class Manifest:
    """A list of records plus the drop log of the build that made them."""

    records: list[Record]
    drops: DropLog = field(default_factory=DropLog)
    notes: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.records)

    def __iter__(self) -> Iterator[Record]:
        return iter(self.records)

    # ----- views for frameworks (the seed project's names) -----

    def labelled(self) -> list[Record]:
        """Records with both an age group and a gender (what a 2-hot model trains and tests on)."""
        return [r for r in self.records if r.has_both]

    def age_gender_per_image(self) -> dict[str, tuple[int, int]]:
        """The seed's ``age_gender_per_image``: image path → ``(age_index, gender_index)``."""
        return {str(r.full_path): (r.age_group, r.gender) for r in self.labelled()}

    def one_hot_labels(self) -> dict[str, np.ndarray]:
        """The seed's ``One_Hot_Labels``: image path → 2-hot 10-vector."""
        return {p: labels.to_two_hot(a, g) for p, (a, g) in self.age_gender_per_image().items()}

    def arrays(self, kind: str = "two_hot") -> tuple[list[str], np.ndarray]:
        """``(image paths, labels)`` for the fully labelled records: ``kind`` is ``two_hot`` or ``tuple``."""
        recs = self.labelled()
        tuples = [(r.age_group, r.gender) for r in recs]
        paths = [str(r.full_path) for r in recs]
        if kind == "two_hot":
            return paths, labels.two_hot_matrix(tuples)
        if kind == "tuple":
            return paths, np.asarray(tuples, dtype=np.int64).reshape(-1, 2)
        raise ValueError(f"kind must be 'two_hot' or 'tuple', got {kind!r}")

    def with_root(self, root: str | os.PathLike) -> Manifest:
        """The same records with their images root set (e.g. an Adience download found later)."""
        recs = [Record(**{**asdict(r), "root": str(root)}) for r in self.records]
        return Manifest(recs, self.drops, list(self.notes))

    def check_images(self) -> list[Record]:
        """Records whose image file does not exist; reported, never fatal."""
        from agegender.paths import is_file

        return [r for r in self.records if not is_file(r.full_path)]

    # ----- statistics -----

    def stats(self) -> dict:
        """Counts per source, per age group × gender, per fold, per race and age range (where labelled), and the drops."""
        table: dict[str, dict[str, int]] = {}
        for ag in list(labels.AGE_GROUPS) + ["(none)"]:
            table[ag] = {"m": 0, "f": 0, "(none)": 0}
        for r in self.records:
            ag = "(none)" if r.age_group is None else labels.AGE_GROUPS[r.age_group]
            g = "(none)" if r.gender is None else labels.GENDERS[r.gender]
            table[ag][g] += 1
        return {
            "images": len(self.records),
            "labelled_both": sum(r.has_both for r in self.records),
            "male": sum(r.gender == 0 for r in self.records),
            "female": sum(r.gender == 1 for r in self.records),
            "by_source": dict(Counter(r.source for r in self.records)),
            "by_fold": {str(k): v for k, v in sorted(Counter(r.fold for r in self.records if r.fold is not None).items())},
            "by_race": dict(sorted(Counter(r.race for r in self.records if r.race).items())),
            "by_age_range": {labels.format_age_range(k): v for k, v in
                             sorted(Counter(r.age_range for r in self.records if r.age_range).items(),
                                    key=lambda kv: (kv[0][0], kv[0][1] is None, kv[0][1] or 0))},
            "by_age_gender": table,
            "drops": self.drops.to_dict(),
            "notes": self.notes,
        }


def merge(manifests: list[Manifest], names: list[str] | None = None) -> Manifest:
    """One manifest from several; a row whose (source, key) or image file was already taken is
    dropped as a duplicate (first wins) and counted. Drops and notes of the inputs are kept."""
    names = names or [f"input {i + 1}" for i in range(len(manifests))]
    drops = DropLog()
    notes: list[str] = []
    seen_keys: set[tuple[str, str]] = set()
    seen_files: set[str] = set()
    records = []
    for name, m in zip(names, manifests):
        drops.extend(m.drops)
        notes.extend(m.notes)
        kept = 0
        for r in m.records:
            fp = str(r.full_path.resolve()) if r.root else ""
            if (r.source, r.key) in seen_keys:
                drops.add("duplicate (same source and key)", name, r.key)
                continue
            if fp and fp in seen_files:
                drops.add("duplicate (same image file)", name, r.path)
                continue
            seen_keys.add((r.source, r.key))
            if fp:
                seen_files.add(fp)
            records.append(r)
            kept += 1
        notes.append(f"merge: {kept} of {len(m)} rows from {name}")
    return Manifest(records, drops, notes)


def sample(manifest: Manifest, n: int, seed: int = 0) -> Manifest:
    """``n`` rows drawn at random without replacement (all when it has no more), kept in their order: a
    subset for a quick check that is not the first rows (manifests are sorted by file name, which UTKFace
    begins with the age and gender-folder sets with the gender)."""
    import numpy as np

    k = min(n, len(manifest))
    picked = np.sort(np.random.default_rng(seed).choice(len(manifest), size=k, replace=False))
    return Manifest([manifest.records[i] for i in picked], manifest.drops,
                    [*manifest.notes, f"sample: {k} of {len(manifest)} rows drawn at random (seed {seed})"])


def split_part(manifest: Manifest, parts: int, part: int) -> Manifest:
    """Part ``part`` (0-based) of ``parts`` by a hash of each record's subject (its key when it has none):
    the same records on every machine and in any row order, a subject's photos all in one part, so a part
    held out of training (e.g. half of a gender-only set) stays unseen whatever else is merged in."""
    import hashlib

    if not 0 <= part < parts:
        raise ValueError(f"part {part} is not one of 0…{parts - 1}")

    def which(r: Record) -> int:
        return int(hashlib.sha256((r.subject or r.key).encode()).hexdigest(), 16) % parts

    kept = [r for r in manifest.records if which(r) == part]
    return Manifest(kept, manifest.drops, [*manifest.notes, f"split: part {part} of {parts} by subject hash "
                                                            f"({len(kept)} of {len(manifest)} rows)"])


# --------------------------------------------------------------------------- atomic I/O

def atomic_write(path: str | os.PathLike, write) -> None:
    """Call ``write(tmp_path)`` then rename onto ``path``: readers never see a half-written file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the file the usual permissions
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def summary_path(path: str | os.PathLike) -> Path:
    p = Path(path)
    return p.with_name(p.name.rsplit(".", 1)[0] + ".summary.json")


def write(manifest: Manifest, path: str | os.PathLike) -> Path:
    """Write the manifest (``.csv`` or ``.parquet``) and its summary JSON, both atomically."""
    path = Path(path)
    rows = [r.to_row() for r in manifest.records]
    if path.suffix.lower() == ".parquet":
        def write_table(tmp: Path) -> None:
            import pandas as pd  # optional: only Parquet needs it

            pd.DataFrame(rows, columns=list(COLUMNS)).to_parquet(tmp, index=False)
    else:
        def write_table(tmp: Path) -> None:
            with open(tmp, "w", newline="", encoding="utf-8") as f:
                w = csv.DictWriter(f, fieldnames=COLUMNS)
                w.writeheader()
                w.writerows(rows)

    atomic_write(path, write_table)
    summary = json.dumps(manifest.stats(), indent=2)
    atomic_write(summary_path(path), lambda tmp: tmp.write_text(summary + "\n", encoding="utf-8"))
    return path


def read(path: str | os.PathLike) -> Manifest:
    """Read a manifest; a malformed row raises :class:`ManifestError` naming file and line."""
    path = Path(path)
    if not path.is_file():
        raise ManifestError(f"{path}: no such manifest file")
    if path.suffix.lower() == ".parquet":
        import pandas as pd

        raw: Iterable[dict] = pd.read_parquet(path).fillna("").astype(str).to_dict("records")
        start = 2
    else:
        f = open(path, newline="", encoding="utf-8-sig")
        raw = csv.DictReader(f)
        start = 2
        try:
            fieldnames = raw.fieldnames
        except (csv.Error, UnicodeDecodeError) as e:
            f.close()
            raise ManifestError(f"{path}:1: not a manifest ({e})") from None
        missing = {"path", "source"} - set(fieldnames or [])
        if missing:
            f.close()
            raise ManifestError(f"{path}:1: not a manifest (missing column(s) {', '.join(sorted(missing))})")
    records = []
    i = start - 1
    try:
        for i, row in enumerate(raw, start=start):
            try:
                records.append(Record.from_row(row))
            except (ValueError, KeyError, TypeError) as e:
                raise ManifestError(f"{path}:{i}: {e}") from None
    except csv.Error as e:  # e.g. a field over the csv module's size limit
        raise ManifestError(f"{path}:{i + 1}: not a readable CSV row ({e})") from None
    except UnicodeDecodeError as e:
        raise ManifestError(f"{path}: not valid UTF-8 (byte {e.start})") from None
    finally:
        if not isinstance(raw, list):
            f.close()
    drops = DropLog()
    sp = summary_path(path)
    if sp.is_file():
        try:
            d = json.loads(sp.read_text(encoding="utf-8")).get("drops", {})
            drops.counts.update(d.get("by_reason", {}))
        except (json.JSONDecodeError, AttributeError):
            pass
    return Manifest(records, drops)


# --------------------------------------------------------------------------- breakdown tables

def breakdown_rows(manifest: Manifest) -> list[list[str]]:
    """The per age group × gender table as rows: header, one row per group, totals."""
    t = manifest.stats()["by_age_gender"]
    rows = [["age group", "male", "female", "no gender", "total"]]
    groups = list(labels.AGE_GROUPS) + (["(none)"] if sum(t["(none)"].values()) else [])
    for ag in groups:
        c = t[ag]
        rows.append([ag, str(c["m"]), str(c["f"]), str(c["(none)"]), str(sum(c.values()))])
    tot = [sum(t[ag][g] for ag in t) for g in ("m", "f", "(none)")]
    rows.append(["total", *map(str, tot), str(sum(tot))])
    return rows


def format_table(rows: list[list[str]], style: str = "text") -> str:
    """Render rows as aligned ``text``, ``markdown`` or ``csv``."""
    if style == "csv":
        return "\n".join(",".join(r) for r in rows)
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    if style == "markdown":
        fmt = lambda r: "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |"  # noqa: E731
        return "\n".join([fmt(rows[0]), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *map(fmt, rows[1:])])
    return "\n".join("  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths))) for r in rows)


def report(manifest: Manifest, style: str = "text") -> str:
    """The breakdown table, source counts and drop counts every dataset build prints."""
    s = manifest.stats()
    parts = [format_table(breakdown_rows(manifest), style)]
    if style == "text":
        parts.append(
            f"{s['images']} images ({s['labelled_both']} with age group and gender), "
            f"{s['male']} male, {s['female']} female; by source: "
            + ", ".join(f"{k} {v}" for k, v in s["by_source"].items())
        )
        for what in ("fold", "race", "age_range"):
            if s[f"by_{what}"]:
                parts.append(f"by {what.replace('_', ' ')}: " + ", ".join(f"{k}: {v}" for k, v in s[f"by_{what}"].items()))
        if manifest.drops.total:
            parts.append(f"dropped {manifest.drops.total}:")
            parts.extend(manifest.drops.lines())
        parts.extend(manifest.notes)
    return "\n".join(parts)
