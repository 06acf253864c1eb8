"""Train / validation / test splits (DESIGN §5), all reproducible from a seed.

* :func:`adience_fold` — the standard subject-exclusive protocol: test on fold *k*, train on the
  others, validation taken from the training folds by subject. Records without a fold (extra
  sources merged in) only ever train: they can never leak into a test fold.
* :func:`stratified_kfold` — k folds stratified by (age group, gender), for sources without folds
  (the ``utkface-a8`` protocol).
* :func:`random_split` — the seed project's ``train_test_split`` over all images. One subject's
  photos fall on both sides, so it overstates accuracy: it is marked ``leaky`` everywhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from agegender.manifest import Record

LEAKY_WARNING = "LEAKY random split: one subject's photos may be in both train and test; accuracy is overstated"


@dataclass(frozen=True)
class Split:
    """Index arrays into a record list, plus what produced them."""

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray
    protocol: str
    leaky: bool = False

    def describe(self) -> str:
        text = f"{self.protocol}: train {len(self.train)}, val {len(self.val)}, test {len(self.test)}"
        return f"{text}  [{LEAKY_WARNING}]" if self.leaky else text


def _subject_of(r: Record, i: int) -> str:
    # A record without a subject id is its own subject.
    return f"{r.source}:{r.subject}" if r.subject else f"{r.source}:#{i}"


def _split_by_subject(indices: np.ndarray, subjects: list[str], fraction: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Hold out whole subjects until about ``fraction`` of ``indices`` is held out."""
    if fraction <= 0 or len(indices) == 0:
        return indices, np.array([], dtype=np.int64)
    uniq = sorted({subjects[i] for i in indices})
    order = rng.permutation(len(uniq))
    target = fraction * len(indices)
    counts: dict[str, int] = {}
    for i in indices:
        counts[subjects[i]] = counts.get(subjects[i], 0) + 1
    held: set[str] = set()
    n = 0
    for j in order:
        if n >= target:
            break
        held.add(uniq[j])
        n += counts[uniq[j]]
    mask = np.array([subjects[i] in held for i in indices], dtype=bool)
    return indices[~mask], indices[mask]


def adience_fold(records: Sequence[Record], test_fold: int, val_fraction: float = 0.1, seed: int = 0, source: str = "adience") -> Split:
    """Test = ``source`` records of fold ``test_fold``; validation by subject from the rest."""
    subjects = [_subject_of(r, i) for i, r in enumerate(records)]
    is_test = np.array([r.source == source and r.fold == test_fold for r in records], dtype=bool)
    test = np.flatnonzero(is_test)
    # Other sources train; but never keep one of the test subjects' photos on the training side.
    test_subjects = {subjects[i] for i in test}
    pool = np.array([i for i in np.flatnonzero(~is_test) if subjects[i] not in test_subjects], dtype=np.int64)
    rng = np.random.default_rng(seed + 1000 * test_fold)
    train, val = _split_by_subject(pool, subjects, val_fraction, rng)
    return Split(np.sort(train), np.sort(val), test, f"adience-5fold (test fold {test_fold}, validation by subject)")


def copies_of(records: Sequence[Record], keys: set[str], candidates: np.ndarray, phone_only: bool = False) -> np.ndarray:
    """Which ``candidates`` are copies of the records ``keys`` (any kind: ``agegender data augment``, with
    or without ``--shrink``, and views); ``phone_only``: only the phone-like ones, the robustness test set."""
    from agegender.augment import is_copy, is_phone_copy

    kind = is_phone_copy if phone_only else is_copy
    return np.array([i for i in candidates if records[i].subject in keys and kind(records[i])], dtype=np.int64)


def stratified_kfold(records: Sequence[Record], k: int = 5, seed: int = 0, val_fraction: float = 0.1,
                     test_source: str | None = None, test_on_copies: bool = False, train_on_copies: bool = True) -> list[Split]:
    """k folds stratified by (age group, gender); validation stratified from each training part.

    With ``test_source``, only that source's records are folded; records of other sources (merged-in
    extra data, e.g. gender-only crops) join the training part of every fold and are never tested on.
    Augmented copies of a validation or test face never train; ``test_on_copies`` tests on the test
    faces' copies instead of the faces themselves (robustness to phone-like photos); without
    ``train_on_copies`` no copy trains at all (a model of the originals, tested on copies).
    """
    from sklearn.model_selection import StratifiedKFold, train_test_split

    all_idx = np.arange(len(records))
    if test_source is None:
        idx, extra = all_idx, np.array([], dtype=np.int64)
    else:
        mine = np.array([r.source == test_source for r in records], dtype=bool)
        idx, extra = all_idx[mine], all_idx[~mine]
    strata = np.array([f"{records[i].age_group}/{records[i].gender}" for i in idx])
    skf = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    out = []
    for f, (train_pos, test_pos) in enumerate(skf.split(idx, strata)):
        val_pos = np.array([], dtype=np.int64)
        if val_fraction > 0:
            try:
                train_pos, val_pos = train_test_split(train_pos, test_size=val_fraction, random_state=seed + f,
                                                      stratify=strata[train_pos])
            except ValueError:  # too few rows per stratum for a stratified validation part
                train_pos, val_pos = train_test_split(train_pos, test_size=val_fraction, random_state=seed + f)
        held_keys = {records[i].key for i in np.concatenate([idx[val_pos], idx[test_pos]])}
        held_copies = copies_of(records, held_keys, extra)
        if not train_on_copies:
            held_copies = np.array([i for i in extra if records[i].source.endswith("-aug")], dtype=np.int64)
        extra_train = np.setdiff1d(extra, held_copies)
        test = idx[test_pos]
        if test_on_copies:
            test = copies_of(records, {records[i].key for i in test}, extra, phone_only=True)
        train = np.concatenate([idx[train_pos], extra_train])
        what = (f"stratified {k}-fold (fold {f}, seed {seed})" + (f"; {len(extra_train)} rows of other sources train only"
                if len(extra_train) else "") + ("; tested on the test faces' augmented copies" if test_on_copies else ""))
        out.append(Split(np.sort(train), np.sort(idx[val_pos]), np.sort(test), what))
    return out


def random_split(records: Sequence[Record], test_size: float = 0.2, seed: int = 0, val_fraction: float = 0.0) -> Split:
    """The seed project's ``sklearn.model_selection.train_test_split`` — leaky by construction."""
    from sklearn.model_selection import train_test_split

    idx = np.arange(len(records))
    train, test = train_test_split(idx, test_size=test_size, random_state=seed)
    val = np.array([], dtype=np.int64)
    if val_fraction > 0:
        train, val = train_test_split(train, test_size=val_fraction, random_state=seed)
    return Split(np.sort(train), np.sort(val), np.sort(test), f"random-split (test {test_size:g}, seed {seed})", leaky=True)


def subjects_overlap(records: Sequence[Record], a: np.ndarray, b: np.ndarray) -> set[str]:
    """Subjects present in both index sets (empty for a subject-exclusive split)."""
    sa = {_subject_of(records[i], i) for i in a if records[i].subject}
    sb = {_subject_of(records[i], i) for i in b if records[i].subject}
    return sa & sb
