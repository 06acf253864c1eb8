"""The seed project's refinement checklist as an ablation: one change at a time, the benchmark after each.

The seed tuned its fully-connected network by walking a checklist — epochs, optimizer, activation,
loss, regularisation, initializer, dropout, learning rate, validation split. :data:`CHECKLIST` starts
from the network as first written and applies those steps cumulatively; :func:`run` benchmarks every
step on the same folds, so each row shows what that one change did.
"""

from __future__ import annotations

import json
from pathlib import Path

from agegender import benchmark, config
from agegender.evaluation import fmt

#: (step, what changes, overrides applied on top of every earlier step).
CHECKLIST: list[tuple[str, str, list[str]]] = [
    ("start", "as first written: 5 epochs of plain SGD, sigmoid units, squared error, no regularisation, "
              "random-normal weights, no dropout",
     ["train.epochs=5", "train.early_stopping=0", "train.optimizer=\"sgd\"", "train.momentum=0.0", "train.learning_rate=0.01",
      "model.activation=\"sigmoid\"", "train.loss=\"mse\"", "model.regularizer=\"none\"", "model.initializer=\"random_normal\"",
      "model.dropout=0.0", "data.val_fraction=0.1"]),
    ("epochs", "40 epochs, early stopping on validation loss (patience 8)", ["train.epochs=40", "train.early_stopping=8"]),
    ("optimizer", "Adam instead of SGD", ["train.optimizer=\"adam\"", "train.learning_rate=0.001"]),
    ("activation", "ReLU instead of sigmoid", ["model.activation=\"relu\""]),
    ("loss", "cross-entropy per head instead of squared error", ["train.loss=\"categorical_crossentropy\""]),
    ("regularisation", "max-norm 3 on every weight matrix", ["model.regularizer=\"max_norm\"", "model.max_norm=3.0"]),
    ("initializer", "He-uniform weights (for ReLU)", ["model.initializer=\"he_uniform\""]),
    ("dropout", "dropout 0.3 after every hidden layer", ["model.dropout=0.3"]),
    ("learning rate", "learning rate 3e-4", ["train.learning_rate=0.0003"]),
    ("validation split", "20 % of the training part for validation (early stopping, thresholds)", ["data.val_fraction=0.2"]),
]

COLS = ("gender", "age_exact", "age_1off", "joint", "coverage", "covered_joint")


def run(base: str | Path | None, overrides: list[str], out: str | Path, folds: list[int] | None = None,
        progress: bool = False) -> list[dict]:
    """Benchmark every checklist step (cumulative) of ``base`` + ``overrides``; one result per step."""
    out = Path(out)
    applied: list[str] = list(overrides)
    results = []
    for i, (step, what, changes) in enumerate(CHECKLIST):
        applied += changes
        cfg = config.load(base, applied)
        cfg.name = f"{cfg.name}-step{i}-{step.replace(' ', '-')}"
        folder = out / f"step{i:02d}-{step.replace(' ', '-')}"
        report_path = folder / "report.json"
        report = json.loads(report_path.read_text()) if report_path.is_file() else benchmark.run(cfg, folder, folds, progress)
        results.append({"step": step, "what": what, "summary": report["summary"]["ours"],
                        "train_seconds": report["train_seconds_total"], "epochs": [r["epochs"] for r in report["folds"]]})
    (out / "ablation.json").write_text(json.dumps(results, indent=2) + "\n")
    (out / "ablation.md").write_text(markdown(results) + "\n")
    return results


def markdown(results: list[dict]) -> str:
    lines = ["| step | change | gender | age exact | age 1-off | joint | coverage | joint on covered | train s | epochs |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        lines.append(f"| {r['step']} | {r['what']} | " + " | ".join(fmt(r["summary"].get(c)) for c in COLS)
                     + f" | {r['train_seconds']:.0f} | {'/'.join(map(str, r['epochs']))} |")
    return "\n".join(lines)
