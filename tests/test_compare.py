"""bench compare: candidates against a baseline on the folds they share (hand-made reports, figures checked by hand)."""

import json
from pathlib import Path

import pytest

from agegender import compare
from agegender.cli import main


def _fold(k: int, gender: float, exact: float, mae: float, copies: bool = True, kids: float = 0.7) -> dict:
    conf = [[0] * 8 for _ in range(8)]
    conf[5][5], conf[5][4] = 3, 1          # 38-43: 3 of 4 right → 75 %
    conf[6][6], conf[6][7] = 1, 1          # 48-53: 1 of 2 → 50 %
    ours = {"gender": gender, "age_exact": exact, "age_1off": 0.97, "joint": 0.7, "coverage": 0.69,
            "covered_joint": 0.8, "years_mae": mae, "age_confusion": conf,
            "gender_by_age": {"0-2": {"accuracy": kids, "n": 10}, "4-6": {"accuracy": 0.8, "n": 5},
                              "8-13": {"accuracy": 0.9, "n": 0}}}
    row = {"fold": k, "ours": ours}
    if copies:
        row["ours_on_copies"] = {"gender": gender - 0.01, "age_exact": exact - 0.02, "age_1off": 0.95}
    return row


def _run(tmp_path, name: str, folds: list[dict]) -> str:
    d = tmp_path / name
    d.mkdir()
    (d / "report.json").write_text(json.dumps({"folds": folds}))
    return str(d)


def test_paired_differences_on_the_shared_folds(tmp_path):
    base = compare.load(_run(tmp_path, "base", [_fold(0, 0.94, 0.77, 4.4), _fold(1, 0.95, 0.78, 4.5),
                                                _fold(2, 0.93, 0.76, 4.3)]))
    cand = compare.load(_run(tmp_path, "cand", [_fold(0, 0.95, 0.76, 4.3, kids=0.6), _fold(2, 0.935, 0.78, 4.5)]))
    p = compare.paired(base, cand)
    assert p.folds == [0, 2]                                   # fold 1 is the baseline's alone
    assert p.base["gender"] == pytest.approx(93.5) and p.cand["gender"] == pytest.approx(94.25)
    assert p.delta["gender"] == pytest.approx(0.75)            # +1.0 and +0.5
    assert p.spread["gender"] == pytest.approx(0.35355, abs=1e-4)  # sd (ddof=1) of 1.0 and 0.5
    assert p.ahead["gender"] == 2
    assert p.delta["exact"] == pytest.approx(0.5) and p.ahead["exact"] == 1  # −1 and +2
    assert p.delta["MAE years"] == pytest.approx(0.05)         # −0.1 and +0.2 years (not percent) …
    assert p.ahead["MAE years"] == 1                           # … and lower is better
    assert p.delta["copies: exact"] == pytest.approx(0.5)
    assert p.delta["gender 0-2"] == pytest.approx(-5.0)        # 60 vs 70 on fold 0, equal on fold 2
    assert p.delta["gender 8-13"] is None                      # no faces of that group: no figure
    assert p.base["exact 38-43"] == pytest.approx(75.0) and p.base["exact 48-53"] == pytest.approx(50.0)
    text = compare.markdown(base, [p])
    assert "cand vs base, paired on folds 0, 2" in text
    assert "| gender | 93.50 | 94.25 | +0.75 ± 0.35 | 2 of 2 |" in text
    assert "gender 8-13" not in text


def test_one_fold_screen_and_runs_that_cannot_compare(tmp_path, capsys):
    base = _run(tmp_path, "base", [_fold(k, 0.94, 0.77, 4.4) for k in range(5)])
    screen = _run(tmp_path, "screen", [_fold(0, 0.943, 0.772, 4.4, copies=False)])
    assert main(["bench", "compare", base, screen]) == 0
    out = capsys.readouterr().out
    assert "screen vs base, paired on fold 0 " in out and "one fold: no spread" in out
    assert "| gender | 94.00 | 94.30 | +0.30 |" in out and "copies" not in out  # the screen scored no copies
    assert main(["bench", "compare", base, screen, "--json"]) == 0
    [row] = json.loads(capsys.readouterr().out)
    assert row["folds"] == [0] and row["delta"]["exact"] == pytest.approx(0.2) and row["delta_sd"]["exact"] is None
    other = _run(tmp_path, "other", [_fold(3, 0.9, 0.7, 5.0)])
    with pytest.raises(ValueError, match=r"other shares no fold with screen \(folds \[3\] vs \[0\]\)"):
        compare.paired(compare.load(screen), compare.load(other))
    with pytest.raises(FileNotFoundError, match="nothing-here: no report.json"):
        compare.load(tmp_path / "nothing-here")
    empty = _run(tmp_path, "empty", [])
    with pytest.raises(ValueError, match="no fold results"):
        compare.load(empty)


