"""A manifest joined with its feature files: the arrays every model trains and is evaluated on."""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from agegender import labels, splits
from agegender import manifest as mf
from agegender.augment import is_copy
from agegender.feature_matrix import FeatureMatrix, join_columns, join_rows
from agegender.features.cache import FeatureSet
from agegender.manifest import Record

if TYPE_CHECKING:
    from agegender.config import DataConfig

MISSING = -1


@dataclass
class LabelledFeatures:
    """Rows that have features; labels are indices, ``-1`` where the source has no such label."""

    X: np.ndarray | FeatureMatrix  # a FeatureMatrix when a feature file is stored as float16 (faceresmap)
    y_age: np.ndarray          # strict Adience group (evaluation uses only this)
    y_gender: np.ndarray
    age_years: np.ndarray      # NaN when unknown
    records: list[Record]
    extractors: list[str]      # one per feature file, in column order
    dims: list[int]
    settings: list[str]        # extractor version + detector of each feature file (the preprocessing)
    race: np.ndarray | None = None  # the source's race label per row ("" unknown): per-group reports only

    def __len__(self) -> int:
        return len(self.records)

    @cached_property
    def age_low(self) -> np.ndarray:
        """The youngest age each row's labels allow (``Record.age_low``; NaN unknown): who counts as an adult in
        the per-race comparison also where a source labels ranges (FairFace) or groups, not years."""
        return np.array([np.nan if (a := r.age_low) is None else a for r in self.records], dtype=np.float64)

    def train_age_labels(self, idx: np.ndarray, gap_ages: str) -> np.ndarray:
        """Age labels for training rows: a gap age gets its nearest group when ``gap_ages='nearest'``;
        with ``gap_ages='split'`` soft targets ``(n, 8)``, a gap age's split between its two neighbouring
        groups (:func:`labels.split_age_group`); otherwise group indices (``MISSING`` where none)."""
        y = self.y_age[idx].copy()
        gap = (y == MISSING) & ~np.isnan(self.age_years[idx])
        if gap_ages == "nearest":
            y[gap] = [labels.nearest_age_group(a) for a in self.age_years[idx][gap]]
        elif gap_ages == "split":
            soft = np.zeros((len(y), labels.NUM_AGE_GROUPS), dtype=np.float32)
            soft[np.flatnonzero(y >= 0), y[y >= 0]] = 1.0
            if gap.any():
                soft[gap] = np.stack([labels.split_age_group(a) for a in self.age_years[idx][gap]])
            return soft
        return y

    def columns_of(self, extractor: str) -> slice | None:
        """Where one extractor's features sit in ``X`` (also inside a ``a+b`` concatenation)."""
        from agegender.features import extractor_dim

        start = 0
        for name, dim in zip(self.extractors, self.dims):
            parts = name.split("+")
            for part, pdim in zip(parts, [extractor_dim(p) for p in parts] if len(parts) > 1 else [dim]):
                if part == extractor:
                    return slice(start, start + pdim)
                start += pdim
        return None


def load(manifest_path: str | Path, feature_paths: str | Path | list[str | Path], root: str | None = None,
         views: str | Path | list[str | Path] = "") -> LabelledFeatures:
    """Join a manifest with one or more feature ``.npz`` files (a list, or comma-separated) on manifest rows.

    ``views``: feature files of the same extractors computed on the same manifest in another way (e.g.
    chips aligned by RetinaFace's landmarks, as prediction aligns photos): each of their rows is added
    as a training-only copy of its image (source ``…-view-aug``, subject = the original), so a face's
    views train with it and never when it is held out. Several sets, ``;``-separated (e.g. the
    ``retina5`` chips; the mirrored chips of ``agegender features --mirror``), add one copy each.
    """
    m = mf.read(manifest_path)
    if root:
        m = m.with_root(root)
    data = _join(m, _paths(feature_paths), manifest_path)
    sets = [s for s in (views.split(";") if isinstance(views, str) else [views]) if s and str(s).strip()]
    for k, view_set in enumerate(sets):
        data = _with_views(data, _join(m, _paths(view_set), manifest_path), "#view" if k == 0 else f"#view{k + 1}",
                           view_set)
    return data


def _with_views(data: LabelledFeatures, extra: LabelledFeatures, tag: str, what: str | Path | list) -> LabelledFeatures:
    """``data`` with ``extra``'s rows added as training-only copies of their images, keyed ``KEY{tag}``."""
    if extra.extractors != data.extractors or extra.dims != data.dims:
        raise ValueError(f"views {what}: extractors {extra.extractors} {extra.dims} differ from the "
                         f"features' {data.extractors} {data.dims}")
    copies = [replace(r, source=f"{r.source}-view-aug", key=f"{r.key}{tag}",
                      subject=r.subject if is_copy(r) else r.key) for r in extra.records]
    return LabelledFeatures(
        X=join_rows(data.X, extra.X),
        y_age=np.concatenate([data.y_age, extra.y_age]),
        y_gender=np.concatenate([data.y_gender, extra.y_gender]),
        age_years=np.concatenate([data.age_years, extra.age_years]),
        records=data.records + copies,
        extractors=data.extractors,
        dims=data.dims,
        settings=data.settings,
        race=np.concatenate([data.race, extra.race]),
    )


