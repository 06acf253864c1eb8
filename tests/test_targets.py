"""The heads' targets and sample weights (agegender.targets): soft gap ages, children up for gender, race × age."""

import numpy as np
import pytest

from agegender import config, targets, trainset
from training_data import learnable


def _cfg(*overrides):
    return config.load(None, list(overrides))


def test_gap_ages_split_trains_the_age_head_on_soft_targets(tmp_path):
    """``data.gap_ages = "split"``: gap ages join the age head as soft targets between their neighbours;
    faces with a group keep one-hot targets, and a face without any age stays out of the age head."""
    cfg = _cfg("data.gap_ages=split")
    data = trainset.load(*learnable(tmp_path))
    idx = np.arange(len(data.y_age))
    data.age_years[:3], data.y_age[:3] = [22.0, 40.0, np.nan], [-1, 5, -1]
    soft = data.train_age_labels(idx, "split")
    y, w = targets.targets(cfg, soft, data.y_gender, data.age_years)
    assert np.allclose(y["age"][0], [0, 0, 0, 0.6, 0.4, 0, 0, 0]) and w["age"][0] == 1
    assert y["age"][1].argmax() == 5 and y["age"][1].max() == 1 and w["age"][1] == 1
    assert w["age"][2] == 0
    drop_y, drop_w = targets.targets(cfg, data.train_age_labels(idx, "drop"), data.y_gender, data.age_years)
    assert drop_w["age"][0] == 0 and np.array_equal(drop_y["age"][1], y["age"][1])


def test_gender_age_balance_weighs_children_up():
    """``train.gender_age_balance``: the gender head's row weights ∝ (rows in the age group) ** -power,
    mean 1 over rows with a group; a gap age joins its nearest group; the age head is untouched."""
    with pytest.raises(config.ConfigError, match="gender_age_balance"):
        _cfg("train.gender_age_balance=1.5")
    cfg = _cfg("train.gender_age_balance=1")
    # 6 rows: three aged 25-32, one 0-2, one 3 years old (a gap age, as near 0-2 as 4-6: a tie goes to the older group), one unknown
    y_age = np.array([4, 4, 4, 0, -1, -1])
    years = np.array([28.0, 30.0, 26.0, 1.0, 3.0, np.nan])
    y_gender = np.array([0, 1, 0, 1, 0, 1])
    y, w = targets.targets(cfg, y_age, y_gender, years)
    # groups 25-32 ×3, 0-2 ×1, 4-6 ×1: raw weights 1/3, 1/3, 1/3, 1, 1 → mean 0.6 → 0.556 ×3, 1.667 ×2
    assert np.allclose(w["gender"], [5 / 9, 5 / 9, 5 / 9, 5 / 3, 5 / 3, 1.0], atol=1e-6)
    assert np.allclose(w["age"], [1, 1, 1, 1, 0, 0])
    half = targets.age_group_balance(y_age, years, 0.5)
    assert half[3] / half[0] == pytest.approx(np.sqrt(3))
    assert targets.age_group_balance(y_age, years, 0.0) is None


def test_race_age_balance_gives_every_race_the_age_mix_of_all():
    """``train.balance = "race_age"``: weighted, each race group has the age mix of all the rows (so race tells
    nothing of age); a row without a race keeps weight 1; no weight passes the cap before the mean is made 1."""
    # race a: 3 aged 25-32, 1 aged 60+; race b: 1 aged 25-32, 3 aged 60+ (one of them 57: a gap age, nearest 60+);
    # one row without a race. Overall: half 25-32, half 60+.
    race = np.array(["a", "a", "a", "a", "b", "b", "b", "b", ""], dtype=object)
    y_age = np.array([4, 4, 4, 7, 4, 7, 7, -1, 7])
    years = np.array([28.0, 30.0, 26.0, 65.0, 29.0, 70.0, 61.0, 57.0, 80.0])
    w = targets.race_age_balance(race, y_age, years)
    # a's 25-32 (1/2)/(3/4) = 2/3, a's 60+ (1/2)/(1/4) = 2; b the other way round (their mean is 1 already)
    assert np.allclose(w, [2 / 3, 2 / 3, 2 / 3, 2, 2, 2 / 3, 2 / 3, 2 / 3, 1.0], atol=1e-6)
    for r in ("a", "b"):
        rows = race == r
        old = rows & (np.array([4, 4, 4, 7, 4, 7, 7, 7, 7]) == 7)
        assert w[old].sum() / w[rows].sum() == pytest.approx(0.5)
    capped = targets.race_age_balance(race, y_age, years, cap=1.5)
    assert capped[3] / capped[0] == pytest.approx(1.5 / (2 / 3))
    assert targets.race_age_balance(None, y_age, years) is None
    cfg = _cfg('train.balance="race_age"')
    _, tw = targets.targets(cfg, y_age, np.zeros(9, int), years, race)
    assert np.allclose(tw["gender"], w) and np.allclose(tw["age"], w * (y_age >= 0))


def test_gender_only_weight_scales_just_the_rows_without_any_age():
    """``train.gender_only_weight``: a row with a gender and neither an age group nor years (a CelebA crop) weighs
    that much in the gender head; a gap age (years, no group), a row with a group, and a row without a gender keep
    their weights; 1 changes nothing."""
    with pytest.raises(config.ConfigError, match="gender_only_weight"):
        _cfg("train.gender_only_weight=0")
    y_age = np.array([4, -1, -1, -1])
    years = np.array([30.0, 35.0, np.nan, np.nan])
    y_gender = np.array([0, 1, 1, -1])
    _, w = targets.targets(_cfg("train.gender_only_weight=0.25"), y_age, y_gender, years)
    assert np.allclose(w["gender"], [1, 1, 0.25, 0])
    _, w1 = targets.targets(_cfg(), y_age, y_gender, years)
    assert np.allclose(w1["gender"], [1, 1, 1, 0]) and np.allclose(w["age"], w1["age"])
    _, w_none = targets.targets(_cfg("train.gender_only_weight=0.25"), y_age, y_gender, None)
    assert np.allclose(w_none["gender"], [1, 0.25, 0.25, 0])   # without years, the gap age has no age either