def test_a_run_still_going_compares_on_its_finished_folds(tmp_path, capsys):
    """No report.json yet: each finished fold's own test figures (fold_K/metadata.json, as training writes
    them); a fold still training (no metadata yet) is left out, and the table says the run is unfinished."""
    base = _run(tmp_path, "base", [_fold(k, 0.94, 0.77, 4.4) for k in range(3)])
    going = tmp_path / "going"
    for k, gender in ((0, 0.95), (2, 0.93)):
        (going / f"fold_{k}").mkdir(parents=True)
        (going / f"fold_{k}" / "metadata.json").write_text(json.dumps(
            {"metrics": {"val": {"gender": 0.5}, "test": _fold(k, gender, 0.78, 4.3)["ours"]}}))
    (going / "fold_1").mkdir()                                  # training: no metadata yet
    (going / "fold_1" / "history.csv").write_text("epoch,loss\n0,1.0\n")
    run = compare.load(going)
    assert run.unfinished and sorted(run.folds) == [0, 2]
    assert run.folds[0]["gender"] == pytest.approx(95.0) and run.folds[0]["copies: gender"] is None
    p = compare.paired(compare.load(base), run)
    assert p.folds == [0, 2] and p.delta["gender"] == pytest.approx(0.0) and p.delta["exact"] == pytest.approx(1.0)
    assert p.unfinished == ["going"]
    assert main(["bench", "compare", base, str(going)]) == 0
    out = capsys.readouterr().out
    assert "Unfinished: going (folds not in a report.json yet" in out and "| exact | 77.00 | 78.00 | +1.00 ± 0.00 | 2 of 2 |" in out
    assert not compare.paired(compare.load(base), compare.load(base)).unfinished
    # a finished benchmark given more folds (`--folds 0,1,2` after `--folds 0`): its report holds fold 0 until
    # the run ends, and the folds finished since are read from their run folders
    more = _run(tmp_path, "more", [_fold(0, 0.96, 0.75, 4.2)])
    (Path(more) / "fold_2").mkdir()
    (Path(more) / "fold_2" / "metadata.json").write_text(json.dumps({"metrics": {"test": _fold(2, 0.92, 0.79, 4.4)["ours"]}}))
    run = compare.load(more)
    assert sorted(run.folds) == [0, 2] and run.unfinished
    assert run.folds[0]["copies: gender"] == pytest.approx(95.0) and run.folds[2]["copies: gender"] is None
    assert run.folds[2]["gender"] == pytest.approx(92.0)
    (going / "fold_1").rename(tmp_path / "moved")
    for k in (0, 2):
        (going / f"fold_{k}" / "metadata.json").unlink()
    with pytest.raises(FileNotFoundError, match="going: no report.json and no finished fold"):
        compare.load(going)


def _preds(folds, keys, age, gender, y_age, y_gender, t_gender=0.5) -> dict:
    import numpy as np

    n = len(keys)
    return {"fold": np.array(folds), "key": np.array(keys, dtype=object), "age": np.array(age, dtype=float),
            "gender": np.array(gender, dtype=float), "y_age": np.array(y_age), "y_gender": np.array(y_gender),
            "t_age": np.full(n, 0.5), "t_gender": np.full(n, t_gender)}


