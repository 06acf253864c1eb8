"""What each training face is asked to learn, and how much it counts: the heads' targets and sample weights.

Kept apart from the fitting loop (:mod:`agegender.training`) because these are the choices a recipe tunes —
class and race balancing, children up for gender, the years head's soft targets — and each is tested alone.
"""

from __future__ import annotations

import numpy as np

from agegender import labels
from agegender.config import Config
from agegender.models.build import PAIR_HEAD


def _one_hot(y: np.ndarray, n: int) -> np.ndarray:
    out = np.zeros((len(y), n), dtype=np.float32)
    ok = y >= 0
    out[np.flatnonzero(ok), y[ok]] = 1.0
    return out


def _balanced(y: np.ndarray, n: int) -> np.ndarray:
    """Per-row weights so each present class carries the same total weight (missing rows: 0)."""
    w = np.zeros(len(y), dtype=np.float32)
    ok = y >= 0
    counts = np.bincount(y[ok], minlength=n).astype(np.float64)
    present = counts > 0
    per_class = np.where(present, ok.sum() / (present.sum() * np.maximum(counts, 1)), 0.0)
    w[ok] = per_class[y[ok]]
    return w


def years_target(years: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The years head's soft targets: a discretised Gaussian around each true age (its width grows with
    age, as the uncertainty of an age read from a face does), and weight 0 where the age is unknown."""
    from agegender.models.build import YEARS_BINS

    known = ~np.isnan(years)
    centre = np.clip(np.nan_to_num(years), 0, YEARS_BINS - 1)
    sigma = np.maximum(1.5, 0.08 * centre)
    grid = np.arange(YEARS_BINS, dtype=np.float64)
    t = np.exp(-0.5 * ((grid[None, :] - centre[:, None]) / sigma[:, None]) ** 2)
    t /= t.sum(1, keepdims=True)
    return (t * known[:, None]).astype(np.float32), known.astype(np.float32)


def group_balance(groups: np.ndarray | None) -> np.ndarray | None:
    """Per-row weights that give each labelled group the same total weight (mean 1 over those rows;
    rows without a group label keep weight 1)."""
    if groups is None or not any(groups):
        return None
    w = np.ones(len(groups), dtype=np.float32)
    labelled = np.array([bool(g) for g in groups])
    values, counts = np.unique(groups[labelled], return_counts=True)
    per = {v: labelled.sum() / (len(values) * c) for v, c in zip(values, counts)}
    w[labelled] = [per[g] for g in groups[labelled]]
    return w


#: ``train.balance = "race_age"``: no row weighs more than this many times its share (a race's rarest age groups,
#: e.g. UTKFace's "others" nearest 60+, 1.8 % of that race against 13.4 % of all faces, would otherwise weigh ×7.7).
RACE_AGE_CAP = 5.0


def _age_groups_of(y_age: np.ndarray, age_years: np.ndarray | None) -> np.ndarray:
    """Each row's age group, else the one nearest its age in years (gap ages), else -1."""
    groups = np.asarray(y_age).copy()
    if age_years is not None:
        for i in np.flatnonzero((groups < 0) & ~np.isnan(age_years)):
            groups[i] = labels.nearest_age_group(float(age_years[i]))
    return groups


def race_age_balance(race: np.ndarray | None, y_age: np.ndarray, age_years: np.ndarray | None,
                     cap: float = RACE_AGE_CAP) -> np.ndarray | None:
    """Per-row weights that give every race group the age mix of all the rows: P(age group) / P(age group | race),
    capped at ``cap``, mean 1 over the rows with both labels (the others keep 1). Why: UTKFace's races have
    different age mixes (its Black faces are 8 % aged 60+, its White ones 18 %), so a model could learn race as
    a cue of age; weighted so, race tells nothing about age. Gap ages join their nearest group. (Tried against
    the default reading older Black and Indian people younger: no change — docs/BENCHMARKS.md.)"""
    if race is None or not any(race):
        return None
    groups = _age_groups_of(y_age, age_years)
    both = (groups >= 0) & np.array([bool(r) for r in race])
    if not both.any():
        return None
    overall = np.bincount(groups[both], minlength=8) / both.sum()
    w = np.ones(len(groups), dtype=np.float32)
    for r in np.unique(race[both]):
        rows = both & (race == r)
        within = np.bincount(groups[rows], minlength=8) / rows.sum()
        w[rows] = np.minimum(overall[groups[rows]] / within[groups[rows]], cap)
    w[both] /= w[both].mean()
    return w


