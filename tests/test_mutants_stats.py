"""The statistics at their edges: the boundaries ``make mutate`` found untested, against independent oracles.

Each value is checked against scipy, scikit-learn or statsmodels (never against numbers this package produced),
at the points where an off-by-one or a flipped comparison would change it: a statistic of exactly 0, infinite
z, a count equal to the number of trials, the last exact binomial size, empty rows of a contingency table,
n = 0 among the intervals, the fewest samples an AUC variance needs.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.stats
from sklearn.metrics import roc_auc_score
from statsmodels.stats.proportion import proportion_confint

from hdmf_ai.analysis import kruskal_wallis, stats


@pytest.mark.parametrize("dof", [1, 2, 3, 4, 5, 6, 7, 8])
@pytest.mark.parametrize("x", [0.0, 1e-300, 0.3, 2.0, 7.5, 40.0])
def test_chi2_sf_matches_scipy_for_odd_and_even_degrees_of_freedom(x: float, dof: int) -> None:
    got = stats.chi2_sf(x, dof)
    assert got == pytest.approx(scipy.stats.chi2.sf(x, dof), rel=1e-9, abs=1e-300)
    assert got <= 1.0


def test_chi2_sf_of_a_negative_statistic_is_one() -> None:
    assert stats.chi2_sf(-1.0, 3) == 1.0


def test_chi_square_leaves_out_empty_rows_and_columns_and_keeps_rows_of_one() -> None:
    table = np.array([[5, 0, 3], [0, 0, 0], [2, 0, 9], [1, 0, 0]])
    reduced = np.array([[5, 3], [2, 9], [1, 0]])
    statistic, dof, p, _ = stats.chi_square(table)
    want = scipy.stats.chi2_contingency(reduced, correction=False)
    assert (statistic, dof) == (pytest.approx(want.statistic, rel=1e-12), want.dof)
    assert p == pytest.approx(want.pvalue, rel=1e-9)


def test_chi_square_keeps_a_column_of_one() -> None:
    table = np.array([[5, 0, 3], [2, 1, 9]])
    statistic, dof, p, _ = stats.chi_square(table)
    want = scipy.stats.chi2_contingency(table, correction=False)
    assert (statistic, dof, p) == (pytest.approx(want.statistic), want.dof, pytest.approx(want.pvalue))


def test_chi_square_of_a_table_with_one_row_left_is_nothing_to_test() -> None:
    assert stats.chi_square(np.array([[4, 6], [0, 0]]))[:3] == (0.0, 0, 1.0)


@pytest.mark.parametrize("z", [math.inf, -math.inf])
def test_an_infinite_z_has_a_p_value_of_zero(z: float) -> None:
    assert stats.normal_two_sided_p(z) == 0.0


def test_a_z_that_is_not_a_number_has_no_p_value() -> None:
    assert math.isnan(stats.normal_two_sided_p(math.nan))
    assert stats.normal_two_sided_p(1.5) == pytest.approx(2 * scipy.stats.norm.sf(1.5), rel=1e-12)


@pytest.mark.parametrize(("x", "want"), [(0.0, 0.0), (-0.5, 0.0), (1.0, 1.0), (1.5, 1.0)])
def test_the_regularized_beta_at_and_past_its_ends(x: float, want: float) -> None:
    assert stats.regularized_beta(2.0, 3.0, x) == want


def test_the_exact_interval_by_default_is_the_95_percent_one_and_n_zero_has_none() -> None:
    k, n = np.array([0, 3, 7, 0]), np.array([0, 10, 7, 5])
    lower, upper = stats.clopper_pearson_interval(k, n)
    assert np.isnan(lower[0]) and np.isnan(upper[0])
    want_lower, want_upper = proportion_confint(k[1:], n[1:], alpha=0.05, method="beta")
    np.testing.assert_allclose(lower[1:], want_lower, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(upper[1:], want_upper, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize(("k", "n"), [(5, 5), (6, 5), (0, 1)])
def test_binomial_half_cdf_at_and_past_the_number_of_trials(k: int, n: int) -> None:
    assert stats.binomial_half_cdf(k, n) == pytest.approx(scipy.stats.binom.cdf(k, n, 0.5), rel=1e-12)
    assert stats.binomial_half_cdf(k, n) <= 1.0


def test_binomial_half_cdf_at_the_last_exact_size_matches_scipy() -> None:
    n = stats._EXACT_BINOMIAL_LIMIT
    for k in (n // 2 - 150, n // 2, n // 2 + 40):
        assert stats.binomial_half_cdf(k, n) == pytest.approx(scipy.stats.binom.cdf(k, n, 0.5), rel=1e-10)


@pytest.mark.parametrize("shape", [(10,), (10, 1)])
def test_cochran_q_refuses_fewer_than_two_models(shape: tuple[int, ...]) -> None:
    with pytest.raises(ValueError, match=r"correct must be an \(n samples, k >= 2 models\) array; got shape"):
        stats.cochran_q(np.ones(shape))


def test_cochran_q_of_models_that_agree_on_every_sample_has_nothing_to_test() -> None:
    same = np.array([[1, 1, 1], [0, 0, 0], [1, 1, 1]])
    assert stats.cochran_q(same) == (0.0, 2, 1.0)


def test_cochran_q_with_a_denominator_of_one_matches_statsmodels() -> None:
    """One sample on which the two models disagree: k * total - sum of squares = 2 * 1 - 1 = 1."""
    from statsmodels.stats.contingency_tables import cochrans_q

    correct = np.array([[1, 0], [0, 0], [0, 0]])
    statistic, dof, p = stats.cochran_q(correct)
    want = cochrans_q(correct)
    assert (statistic, dof) == (pytest.approx(want.statistic), 1)
    assert p == pytest.approx(want.pvalue)


@pytest.mark.parametrize(("positives", "negatives"), [(2, 2), (2, 5), (5, 2)])
def test_delong_needs_two_of_each_class_and_two_are_enough(positives: int, negatives: int) -> None:
    rng = np.random.default_rng(positives * 10 + negatives)
    positive = np.array([1] * positives + [0] * negatives)
    scores = rng.normal(size=positive.size) + positive
    assert stats.delong_components(scores, positive).auc == pytest.approx(roc_auc_score(positive, scores))
    one_short = positive.copy()
    one_short[np.flatnonzero(positive == (1 if positives == 2 else 0))[0]] ^= 1
    if min(positives, negatives) == 2:
        assert math.isnan(stats.delong_components(scores, one_short).auc)


@pytest.mark.parametrize("table", [[[0, 1], [1, 0]], [[0, 1], [1, 2]], [[0, 1], [1, 4]], [[3, 3], [3, 3]]])
def test_fisher_exact_is_at_most_one_where_every_table_counts(table: list[list[int]]) -> None:
    """The probabilities of all tables sum to 1 plus rounding (1.0000000000000018 for the second): capped at 1."""
    got = stats.fisher_exact(np.array(table))
    assert got <= 1.0
    assert got == pytest.approx(scipy.stats.fisher_exact(table).pvalue, rel=1e-12)


def test_delong_influence_matches_a_brute_force_count_and_is_zero_without_enough_samples() -> None:
    """V10 (negatives below each positive) and V01 (positives above each negative), ties counting 1/2, counted
    pair by pair: the influence is (V - AUC) / sqrt(count (count - 1)) for each class."""
    rng = np.random.default_rng(5)
    positive = np.array([1, 0, 1, 1, 0, 0, 1, 0, 0])
    scores = np.round(rng.normal(size=positive.size) + positive, 1)
    scores[1] = scores[0]  # a tie across the classes
    got = stats.delong_components(scores, positive)
    pos, neg = scores[positive == 1], scores[positive == 0]
    m, n = pos.size, neg.size
    above = (pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])
    auc = above.mean()
    assert got.auc == pytest.approx(auc) == pytest.approx(roc_auc_score(positive, scores))
    np.testing.assert_allclose(got.influence[positive == 1], (above.mean(axis=1) - auc) / math.sqrt(m * (m - 1)))
    np.testing.assert_allclose(got.influence[positive == 0], (above.mean(axis=0) - auc) / math.sqrt(n * (n - 1)))
    few = stats.delong_components(scores[:3], positive[:3])
    assert math.isnan(few.auc) and np.array_equal(few.influence, np.zeros(3))


def test_the_proportion_interval_by_default_is_wilsons_at_95_percent() -> None:
    k, n = np.array([3, 9]), np.array([10, 20])
    lower, upper = stats.proportion_interval(k, n)
    want_lower, want_upper = proportion_confint(k, n, alpha=0.05, method="wilson")
    np.testing.assert_allclose(lower, want_lower, rtol=1e-9)
    np.testing.assert_allclose(upper, want_upper, rtol=1e-9)


@pytest.mark.parametrize(("only_a", "only_b"), [(3, 3), (0, 1), (4, 9)])
def test_mcnemar_exact_and_mid_p_values_match_the_binomial_and_stay_at_most_one(only_a: int, only_b: int) -> None:
    n, low = only_a + only_b, min(only_a, only_b)
    exact, mid = stats.mcnemar(only_a, only_b)
    tail, point = scipy.stats.binom.cdf(low, n, 0.5), scipy.stats.binom.pmf(low, n, 0.5)
    assert exact == pytest.approx(min(1.0, 2 * tail)) and exact <= 1.0
    assert mid == pytest.approx(min(1.0, 2 * tail - point)) and mid <= 1.0


@pytest.mark.parametrize("confidence", [0.0, 1.0, 1.5, -0.2])
def test_a_confidence_outside_0_and_1_is_refused(confidence: float) -> None:
    for interval in (stats.wilson_interval, stats.clopper_pearson_interval):
        with pytest.raises(ValueError, match=f"confidence must lie between 0 and 1; got {confidence}"):
            interval(np.array([3]), np.array([10]), confidence=confidence)


@pytest.mark.parametrize(
    ("p", "want"), [(0.0, -math.inf), (1.0, math.inf), (0.975, 1.959963984540054), (1.5, math.nan), (-0.1, math.nan)]
)
def test_the_normal_quantile_at_and_past_its_ends(p: float, want: float) -> None:
    got = stats.normal_quantile(p)
    assert (math.isnan(got) and math.isnan(want)) or got == pytest.approx(want, rel=1e-12)
    if 0 < p < 1:
        assert got == pytest.approx(scipy.stats.norm.ppf(p), rel=1e-12)


def test_the_wilson_interval_stays_inside_0_and_1_at_0_and_n_successes() -> None:
    n = np.arange(1, 200)
    for k in (np.zeros_like(n), n):
        lower, upper = stats.wilson_interval(k, n)
        want_lower, want_upper = proportion_confint(k, n, alpha=0.05, method="wilson")
        np.testing.assert_allclose(lower, want_lower, rtol=1e-9, atol=1e-15)
        np.testing.assert_allclose(upper, want_upper, rtol=1e-9, atol=1e-15)
        assert lower.min() >= 0.0 and upper.max() <= 1.0


def test_ranks_of_an_array_of_any_shape_are_those_of_its_values_in_order() -> None:
    # numpy 2's np.unique gives the inverse in the input's shape: the ranks must still come out flat
    values = np.array([[3.0, 1.0, 2.0], [1.0, 5.0, 3.0]])
    ranks, ties = stats.average_ranks(values)
    np.testing.assert_array_equal(ranks, scipy.stats.rankdata(values.ravel()))
    assert ranks.dtype == np.float64
    assert ties == 12.0  # two pairs of ties (1, 1 and 3, 3): 2 * (2**3 - 2)


def test_kruskal_wallis_of_values_given_as_a_column_matches_scipy() -> None:
    rng = np.random.default_rng(7)
    values = np.round(rng.normal(size=(40, 1)), 1)  # rounded: ties, so the correction counts
    codes = np.repeat([0, 1, 2, 3], 10)
    h, dof, p, _ = kruskal_wallis(values, codes)
    want = scipy.stats.kruskal(*(values[codes == g, 0] for g in range(4)))
    assert dof == 3
    assert h == pytest.approx(want.statistic, rel=1e-12)
    assert p == pytest.approx(want.pvalue, rel=1e-9)
