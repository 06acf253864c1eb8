"""Accuracy group by group: race (where a source labels it), gender and age group — with the worst group
next to the best, and accuracy-versus-coverage curves as the Undefined threshold moves.

A model that is right on average can still fail one group of people; these breakdowns make that
visible in every benchmark and evaluation report. Everything is plain numpy on predicted
distributions, like :mod:`agegender.evaluation`, so the peer package is broken down the same way.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from agegender import labels

#: Groups smaller than this are listed but not named worst or best (their accuracy is too noisy).
MIN_GROUP = 30
#: The metrics of each group, in report order.
METRICS = ("gender", "age_exact", "age_1off", "joint", "age_younger", "age_older", "coverage", "covered_gender",
           "covered_age_exact", "covered_joint")
#: Metrics where more is worse: the share of a group's faces whose age group is read younger (older) than it is.
#: Which way the age errors of a group lean is what accuracy alone hides: a group read younger than it is may lose
#: nothing in 1-off accuracy and still be told wrong, one way, more often than the others.
HIGHER_IS_WORSE = ("age_younger", "age_older")
#: How the report's tables and plot name each metric.
METRIC_NAMES = {"gender": "gender", "age_exact": "age exact", "age_1off": "age 1-off", "joint": "joint",
                "age_younger": "age read younger", "age_older": "age read older", "coverage": "coverage",
                "covered_gender": "gender on answered", "covered_age_exact": "age on answered",
                "covered_joint": "joint on answered"}


def _mean(mask: np.ndarray) -> float | None:
    return float(mask.mean()) if mask.size else None


def group_metrics(age_probs: np.ndarray, gender_probs: np.ndarray, y_age: np.ndarray, y_gender: np.ndarray,
                  covered: np.ndarray | None = None) -> dict:
    """Accuracy, 1-off, joint, coverage and the accuracies on the covered (answered) rows of one group.

    ``covered``: which rows the Undefined rule answered (None: no thresholds, no coverage figures).
    """
    pa, pg = age_probs.argmax(1), gender_probs.argmax(1)
    ha, hg = y_age >= 0, y_gender >= 0
    both = ha & hg
    out = {"n": int(len(y_age)), "n_age": int(ha.sum()), "n_gender": int(hg.sum()),
           "gender": _mean(pg[hg] == y_gender[hg]), "age_exact": _mean(pa[ha] == y_age[ha]),
           "age_1off": _mean(np.abs(pa[ha] - y_age[ha]) <= 1),
           "age_younger": _mean(pa[ha] < y_age[ha]), "age_older": _mean(pa[ha] > y_age[ha]),
           "joint": _mean((pa[both] == y_age[both]) & (pg[both] == y_gender[both]))}
    if covered is not None:
        ca, cg, cb = ha & covered, hg & covered, both & covered
        out |= {"coverage": _mean(covered), "covered_gender": _mean(pg[cg] == y_gender[cg]),
                "covered_age_exact": _mean(pa[ca] == y_age[ca]),
                "covered_joint": _mean((pa[cb] == y_age[cb]) & (pg[cb] == y_gender[cb]))}
    return out


#: Adults for the race comparison of gender: children's gender is hard for everyone, and groups hold
#: different shares of children, which would hide (or fake) a gap between groups of adults.
ADULT_YEARS = 15
#: Older adults (38-43 and up) for the race comparison of which way age errors lean: the default reads the older
#: people of some races younger than those of others (docs/BENCHMARKS.md, "Which way age errors lean").
OLDER_YEARS = 38


def groupings(y_age: np.ndarray, y_gender: np.ndarray, race: np.ndarray | None = None,
              age_low: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Group label of every row for each grouping the data has: ``race`` (where labelled), the same for
    faces aged 15 and over (``race, 15+``: ``age_low``, the youngest age each row's labels allow, at least
    15) and 38 and over (``race, 38+``), ``gender`` and ``age`` (true group; "" where unknown, e.g. a UTKFace
    gap age)."""
    out = {}
    if race is not None and any(race):
        out["race"] = np.asarray([r or "" for r in race], dtype=object)
        if age_low is not None:
            for years in (ADULT_YEARS, OLDER_YEARS):
                out[f"race, {years}+"] = np.where(np.nan_to_num(age_low, nan=-1) >= years, out["race"], "")
    out["gender"] = np.asarray([labels.GENDER_NAMES[g] if g >= 0 else "" for g in y_gender], dtype=object)
    out["age"] = np.asarray([labels.AGE_GROUPS[a] if a >= 0 else "" for a in y_age], dtype=object)
    return out


