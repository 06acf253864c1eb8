"""Metrics (DESIGN §4), Undefined thresholds chosen on validation data, and fold summaries.

Everything here is plain numpy on predicted distributions, so it scores any model — ours, a peer
package, or one run on another framework — the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from agegender import labels

EPS = 1e-7


@dataclass
class Scores:
    """Metrics of one test set. Accuracies are fractions; ``None`` where a part has no labelled rows."""

    n_age: int
    n_gender: int
    n_joint: int
    age_exact: float | None
    age_1off: float | None
    gender: float | None
    joint: float | None
    age_xent: float | None
    gender_xent: float | None
    age_confusion: list[list[int]]
    gender_confusion: list[list[int]]
    gender_by_age: dict[str, dict] | None = None  # per true age group ("gap": none): {"accuracy", "n"}
    coverage: float | None = None            # share of rows whose answer is not Undefined
    covered_age_exact: float | None = None
    covered_age_1off: float | None = None
    covered_gender: float | None = None
    covered_joint: float | None = None
    years_mae: float | None = None           # mean absolute error of the age in years (models with a years head)

    def to_dict(self) -> dict:
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, d: dict) -> Scores:
        """The inverse of :meth:`to_dict` (as stored in a run's metadata), keys it does not know left out."""
        return cls(**{k: v for k, v in d.items() if k in cls.__dataclass_fields__})


def _acc(mask: np.ndarray) -> float | None:
    return float(mask.mean()) if mask.size else None


def confusion(true: np.ndarray, pred: np.ndarray, n: int) -> list[list[int]]:
    m = np.zeros((n, n), dtype=np.int64)
    np.add.at(m, (true, pred), 1)
    return m.tolist()


def score(age_probs: np.ndarray, gender_probs: np.ndarray, y_age: np.ndarray, y_gender: np.ndarray,
          thresholds: labels.Thresholds | None = None) -> Scores:
    """Score distributions against labels (−1 = label missing: that part is skipped for that row)."""
    age_probs = np.asarray(age_probs, dtype=np.float64)
    gender_probs = np.asarray(gender_probs, dtype=np.float64)
    y_age = np.asarray(y_age)
    y_gender = np.asarray(y_gender)
    pa, pg = age_probs.argmax(1), gender_probs.argmax(1)
    ha, hg = y_age >= 0, y_gender >= 0
    both = ha & hg
    exact = pa[ha] == y_age[ha]
    one_off = np.abs(pa[ha] - y_age[ha]) <= 1
    gender_ok = pg[hg] == y_gender[hg]
    joint_ok = (pa[both] == y_age[both]) & (pg[both] == y_gender[both])
    s = Scores(
        n_age=int(ha.sum()), n_gender=int(hg.sum()), n_joint=int(both.sum()),
        age_exact=_acc(exact), age_1off=_acc(one_off), gender=_acc(gender_ok), joint=_acc(joint_ok),
        age_xent=float(-np.log(age_probs[ha, y_age[ha]] + EPS).mean()) if ha.any() else None,
        gender_xent=float(-np.log(gender_probs[hg, y_gender[hg]] + EPS).mean()) if hg.any() else None,
        age_confusion=confusion(y_age[ha], pa[ha], labels.NUM_AGE_GROUPS),
        gender_confusion=confusion(y_gender[hg], pg[hg], labels.NUM_GENDERS),
        gender_by_age={name: {"accuracy": float((pg[m] == y_gender[m]).mean()), "n": int(m.sum())}
                       for name, m in ((("gap" if a < 0 else labels.AGE_GROUPS[a]), hg & (y_age == a)) for a in range(-1, 8))
                       if m.any()},
    )
    if thresholds is not None:
        defined = covered(age_probs, gender_probs, thresholds)
        s.coverage = float(defined.mean()) if defined.size else None
        ca, cg, cb = ha & defined, hg & defined, both & defined
        s.covered_age_exact = _acc(pa[ca] == y_age[ca])
        s.covered_age_1off = _acc(np.abs(pa[ca] - y_age[ca]) <= 1)
        s.covered_gender = _acc(pg[cg] == y_gender[cg])
        s.covered_joint = _acc((pa[cb] == y_age[cb]) & (pg[cb] == y_gender[cb]))
    return s


def covered(age_probs: np.ndarray, gender_probs: np.ndarray, t: labels.Thresholds) -> np.ndarray:
    """Rows the Undefined rule answers: exactly one age and exactly one gender entry pass (and their
    product reaches ``t.joint``)."""
    out = ((age_probs >= t.age).sum(1) == 1) & ((gender_probs >= t.gender).sum(1) == 1)
    if t.joint > 0:
        out &= age_probs.max(1) * gender_probs.max(1) >= t.joint
    return out


def choose_thresholds(age_probs: np.ndarray, gender_probs: np.ndarray, y_age: np.ndarray, y_gender: np.ndarray,
                      min_coverage: float = 0.85) -> labels.Thresholds:
    """Per part, the threshold (≥ 0.5, so at most one class passes) that maximises the accuracy on the
    covered validation rows while keeping at least ``min_coverage`` of them answered."""

    def pick(probs: np.ndarray, y: np.ndarray) -> float:
        has = y >= 0
        if not has.any():
            return 0.5
        p, y = probs[has], y[has]
        top, right = p.max(1), p.argmax(1) == y
        best_t, best_acc = 0.5, -1.0
        for t in np.unique(np.r_[0.5, np.quantile(top, np.linspace(0, 1 - min_coverage, 50))]):
            t = float(max(t, 0.5))
            keep = top >= t
            if keep.mean() + 1e-12 < min_coverage or not keep.any():
                continue
            acc = right[keep].mean()
            if acc > best_acc + 1e-12:
                best_t, best_acc = t, acc
        return round(best_t, 4)

    return labels.Thresholds(age=pick(age_probs, y_age), gender=pick(gender_probs, y_gender))


def threshold_for_accuracy(probs: np.ndarray, y: np.ndarray, target: float, min_coverage: float = 0.05) -> float:
    """The lowest threshold (≥ 0.5) whose answered validation rows reach ``target`` accuracy — as many
    answers as that accuracy allows. If no threshold reaches it with at least ``min_coverage``
    answered, the threshold at that coverage (the best this head can do)."""
    has = y >= 0
    if not has.any():
        return 0.5
    top, right = probs[has].max(1), probs[has].argmax(1) == y[has]
    order = np.argsort(-top, kind="stable")
    acc = np.cumsum(right[order]) / np.arange(1, len(order) + 1)  # accuracy of the k most confident rows
    ok = np.flatnonzero(acc >= target)
    k_min = max(1, int(np.ceil(min_coverage * len(order))))
    k = int(ok.max()) + 1 if ok.size and ok.max() + 1 >= k_min else k_min
    return round(float(max(0.5, top[order][k - 1])), 4)


def thresholds_for_joint_accuracy(age_probs: np.ndarray, gender_probs: np.ndarray, y_age: np.ndarray,
                                   y_gender: np.ndarray, target: float) -> labels.Thresholds | None:
    """The pair of thresholds answering the most validation faces (with both labels) whose full 2-hot
    answer is still right ``target`` of the time; None if no pair reaches it."""
    both = (y_age >= 0) & (y_gender >= 0)
    ta_all, tg_all = age_probs[both].max(1), gender_probs[both].max(1)
    right = (age_probs[both].argmax(1) == y_age[both]) & (gender_probs[both].argmax(1) == y_gender[both])
    best = None
    for ta in np.unique(np.r_[0.5, np.quantile(ta_all, np.linspace(0, 0.95, 40))]):
        for tg in np.unique(np.r_[0.5, np.quantile(tg_all, np.linspace(0, 0.95, 40))]):
            keep = (ta_all >= max(ta, 0.5)) & (tg_all >= max(tg, 0.5))
            if keep.any() and right[keep].mean() >= target and (best is None or keep.mean() > best[0]):
                best = (keep.mean(), float(max(ta, 0.5)), float(max(tg, 0.5)))
    return None if best is None else labels.Thresholds(round(best[1], 4), round(best[2], 4))


def joint_threshold_for_accuracy(age_probs: np.ndarray, gender_probs: np.ndarray, y_age: np.ndarray,
                                 y_gender: np.ndarray, target: float, min_coverage: float = 0.05) -> labels.Thresholds | None:
    """The product rule (``Thresholds.joint``, heads at 0.5) answering the most validation faces (with
    both labels) whose full 2-hot answer is still right ``target`` of the time; None if it is not
    reached while answering at least ``min_coverage`` of them."""
    both = (y_age >= 0) & (y_gender >= 0)
    a, g = age_probs[both], gender_probs[both]
    conf = a.max(1) * g.max(1)
    right = (a.argmax(1) == y_age[both]) & (g.argmax(1) == y_gender[both])
    order = np.argsort(-conf, kind="stable")
    acc = np.cumsum(right[order]) / np.arange(1, len(order) + 1)  # accuracy of the k surest answers
    ok = np.flatnonzero(acc >= target)
    if not ok.size or ok.max() + 1 < min_coverage * len(order):
        return None
    return labels.Thresholds(0.5, 0.5, float(max(0.25, conf[order][ok.max()])))  # unrounded: the k surest exactly


def range_scores(age_probs: np.ndarray, years_probs: np.ndarray | None, ranges: list) -> dict | None:
    """How often the age answer agrees with an age *range* label (``Record.age_range``: FairFace's bins), over
    the rows that have one: ``years_in_range``, the years head's estimate inside the range (ages counted
    whole: 20-29 holds 20 ≤ estimate < 30; None without a years head) — FairFace's own age accuracy, for its
    bins; ``group_overlaps``, the best-guess group sharing a year with the range. None when no row has a range."""
    rows = [i for i, r in enumerate(ranges) if r is not None]
    if not rows:
        return None
    lo = np.array([ranges[i][0] for i in rows], dtype=np.float64)
    hi = np.array([np.inf if ranges[i][1] is None else ranges[i][1] + 1 for i in rows], dtype=np.float64)  # exclusive
    guess = np.asarray(age_probs)[rows].argmax(1)
    glo = np.array([labels.AGE_BOUNDS[g][0] for g in guess], dtype=np.float64)
    ghi = np.array([np.inf if labels.AGE_BOUNDS[g][1] is None else labels.AGE_BOUNDS[g][1] + 1 for g in guess])
    out = {"n": len(rows), "group_overlaps": float(np.mean((glo < hi) & (lo < ghi))), "years_in_range": None}
    if years_probs is not None:
        est, _ = labels.years_summary(np.asarray(years_probs)[rows])
        out["years_in_range"] = float(np.mean((est >= lo) & (est < hi)))
    return out


METRICS = ("gender", "age_exact", "age_1off", "joint", "coverage", "covered_joint", "years_mae")


def summarize(per_fold: list[Scores]) -> dict[str, tuple[float, float]]:
    """Mean ± standard deviation (ddof=0) of each metric over folds, in percent (``years_mae`` in years)."""
    out = {}
    for m in METRICS:
        vals = [getattr(s, m) for s in per_fold if getattr(s, m) is not None]
        if vals:
            k = 1.0 if m == "years_mae" else 100.0
            out[m] = (k * float(np.mean(vals)), k * float(np.std(vals, ddof=0)))
    return out


def fmt(mean_std: tuple[float, float] | None) -> str:
    return "—" if mean_std is None else f"{mean_std[0]:.1f} ± {mean_std[1]:.1f}"
