"""Calibrated answers: temperature scaling of the softmax heads, and how far confidence is from accuracy.

A network's softmax is usually over-confident. Dividing its logits by a temperature ``T`` (fitted on
validation data to minimise the negative log-likelihood) keeps every argmax — so accuracy does not
change — but makes "90 % sure" mean right about 90 % of the time, which is what the Undefined
thresholds rely on. The expected calibration error (ECE) and the reliability diagram measure it.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

EPS = 1e-7


def apply_temperature(probs: np.ndarray, temperature: float) -> np.ndarray:
    """``softmax(log p / T)``, row by row."""
    z = np.log(np.clip(probs, EPS, 1.0)) / temperature
    z -= z.max(1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(1, keepdims=True)


def nll(probs: np.ndarray, y: np.ndarray) -> float:
    has = y >= 0
    return float(-np.log(np.clip(probs[has, y[has]], EPS, 1.0)).mean()) if has.any() else 0.0


def fit_temperature(probs: np.ndarray, y: np.ndarray, lo: float = 0.05, hi: float = 20.0) -> float:
    """The temperature minimising the negative log-likelihood of the labelled rows (``y`` ≥ 0):
    a log-spaced search, then a golden-section refinement. 1.0 when there is nothing to fit on."""
    has = y >= 0
    if has.sum() < 10:
        return 1.0
    p, y = probs[has], y[has]
    grid = np.exp(np.linspace(np.log(lo), np.log(hi), 60))
    losses = [nll(apply_temperature(p, t), y) for t in grid]
    k = int(np.argmin(losses))
    a, b = np.log(grid[max(0, k - 1)]), np.log(grid[min(len(grid) - 1, k + 1)])
    g = (np.sqrt(5) - 1) / 2
    for _ in range(40):
        c, d = b - g * (b - a), a + g * (b - a)
        if nll(apply_temperature(p, np.exp(c)), y) < nll(apply_temperature(p, np.exp(d)), y):
            b = d
        else:
            a = c
    return float(np.exp((a + b) / 2))


def expected_calibration_error(probs: np.ndarray, y: np.ndarray, bins: int = 15) -> float | None:
    """ECE of the top-class probability: the bin-weighted gap between confidence and accuracy."""
    has = y >= 0
    if not has.any():
        return None
    p, y = probs[has], y[has]
    conf, right = p.max(1), (p.argmax(1) == y).astype(float)
    edges = np.linspace(0, 1, bins + 1)
    idx = np.clip(np.digitize(conf, edges[1:-1]), 0, bins - 1)
    ece = 0.0
    for b in range(bins):
        m = idx == b
        if m.any():
            ece += m.mean() * abs(conf[m].mean() - right[m].mean())
    return float(ece)


def reliability(probs: np.ndarray, y: np.ndarray, bins: int = 10) -> list[tuple[float, float, int]]:
    """``(mean confidence, accuracy, count)`` per confidence bin: the reliability diagram's points."""
    has = y >= 0
    p, y = probs[has], y[has]
    conf, right = p.max(1), (p.argmax(1) == y).astype(float)
    edges = np.linspace(0, 1, bins + 1)
    idx = np.clip(np.digitize(conf, edges[1:-1]), 0, bins - 1)
    return [(float(conf[idx == b].mean()), float(right[idx == b].mean()), int((idx == b).sum()))
            for b in range(bins) if (idx == b).any()]


def plot_reliability(points: dict[str, list[tuple[float, float, int]]], path: str | Path, title: str) -> Path:
    """Reliability diagrams (confidence vs accuracy) of both heads; the diagonal is perfect calibration."""
    os.environ.setdefault("MPLBACKEND", "Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4.2, 4))
    ax.plot([0, 1], [0, 1], "k:", lw=1)
    for name, pts in points.items():
        ax.plot([c for c, _, _ in pts], [a for _, a, _ in pts], "o-", label=name, ms=3)
    ax.set_xlabel("confidence (top probability)")
    ax.set_ylabel("accuracy")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return Path(path)
