"""Possible label errors: the faces where a model contradicts a data set's label with high confidence.

Face data sets carry wrong labels (CelebA's gender folders hold women among the men and boys among
the women; UTKFace's file names have wrong ages and genders), and a model scored against them is
marked down for being right. An audit lists those faces — a model's confident disagreements — with
contact sheets a person can look through, so that errors in the labels can be told from errors of
the model. It changes no label and trains nothing: what to do with the list is the reviewer's call.
"""

from __future__ import annotations

import csv
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from agegender import labels
from agegender.manifest import Record

#: Contact sheets: faces per row and rows per sheet, each face's cell in pixels.
SHEET_COLUMNS, SHEET_ROWS, CELL = 8, 5, (128, 150)


@dataclass(frozen=True)
class Disagreement:
    """One face whose label the model contradicts: which part (gender or age), the label, the answer."""

    record: Record
    part: str
    label: str
    answer: str
    confidence: float  # the model's probability for its answer (age: of the answer's group)


def disagreements(records: list[Record], age_probs: np.ndarray, gender_probs: np.ndarray, y_age: np.ndarray,
                  y_gender: np.ndarray, confidence: float = 0.95, age_distance: int = 2) -> list[Disagreement]:
    """Faces where the model gives the other gender with at least ``confidence``, or an age group at
    least ``age_distance`` groups from the label's with at least ``confidence``; most confident first."""
    if not 0.5 <= confidence < 1:
        raise ValueError(f"confidence must be in [0.5, 1), got {confidence}")
    out = []
    for i, rec in enumerate(records):
        if y_gender[i] >= 0:
            g = int(gender_probs[i].argmax())
            if g != y_gender[i] and gender_probs[i, g] >= confidence:
                out.append(Disagreement(rec, "gender", labels.GENDERS[y_gender[i]], labels.GENDERS[g], float(gender_probs[i, g])))
        if y_age[i] >= 0:
            a = int(age_probs[i].argmax())
            if abs(a - int(y_age[i])) >= age_distance and age_probs[i, a] >= confidence:
                out.append(Disagreement(rec, "age", labels.AGE_GROUPS[y_age[i]], labels.AGE_GROUPS[a], float(age_probs[i, a])))
    return sorted(out, key=lambda d: -d.confidence)


def agreement_sample(records: list[Record], age_probs: np.ndarray, gender_probs: np.ndarray, y_age: np.ndarray,
                     y_gender: np.ndarray, n: int, seed: int = 0) -> list[Disagreement]:
    """Up to ``n`` faces per label value drawn at random among those where the model's answer *is* the label.

    An audit finds the wrong labels a model contradicts; the ones it shares stay hidden, and correcting only
    the former would flatter the model. A look through a random sample of its agreements says how many such
    shared errors to expect (e.g. none in 120 → at most ~2.5 % of them, 95 % confidence)."""
    rng = np.random.default_rng(seed)
    pools: dict[tuple[str, str], list[Disagreement]] = {}
    for i, rec in enumerate(records):
        if y_gender[i] >= 0 and int(gender_probs[i].argmax()) == y_gender[i]:
            g = labels.GENDERS[y_gender[i]]
            pools.setdefault(("gender", g), []).append(Disagreement(rec, "gender", g, g, float(gender_probs[i].max())))
        if y_age[i] >= 0 and int(age_probs[i].argmax()) == y_age[i]:
            a = labels.AGE_GROUPS[y_age[i]]
            pools.setdefault(("age", a), []).append(Disagreement(rec, "age", a, a, float(age_probs[i].max())))
    out = []
    for kind in sorted(pools):
        pool = pools[kind]
        out += [pool[k] for k in sorted(rng.choice(len(pool), size=min(n, len(pool)), replace=False))]
    return out


def summary(found: list[Disagreement]) -> str:
    """``"gender m → f: 221, gender f → m: 9"``: how many of each kind, most first (agreements: ``"gender m: 120"``)."""
    kinds = Counter(f"{d.part} {d.label}" + (f" → {d.answer}" if d.answer != d.label else "") for d in found)
    return ", ".join(f"{k}: {v}" for k, v in kinds.most_common()) or "none"


def write(found: list[Disagreement], out_dir: str | Path, sheets: bool = True, name: str = "audit") -> list[Path]:
    """``{name}.csv`` (one row per face; ``audit``: the disagreements) and, with ``sheets``, contact sheets
    ``{part}-{label}-as-{answer}-{k}.png`` for each kind (``sample``: ``sample-{part}-{label}-{k}.png``, the
    agreements of :func:`agreement_sample`); a sheet's cell ``n`` is the ``n``-th row of its kind in the CSV.
    Returns the files written."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = [out_dir / f"{name}.csv"]
    with written[0].open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["key", "path", "part", "label", "model_answer", "confidence"])
        for d in found:
            w.writerow([d.record.key, d.record.full_path, d.part, d.label, d.answer, f"{d.confidence:.4f}"])
    if sheets:
        kinds: dict[tuple[str, str, str], list[Disagreement]] = {}
        for d in found:
            kinds.setdefault((d.part, d.label, d.answer), []).append(d)
        per_sheet = SHEET_COLUMNS * SHEET_ROWS
        for (part, label, answer), items in kinds.items():
            for k in range(0, len(items), per_sheet):
                stem = f"{part}-{label}-as-{answer}" if name == "audit" else f"{name}-{part}-{label}"
                path = out_dir / f"{stem}-{k // per_sheet + 1}.png".replace("+", "plus")
                _sheet(items[k:k + per_sheet], first=k + 1).save(path)
                written.append(path)
    return written


def _sheet(items: list[Disagreement], first: int = 1):
    """A grid of the faces, each captioned with its number (from ``first``: the kind's row in the CSV), the
    model's answer and its confidence; a file that no longer reads is a grey cell."""
    from PIL import Image, ImageDraw

    from agegender.imaging import ImageError, load_image

    cw, ch = CELL
    rows = -(-len(items) // SHEET_COLUMNS)
    sheet = Image.new("RGB", (cw * SHEET_COLUMNS, (ch + 16) * rows), "white")
    draw = ImageDraw.Draw(sheet)
    for n, d in enumerate(items):
        x, y = (n % SHEET_COLUMNS) * cw, (n // SHEET_COLUMNS) * (ch + 16)
        try:
            face = Image.fromarray(load_image(d.record.full_path))
            face.thumbnail(CELL)
        except (ImageError, OSError):
            face = Image.new("RGB", CELL, "grey")
        sheet.paste(face, (x + (cw - face.width) // 2, y + (ch - face.height) // 2))
        draw.text((x + 3, y + ch + 2), f"{first + n}: {d.answer} {100 * d.confidence:.0f}%", fill="black")
    return sheet