def test_face_by_face_counts_and_exact_mcnemar():
    """Two runs' test predictions matched by (fold, key) whatever their order; counts worked out by hand."""
    a0, a1, a2 = [0.9, 0.1] + [0] * 6, [0.1, 0.9] + [0] * 6, [0, 0.1, 0.9] + [0] * 5   # age groups 0, 1, 2
    m, f, unsure = [0.9, 0.1], [0.1, 0.9], [0.45, 0.55]
    # labels: (age 0, m), (age 1, f), (age 2, m), (no age, f); the baseline: right, right, age 1 (1-off), gender wrong
    base = _preds([0, 0, 1, 1], ["a", "b", "c", "d"], [a0, a1, a1, a0], [m, f, m, m], [0, 1, 2, -1], [0, 1, 0, 1])
    # the candidate, listed in another order: c right; a's gender wrong; b unsure of gender (answers less); d right
    cand = _preds([1, 1, 0, 0], ["d", "c", "b", "a"], [a0, a2, a1, a0], [f, m, unsure, f], [-1, 2, 1, 0], [1, 0, 1, 0],
                  t_gender=0.6)
    r = compare.face_paired("cand", base, cand)
    assert r.folds == [0, 1]
    assert r.n == {"gender": 4, "exact": 3, "1-off": 3, "joint": 3, "answered": 4}
    assert (r.only_base["gender"], r.only_cand["gender"]) == (1, 1)     # a vs d (b: the unsure answer is still female)
    assert (r.only_base["exact"], r.only_cand["exact"]) == (0, 1)       # c
    assert (r.only_base["1-off"], r.only_cand["1-off"]) == (0, 0)
    assert (r.only_base["joint"], r.only_cand["joint"]) == (1, 1)       # a vs c
    assert (r.only_base["answered"], r.only_cand["answered"]) == (1, 0)  # b: 0.55 < the candidate's 0.6
    assert r.delta("exact") == pytest.approx(100 / 3) and r.p["exact"] == 1.0
    # surest first (p(age)·p(gender)), a, b, c labelled: the baseline .81 / .81 / .81 (a, b right), the candidate
    # a .81 (wrong), c .81 (right), b .9 × .55 (right) — two faces of three at 70 and 80 %, all three at 90 %
    assert r.top[0.7] == pytest.approx((100.0, 50.0)) and r.top[0.8] == pytest.approx((100.0, 50.0))
    assert r.top[0.9] == pytest.approx((200 / 3, 200 / 3))
    assert compare.mcnemar_p(0, 0) == 1.0 and compare.mcnemar_p(5, 5) == 1.0
    assert compare.mcnemar_p(1, 9) == pytest.approx(22 / 1024) == compare.mcnemar_p(9, 1)  # 2·(C(10,0)+C(10,1))/2^10
    text = compare.faces_markdown("base", [r])
    assert "| exact | 3 | 0 | 1 | +33.33 | 1.000 |" in text and "most confident 70 %: 100.00 vs 50.00" in text
    other = _preds([2], ["a"], [a0], [m], [0], [0])
    with pytest.raises(ValueError, match="shares no finished fold"):
        compare.face_paired("other", base, other)


def test_finished_folds_adds_the_folds_a_report_does_not_hold_yet(tmp_path):
    """What `--faces` re-predicts: a report's folds and those finished since (a run given more `--folds`), each
    with its own thresholds; a fold still training (no metadata) is left out."""
    from agegender import benchmark, config

    cfg = config.Config().to_dict()
    (tmp_path / "report.json").write_text(json.dumps({"config": cfg, "folds": [
        {"fold": 0, "thresholds": {"age": 0.4, "gender": 0.6}}]}))
    for k, meta in ((1, {"metrics": {"test": {"gender": 0.9}}, "thresholds": {"age": 0.5, "gender": 0.7}}),
                    (2, {"metrics": {"test": None}})):
        (tmp_path / f"fold_{k}").mkdir()
        (tmp_path / f"fold_{k}" / "config.json").write_text(json.dumps(cfg))
        (tmp_path / f"fold_{k}" / "metadata.json").write_text(json.dumps(meta))
    (tmp_path / "fold_3").mkdir()
    _, rows = benchmark.finished_folds(tmp_path)
    assert rows == [{"fold": 0, "thresholds": {"age": 0.4, "gender": 0.6}},
                    {"fold": 1, "thresholds": {"age": 0.5, "gender": 0.7}}]


def test_the_baselines_kept_in_the_repository_load_and_compare():
    """baselines/: the default's recipe's figures per fold, so a screen on a new machine compares without
    training the baseline again (docs/TRAINING.md). Each must load as a finished run with every column."""
    root = Path(__file__).resolve().parents[1] / "baselines"
    runs = [compare.load(d) for d in sorted(root.iterdir()) if (d / "report.json").is_file()]
    assert runs, "no baseline kept"
    for run in runs:
        assert run.folds and not run.unfinished
        for figures in run.folds.values():
            assert all(v is not None for v in figures.values()), run.name  # copies, children, 38-43 … all there
            assert 90 < figures["gender"] < 100 and 70 < figures["exact"] < 85 and 60 < figures["answered"] < 80
        same = compare.paired(run, run)
        assert same.folds == sorted(run.folds) and all(d == 0 for d in same.delta.values())
