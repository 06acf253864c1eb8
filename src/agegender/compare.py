"""Benchmark runs compared fold by fold, on the folds they share (a paired comparison).

A candidate screened on fold 0 is judged against the baseline's fold 0, not against its 5-fold mean: folds
differ by as much as most changes do (utkface-a8, the default's recipe: a standard deviation over the folds of
~0.3 points of gender and 0.3–0.4 of exact age), so only the same fold's figures compare. With several shared folds the difference's mean and spread, and on how many
folds the candidate was ahead, say whether a change is more than the noise. Reads each run's ``report.json``
(``agegender benchmark … --out RUN``) — or, for a run still going, its finished folds' figures — and computes
nothing again.

One fold has no spread to judge a difference by, and the fold-to-fold spread is large beside most changes, so
:func:`faces` also compares the two runs face by face: each shared fold's models answer their own test faces
again, and an exact McNemar test on the faces exactly one run gets right says how likely a difference that
large is by chance alone.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from math import comb
from pathlib import Path

import numpy as np

from agegender import evaluation, labels

# (column, where in a fold row, metric, higher is better); percentages unless the metric is years
COLUMNS: tuple[tuple[str, str, str, bool], ...] = (
    ("gender", "ours", "gender", True),
    ("exact", "ours", "age_exact", True),
    ("1-off", "ours", "age_1off", True),
    ("joint", "ours", "joint", True),
    ("answered", "ours", "coverage", True),
    ("right on answered", "ours", "covered_joint", True),
    ("MAE years", "ours", "years_mae", False),
    ("copies: gender", "ours_on_copies", "gender", True),
    ("copies: exact", "ours_on_copies", "age_exact", True),
    ("copies: 1-off", "ours_on_copies", "age_1off", True),
    ("gender 0-2", "gender_by_age", "0-2", True),
    ("gender 4-6", "gender_by_age", "4-6", True),
    ("gender 8-13", "gender_by_age", "8-13", True),
    ("exact 38-43", "exact_by_age", "38-43", True),
    ("exact 48-53", "exact_by_age", "48-53", True),
)


@dataclass
class Run:
    """One benchmark folder: its name and, per fold, each column's value (None where the run lacks it).
    ``unfinished``: some folds are not in a report.json (yet): their figures are the finished folds' own
    (``fold_K/metadata.json``)."""

    name: str
    folds: dict[int, dict[str, float | None]]
    unfinished: bool = False


def _value(row: dict, where: str, metric: str) -> float | None:
    ours = row.get("ours") or {}
    if where == "gender_by_age":
        cell = (ours.get("gender_by_age") or {}).get(metric)
        return 100 * cell["accuracy"] if cell and cell.get("n") else None
    if where == "exact_by_age":
        conf = ours.get("age_confusion")
        if not conf:
            return None
        i = labels.AGE_GROUPS.index(metric)
        n = sum(conf[i])
        return 100 * conf[i][i] / n if n else None
    v = (row.get(where) or {}).get(metric)
    if v is None:
        return None
    return float(v) if metric == "years_mae" else 100 * float(v)


def load(folder: str | Path) -> Run:
    """The per-fold figures of a benchmark folder: its report.json's, and those of finished folds it does not hold
    (a run still going, or one given more folds since its report was written)."""
    from agegender.benchmark import fold_metadata

    folder = Path(folder)
    path = folder / "report.json"
    rows = json.loads(path.read_text()).get("folds", []) if path.is_file() else []
    # the report's ``ours`` for a fold it lacks: the run's own test figures (copies are scored with the report)
    more = [{"fold": k, "ours": m["metrics"]["test"]} for k, m, _ in fold_metadata(folder, {int(r["fold"]) for r in rows})]
    unfinished = bool(more)
    rows = rows + more
    if not path.is_file() and not rows:
        raise FileNotFoundError(f"{folder}: no report.json and no finished fold (fold_K/metadata.json) — is it an "
                                f"`agegender benchmark --out` folder?")
    folds = {int(r["fold"]): {c: _value(r, w, m) for c, w, m, _ in COLUMNS} for r in rows}
    if not folds:
        raise ValueError(f"{path}: no fold results")
    return Run(folder.name, folds, unfinished)


@dataclass
class Paired:
    """A candidate against the baseline on their shared folds: both runs' means, and the differences'."""

    candidate: str
    folds: list[int]
    base: dict[str, float | None]
    cand: dict[str, float | None]
    delta: dict[str, float | None]  # mean of the per-fold differences (candidate − baseline)
    spread: dict[str, float | None]  # their standard deviation (ddof=1), None with one fold
    ahead: dict[str, int]  # folds on which the candidate was better
    unfinished: list[str]  # of the two, the runs with folds read from their run folders (not in a report.json yet)


def paired(base: Run, candidate: Run) -> Paired:
    """Compare on the folds both ran; a candidate that shares none with the baseline is refused."""
    shared = sorted(set(base.folds) & set(candidate.folds))
    if not shared:
        raise ValueError(f"{candidate.name} shares no fold with {base.name} (folds {sorted(candidate.folds)} "
                         f"vs {sorted(base.folds)})")
    out = Paired(candidate.name, shared, {}, {}, {}, {}, {}, [r.name for r in (base, candidate) if r.unfinished])
    for col, _, _, higher in COLUMNS:
        b = [base.folds[k][col] for k in shared]
        c = [candidate.folds[k][col] for k in shared]
        if any(v is None for v in b + c):
            out.base[col] = out.cand[col] = out.delta[col] = out.spread[col] = None
            out.ahead[col] = 0
            continue
        d = np.subtract(c, b)
        out.base[col], out.cand[col] = float(np.mean(b)), float(np.mean(c))
        out.delta[col] = float(d.mean())
        out.spread[col] = float(d.std(ddof=1)) if len(d) > 1 else None
        out.ahead[col] = int((d > 0).sum() if higher else (d < 0).sum())
    return out


def _cell(v: float | None, signed: bool = False) -> str:
    if v is None:
        return "—"
    return f"{v:+.2f}" if signed else f"{v:.2f}"


def markdown(base: Run, results: list[Paired]) -> str:
    """One table per candidate: a column a run, a row a metric; the difference with its spread and wins."""
    blocks = []
    for p in results:
        n = len(p.folds)
        head = (f"{p.candidate} vs {base.name}, paired on fold{'s' if n > 1 else ''} "
                f"{', '.join(map(str, p.folds))} (means over those folds; Δ = {p.candidate} − {base.name}"
                + (", ± the per-fold differences' standard deviation; ahead: folds where the candidate was better)"
                   if n > 1 else "; one fold: no spread to judge the difference by)"))
        lines = [head, "", f"| metric | {base.name} | {p.candidate} | Δ |" + (" ahead |" if n > 1 else ""),
                 "|---|---|---|---|" + ("---|" if n > 1 else "")]
        for col, _, _, _ in COLUMNS:
            if p.delta[col] is None:
                continue
            d = _cell(p.delta[col], signed=True) + (f" ± {p.spread[col]:.2f}" if p.spread[col] is not None else "")
            lines.append(f"| {col} | {_cell(p.base[col])} | {_cell(p.cand[col])} | {d} |"
                         + (f" {p.ahead[col]} of {n} |" if n > 1 else ""))
        if p.unfinished:
            lines += ["", f"Unfinished: {', '.join(p.unfinished)} (folds not in a report.json yet: the finished folds' "
                          "own test figures, without the phone-like copies)"]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def to_json(results: list[Paired]) -> list[dict]:
    return [{"candidate": p.candidate, "folds": p.folds, "baseline": p.base, "candidate_mean": p.cand,
             "delta": p.delta, "delta_sd": p.spread, "folds_ahead": p.ahead, "unfinished": p.unfinished}
            for p in results]


def mcnemar_p(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value: ``b`` and ``c`` are the discordant counts (only the first right, only
    the second right); under "no difference" each discordant face is a fair coin."""
    n = b + c
    if n == 0:
        return 1.0
    tail = sum(comb(n, k) for k in range(min(b, c) + 1)) / 2**n
    return min(1.0, 2 * tail)


