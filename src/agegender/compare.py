"""Benchmark runs compared fold by fold, on the folds they share (a paired comparison).

A candidate screened on fold 0 is judged against the baseline's fold 0, not against its 5-fold mean: folds
differ by as much as most changes do (utkface-a8, the default's recipe: a standard deviation over the folds of
~0.3 points of gender and 0.3–0.4 of exact age), so only the same fold's figures compare. With several shared folds the difference's mean and spread, and on how many
folds the candidate was ahead, say whether a change is more than the noise. Reads each run's ``report.json``
(``agegender benchmark … --out RUN``) — or, for a run still going, its finished folds' figures — and computes
nothing again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from agegender import labels

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
    ``unfinished``: no report.json yet; the figures are the finished folds' own (``fold_K/metadata.json``)."""

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


def _finished_folds(folder: Path) -> list[dict]:
    """Fold rows of a benchmark still running: each finished fold's test figures from its run folder (the
    report's ``ours`` for that fold; the phone-like copies are scored only when the report is written)."""
    rows = []
    for meta in sorted(folder.glob("fold_*/metadata.json")):
        k = meta.parent.name.removeprefix("fold_")
        test = json.loads(meta.read_text()).get("metrics", {}).get("test")
        if k.isdigit() and test:
            rows.append({"fold": int(k), "ours": test})
    return rows


def load(folder: str | Path) -> Run:
    """The per-fold figures of a benchmark folder: its report.json, or, while it still runs, its finished folds."""
    folder = Path(folder)
    path = folder / "report.json"
    unfinished = not path.is_file()
    rows = _finished_folds(folder) if unfinished else json.loads(path.read_text()).get("folds", [])
    if unfinished and not rows:
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
    unfinished: list[str]  # of the two, the runs read from their finished folds (no report.json yet)


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
            lines += ["", f"Unfinished: {', '.join(p.unfinished)} (no report.json yet: the finished folds' own test "
                          "figures, without the phone-like copies)"]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def to_json(results: list[Paired]) -> list[dict]:
    return [{"candidate": p.candidate, "folds": p.folds, "baseline": p.base, "candidate_mean": p.cand,
             "delta": p.delta, "delta_sd": p.spread, "folds_ahead": p.ahead, "unfinished": p.unfinished}
            for p in results]