def age_group_balance(y_age: np.ndarray, age_years: np.ndarray | None, power: float) -> np.ndarray | None:
    """Per-row weights ∝ (rows in the row's age group) ** -power, mean 1 over rows with a group: 0 keeps
    every row at 1, 1 gives every age group the same total weight, 0.5 lies between. A row's group is
    its age group, else the one nearest its age in years (gap ages: 3 → 0-2 or 4-6, so children stay
    children); rows without either keep weight 1. Why: the gender head sees few children, who are its
    weakest group (``train.gender_age_balance``)."""
    if power <= 0:
        return None
    groups = _age_groups_of(y_age, age_years)
    known = groups >= 0
    if not known.any():
        return None
    counts = np.bincount(groups[known], minlength=8).astype(np.float64)
    per = np.where(counts > 0, np.maximum(counts, 1) ** -power, 0.0)
    w = np.ones(len(groups), dtype=np.float32)
    w[known] = per[groups[known]]
    w[known] /= w[known].mean()
    return w


def gender_only_scale(y_age: np.ndarray, y_gender: np.ndarray, age_years: np.ndarray | None, weight: float) -> np.ndarray:
    """``weight`` on the rows labelled with a gender and no age at all (neither a group nor years: a gender-only
    set such as the CelebA crops), 1 elsewhere. Why: such rows teach gender on other faces than UTKFace's, but
    at full weight they also pull the shared layers from what age needs (docs/MODEL.md, CelebA half A)."""
    only = (_age_groups_of(y_age, age_years) < 0) & (y_gender >= 0)
    return np.where(only, weight, 1.0).astype(np.float32)


def targets(cfg: Config, y_age: np.ndarray, y_gender: np.ndarray, age_years: np.ndarray | None = None,
            race: np.ndarray | None = None) -> tuple[dict, dict]:
    """Keras targets and sample weights; a missing label gets weight 0 for its head only.

    ``train.balance = "race"`` multiplies every head's weights so each race group of these rows weighs
    the same, ``"race_age"`` so each race group has the age mix of all of them (:func:`race_age_balance`);
    ``train.gender_age_balance`` reweights the gender head's rows by age group (children up),
    ``train.gender_only_weight`` the rows with a gender and no age (:func:`gender_only_scale`); the years head
    (``model.years_head``) learns from ``age_years`` where known; the pair head (``train.pair_loss_weight``)
    from rows with both an age group and a gender.
    """
    if cfg.model.output == "tuple":
        ok = (y_age >= 0) & (y_gender >= 0)
        return {"tuple": np.stack([y_age, y_gender], 1).astype(np.float32)}, {"tuple": ok.astype(np.float32)}
    if y_age.ndim == 2:  # soft age targets (data.gap_ages = "split"): a row without any has weight 0
        y_soft, y_age = y_age.astype(np.float32), np.where(y_age.sum(1) > 0, y_age.argmax(1), -1)
    else:
        y_soft = _one_hot(y_age, 8)
    if cfg.train.class_weights == "balanced":
        wa, wg = _balanced(y_age, 8), _balanced(y_gender, 2)
    else:
        wa, wg = (y_age >= 0).astype(np.float32), (y_gender >= 0).astype(np.float32)
    y = {"age": y_soft, "gender": _one_hot(y_gender, 2)}
    w = {"age": wa, "gender": wg}
    if cfg.model.years_head:
        years = age_years if age_years is not None else np.full(len(y_age), np.nan)
        y["years"], w["years"] = years_target(years)
    if cfg.train.pair_loss_weight > 0:  # a row with both labels: its (soft) age group's mass on its gender
        y[PAIR_HEAD] = (y_soft[:, :, None] * y["gender"][:, None, :]).reshape(len(y_age), 16)
        w[PAIR_HEAD] = ((y_soft.sum(1) > 0) & (y_gender >= 0)).astype(np.float32)
    by_age = age_group_balance(y_age, age_years, cfg.train.gender_age_balance)
    if by_age is not None:
        w["gender"] = w["gender"] * by_age
    if cfg.train.gender_only_weight != 1:
        w["gender"] = w["gender"] * gender_only_scale(y_age, y_gender, age_years, cfg.train.gender_only_weight)
    balance = None
    if cfg.train.balance == "race":
        balance = group_balance(race)
    elif cfg.train.balance == "race_age":
        balance = race_age_balance(race, y_age, age_years)
    if balance is not None:
        w = {k: v * balance for k, v in w.items()}
    return y, w
