"""A person's review of labels, applied to a manifest: the step after an audit (:mod:`agegender.audit`).

An audit lists the faces a model contradicts; someone looks at them and writes down what they see. This
module reads that review — a CSV with a ``key`` column (as in the manifest and ``audit.csv``) and a
``gender`` and/or ``age_group`` column — and gives the manifest with those labels replaced, so a model can
be scored against what the faces show. A cell left empty or ``?`` keeps the label (the reviewer could not
tell: the data set's word stands, so an unclear face is never quietly dropped from the score); ``drop`` in
either column removes the face (not a face at all, two people, …). Other columns (the label seen, a note)
are ignored. The data set's files are never touched.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field, replace
from pathlib import Path

from agegender import labels
from agegender.manifest import Manifest, ManifestError

KEEP = ("", "?")
DROP = "drop"


@dataclass(frozen=True)
class Verdict:
    """What the reviewer saw for one face: a gender / age-group index, None to keep the label, or drop."""

    gender: int | None = None
    age_group: int | None = None
    drop: bool = False


@dataclass
class Review:
    """The verdicts by key, and each review line that could not be used, in plain words."""

    verdicts: dict[str, Verdict] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def read_review(path: str | Path) -> Review:
    """The review CSV → verdicts by key. A line with an unknown value or a key given twice is reported
    (file and line) and left out; the rest still count. A file without a ``key`` column, or with neither a
    ``gender`` nor an ``age_group`` column, is refused."""
    path = Path(path)
    review = Review()
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            cols = {c.strip() for c in reader.fieldnames or []}
            if "key" not in cols or not cols & {"gender", "age_group"}:
                raise ManifestError(f"{path}: a review needs a 'key' column and a 'gender' or 'age_group' column "
                                    f"(found: {', '.join(sorted(cols)) or 'no header'})")
            for line, row in enumerate(reader, start=2):
                row = {(k or "").strip(): (v or "").strip() for k, v in row.items()}
                key = row.get("key", "")
                if not key:
                    review.problems.append(f"{path}:{line}: no key")
                    continue
                if key in review.verdicts:
                    review.problems.append(f"{path}:{line}: {key} is reviewed twice; the first line counts")
                    continue
                try:
                    review.verdicts[key] = _verdict(row.get("gender", ""), row.get("age_group", ""))
                except ValueError as e:
                    review.problems.append(f"{path}:{line}: {key}: {e}")
    except UnicodeDecodeError as e:
        raise ManifestError(f"{path}: not a UTF-8 text file ({e.reason} at byte {e.start})") from None
    except csv.Error as e:
        raise ManifestError(f"{path}: not a readable CSV ({e})") from None
    return review


def _verdict(gender: str, age: str) -> Verdict:
    if DROP in (gender.lower(), age.lower()):
        return Verdict(drop=True)
    try:
        return Verdict(None if gender in KEEP else labels.gender_index(gender),
                       None if age in KEEP else labels.age_index(age))
    except ValueError as e:
        raise ValueError(f"{e} (or ? to keep the label, drop to leave the face out)") from None


@dataclass
class Applied:
    """The relabelled manifest and what the review changed."""

    manifest: Manifest
    changed_gender: int = 0
    changed_age: int = 0
    dropped: int = 0
    confirmed: int = 0  # reviewed, and the label stood (the same value, or kept with ?)
    unknown_keys: list[str] = field(default_factory=list)

    def summary(self) -> str:
        unknown = (f"; {len(self.unknown_keys)} reviewed key(s) not in the manifest (e.g. {self.unknown_keys[0]})"
                   if self.unknown_keys else "")
        return (f"review applied: {self.changed_gender} gender(s) and {self.changed_age} age group(s) changed, "
                f"{self.dropped} face(s) dropped, {self.confirmed} reviewed face(s) kept as labelled{unknown}")


def apply(manifest: Manifest, review: Review) -> Applied:
    """``manifest`` with the review's verdicts: labels replaced, dropped faces left out, the rest as they were."""
    out = Applied(Manifest([], drops=manifest.drops))
    seen = set()
    for r in manifest.records:
        v = review.verdicts.get(r.key)
        if v is None:
            out.manifest.records.append(r)
            continue
        seen.add(r.key)
        if v.drop:
            out.dropped += 1
            continue
        new = r
        if v.gender is not None and v.gender != r.gender:
            new, out.changed_gender = replace(new, gender=v.gender), out.changed_gender + 1
        if v.age_group is not None and v.age_group != r.age_group:
            # the group overrides the years and range it no longer agrees with
            new, out.changed_age = replace(new, age_group=v.age_group, age_years=None, age_range=None), out.changed_age + 1
        if new is r:
            out.confirmed += 1
        out.manifest.records.append(new)
    out.unknown_keys = sorted(set(review.verdicts) - seen)
    return out
