import numpy as np
import pytest

from agegender import splits
from agegender.datasets import adience
from agegender.manifest import Record
from conftest import ADIENCE_FOLDS, shared_path


def _records(n_subjects=40, per=5, folds=5, extra=30):
    recs = []
    for s in range(n_subjects):
        for j in range(per):
            recs.append(Record(path=f"{s}/{j}.jpg", source="adience", key=f"{s}/{j}", subject=f"u{s}",
                               fold=s % folds, age_group=(s + j) % 8, gender=s % 2))
    for e in range(extra):  # a merged extra source without folds
        recs.append(Record(path=f"x{e}.jpg", source="utkface", key=f"x{e}", age_group=e % 8, gender=e % 2))
    return recs


@pytest.mark.parametrize("k", range(5))
def test_adience_fold_is_subject_exclusive_and_extra_sources_never_test(k):
    recs = _records()
    sp = splits.adience_fold(recs, k, val_fraction=0.2, seed=3)
    assert {recs[i].fold for i in sp.test} == {k}
    assert all(recs[i].source == "adience" for i in sp.test)
    assert not splits.subjects_overlap(recs, sp.train, sp.test)
    assert not splits.subjects_overlap(recs, sp.val, sp.test)
    assert not splits.subjects_overlap(recs, sp.train, sp.val)
    assert all(recs[i].fold != k for i in np.r_[sp.train, sp.val] if recs[i].source == "adience")
    assert len(set(sp.train) | set(sp.val) | set(sp.test)) == len(recs)
    assert 0.1 < len(sp.val) / (len(sp.train) + len(sp.val)) < 0.3
    assert not sp.leaky


def test_adience_fold_reproducible_from_seed():
    recs = _records()
    a, b = splits.adience_fold(recs, 1, seed=7), splits.adience_fold(recs, 1, seed=7)
    assert np.array_equal(a.val, b.val) and np.array_equal(a.train, b.train)
    assert not np.array_equal(a.val, splits.adience_fold(recs, 1, seed=8).val)


def test_random_split_is_labelled_leaky_and_reproducible():
    recs = _records()
    a, b = splits.random_split(recs, seed=1), splits.random_split(recs, seed=1)
    assert a.leaky and "LEAKY" in a.describe()
    assert np.array_equal(a.test, b.test)
    # with 5 photos per subject a random split almost surely shares subjects: that is the leak
    assert splits.subjects_overlap(recs, a.train, a.test)


def test_stratified_kfold_covers_everything_once():
    recs = _records(extra=0)
    folds = splits.stratified_kfold(recs, k=5, seed=0)
    tests = np.concatenate([f.test for f in folds])
    assert sorted(tests) == list(range(len(recs)))
    for f in folds:
        assert not set(f.test) & set(f.train) and not set(f.val) & set(f.train)


def test_fixture_folds_isolated():
    m = adience.load(ADIENCE_FOLDS)
    for k in range(5):
        sp = splits.adience_fold(m.records, k, val_fraction=0.3)
        assert not splits.subjects_overlap(m.records, np.r_[sp.train, sp.val], sp.test)


def test_real_folds_subject_exclusive():
    m = adience.load(shared_path("data", "adience", "Folds"))
    for k in range(5):
        sp = splits.adience_fold(m.records, k)
        assert not splits.subjects_overlap(m.records, np.r_[sp.train, sp.val], sp.test)
        assert len(sp.train) + len(sp.val) + len(sp.test) == 16156


def test_stratified_kfold_keeps_other_sources_train_only():
    utk = [Record(path=f"u{i}.jpg", source="utkface", key=f"u{i}", age_group=i % 8, gender=i % 2) for i in range(200)]
    extra = [Record(path=f"c{i}.jpg", source="celeba-gender", key=f"c{i}", gender=i % 2) for i in range(50)]
    recs = utk[:100] + extra + utk[100:]
    plain = splits.stratified_kfold(utk, k=5, seed=0)
    mixed = splits.stratified_kfold(recs, k=5, seed=0, test_source="utkface")
    extra_idx = set(range(100, 150))
    seen = []
    for sp, ref in zip(mixed, plain):
        assert extra_idx <= set(sp.train.tolist())                      # every fold trains on the extra rows
        assert not extra_idx & set(sp.test.tolist()) and not extra_idx & set(sp.val.tolist())  # never tests on them
        seen += sp.test.tolist()
        to_utk = lambda idx: sorted(i if i < 100 else i - 50 for i in idx if i not in extra_idx)  # noqa: E731
        assert to_utk(sp.test) == ref.test.tolist()                      # UTKFace folds unchanged by the extra rows
    assert sorted(seen) == sorted(set(range(250)) - extra_idx)


