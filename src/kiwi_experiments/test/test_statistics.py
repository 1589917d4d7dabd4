"""Wilson intervals and McNemar's exact test against values computed by hand / published tables."""

import math

import pytest

from kiwi_experiments.statistics import (
    mcnemar_exact,
    mean_interval,
    median_interval,
    paired_outcomes,
    paired_t_test,
    rate_text,
    student_t_two_sided,
    wilson_interval,
)


def test_wilson_interval_matches_known_values():
    # Newcombe (1998), Table I: 81/263 -> 0.2553 .. 0.3662; 0/10 -> 0 .. 0.2775.
    assert wilson_interval(81, 263) == pytest.approx((0.2553, 0.3662), abs=5e-4)
    assert wilson_interval(0, 10) == pytest.approx((0.0, 0.2775), abs=5e-4)
    low, high = wilson_interval(10, 10)
    assert high == pytest.approx(1.0) and low == pytest.approx(0.7225, abs=5e-4)


def test_wilson_interval_narrows_with_more_episodes():
    small, large = wilson_interval(5, 10), wilson_interval(50, 100)
    assert small[0] < large[0] < 0.5 < large[1] < small[1]


@pytest.mark.parametrize("successes, n", [(3, 0), (-1, 5), (6, 5)])
def test_wilson_interval_refuses_impossible_counts(successes, n):
    with pytest.raises(ValueError):
        wilson_interval(successes, n)


def test_mcnemar_exact_p_values():
    assert mcnemar_exact(0, 0) == 1.0
    assert mcnemar_exact(0, 6) == pytest.approx(2 / 64)  # 2 * (1/2)^6
    assert mcnemar_exact(1, 9) == pytest.approx(2 * 11 / 1024)  # 2 * (C(10,0) + C(10,1)) / 2^10
    assert mcnemar_exact(5, 5) == 1.0
    assert mcnemar_exact(9, 1) == mcnemar_exact(1, 9)


def test_paired_outcomes_counts_only_shared_layouts():
    first = {1: True, 2: True, 3: False, 4: False, 9: True}
    second = {1: True, 2: False, 3: True, 4: False}
    assert paired_outcomes(first, second) == {"both": 1, "only_first": 1, "only_second": 1, "neither": 1}


def test_rate_text():
    assert rate_text(0, 10) == "0 % [0, 28] (0/10)"


def test_mean_interval():
    mean, low, high = mean_interval([1.0, 2.0, 3.0, 4.0])
    assert mean == 2.5 and low == pytest.approx(2.5 - 1.96 * 1.291 / 2, abs=1e-3) and high > 3.7
    with pytest.raises(ValueError):
        mean_interval([1.0])


def test_median_interval_from_order_statistics():
    # n = 50: ranks 18 and 33 (the textbook's 95 % distribution-free interval for the median).
    values = list(range(1, 51))
    assert median_interval(values) == (25.5, 18, 33)
    # Too few values for 95 %: the whole range.
    assert median_interval([3.0, 1.0, 2.0]) == (2.0, 1.0, 3.0)


def test_student_t_matches_the_tables():
    # Two-sided 5 % and 10 % critical values of Student's t (any printed table).
    for t, df, p in (
        (12.706, 1, 0.05),
        (4.303, 2, 0.05),
        (2.776, 4, 0.05),
        (1.812, 10, 0.10),
        (2.045, 29, 0.05),
    ):
        assert student_t_two_sided(t, df) == pytest.approx(p, abs=2e-4)
    assert student_t_two_sided(0.0, 4) == pytest.approx(1.0)
    assert student_t_two_sided(-2.776, 4) == pytest.approx(0.05, abs=2e-4)


def test_paired_t_test_of_repetitions():
    test = paired_t_test([0.9, 0.8, 0.95], [0.6, 0.7, 0.5])
    # differences 0.3, 0.1, 0.45: mean 0.2833, SD 0.1756, t = 2.795 with 2 degrees of freedom
    assert test["mean"] == pytest.approx(0.2833, abs=1e-4) and test["sd"] == pytest.approx(0.1756, abs=1e-4)
    assert test["t"] == pytest.approx(2.795, abs=1e-3) and test["p"] == pytest.approx(0.1077, abs=1e-3)
    assert paired_t_test([0.5, 0.6], [0.5, 0.6])["p"] == 1.0, "no difference at all"
    assert math.isnan(paired_t_test([0.7, 0.7], [0.5, 0.5])["p"]), "the same gain twice: no spread, no test"
    with pytest.raises(ValueError):
        paired_t_test([0.5, 0.6], [0.5])
