"""The label system (DESIGN §1): 8 Adience age groups, 2 genders, tuple and 2-hot views, and the
"Undefined" rule that turns a model's two distributions into an answer a user can trust.

Everything that names an age group or a gender goes through this module, so the order of the
classes is fixed in exactly one place.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

#: The 8 Adience age groups, in index order 0–7.
AGE_GROUPS: tuple[str, ...] = ("0-2", "4-6", "8-13", "15-20", "25-32", "38-43", "48-53", "60+")
#: Inclusive year bounds of each group; ``None`` = open-ended (60 and above).
AGE_BOUNDS: tuple[tuple[int, int | None], ...] = (
    (0, 2), (4, 6), (8, 13), (15, 20), (25, 32), (38, 43), (48, 53), (60, None),
)
#: How the Adience fold files spell the groups (note ``(8, 12)`` for 8-13, ``(60, 100)`` for 60+).
ADIENCE_AGE_STRINGS: tuple[str, ...] = (
    "(0, 2)", "(4, 6)", "(8, 12)", "(15, 20)", "(25, 32)", "(38, 43)", "(48, 53)", "(60, 100)",
)
#: UTKFace's race codes 0–4 as its authors name them (other sources keep their own labels: FairFace's seven, a
#: CSV's); used to break accuracy down by group, never as a model input.
RACES: tuple[str, ...] = ("white", "black", "asian", "indian", "others")
#: Gender codes in index order 0–1, and their names.
GENDERS: tuple[str, ...] = ("m", "f")
GENDER_NAMES: tuple[str, ...] = ("male", "female")

NUM_AGE_GROUPS = len(AGE_GROUPS)
NUM_GENDERS = len(GENDERS)
TWO_HOT_SIZE = NUM_AGE_GROUPS + NUM_GENDERS

UNDEFINED = "Undefined"


def race_order(race: str) -> tuple[int, str]:
    """Sort key for race groups in reports: UTKFace's in its own order, any other source's (FairFace's) after them
    by name."""
    return (RACES.index(race) if race in RACES else len(RACES), race)


def age_index(label: str) -> int:
    """Index of an age-group label such as ``"25-32"``; raises ``ValueError`` for anything else."""
    try:
        return AGE_GROUPS.index(label)
    except ValueError:
        raise ValueError(f"unknown age group {label!r}; expected one of {', '.join(AGE_GROUPS)}") from None


def gender_index(code: str) -> int:
    """Index of a gender code ``"m"``/``"f"`` (also accepts ``male``/``female``, any case)."""
    c = code.strip().lower()
    if c in GENDERS:
        return GENDERS.index(c)
    if c in GENDER_NAMES:
        return GENDER_NAMES.index(c)
    raise ValueError(f"unknown gender {code!r}; expected 'm' or 'f'")


def to_two_hot(age: int, gender: int) -> np.ndarray:
    """Tuple label ``(age_index, gender_index)`` → 10-vector (age one-hot, then gender one-hot)."""
    _check_tuple(age, gender)
    v = np.zeros(TWO_HOT_SIZE, dtype=np.float32)
    v[age] = 1.0
    v[NUM_AGE_GROUPS + gender] = 1.0
    return v


def from_two_hot(vector: Sequence[float] | np.ndarray) -> tuple[int, int]:
    """Exact inverse of :func:`to_two_hot`; raises ``ValueError`` unless the vector is a valid 2-hot."""
    v = np.asarray(vector, dtype=np.float64).reshape(-1)
    if v.shape[0] != TWO_HOT_SIZE:
        raise ValueError(f"a 2-hot label has {TWO_HOT_SIZE} entries, got {v.shape[0]}")
    if not np.all((v == 0) | (v == 1)):
        raise ValueError("a 2-hot label holds only 0s and 1s")
    age_hits = np.flatnonzero(v[:NUM_AGE_GROUPS])
    gender_hits = np.flatnonzero(v[NUM_AGE_GROUPS:])
    if len(age_hits) != 1 or len(gender_hits) != 1:
        raise ValueError(
            f"a 2-hot label has exactly one age and one gender entry set, got {len(age_hits)} and {len(gender_hits)}"
        )
    return int(age_hits[0]), int(gender_hits[0])


def two_hot_matrix(tuples: Sequence[tuple[int, int]]) -> np.ndarray:
    """Many tuple labels → an ``(n, 10)`` float32 matrix (the seed's ``One_Hot_Labels`` view)."""
    m = np.zeros((len(tuples), TWO_HOT_SIZE), dtype=np.float32)
    for i, (a, g) in enumerate(tuples):
        _check_tuple(a, g)
        m[i, a] = 1.0
        m[i, NUM_AGE_GROUPS + g] = 1.0
    return m


def _check_tuple(age: int, gender: int) -> None:
    if not (0 <= int(age) < NUM_AGE_GROUPS):
        raise ValueError(f"age index must be 0..{NUM_AGE_GROUPS - 1}, got {age}")
    if not (0 <= int(gender) < NUM_GENDERS):
        raise ValueError(f"gender index must be 0..{NUM_GENDERS - 1}, got {gender}")


# --------------------------------------------------------------------------- ages in years

def age_group_of_years(years: float) -> int | None:
    """Strict mapping (DESIGN §3): the group whose bounds contain ``years``; ``None`` in a gap."""
    for i, (lo, hi) in enumerate(AGE_BOUNDS):
        if years >= lo and (hi is None or years <= hi):
            return i
    return None


MAX_YEARS = 130


def parse_years(value) -> float | None:
    """An age in years from a label file: a number, or text in ASCII digits (``"35"``, ``"35.5"``), 0–130.

    ``None`` for anything else — other scripts' digits (``"٣٥"``, ``"３５"``, which ``float`` would
    take), ``nan``/``inf``, negatives and impossible ages — so a loader drops the label rather than
    reading a wrong one.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        years = float(value)
    elif isinstance(value, str):
        s = value.strip()
        head, _, tail = s.partition(".")
        if not (head.isascii() and head.isdigit() and (not tail or (tail.isascii() and tail.isdigit()))):
            return None
        years = float(s)
    else:
        return None
    return years if 0 <= years <= MAX_YEARS else None


def split_age_group(years: float) -> np.ndarray:
    """A soft age-group target (8 values summing to 1): one-hot inside a group; in a gap, split between
    the two groups around it in proportion to how near each one's bound is (22 years: 0.6 to 15-20,
    0.4 to 25-32; 3 years: half each). The documented "soft label" training rule for gap ages (DESIGN §3)."""
    out = np.zeros(NUM_AGE_GROUPS, dtype=np.float32)
    inside = age_group_of_years(years)
    if inside is not None:
        out[inside] = 1.0
        return out
    for k in range(NUM_AGE_GROUPS - 1):
        hi, lo_next = AGE_BOUNDS[k][1], AGE_BOUNDS[k + 1][0]
        if hi < years < lo_next:
            w = (years - hi) / (lo_next - hi)
            out[k], out[k + 1] = 1.0 - w, w
            return out
    raise ValueError(f"{years} years: not an age (below 0?)")


def nearest_age_group(years: float) -> int:
    """The group containing ``years``, else the nearest one; a tie goes to the older group.

    This is the documented training rule for gap ages and the lenient rule for bare Adience numbers.
    """
    inside = age_group_of_years(years)
    if inside is not None:
        return inside
    best, best_dist = 0, float("inf")
    for i, (lo, hi) in enumerate(AGE_BOUNDS):
        dist = lo - years if years < lo else years - (hi if hi is not None else years)
        if dist <= best_dist:  # "<=" so that a tie moves on to the older group
            best, best_dist = i, dist
    return best


def age_group_of_range(lo: int, hi: int) -> int | None:
    """The group holding most of the integer years ``lo..hi`` (order-insensitive); ``None`` on a tie."""
    lo, hi = min(lo, hi), max(lo, hi)
    overlaps = []
    for glo, ghi in AGE_BOUNDS:
        top = hi if ghi is None else min(hi, ghi)
        overlaps.append(max(0, top - max(lo, glo) + 1))
    best = max(overlaps)
    if best == 0 or overlaps.count(best) > 1:
        return None
    return overlaps.index(best)


#: An age range as a source labels it: ``(lo, hi)`` years, both included; ``hi`` None for an open range.
AgeRange = tuple[int, int | None]

_AGE_RANGE = re.compile(r"^(\d{1,3})\s*-\s*(\d{1,3})$|^(?:(\d{1,3})\s*\+|more than\s+(\d{1,3}))$", re.ASCII | re.IGNORECASE)


def parse_age_range(text: str) -> AgeRange | None:
    """A range label such as ``"3-9"``, ``"70+"`` or FairFace's ``"more than 70"`` (read as 70+, the bin
    its authors call "70+") → ``(lo, hi)``; ``None`` for anything else, a reversed range or one past
    ``MAX_YEARS``."""
    m = _AGE_RANGE.match(str(text).strip())
    if not m:
        return None
    if m.group(1) is not None:
        lo, hi = int(m.group(1)), int(m.group(2))
        return (lo, hi) if lo <= hi <= MAX_YEARS else None
    lo = int(m.group(3) or m.group(4))
    return (lo, None) if lo <= MAX_YEARS else None


def format_age_range(r: AgeRange) -> str:
    return f"{r[0]}+" if r[1] is None else f"{r[0]}-{r[1]}"


def age_group_within(r: AgeRange) -> int | None:
    """Strict mapping of a range: the group whose bounds hold every age of it (FairFace's ``0-2`` → 0-2,
    ``60-69`` and ``70+`` → 60+); ``None`` for a range that reaches into a gap or another group."""
    lo, hi = r
    for i, (glo, ghi) in enumerate(AGE_BOUNDS):
        if lo >= glo and (ghi is None or (hi is not None and hi <= ghi)):
            return i
    return None


def age_group_of_any_range(r: AgeRange) -> int | None:
    """Lenient mapping (training only, as Adience's lenient mode): the group holding most of the range's
    years — an open range counts as reaching ``MAX_YEARS``; ``None`` on a tie."""
    return age_group_of_range(r[0], MAX_YEARS if r[1] is None else r[1])


def years_summary(years_probs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A years head's distributions over ages 0, 1, … → (expected age, standard deviation) per row."""
    p = np.asarray(years_probs, dtype=np.float64)
    p = p / p.sum(-1, keepdims=True)
    grid = np.arange(p.shape[-1], dtype=np.float64)
    mean = p @ grid
    std = np.sqrt(np.maximum(p @ grid**2 - mean**2, 0.0))
    return mean, std


# --------------------------------------------------------------------------- the Undefined rule

@dataclass(frozen=True)
class Thresholds:
    """Confidence thresholds for the Undefined rule; chosen on validation data, stored with a model."""

    age: float = 0.5
    gender: float = 0.5
    #: Answer only when p(age group) × p(gender) — with calibrated heads, about the chance that the
    #: whole 2-hot answer is right — reaches this (0 = off). One number for the whole answer, about as
    #: good as the best pair of thresholds for the same target (docs/BENCHMARKS.md).
    joint: float = 0.0

    def __post_init__(self) -> None:
        for name in ("age", "gender", "joint"):
            value = getattr(self, name)
            if not (0.0 <= value <= 1.0):
                raise ValueError(f"{name} threshold must be within [0, 1], got {value}")

    @classmethod
    def from_metadata(cls, metadata: dict) -> Thresholds:
        """The thresholds a trained run or an exported model records in its ``metadata.json``."""
        t = metadata["thresholds"]
        return cls(t["age"], t["gender"], t.get("joint") or 0.0)


#: How the reason of an answer made Undefined because its face may be none begins (faces.Face.doubt).
NOT_A_FACE = "not sure it is a face"


@dataclass(frozen=True)
class Answer:
    """A decoded prediction: a valid 2-hot label, or Undefined with the reason why."""

    age: int | None
    gender: int | None
    reason: str | None
    age_probs: tuple[float, ...] = field(default=(), repr=False)
    gender_probs: tuple[float, ...] = field(default=(), repr=False)
    #: The age in years (expected value) and its spread (standard deviation), from a model with a years
    #: head; None otherwise. Shown beside the group, also when the group is Undefined.
    years: float | None = None
    years_spread: float | None = None

    @property
    def undefined(self) -> bool:
        return self.reason is not None

    @property
    def best_age(self) -> int | None:
        """The most probable age group, even when the answer is Undefined (the caller's best guess)."""
        return int(np.argmax(self.age_probs)) if self.age_probs else None

    @property
    def best_gender(self) -> int | None:
        return int(np.argmax(self.gender_probs)) if self.gender_probs else None

    @property
    def age_label(self) -> str:
        return AGE_GROUPS[self.age] if self.age is not None else UNDEFINED

    @property
    def gender_label(self) -> str:
        return GENDERS[self.gender] if self.gender is not None else UNDEFINED

    @property
    def years_text(self) -> str:
        """``"≈ 29 years (± 5)"``, or empty without a years estimate."""
        if self.years is None:
            return ""
        return f"≈ {self.years:.0f} years (± {self.years_spread:.0f})"

    @property
    def text(self) -> str:
        if self.undefined and self.reason.startswith(NOT_A_FACE):  # no guess of age or gender for what may be no face
            return f"{UNDEFINED} ({self.reason})"
        years = f"; {self.years_text}" if self.years is not None else ""
        if self.undefined:
            guess = ""
            if self.age_probs and self.gender_probs:
                guess = (f"; best guess {AGE_GROUPS[self.best_age]} ({max(self.age_probs):.0%}), "
                         f"{GENDER_NAMES[self.best_gender]} ({max(self.gender_probs):.0%})")
            return f"{UNDEFINED} ({self.reason}{guess}){years}"
        return (f"{AGE_GROUPS[self.age]}, {GENDER_NAMES[self.gender]} "
                f"({self.age_probs[self.age]:.0%}, {self.gender_probs[self.gender]:.0%}){years}")

    def two_hot(self) -> np.ndarray:
        if self.undefined:
            raise ValueError(f"an Undefined answer has no 2-hot label: {self.reason}")
        return to_two_hot(self.age, self.gender)

    def to_dict(self) -> dict:
        return {
            "age_group": None if self.age is None else AGE_GROUPS[self.age],
            "gender": None if self.gender is None else GENDERS[self.gender],
            "undefined": self.undefined,
            "reason": self.reason,
            "best_age_group": None if self.best_age is None else AGE_GROUPS[self.best_age],
            "best_gender": None if self.best_gender is None else GENDERS[self.best_gender],
            "age_probs": dict(zip(AGE_GROUPS, map(float, self.age_probs))),
            "gender_probs": dict(zip(GENDERS, map(float, self.gender_probs))),
            "age_years": None if self.years is None else round(float(self.years), 1),
            "age_years_spread": None if self.years_spread is None else round(float(self.years_spread), 1),
        }


def doubted(answer: Answer, doubt: str | None) -> Answer:
    """``answer`` made Undefined for ``doubt`` (faces.Face.doubt: the face may be none) — the one reason given,
    whatever the model was sure of; its distributions kept (JSON, CSV); ``answer`` itself when there is no
    doubt."""
    if doubt is None:
        return answer
    return replace(answer, age=None, gender=None, reason=doubt)


def undefined(reason: str) -> Answer:
    """An Undefined answer with no distributions (no face, unreadable image, …)."""
    return Answer(age=None, gender=None, reason=reason)


def decode(age_probs: Sequence[float], gender_probs: Sequence[float], thresholds: Thresholds = Thresholds()) -> Answer:
    """Threshold each distribution; exactly one entry passing in each part gives a 2-hot answer.

    0 entries passing ("not sure") or 2+ entries passing ("ambiguous") in either part → Undefined,
    with the reason naming the part; so is an answer whose two probabilities multiply to less than
    ``thresholds.joint`` (the reason names the less sure part).
    """
    a = np.asarray(age_probs, dtype=np.float64).reshape(-1)
    g = np.asarray(gender_probs, dtype=np.float64).reshape(-1)
    if a.shape[0] != NUM_AGE_GROUPS or g.shape[0] != NUM_GENDERS:
        raise ValueError(f"expected {NUM_AGE_GROUPS} age and {NUM_GENDERS} gender scores, got {a.shape[0]} and {g.shape[0]}")
    reasons = []
    picked = []
    for part, probs, thr in (("age", a, thresholds.age), ("gender", g, thresholds.gender)):
        hits = np.flatnonzero(probs >= thr) if thr > 0 else np.flatnonzero(probs > 0)
        if len(hits) == 1:
            picked.append(int(hits[0]))
            continue
        picked.append(None)
        top = float(probs.max()) if probs.size else 0.0
        if len(hits) == 0:
            reasons.append(f"{part} not sure (best {top:.2f} < threshold {thr:.2f})")
        else:
            reasons.append(f"{part} ambiguous ({len(hits)} classes pass threshold {thr:.2f})")
    if not reasons and thresholds.joint > 0:
        pa, pg = float(a[picked[0]]), float(g[picked[1]])
        if pa * pg < thresholds.joint:
            reasons.append(f"{'age' if pa < pg else 'gender'} not sure for the whole answer "
                           f"({pa:.2f} × {pg:.2f} = {pa * pg:.2f} < {thresholds.joint:.2f})")
    reason = "; ".join(reasons) or None
    return Answer(
        age=None if reason else picked[0],
        gender=None if reason else picked[1],
        reason=reason,
        age_probs=tuple(float(x) for x in a),
        gender_probs=tuple(float(x) for x in g),
    )


def decode_two_hot(scores: Sequence[float], thresholds: Thresholds = Thresholds()) -> Answer:
    """:func:`decode` for a single 10-vector (age scores then gender scores)."""
    s = np.asarray(scores, dtype=np.float64).reshape(-1)
    if s.shape[0] != TWO_HOT_SIZE:
        raise ValueError(f"expected {TWO_HOT_SIZE} scores, got {s.shape[0]}")
    return decode(s[:NUM_AGE_GROUPS], s[NUM_AGE_GROUPS:], thresholds)
