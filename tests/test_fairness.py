"""Per-group breakdowns, calibration (error and temperature scaling) and coverage curves on small
fixtures checked by hand."""

import numpy as np
import pytest

from agegender import calibration, fairness


def _onehot(idx, n, p=0.9):
    p = np.broadcast_to(np.asarray(p, dtype=float), (len(idx),))
    out = np.repeat(((1 - p) / (n - 1))[:, None], n, axis=1)
    out[np.arange(len(idx)), idx] = p
    return out


@pytest.fixture
def fixture():
    # 8 faces: 4 "white", 3 "black", 1 unlabelled race; true age group / gender and predictions
    race = np.array(["white", "white", "white", "white", "black", "black", "black", ""], dtype=object)
    y_age = np.array([4, 4, 0, 7, 4, 2, -1, 3])
    y_gender = np.array([0, 1, 1, 0, 1, 0, 0, 1])
    pred_age = np.array([4, 5, 0, 7, 4, 1, 3, 3])      # white: 3/4 exact, 4/4 1-off; black: 1/2 exact, 2/2 1-off
    pred_gender = np.array([0, 1, 0, 0, 1, 1, 0, 1])   # white: 3/4; black: 2/3
    covered = np.array([1, 1, 0, 1, 1, 0, 1, 1], bool)
    return race, y_age, y_gender, _onehot(pred_age, 8), _onehot(pred_gender, 2), covered


def test_group_counts_and_accuracies_by_hand(fixture, monkeypatch):
    race, ya, yg, pa, pg, covered = fixture
    monkeypatch.setattr(fairness, "MIN_GROUP", 1)
    rep = fairness.breakdown(pa, pg, ya, yg, fairness.groupings(ya, yg, race), covered)
    white, black = rep["race"]["groups"]["white"], rep["race"]["groups"]["black"]
    assert list(rep["race"]["groups"]) == ["white", "black"]  # UTKFace's order; unlabelled rows left out
    assert (white["n"], white["n_age"], white["n_gender"]) == (4, 4, 4)
    assert white["gender"] == 0.75 and white["age_exact"] == 0.75 and white["age_1off"] == 1.0 and white["joint"] == 0.5
    assert (black["n"], black["n_age"]) == (3, 2)
    assert black["gender"] == pytest.approx(2 / 3) and black["age_exact"] == 0.5 and black["age_1off"] == 1.0
    # covered: white rows 0, 1, 3 answered (row 2 not) → gender 3/3, joint: rows 0 and 3 right → 2/3
    assert white["coverage"] == 0.75 and white["covered_gender"] == 1.0 and white["covered_joint"] == pytest.approx(2 / 3)
    assert rep["race"]["worst"]["gender"] == ("black", pytest.approx(2 / 3))
    assert rep["race"]["best"]["gender"] == ("white", 0.75)
    assert rep["race"]["gap"]["gender"] == pytest.approx(0.75 - 2 / 3)
    # which way age errors lean: white 25-32 read 38-43 (older, 1/4); black 8-13 read 4-6 (younger, 1/2)
    assert (white["age_younger"], white["age_older"]) == (0.0, 0.25)
    assert (black["age_younger"], black["age_older"]) == (0.5, 0.0)
    assert rep["race"]["worst"]["age_younger"] == ("black", 0.5)  # more is worse here
    assert rep["race"]["best"]["age_younger"] == ("white", 0.0) and rep["race"]["gap"]["age_younger"] == 0.5
    assert any("age read younger: worst black 50.0, best white 0.0" in line for line in fairness.markdown(rep))
    ages = rep["age"]["groups"]
    assert list(ages) == ["0-2", "8-13", "15-20", "25-32", "60+"]  # in group order
    assert ages["25-32"]["n"] == 3 and ages["25-32"]["gender"] == 1.0
    assert rep["gender"]["groups"]["male"]["n"] == 4


def test_race_groups_of_adults_and_older_adults(fixture):
    """``race, 15+`` and ``race, 38+`` keep a row's race only where its labels allow no younger age."""
    race, ya, yg, *_ = fixture
    age_low = np.array([25, 25, 0, 60, 38, 8, np.nan, 15])
    g = fairness.groupings(ya, yg, race, age_low)
    assert list(g["race, 15+"]) == ["white", "white", "", "white", "black", "", "", ""]
    assert list(g["race, 38+"]) == ["", "", "", "white", "black", "", "", ""]


def test_small_groups_are_never_named_worst(fixture):
    race, ya, yg, pa, pg, covered = fixture
    rep = fairness.breakdown(pa, pg, ya, yg, fairness.groupings(ya, yg, race), covered)
    assert rep["race"]["worst"] == {}  # groups of 4 and 3 < MIN_GROUP


def test_calibration_error_of_an_overconfident_model():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 4000)
    right = rng.random(4000) < 0.7                     # 70 % right …
    pred = np.where(right, y, 1 - y)
    over = _onehot(pred, 2, p=0.99)                     # … but 99 % sure
    honest = _onehot(pred, 2, p=0.7)
    assert calibration.expected_calibration_error(over, y) == pytest.approx(0.29, abs=0.02)
    assert calibration.expected_calibration_error(honest, y) < 0.02
    pts = calibration.reliability(over, y)
    assert len(pts) == 1 and pts[0][0] == pytest.approx(0.99) and pts[0][1] == pytest.approx(0.7, abs=0.02)


def test_coverage_curve_starts_at_everyone_and_gets_more_accurate():
    rng = np.random.default_rng(1)
    n = 2000
    ya, yg = rng.integers(0, 8, n), rng.integers(0, 2, n)
    conf = rng.random(n)
    right = rng.random(n) < conf                        # the surer, the more often right
    pa = _onehot(np.where(right, ya, (ya + 1) % 8), 8, p=0.3 + 0.6 * conf)
    pg = _onehot(np.where(right, yg, 1 - yg), 2, p=0.5 + 0.49 * conf)
    curve = fairness.coverage_curve(pa, pg, ya, yg)
    assert curve[0][0] == 1.0 and curve[0][1] == pytest.approx(right.mean())
    assert curve[-1][0] < 0.1 and curve[-1][1] > curve[0][1] + 0.2


def test_temperature_scaling_calibrates_an_overconfident_model_without_changing_answers():
    rng = np.random.default_rng(2)
    n = 6000
    y = rng.integers(0, 8, n)
    logits = rng.normal(size=(n, 8))
    logits[np.arange(n), y] += 1.5                        # the true posterior is softmax(1.5 · logits) …
    over = np.exp(4 * logits)                             # … this model says softmax(4 · logits)
    over /= over.sum(1, keepdims=True)
    val, test = slice(0, 3000), slice(3000, n)
    t = calibration.fit_temperature(over[val], y[val])
    assert t == pytest.approx(4 / 1.5, rel=0.1)
    fixed = calibration.apply_temperature(over[test], t)
    assert (fixed.argmax(1) == over[test].argmax(1)).all()  # same answers …
    before = calibration.expected_calibration_error(over[test], y[test])
    after = calibration.expected_calibration_error(fixed, y[test])
    assert before > 0.15 and after < 0.03                  # … now meaning what they say
    assert calibration.nll(fixed, y[test]) < calibration.nll(over[test], y[test])
