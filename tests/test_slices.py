"""hdmf_ai.analysis.find_slices: a planted failing slice of two source columns comes first (as sliceline finds
it too), nulls rarely yield a discovery, and every count, p-value and q-value equals an independent oracle."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from slicedata import planted_table

import hdmf_ai
from hdmf_ai import analysis

pd = pytest.importorskip("pandas", reason="find_slices returns a pandas DataFrame")
stats = pytest.importorskip("scipy.stats", reason="scipy (installed with scikit-learn) checks the statistics")


@pytest.fixture(scope="module")
def planted() -> hdmf_ai.ResultsTable:
    return planted_table(10_000, seed=0)


def _source_column(rt: hdmf_ai.ResultsTable, name: str) -> np.ndarray:
    return np.asarray(rt.samples.table[name].data)[np.asarray(rt.samples.data)]


def _wrong(rt: hdmf_ai.ResultsTable) -> np.ndarray:
    return np.asarray(rt.predicted_class.data) != np.asarray(rt.true_label.data)


def _mask(rt: hdmf_ai.ResultsTable, conditions: tuple[tuple[str, str], ...]) -> np.ndarray:
    """The rows of a slice, computed from the source table directly (numeric bins: from the label's edges)."""
    mask = np.ones(len(rt), dtype=bool)
    for column, label in conditions:
        values = _source_column(rt, column)
        if label.startswith("["):
            lo, hi = (float(v) for v in label[1:-1].split(", "))
            edges = np.quantile(values, [0, 0.25, 0.5, 0.75, 1])
            lo, hi = edges[np.argmin(np.abs(edges - lo))], edges[np.argmin(np.abs(edges - hi))]
            mask &= (values >= lo) & ((values <= hi) if label.endswith("]") else (values < hi))
        else:
            mask &= values == label
    return mask


def test_the_planted_two_column_slice_comes_first(planted: hdmf_ai.ResultsTable) -> None:
    slices = analysis.find_slices(planted)
    top = slices.iloc[0]
    assert [c for c, _ in top["conditions"]] == ["site", "age"]
    assert top["conditions"][0][1] == "C" and top["conditions"][1][1].endswith("]")  # the top age quartile
    assert top["significant"] and top["q_value"] < 1e-20
    assert top["error_rate"] == pytest.approx(0.35, abs=0.05) and top["rest_rate"] == pytest.approx(0.05, abs=0.01)
    assert top["ci_low"] < top["error_rate"] < top["ci_high"]
    assert slices["p_value"].is_monotonic_increasing


def test_the_top_slice_agrees_with_sliceline(planted: hdmf_ai.ResultsTable) -> None:
    slicefinder = pytest.importorskip("sliceline.slicefinder", reason="sliceline (test extra) is the oracle")
    columns = ["site", "scanner", "age", "weight"]
    ours = analysis.find_slices(planted, columns)
    # sliceline slices categorical features: give it each row's value, numeric columns as our quartile labels
    binned = {}
    for column in columns:
        values = _source_column(planted, column)
        if values.dtype.kind == "f":
            codes = np.searchsorted(np.quantile(values, [0.25, 0.5, 0.75]), values, side="right")
            values = np.array(["q1", "q2", "q3", "q4"])[codes]
        binned[column] = values.astype(object)
    finder = slicefinder.Slicefinder(alpha=0.95, k=1, max_l=2, min_sup=30, verbose=False)
    finder.fit(np.column_stack([binned[c] for c in columns]), _wrong(planted).astype(np.float64))
    theirs = {c: v for c, v in zip(columns, finder.top_slices_[0], strict=True) if v is not None}
    assert theirs == {"site": "C", "age": "q4"}
    top = dict(ours.iloc[0]["conditions"])
    assert top["site"] == "C" and top["age"].endswith("]")
    assert ours.iloc[0]["size"] == finder.top_slices_statistics_[0]["slice_size"]


def test_counts_p_values_and_q_values_equal_independent_oracles(planted: hdmf_ai.ResultsTable) -> None:
    slices = analysis.find_slices(planted)
    wrong = _wrong(planted)
    n, errors = len(wrong), int(wrong.sum())
    for _, row in slices.iloc[[0, 1, 2, 5, 17, len(slices) // 2, -1]].iterrows():
        mask = _mask(planted, row["conditions"])
        k, m = int(wrong[mask].sum()), int(mask.sum())
        assert (row["size"], row["errors"]) == (m, k)
        assert row["rest_rate"] == pytest.approx(wrong[~mask].mean())
        table = [[k, m - k], [errors - k, n - errors - m + k]]
        one_sided = [stats.fisher_exact(table, alternative=a).pvalue for a in ("greater", "less")]
        assert row["p_value"] == pytest.approx(min(1.0, 2 * min(one_sided)), rel=1e-8)
        ci = stats.binomtest(k, m).proportion_ci(confidence_level=0.95, method="wilson")
        assert (row["ci_low"], row["ci_high"]) == (pytest.approx(ci.low), pytest.approx(ci.high))
    np.testing.assert_allclose(slices["q_value"], stats.false_discovery_control(slices["p_value"]), rtol=1e-12)


def test_benjamini_hochberg_equals_scipy() -> None:
    p = np.random.default_rng(0).uniform(size=300) ** 3
    np.testing.assert_allclose(analysis.benjamini_hochberg(p), stats.false_discovery_control(p), rtol=1e-12)


def test_few_null_data_sets_yield_any_discovery() -> None:
    """50 data sets without a planted slice: the share with any slice at q <= 0.05 stays near 5% (the full
    200-set calibration is benchmarks/slice_calibration.py)."""
    found = [
        analysis.find_slices(planted_table(3000, seed=100 + s, planted=None))["significant"].any() for s in range(50)
    ]
    assert np.mean(found) <= 0.08


def test_min_size_and_max_order_limit_what_is_tested(planted: hdmf_ai.ResultsTable) -> None:
    slices = analysis.find_slices(planted, ["site", "scanner"], min_size=1800, max_order=1)
    assert set(slices["order"]) == {1}
    sizes = {v: int((_source_column(planted, "site") == v).sum()) for v in "ABCDE"}
    tested = {dict(c)["site"] for c in slices["conditions"] if "site" in dict(c)}
    assert tested == {v for v, size in sizes.items() if size >= 1800} and tested != set("ABCDE")
    assert len(analysis.find_slices(planted, ["site", "scanner"])) > len(slices)


def test_a_split_is_searched_alone() -> None:
    rt = planted_table(4000, seed=3)
    tvt = np.random.default_rng(3).integers(0, 3, len(rt))
    rt.tvt_split.data[:] = tvt  # same rows, mixed splits
    slices = analysis.find_slices(rt, ["site"], split="test", min_size=1)
    site = _source_column(rt, "site")
    assert slices["size"].sum() == (tvt == 2).sum()
    a = slices.set_index("slice").loc["site = A"]
    assert a["size"] == ((site == "A") & (tvt == 2)).sum()


def _regression(seed: int, *, noisy_site: str | None) -> tuple[hdmf_ai.ResultsTable, np.ndarray, np.ndarray]:
    """A regression with heavy-tailed errors (Student t, 3 dof), three times larger on ``noisy_site``."""
    rng = np.random.default_rng(seed)
    rt = planted_table(3000, seed=seed)
    site = _source_column(rt, "site")
    truth = rng.normal(size=len(rt))
    value = truth + rng.standard_t(3, size=len(rt)) * np.where(site == noisy_site, 3.0, 1.0)
    reg = hdmf_ai.ResultsTable(name="reg")
    reg.add_samples(np.asarray(rt.samples.data), table=rt.samples.table)
    reg.add_column("true_label", "the true value", data=truth)
    reg.add_predicted_value(value)
    return reg, truth, value


def test_a_regression_is_searched_by_absolute_error() -> None:
    reg, truth, value = _regression(5, noisy_site="E")
    site = _source_column(reg, "site")
    slices = analysis.find_slices(reg, ["site", "scanner"], max_order=1)
    skm = pytest.importorskip("sklearn.metrics", reason="scikit-learn (test extra) computes the MAE")
    top = slices.iloc[0]
    assert top["slice"] == "site = E" and top["significant"] and "errors" not in slices
    assert top["error_rate"] == pytest.approx(skm.mean_absolute_error(truth[site == "E"], value[site == "E"]))
    assert top["ci_low"] < top["error_rate"] < top["ci_high"]


def test_regression_p_values_equal_scipys_mann_whitney() -> None:
    reg, truth, value = _regression(6, noisy_site="B")
    error = np.abs(value - truth)
    slices = analysis.find_slices(reg, ["site", "age"])
    for _, row in slices.iloc[[0, 3, len(slices) // 2, -1]].iterrows():
        mask = _mask(reg, row["conditions"])
        want = stats.mannwhitneyu(error[mask], error[~mask], method="asymptotic").pvalue
        assert row["p_value"] == pytest.approx(want, rel=1e-9)
        assert row["error_rate"] == pytest.approx(error[mask].mean())


def test_average_ranks_equal_scipy() -> None:
    values = np.random.default_rng(1).integers(0, 20, 500).astype(np.float64)  # many ties
    ranks, tie_term = analysis.average_ranks(values)
    np.testing.assert_allclose(ranks, stats.rankdata(values))
    _, t = np.unique(values, return_counts=True)
    assert tie_term == float(np.sum(t.astype(float) ** 3 - t))


def test_few_null_regressions_yield_any_discovery() -> None:
    """Heavy-tailed absolute errors: a test of means would be liberal here; the rank test keeps its level."""
    found = [analysis.find_slices(_regression(300 + s, noisy_site=None)[0])["significant"].any() for s in range(50)]
    assert np.mean(found) <= 0.08


@pytest.mark.parametrize("how", ["read", "open"])
def test_find_slices_through_a_file(path: Path, how: str) -> None:
    rt = planted_table(2000, seed=4)
    want = analysis.find_slices(rt)
    hdmf_ai.write(rt, path)
    if how == "read":
        got = analysis.find_slices(hdmf_ai.read(path))
    else:
        with hdmf_ai.open(path) as lazy:
            got = analysis.find_slices(lazy)
    pd.testing.assert_frame_equal(got, want)


def test_the_plot_shows_the_top_slices_with_their_intervals(planted: hdmf_ai.ResultsTable) -> None:
    pytest.importorskip("matplotlib", reason="plots need matplotlib (plot extra)")
    from hdmf_ai import plot

    slices = analysis.find_slices(planted)
    ax = plot.slices(slices, top=5).axes[0]
    top_down = sorted(zip(ax.get_yticks(), ax.get_yticklabels(), strict=True), key=lambda tick: -tick[0])
    assert [label.get_text() for _, label in top_down] == [
        f"{s}  (n = {n})" for s, n in zip(slices["slice"][:5], slices["size"][:5], strict=True)
    ]
    assert len(ax.containers) == 5  # one error bar per slice
    topmost = ax.containers[0].lines[0].get_xydata()[0]
    assert tuple(topmost) == (pytest.approx(slices["error_rate"][0]), 4)


def test_an_unknown_column_or_order_is_refused(planted: hdmf_ai.ResultsTable) -> None:
    with pytest.raises(KeyError, match="nowhere"):
        analysis.find_slices(planted, ["nowhere"])
    with pytest.raises(ValueError, match="max_order"):
        analysis.find_slices(planted, max_order=3)
