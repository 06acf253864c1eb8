"""The age check the project was imagined for: is this person at least in age group G — over, under,
or not sure (check their ID)?

The answer comes from the (steadied) age-group distribution: ``p_over`` is the probability of group G
and every older group. "over" only when ``p_over`` passes a strict threshold, "under" when the rest
passes its own, otherwise "not sure — check ID". The thresholds are chosen on validation data so that
at most 1 % of the people below G would be passed as "over" (:data:`MAX_FALSE_OVER`); the price is that
many people above G are sent to show an ID — :func:`table` measures both on test data. A face is not
a document: the check can only help staff decide whom to ask, never replace the ID.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from agegender import labels

OVER, UNDER, NOT_SURE = "over", "under", "not sure — check ID"
#: The most people below the minimum that a default threshold may pass as "over" (on validation data).
MAX_FALSE_OVER = 0.01
#: The share of people at or above the minimum that a default "under" threshold may turn away.
MAX_FALSE_UNDER = 0.05


@dataclass(frozen=True)
class AgeCheck:
    minimum: int            # index of the youngest group that passes
    over: float             # p_over threshold
    under: float            # p_under threshold

    def decide(self, age_probs, unsure: bool = False) -> str:
        """``unsure``: a live face seen in too few frames yet, or one that may be no face
        (faces.Face.doubt) — never passed, never turned away."""
        if unsure:
            return NOT_SURE
        p = np.asarray(age_probs, dtype=np.float64)
        p_over = float(p[self.minimum:].sum())
        if p_over >= self.over:
            return OVER
        if 1.0 - p_over >= self.under:
            return UNDER
        return NOT_SURE


def _lowest_threshold(scores: np.ndarray, negatives: np.ndarray, max_rate: float) -> float:
    """The lowest threshold on ``scores`` that lets at most ``max_rate`` of the ``negatives`` through."""
    neg = np.sort(scores[negatives])[::-1]
    if not len(neg):
        return 0.5
    allowed = int(np.floor(max_rate * len(neg)))  # this many negatives may pass
    if allowed >= len(neg):
        return 0.5
    # just above the first negative that must not pass, rounded up to 4 decimals (what the metadata stores)
    return float(min(1.0, max(0.5, np.ceil((neg[allowed] + 1e-9) * 1e4) / 1e4)))


def sides(minimum: int, y_age: np.ndarray, years: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Who is below and who is at or above the minimum group: by the age in years where known — so the
    people in the gaps between groups (a 22-year-old against "25-32") count, and they are exactly the
    hard cases — else by the age group."""
    lo = labels.AGE_BOUNDS[minimum][0]
    known = ~np.isnan(years) if years is not None else np.zeros(len(y_age), bool)
    below = np.where(known, np.nan_to_num(years) < lo, (y_age >= 0) & (y_age < minimum))
    above = np.where(known, np.nan_to_num(years) >= lo, y_age >= minimum)
    return below, above


def choose(age_probs: np.ndarray, y_age: np.ndarray, minimum: int, years: np.ndarray | None = None,
           max_false_over: float = MAX_FALSE_OVER, max_false_under: float = MAX_FALSE_UNDER) -> AgeCheck:
    """Thresholds for minimum group ``minimum`` from validation data."""
    below, above = sides(minimum, y_age, years)
    p_over = age_probs[:, minimum:].sum(1)
    over = _lowest_threshold(p_over, below, max_false_over)
    under = _lowest_threshold(1.0 - p_over, above, max_false_under)
    return AgeCheck(minimum, over, under)


def rates(check: AgeCheck, age_probs: np.ndarray, y_age: np.ndarray, years: np.ndarray | None = None) -> dict:
    """How often someone below is passed ("false over"), someone at or above is sent to ID (not "over"),
    and each decision's share."""
    below, above = sides(check.minimum, y_age, years)
    d = np.array([check.decide(row) for row in age_probs])
    return {"n_below": int(below.sum()), "n_above": int(above.sum()),
            "false_over": float((d[below] == OVER).mean()) if below.any() else None,
            "above_sent_to_id": float((d[above] != OVER).mean()) if above.any() else None,
            "above_called_under": float((d[above] == UNDER).mean()) if above.any() else None,
            "below_called_under": float((d[below] == UNDER).mean()) if below.any() else None}


def table(val: tuple, test: tuple) -> list[dict]:
    """For every possible minimum group: thresholds chosen on ``val`` (probs, group labels, years), rates on ``test``."""
    rows = []
    for m in range(1, labels.NUM_AGE_GROUPS):
        check = choose(val[0], val[1], m, *val[2:])
        rows.append({"minimum": labels.AGE_GROUPS[m], "over": check.over, "under": check.under, **rates(check, *test)})
    return rows


def markdown(rows: list[dict]) -> str:
    out = ["| minimum group | threshold over / under | people below passed as over (false over) | people at or above sent to ID | "
           "of them told \"under\" | people below told \"under\" |", "|---|---|---|---|---|---|"]
    for r in rows:
        out.append(f"| {r['minimum']} | {r['over']:.3f} / {r['under']:.3f} | {100 * r['false_over']:.2f} % (of {r['n_below']:,}) | "
                   f"{100 * r['above_sent_to_id']:.1f} % (of {r['n_above']:,}) | {100 * r['above_called_under']:.1f} % | "
                   f"{100 * r['below_called_under']:.1f} % |")
    return "\n".join(out)


def from_metadata(metadata: dict, minimum: str) -> AgeCheck:
    """The model's own thresholds for ``minimum`` (an age-group label), or the strict fallback."""
    m = labels.age_index(minimum)
    if m == 0:
        raise ValueError("the youngest group (0-2) passes everyone: choose a higher minimum")
    t = (metadata.get("age_check") or {}).get(minimum)
    return AgeCheck(m, t["over"], t["under"]) if t else AgeCheck(m, 0.99, 0.99)


def fold_probabilities(benchmark_dir, manifest: str | None = None, features: str | None = None):
    """Pooled validation and test ``(age distributions, group labels, years)`` of a benchmark's fold models."""
    from agegender.benchmark import fold_predictions

    parts = fold_predictions(benchmark_dir, manifest, features)
    return tuple((p["age"], p["y_age"], p["age_years"]) for p in (parts["val"], parts["test"]))


def thresholds_for_metadata(val: tuple) -> dict:
    """``{"15-20": {"over": …, "under": …}, …}`` chosen on ``val``, for a model's metadata."""
    return {labels.AGE_GROUPS[m]: {"over": c.over, "under": c.under}
            for m in range(1, labels.NUM_AGE_GROUPS) for c in [choose(val[0], val[1], m, *val[2:])]}
