import numpy as np
import pytest

from agegender import evaluation, labels


def test_metrics_on_a_hand_computed_example():
    # 4 rows; true ages 0, 3, 5, -1 (missing); true genders 0, 1, 1, 0
    age = np.eye(8)[[0, 4, 7, 2]] * 0.9 + 0.1 / 8
    gen = np.eye(2)[[0, 1, 0, 0]] * 0.8 + 0.1
    s = evaluation.score(age, gen, np.array([0, 3, 5, -1]), np.array([0, 1, 1, 0]))
    assert (s.n_age, s.n_gender, s.n_joint) == (3, 4, 3)
    assert s.age_exact == pytest.approx(1 / 3)       # only row 0
    assert s.age_1off == pytest.approx(2 / 3)        # rows 0 and 1 (4 vs 3)
    assert s.gender == pytest.approx(3 / 4)
    assert s.joint == pytest.approx(1 / 3)
    assert s.age_confusion[3][4] == 1 and s.age_confusion[5][7] == 1 and sum(map(sum, s.age_confusion)) == 3
    p_true = 0.9 + 0.1 / 8
    assert s.age_xent == pytest.approx(-(np.log(p_true) + 2 * np.log(0.1 / 8)) / 3, rel=1e-5)


def test_coverage_and_covered_accuracy():
    age = np.array([[0.9] + [0.1 / 7] * 7, [0.3] * 2 + [0.4 / 6] * 6])
    gen = np.array([[0.9, 0.1], [0.9, 0.1]])
    s = evaluation.score(age, gen, np.array([0, 1]), np.array([0, 0]), labels.Thresholds(0.5, 0.5))
    assert s.coverage == 0.5 and s.covered_age_exact == 1.0 and s.age_exact == 0.5


def test_thresholds_keep_min_coverage_and_raise_accuracy():
    rng = np.random.default_rng(0)
    n = 2000
    conf = rng.uniform(0.5, 1.0, n)
    right = rng.uniform(size=n) < conf  # more confident → more often right
    y = np.zeros(n, dtype=int)
    pred = np.where(right, 0, 1)
    age = np.full((n, 8), 0.0)
    age[np.arange(n), pred] = conf
    age[np.arange(n), 7] += 1 - conf
    gen = np.tile([0.99, 0.01], (n, 1))
    t = evaluation.choose_thresholds(age, gen, y, np.zeros(n, dtype=int), min_coverage=0.7)
    covered = age.max(1) >= t.age
    assert covered.mean() >= 0.7 - 1e-9 and t.age > 0.5
    assert right[covered].mean() > right.mean()


def test_summary_mean_std_ddof0():
    def sc(g):
        return evaluation.Scores(10, 10, 10, 0.5, 0.8, g, 0.4, None, None, [], [])

    out = evaluation.summarize([sc(0.8), sc(0.9)])
    assert out["gender"] == pytest.approx((85.0, 5.0))
    assert evaluation.fmt(out["gender"]) == "85.0 ± 5.0"


def test_gender_accuracy_by_age_group():
    age = np.eye(8)[[0, 0, 4, 4]]
    gen = np.eye(2)[[0, 1, 0, 0]]
    s = evaluation.score(age, gen, np.array([0, 0, 4, -1]), np.array([0, 0, 0, 1]))
    assert s.gender_by_age == {"gap": {"accuracy": 0.0, "n": 1}, "0-2": {"accuracy": 0.5, "n": 2},
                               "25-32": {"accuracy": 1.0, "n": 1}}