def breakdown(age_probs: np.ndarray, gender_probs: np.ndarray, y_age: np.ndarray, y_gender: np.ndarray,
              groups: dict[str, np.ndarray], covered: np.ndarray | None = None) -> dict:
    """``{grouping: {"groups": {label: metrics}, "worst": {metric: (label, value)}, "best": …, "gap": …}}``.

    The worst and best group of each metric are taken among groups of at least :data:`MIN_GROUP` rows
    that have a value for it (the highest is the worst for :data:`HIGHER_IS_WORSE`); ``gap`` is how far
    apart they are (≥ 0).
    """
    report = {}
    for name, lab in groups.items():
        per = {}
        order = sorted({v for v in lab if v}, key=_order_key(name))
        for value in order:
            m = lab == value
            per[value] = group_metrics(age_probs[m], gender_probs[m], y_age[m], y_gender[m],
                                       None if covered is None else covered[m])
        worst, best, gap = {}, {}, {}
        for metric in METRICS:
            vals = [(v, g[metric]) for v, g in per.items() if g.get(metric) is not None and _size(g, metric) >= MIN_GROUP]
            if len(vals) >= 2:
                low, high = min(vals, key=lambda kv: kv[1]), max(vals, key=lambda kv: kv[1])
                worst[metric], best[metric] = (high, low) if metric in HIGHER_IS_WORSE else (low, high)
                gap[metric] = high[1] - low[1]
        report[name] = {"groups": per, "worst": worst, "best": best, "gap": gap}
    return report


def _size(g: dict, metric: str) -> int:
    return g["n_gender"] if "gender" in metric else g["n_age"] if "age" in metric else g["n"]


def _order_key(grouping: str):
    if grouping == "age":
        return labels.AGE_GROUPS.index
    if grouping.startswith("race"):
        return labels.race_order
    return lambda v: v


# --------------------------------------------------------------------------- accuracy vs coverage

def coverage_curve(age_probs: np.ndarray, gender_probs: np.ndarray, y_age: np.ndarray, y_gender: np.ndarray,
                   points: int = 21) -> list[tuple[float, float]]:
    """``(coverage, joint accuracy on the answered rows)`` as the Undefined thresholds rise together.

    Both thresholds move as one: a face is answered when each head's best probability is at least the
    same quantile of that head's confidences (the rows with both labels), so coverage runs from 100 %
    down to a few percent.
    """
    both = (y_age >= 0) & (y_gender >= 0)
    if not both.any():
        return []
    ca, cg = age_probs[both].max(1), gender_probs[both].max(1)
    right = (age_probs[both].argmax(1) == y_age[both]) & (gender_probs[both].argmax(1) == y_gender[both])
    ra, rg = _ranks(ca), _ranks(cg)  # confidence as its quantile within the head
    conf = np.minimum(ra, rg)
    out = []
    for q in np.linspace(0, 0.95, points):
        keep = conf >= q
        if keep.any():
            out.append((float(keep.mean()), float(right[keep].mean())))
    return out


def _ranks(x: np.ndarray) -> np.ndarray:
    order = np.argsort(x, kind="stable")
    r = np.empty(len(x))
    r[order] = np.arange(len(x)) / max(1, len(x) - 1)
    return r