#: face-by-face tests: "answered" counts faces one run answers and the other leaves Undefined
FACE_METRICS = ("gender", "exact", "1-off", "joint", "answered")
#: shares of the faces, most confident first, on which the joint answer's accuracy is read (no thresholds involved)
TOP_SHARES = (0.7, 0.8, 0.9)


@dataclass
class FacePaired:
    """Two runs on the same test faces of their shared folds: per metric, the faces it applies to, how many only
    the baseline and only the candidate get right (answer, for "answered"), and the exact McNemar p-value."""

    candidate: str
    folds: list[int]
    n: dict[str, int]
    only_base: dict[str, int]
    only_cand: dict[str, int]
    p: dict[str, float]
    top: dict[float, tuple[float, float]]  # share → joint answer right on that most confident share (baseline, candidate)

    def delta(self, metric: str) -> float:
        """The candidate's gain in points on these faces (the accuracy difference of the paired faces)."""
        return 100 * (self.only_cand[metric] - self.only_base[metric]) / max(self.n[metric], 1)


def _face_outcomes(test: dict) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per metric: (the faces it applies to, whether each is right) over a run's pooled test predictions."""
    pa, pg, ya, yg = test["age"].argmax(1), test["gender"].argmax(1), test["y_age"], test["y_gender"]
    answered = np.zeros(len(pa), dtype=bool)
    for k in np.unique(test["fold"]):
        m = test["fold"] == k
        t = labels.Thresholds(age=float(test["t_age"][m][0]), gender=float(test["t_gender"][m][0]))
        answered[m] = evaluation.covered(test["age"][m], test["gender"][m], t)
    has_age, has_gender = ya >= 0, yg >= 0
    return {"gender": (has_gender, pg == yg), "exact": (has_age, pa == ya), "1-off": (has_age, np.abs(pa - ya) <= 1),
            "joint": (has_age & has_gender, (pa == ya) & (pg == yg)), "answered": (np.ones(len(pa), dtype=bool), answered)}