def _paths(paths: str | Path | list[str | Path]) -> list[str]:
    if isinstance(paths, str | Path):
        return [p.strip() for p in str(paths).split(",")]
    return [str(p) for p in paths]


def _join(m: mf.Manifest, paths: list[str], manifest_path: str | Path) -> LabelledFeatures:
    if not paths or not paths[0]:
        raise ValueError("no feature file given (data.features): compute one with `agegender features`")
    sets = []
    for p in paths:
        if not Path(p).is_file():
            raise FileNotFoundError(f"{p}: no such feature file")
        fs = FeatureSet.load(p)
        if len(fs.rows) and fs.rows.max() >= len(m):
            raise ValueError(f"{p}: rows beyond the manifest's {len(m)} records — was it made from {manifest_path}?")
        if fs.keys is not None:  # rows are positions: the same keys there, or another manifest's file
            wrong = next(((int(r), str(k)) for r, k in zip(fs.rows, fs.keys) if m.records[r].key != k), None)
            if wrong is not None:
                raise ValueError(f"{p}: row {wrong[0]} is {wrong[1]!r} there but {m.records[wrong[0]].key!r} in "
                                 f"{manifest_path} — was it made from another manifest?")
        sets.append(fs)
    common = sets[0].rows
    for fs in sets[1:]:
        common = np.intersect1d(common, fs.rows)
    blocks = []
    for fs in sets:
        if np.array_equal(fs.rows, common):  # no copy of a large block
            blocks.append(fs.features)
            continue
        pos = {r: i for i, r in enumerate(fs.rows)}
        blocks.append(fs.features[[pos[r] for r in common]])
    X = join_columns(blocks)
    recs = [m.records[i] for i in common]
    return LabelledFeatures(
        X=X,
        y_age=np.array([MISSING if r.age_group is None else r.age_group for r in recs], dtype=np.int64),
        y_gender=np.array([MISSING if r.gender is None else r.gender for r in recs], dtype=np.int64),
        age_years=np.array([np.nan if r.age_years is None else r.age_years for r in recs], dtype=np.float64),
        records=recs,
        extractors=[fs.extractor for fs in sets],
        dims=[fs.features.shape[1] for fs in sets],
        settings=[fs.setting for fs in sets],
        race=np.asarray([r.race or "" for r in recs], dtype=object),
    )


def all_data_validation(records: list[mf.Record], val_fraction: float = 0.1, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Protocol "all": the originals' row indices (not ``-aug`` copies) and those held out for validation among
    them — also how a study finds the faces a built-in model never fitted (scripts/fold_test_manifest.py)."""
    originals = np.array([i for i, r in enumerate(records) if not r.source.endswith("-aug")], dtype=np.int64)
    sp = splits.random_split([records[i] for i in originals], test_size=max(val_fraction, 1e-9), seed=seed)
    return originals, originals[sp.test]


def load_data(d: DataConfig) -> LabelledFeatures:
    """The rows a config's ``[data]`` names: its manifest with its feature files and views."""
    return load(d.manifest, d.features, d.root or None, d.views)


def fold_count(d: DataConfig) -> int:
    """How many folds the config's protocol has (Adience's five are fixed by its fold files)."""
    return 5 if d.protocol == "adience-5fold" else d.folds


def split_of(data: LabelledFeatures, d: DataConfig, fold: int | None = None) -> splits.Split:
    """Fold ``fold`` (default: the config's own) of the config's protocol: the one place a config becomes a split,
    so training, benchmarks, comparisons and joins hold out the same faces."""
    return make_split(data, d.protocol, d.fold if fold is None else fold, fold_count(d), d.val_fraction, d.seed,
                      d.test_on, d.train_on_copies)


def make_split(data: LabelledFeatures, protocol: str, fold: int, folds: int = 5, val_fraction: float = 0.1,
               seed: int = 0, test_on: str = "original", train_on_copies: bool = True) -> splits.Split:
    """The train/val/test indices of one fold of a protocol (DESIGN §5)."""
    if protocol == "utkface-a8":  # other sources merged in (gender-only crops, augmented copies …) only ever train
        source = "utkface" if any(r.source == "utkface" for r in data.records) else None
        return splits.stratified_kfold(data.records, k=folds, seed=seed, val_fraction=val_fraction, test_source=source,
                                       test_on_copies=test_on == "augmented", train_on_copies=train_on_copies)[fold]
    if protocol == "adience-5fold":
        return splits.adience_fold(data.records, fold, val_fraction=val_fraction, seed=seed)
    if protocol == "random-split":
        return splits.random_split(data.records, test_size=1.0 / folds, seed=seed + fold, val_fraction=val_fraction)
    if protocol == "all":  # validation from the originals; their augmented copies never train
        originals, val = all_data_validation(data.records, val_fraction, seed)
        copies = np.setdiff1d(np.arange(len(data.records)), originals)
        held = splits.copies_of(data.records, {data.records[i].key for i in val}, copies)
        train = np.sort(np.concatenate([np.setdiff1d(originals, val), np.setdiff1d(copies, held)]))
        return splits.Split(train, np.sort(val), np.array([], dtype=np.int64), "all data (validation only)")
    raise ValueError(f"unknown protocol {protocol!r}")