def test_all_data_validation_holds_out_originals_and_their_copies():
    """Protocol "all" (the built-in models): 10 % of the originals validate, drawn the same way every time (a study
    finds the faces a shipped model never fitted this way: scripts/fold_test_manifest.py --holdout), and no copy
    of a held-out face trains."""
    from types import SimpleNamespace

    from agegender import trainset

    utk = [Record(path=f"u{i}.jpg", source="utkface", key=f"u{i}", subject=f"u{i}", age_group=i % 8, gender=i % 2)
           for i in range(100)]
    aug = [Record(path=f"a/u{i}-{c}.jpg", source="utkface-aug", key=f"u{i}#{c}", subject=f"u{i}", age_group=i % 8,
                  gender=i % 2) for i in range(100) for c in range(2)]
    recs = utk + aug
    originals, val = trainset.all_data_validation(recs, 0.1, 0)
    assert originals.tolist() == list(range(100)) and len(val) == 10 and set(val) <= set(originals)
    assert trainset.all_data_validation(recs, 0.1, 0)[1].tolist() == val.tolist()
    assert trainset.all_data_validation(recs, 0.1, 1)[1].tolist() != val.tolist()
    assert trainset.all_data_validation(utk, 0.1, 0)[1].tolist() == val.tolist()  # copies after the originals: same faces
    sp = trainset.make_split(SimpleNamespace(records=recs), "all", 0, val_fraction=0.1, seed=0)
    held = {recs[i].subject for i in val}
    assert sp.val.tolist() == sorted(val.tolist()) and len(sp.test) == 0
    assert not held & {recs[i].subject for i in sp.train}                 # neither the faces nor their copies train
    assert len(sp.train) == 90 + 180


def test_fold_test_manifest_holdout_and_trained_are_the_two_halves(tmp_path):
    """scripts/fold_test_manifest.py --holdout MODEL: the faces a model trained on all data held out (checked against
    its metadata); with --trained the other originals — together every face once; a manifest whose draw does not
    match the metadata is refused."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    from agegender import manifest as mf
    from agegender import trainset

    recs = [Record(path=f"u{i}.jpg", root=str(tmp_path), source="utkface", key=f"u{i}", subject=f"u{i}",
                   age_group=i % 8 if i % 3 else None, gender=i % 2, age_years=30.0 + i % 7) for i in range(100)]
    man = mf.write(mf.Manifest(recs, mf.DropLog(), ["test"]), tmp_path / "utk.csv")
    val = trainset.all_data_validation(recs, 0.1, 0)[1]
    model = tmp_path / "model"
    model.mkdir()
    meta = {"training": {"protocol": "all data (validation only)", "val": 10},
            "metrics": {"val": {"n_age": sum(recs[i].age_group is not None for i in val)}}}
    (model / "metadata.json").write_text(json.dumps(meta))
    script = Path(__file__).resolve().parents[1] / "scripts" / "fold_test_manifest.py"

    def run(*extra):
        return subprocess.run([sys.executable, str(script), "--holdout", str(model), "--manifest", str(man), *extra],
                              capture_output=True, text=True)

    assert run("--out", str(tmp_path / "held.csv")).returncode == 0
    r = run("--trained", "--min-years", "33", "--out", str(tmp_path / "trained.csv"))
    assert r.returncode == 0 and "training faces of" in r.stdout
    held = {x.key for x in mf.read(tmp_path / "held.csv").records}
    trained = {x.key for x in mf.read(tmp_path / "trained.csv").records}
    assert held == {recs[i].key for i in val}
    assert trained == {x.key for x in recs if x.key not in held and x.age_years >= 33}
    meta["training"]["val"] = 11
    (model / "metadata.json").write_text(json.dumps(meta))
    r = run("--out", str(tmp_path / "x.csv"))
    assert r.returncode != 0 and "not the manifest or the split it was trained with" in r.stderr
