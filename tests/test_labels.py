import itertools

import numpy as np
import pytest

from agegender import labels
from agegender.labels import Thresholds, decode, decode_two_hot, from_two_hot, to_two_hot


def test_every_tuple_round_trips_through_two_hot():
    for a, g in itertools.product(range(8), range(2)):
        v = to_two_hot(a, g)
        assert v.shape == (10,) and v.sum() == 2 and v[a] == 1 and v[8 + g] == 1
        assert from_two_hot(v) == (a, g)


def test_two_hot_matrix_matches_single_conversions():
    tuples = [(0, 1), (7, 0), (4, 1)]
    m = labels.two_hot_matrix(tuples)
    assert m.shape == (3, 10)
    assert [from_two_hot(r) for r in m] == tuples


@pytest.mark.parametrize(
    "bad",
    [np.zeros(10), np.r_[np.ones(2), np.zeros(6), 1, 0], np.r_[np.eye(8)[3], 1, 1], np.r_[np.eye(8)[3], 0.5, 0.5], np.zeros(9)],
)
def test_from_two_hot_rejects_invalid_vectors(bad):
    with pytest.raises(ValueError):
        from_two_hot(bad)


@pytest.mark.parametrize("a,g", [(-1, 0), (8, 0), (0, 2)])
def test_to_two_hot_rejects_out_of_range(a, g):
    with pytest.raises(ValueError):
        to_two_hot(a, g)


def test_decode_one_hot_each_part_gives_answer():
    ans = decode_two_hot(to_two_hot(4, 1))
    assert not ans.undefined and (ans.age, ans.gender) == (4, 1)
    assert ans.text == "25-32, female (100%, 100%)"
    assert np.array_equal(ans.two_hot(), to_two_hot(4, 1))


def test_decode_all_zero_is_undefined_for_both_parts():
    ans = decode_two_hot(np.zeros(10))
    assert ans.undefined and ans.age is None and ans.gender is None
    assert "age not sure" in ans.reason and "gender not sure" in ans.reason


def test_decode_three_hot_is_ambiguous():
    v = to_two_hot(2, 0)
    v[5] = 1.0  # a second age entry passes
    ans = decode_two_hot(v)
    assert ans.undefined and "age ambiguous (2 classes" in ans.reason
    with pytest.raises(ValueError):
        ans.two_hot()


def test_low_confidence_is_undefined_but_keeps_best_guess():
    age = [0.05, 0.05, 0.1, 0.3, 0.35, 0.1, 0.03, 0.02]
    ans = decode(age, [0.9, 0.1], Thresholds(age=0.5, gender=0.6))
    assert ans.undefined and ans.reason.startswith("age not sure (best 0.35")
    assert ans.best_age == 4 and ans.best_gender == 0
    assert ans.to_dict()["best_age_group"] == "25-32"
    # the same distributions with a looser age threshold are a valid answer
    assert decode(age, [0.9, 0.1], Thresholds(age=0.34)).age == 4


def test_low_thresholds_can_make_two_entries_pass():
    ans = decode([0.45, 0.45, 0.1, 0, 0, 0, 0, 0], [0.5, 0.5], Thresholds(age=0.4, gender=0.5))
    assert ans.undefined and "age ambiguous" in ans.reason and "gender ambiguous" in ans.reason


def test_thresholds_validated():
    with pytest.raises(ValueError):
        Thresholds(age=1.5)


@pytest.mark.parametrize(
    "years,strict,nearest",
    [(0, 0, 0), (2, 0, 0), (3, None, 1), (7, None, 2), (13, 2, 2), (14, None, 3), (22, None, 3), (23, None, 4),
     (35, None, 5), (45, None, 5), (46, None, 6), (56, None, 6), (57, None, 7), (60, 7, 7), (99, 7, 7)],
)
def test_year_mappings(years, strict, nearest):
    assert labels.age_group_of_years(years) == strict
    assert labels.nearest_age_group(years) == nearest


@pytest.mark.parametrize("years,expected", [
    (1, {0: 1.0}), (3, {0: 0.5, 1: 0.5}), (22, {3: 0.6, 4: 0.4}), (24, {3: 0.2, 4: 0.8}), (35, {4: 0.5, 5: 0.5}),
    (59, {6: 1 / 7, 7: 6 / 7}), (70, {7: 1.0})])
def test_split_age_group_shares_a_gap_age_between_its_neighbours(years, expected):
    got = labels.split_age_group(years)
    want = np.zeros(8)
    for k, v in expected.items():
        want[k] = v
    assert np.allclose(got, want) and got.sum() == pytest.approx(1.0)


@pytest.mark.parametrize("lo,hi,group", [(38, 42, 5), (38, 48, 5), (27, 32, 4), (25, 23, 4), (8, 23, None), (60, 100, 7)])
def test_range_mapping(lo, hi, group):
    assert labels.age_group_of_range(lo, hi) == group


def test_label_name_lookups():
    assert labels.age_index("60+") == 7
    assert labels.gender_index("Female") == 1
    with pytest.raises(ValueError, match="unknown age group"):
        labels.age_index("60-70")


def test_one_threshold_on_the_whole_answer():
    """Thresholds.joint: answered only when p(age) × p(gender) reaches it; the reason names the less sure part."""
    from agegender.evaluation import covered

    t = Thresholds(0.5, 0.5, 0.6)
    sure = decode([0, 0, 0, 0, 0.8, 0.2, 0, 0], [0.9, 0.1], t)       # 0.72
    unsure_age = decode([0, 0, 0, 0, 0.7, 0.3, 0, 0], [0.8, 0.2], t)  # 0.56
    unsure_gender = decode([0, 0, 0, 0, 0.95, 0.05, 0, 0], [0.4, 0.6], t)  # 0.57
    assert (sure.age, sure.gender, sure.reason) == (4, 0, None)
    assert unsure_age.undefined and unsure_age.reason.startswith("age not sure for the whole answer (0.70 × 0.80 = 0.56")
    assert unsure_gender.undefined and unsure_gender.reason.startswith("gender not sure")
    a = np.array([[0, 0, 0, 0, 0.8, 0.2, 0, 0], [0, 0, 0, 0, 0.7, 0.3, 0, 0]])
    g = np.array([[0.9, 0.1], [0.8, 0.2]])
    assert covered(a, g, t).tolist() == [True, False] and covered(a, g, Thresholds(0.5, 0.5)).tolist() == [True, True]
    assert Thresholds.from_metadata({"thresholds": {"age": 0.5, "gender": 0.5, "joint": 0.6}}) == t
    assert Thresholds.from_metadata({"thresholds": {"age": 0.6, "gender": 0.7}}).joint == 0.0  # older models: off
    with pytest.raises(ValueError, match="joint"):
        Thresholds(0.5, 0.5, 1.5)