def right_on_most_confident(test: dict, share: float) -> float:
    """The joint answer's accuracy (%) on the ``share`` of the faces with both labels that the model is surest of
    (p(age group) × p(gender), the joint threshold's ranking): the accuracy-vs-coverage curve at one point,
    free of each run's own thresholds — how well its confidence sorts right answers from wrong ones."""
    has = (test["y_age"] >= 0) & (test["y_gender"] >= 0)
    age, gender = test["age"][has], test["gender"][has]
    right = (age.argmax(1) == test["y_age"][has]) & (gender.argmax(1) == test["y_gender"][has])
    order = np.argsort(-(age.max(1) * gender.max(1)), kind="stable")
    return float(100 * right[order[: max(1, int(round(share * len(right))))]].mean())


def face_paired(name: str, base_test: dict, cand_test: dict) -> FacePaired:
    """The face-by-face test of two runs' pooled test predictions (``benchmark.fold_predictions(...)["test"]``),
    matched by manifest key on the folds both hold."""
    shared = sorted(set(base_test["fold"].tolist()) & set(cand_test["fold"].tolist()))
    if not shared:
        raise ValueError(f"{name} shares no finished fold with the baseline")
    where = {(int(f), k): i for i, (f, k) in enumerate(zip(cand_test["fold"], cand_test["key"]))}
    bi = [i for i, (f, k) in enumerate(zip(base_test["fold"], base_test["key"])) if (int(f), k) in where]
    if not bi:
        raise ValueError(f"{name}: no test face in common with the baseline — were they run on the same manifest?")
    ci = [where[(int(base_test["fold"][i]), base_test["key"][i])] for i in bi]
    matched_b, matched_c = {k: v[bi] for k, v in base_test.items()}, {k: v[ci] for k, v in cand_test.items()}
    base, cand = _face_outcomes(matched_b), _face_outcomes(matched_c)
    out = FacePaired(name, shared, {}, {}, {}, {}, {x: (right_on_most_confident(matched_b, x),
                                                       right_on_most_confident(matched_c, x)) for x in TOP_SHARES})
    for metric in FACE_METRICS:
        (has, b), (_, c) = base[metric], cand[metric]
        b, c = b[has], c[has]
        out.n[metric] = int(has.sum())
        out.only_base[metric], out.only_cand[metric] = int((b & ~c).sum()), int((~b & c).sum())
        out.p[metric] = mcnemar_p(out.only_base[metric], out.only_cand[metric])
    return out


def faces(baseline: str | Path, candidates: list[str | Path]) -> list[FacePaired]:
    """Each candidate against the baseline face by face: every shared fold's models predict their test faces
    again (the manifest, features and views are loaded once for runs that share them)."""
    from agegender import benchmark, trainset

    loaded: dict[tuple, trainset.LabelledFeatures] = {}

    def test_of(folder) -> dict:
        cfg, _ = benchmark.finished_folds(folder)
        d = cfg.data
        key = (d.manifest, d.features, d.root, d.views)
        if key not in loaded:
            loaded[key] = trainset.load_data(d)
        return benchmark.fold_predictions(folder, data=loaded[key], val=False)["test"]

    base = test_of(baseline)
    return [face_paired(Path(c).name, base, test_of(c)) for c in candidates]


def faces_markdown(base_name: str, results: list[FacePaired]) -> str:
    """One table per candidate: the faces exactly one run gets right, the gain they make, and its p-value."""
    blocks = []
    for r in results:
        lines = [f"{r.candidate} vs {base_name}, face by face on the test faces of fold{'s' if len(r.folds) > 1 else ''} "
                 f"{', '.join(map(str, r.folds))} (only one run right — for \"answered\": only one answers; Δ in points "
                 f"on these faces; p: exact McNemar, the chance of so uneven a split if the runs were equally good)", "",
                 f"| metric | faces | only {base_name} | only {r.candidate} | Δ | p |", "|---|---|---|---|---|---|"]
        for m in FACE_METRICS:
            lines.append(f"| {m} | {r.n[m]:,} | {r.only_base[m]} | {r.only_cand[m]} | {r.delta(m):+.2f} | {r.p[m]:.3f} |")
        lines += ["", "Joint answer right on the faces each run is surest of (p(age) × p(gender); no thresholds): "
                  + "; ".join(f"most confident {100 * x:.0f} %: {b:.2f} vs {c:.2f}" for x, (b, c) in r.top.items())]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def faces_json(results: list[FacePaired]) -> list[dict]:
    return [{"candidate": r.candidate, "folds": r.folds, "faces": r.n, "only_baseline_right": r.only_base,
             "only_candidate_right": r.only_cand, "delta": {m: r.delta(m) for m in FACE_METRICS}, "p": r.p,
             "right_on_most_confident": {f"{x:g}": {"baseline": b, "candidate": c} for x, (b, c) in r.top.items()}}
            for r in results]