# --------------------------------------------------------------------------- text and plots

def markdown(report: dict, peer: dict | None = None, title: str = "ours") -> list[str]:
    """Tables per grouping: each group's metrics (ours, and the peer's where given), then worst vs best."""
    lines = []
    show = [m for m in METRICS if any(m in g for grp in report.values() for g in grp["groups"].values())]
    for grouping, rep in report.items():
        lines += ["", f"**By {grouping}** ({title}" + (" / peer" if peer else "") + "):", "",
                  "| group | n | " + " | ".join(METRIC_NAMES[m] for m in show) + " |", "|---|---|" + "---|" * len(show)]
        for value, g in rep["groups"].items():
            p = (peer or {}).get(grouping, {}).get("groups", {}).get(value, {})

            def cell(m, g=g, p=p):
                v = g.get(m)
                s = "—" if v is None else f"{100 * v:.1f}"
                if p.get(m) is not None:
                    s += f" / {100 * p[m]:.1f}"
                return s

            lines.append(f"| {value} | {g['n']} | " + " | ".join(cell(m) for m in show) + " |")
        wb = [f"{METRIC_NAMES[m]}: worst {rep['worst'][m][0]} {100 * rep['worst'][m][1]:.1f}, best {rep['best'][m][0]} "
              f"{100 * rep['best'][m][1]:.1f} (gap {100 * rep['gap'][m]:.1f})" for m in ("gender", "age_exact", "joint", "age_younger", "coverage")
              if m in rep["worst"]]
        if wb:
            lines += ["", f"Worst vs best group (groups of ≥ {MIN_GROUP}): " + "; ".join(wb) + "."]
    return lines


def plot(report: dict, curves: dict[str, list[tuple[float, float]]], path: str | Path, title: str,
         peer: dict | None = None, operating: tuple[float, float] | None = None) -> Path:
    """One figure: bars by group (gender accuracy, age exact, joint, age read younger) per grouping, and the
    accuracy-vs-coverage curves (overall and per race group) with the chosen operating point."""
    os.environ.setdefault("MPLBACKEND", "Agg")
    import matplotlib.pyplot as plt

    n = len(report) + 1
    fig, axes = plt.subplots(1, n, figsize=(4.6 * n, 3.8))
    metrics = [(m, METRIC_NAMES[m]) for m in ("gender", "age_exact", "joint", "age_younger")]
    for ax, (grouping, rep) in zip(axes, report.items()):
        values = list(rep["groups"])
        x = np.arange(len(values))
        width = 0.8 / (len(metrics) * (2 if peer else 1))
        k = 0
        for who, src in (("ours", rep), ("peer", (peer or {}).get(grouping))):
            if src is None:
                continue
            for m, label in metrics:
                ys = [100 * (src["groups"].get(v, {}).get(m) or 0) for v in values]
                ax.bar(x + (k - (len(metrics) * (2 if peer else 1) - 1) / 2) * width, ys, width,
                       label=f"{label} ({who})" if peer else label, alpha=1.0 if who == "ours" else 0.45)
                k += 1
        ax.set_xticks(x, values, rotation=45, fontsize=8)
        ax.set_ylim(0, 100)
        ax.set_title(f"by {grouping}", fontsize=9)
        ax.grid(axis="y", alpha=0.3)
    axes[0].legend(fontsize=6, loc="lower left")
    ax = axes[-1]
    for name, pts in curves.items():
        if pts:
            ax.plot([100 * c for c, _ in pts], [100 * a for _, a in pts], label=name, lw=2 if name == "all" else 1)
    if operating:
        ax.plot([100 * operating[0]], [100 * operating[1]], "k*", ms=10, label="thresholds chosen")
    ax.set_xlabel("coverage (answered, %)")
    ax.set_ylabel("joint accuracy on answered (%)")
    ax.set_title("accuracy vs coverage (Undefined threshold)", fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=6)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return Path(path)
