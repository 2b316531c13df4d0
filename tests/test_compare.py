"""Confidence intervals on metrics and the paired comparison of models (issue 12, items 1, 2 and 5's CLI).

Oracles: statsmodels (proportion intervals, McNemar, Cochran's Q), scipy (bootstrap with the same resamples,
binomial tails, the normal distribution), scikit-learn (the metrics themselves), and DeLong's variance written
out here from the Mann-Whitney kernel with explicit loops. Every comparison read from a file is compared with
the same comparison in memory.
"""

from __future__ import annotations

import itertools
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hdmf.common import DynamicTable, VectorData

import hdmf_ai
from hdmf_ai import analysis
from hdmf_ai.analysis import resampling
from hdmf_ai.errors import ComparisonError

skm = pytest.importorskip("sklearn.metrics", reason="scikit-learn (test extra) is the reference for the metrics")
stats = pytest.importorskip("scipy.stats", reason="scipy (installed with scikit-learn) checks the statistics")
pd = pytest.importorskip("pandas", reason="the table functions return pandas DataFrames")
proportion = pytest.importorskip("statsmodels.stats.proportion", reason="statsmodels (test extra) is the oracle")
contingency = pytest.importorskip("statsmodels.stats.contingency_tables", reason="statsmodels is the oracle")

CLASSES = ["ant", "bee", "cat"]
N = 240


# -- building tables ------------------------------------------------------------------------------------------


def source_table(n: int = N) -> DynamicTable:
    rng = np.random.default_rng(11)
    return DynamicTable(
        name="samples",
        description="the samples",
        columns=[
            VectorData(name="site", description="site", data=rng.choice(["A", "B", "C"], n)),
            VectorData(name="age", description="age", data=np.round(rng.uniform(20, 80, n), 1)),
        ],
    )


def truth(n: int = N, n_classes: int = 3) -> np.ndarray:
    return np.random.default_rng(5).integers(0, n_classes, n)


def probabilities(y: np.ndarray, skill: float, seed: int, n_classes: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(len(y), n_classes))
    logits[np.arange(len(y)), y] += skill
    p = np.exp(logits)
    return p / p.sum(axis=1, keepdims=True)


def model(
    name: str,
    skill: float,
    seed: int,
    *,
    source: DynamicTable | None = None,
    n: int = N,
    n_classes: int = 3,
    order: np.ndarray | None = None,
    tvt: bool = True,
) -> hdmf_ai.ResultsTable:
    """A classifier's results over the source rows ``order`` (default all, in order)."""
    y = truth(n, n_classes)
    probs = probabilities(y, skill, seed, n_classes)
    order = np.arange(n) if order is None else order
    rt = hdmf_ai.ResultsTable(name=name, description=f"model {name}")
    if source is not None:
        rt.add_samples(order, table=source)
    if tvt:
        rt.add_tvt_split(np.where(np.arange(n) % 3 == 0, "test", "train")[order])
    rt.add_true_label(y[order], classes=CLASSES[:n_classes] if n_classes <= 3 else None)
    rt.add_predicted_probability(probs[order])
    return rt


def regressor(name: str, noise: float, seed: int, n: int = N) -> hdmf_ai.ResultsTable:
    rng = np.random.default_rng(seed)
    target = np.random.default_rng(3).normal(size=n)
    rt = hdmf_ai.ResultsTable(name=name, description="a regressor")
    rt.add_column("true_label", "the true value", data=target)  # a regression target, as sklearn.py stores it
    rt.add_predicted_value(target + rng.normal(scale=noise, size=n))
    return rt


# -- intervals of proportions and paired tests against statsmodels --------------------------------------------


@pytest.mark.parametrize("method", ["wilson", "exact"])
def test_proportion_intervals_equal_statsmodels(method: str) -> None:
    oracle = {"wilson": "wilson", "exact": "beta"}[method]
    for n in (1, 2, 7, 50, 999, 123_457):
        for k in sorted({0, 1, n // 3, n // 2, n - 1, n}):
            low, high = analysis.proportion_interval(k, n, confidence=0.9, method=method)
            want = proportion.proportion_confint(k, n, alpha=0.1, method=oracle)
            np.testing.assert_allclose([low, high], want, rtol=0, atol=1e-12, err_msg=f"{k}/{n}")


def test_proportion_interval_refuses_an_unknown_method() -> None:
    with pytest.raises(ValueError, match="'wald'"):
        analysis.proportion_interval(3, 10, method="wald")


@pytest.mark.parametrize(
    ("only_a", "only_b"),
    [(0, 0), (0, 1), (3, 5), (10, 10), (0, 7), (100, 130), (5000, 5300), (15_000, 14_500), (30_000, 30_800)],
)
def test_mcnemar_equals_statsmodels_exact_and_scipy_mid_p(only_a: int, only_b: int) -> None:
    p_exact, p_midp = analysis.mcnemar(only_a, only_b)
    want = contingency.mcnemar([[7, only_a], [only_b, 4]], exact=True).pvalue
    assert p_exact == pytest.approx(want, abs=1e-12, rel=0)
    n, low = only_a + only_b, min(only_a, only_b)
    mid = 1.0 if n == 0 else min(1.0, 2 * stats.binom.cdf(low, n, 0.5) - stats.binom.pmf(low, n, 0.5))
    assert p_midp == pytest.approx(mid, abs=1e-12, rel=0)


@pytest.mark.parametrize("k", [2, 3, 5])
def test_cochran_q_equals_statsmodels(k: int) -> None:
    rng = np.random.default_rng(k)
    correct = rng.random((150, k)) < np.linspace(0.6, 0.8, k)
    statistic, dof, p = analysis.cochran_q(correct)
    want = contingency.cochrans_q(correct.astype(int))
    assert (statistic, dof) == (pytest.approx(want.statistic, abs=1e-12), want.df)
    assert p == pytest.approx(want.pvalue, abs=1e-12, rel=0)


# -- the bootstrap against scipy.stats.bootstrap ---------------------------------------------------------------


@pytest.mark.parametrize("method", ["percentile", "bca"])
@pytest.mark.parametrize("block_values", [1 << 22, 1000])
def test_bootstrap_equals_scipy_with_the_same_resamples(
    method: str, block_values: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Paired data, resampled as scipy resamples an index (paired=True); blocks of draws continue one stream."""
    monkeypatch.setattr(resampling, "_BLOCK_VALUES", block_values)
    rng = np.random.default_rng(0)
    x = rng.exponential(size=200)
    y = x + rng.normal(size=200)

    def corr(a: np.ndarray, b: np.ndarray, axis: int = -1) -> np.ndarray:
        flat = zip(a.reshape(-1, a.shape[-1]), b.reshape(-1, b.shape[-1]), strict=True)
        return np.array([np.corrcoef(ai, bi)[0, 1] for ai, bi in flat]).reshape(a.shape[:-1])

    ours = analysis.bootstrap(
        lambda rows: np.array([np.corrcoef(x[rows], y[rows])[0, 1], x[rows].mean()]),
        len(x),
        method=method,
        seed=7,
        n_resamples=999,
        confidence=0.9,
    )
    want_corr = stats.bootstrap(
        (x, y),
        corr,
        paired=True,
        vectorized=True,
        n_resamples=999,
        method=method,
        confidence_level=0.9,
        rng=np.random.default_rng(7),
    ).confidence_interval
    want_mean = stats.bootstrap(
        (x,), np.mean, n_resamples=999, method=method, confidence_level=0.9, rng=np.random.default_rng(7)
    ).confidence_interval
    np.testing.assert_allclose(ours.low, np.ravel([want_corr.low, want_mean.low]), rtol=1e-12)
    np.testing.assert_allclose(ours.high, np.ravel([want_corr.high, want_mean.high]), rtol=1e-12)


def test_bootstrap_same_seed_same_numbers_other_seed_other_numbers() -> None:
    x = np.random.default_rng(1).normal(size=80)
    run = [analysis.bootstrap(lambda r: np.array([np.median(x[r])]), 80, seed=s) for s in (3, 3, 4)]
    assert (run[0].low, run[0].high) == (run[1].low, run[1].high)
    assert run[0].low[0] != run[2].low[0] or run[0].high[0] != run[2].high[0]


# -- ROC AUC and DeLong against an independent computation ------------------------------------------------------


@pytest.mark.parametrize("n_classes", [2, 4])
def test_roc_auc_equals_sklearn(n_classes: int) -> None:
    y = truth(300, n_classes)
    p = np.round(probabilities(y, 0.8, 1, n_classes), 2)  # rounded: ties
    p /= p.sum(axis=1, keepdims=True)
    want = skm.roc_auc_score(y, p[:, 1]) if n_classes == 2 else skm.roc_auc_score(y, p, multi_class="ovr")
    assert analysis.roc_auc(y, p) == pytest.approx(want, rel=1e-12)


def _kernel(x: float, y: float) -> float:
    return 1.0 if x > y else 0.5 if x == y else 0.0


def _delong_by_hand(scores_a: np.ndarray, scores_b: np.ndarray, positive: np.ndarray) -> tuple[float, float]:
    """DeLong et al. (1988), written out: structural components V10 (per positive) and V01 (per negative) from
    the Mann-Whitney kernel by explicit loops, their 2x2 sample covariances S10 and S01, and
    var(AUC_a - AUC_b) = (S10_aa + S10_bb - 2 S10_ab) / m + (S01_aa + S01_bb - 2 S01_ab) / n."""
    pos, neg = np.flatnonzero(positive), np.flatnonzero(~positive)
    v10 = np.array([[np.mean([_kernel(s[i], s[j]) for j in neg]) for i in pos] for s in (scores_a, scores_b)])
    v01 = np.array([[np.mean([_kernel(s[i], s[j]) for i in pos]) for j in neg] for s in (scores_a, scores_b)])
    s10, s01 = np.cov(v10), np.cov(v01)
    var = (s10[0, 0] + s10[1, 1] - 2 * s10[0, 1]) / len(pos) + (s01[0, 0] + s01[1, 1] - 2 * s01[0, 1]) / len(neg)
    difference = v10[0].mean() - v10[1].mean()
    return difference, float(var)


def test_delong_binary_equals_the_structural_components_written_out() -> None:
    y = truth(120, 2)
    a, b = model("a", 1.0, 1, n=120, n_classes=2, tvt=False), model("b", 0.6, 2, n=120, n_classes=2, tvt=False)
    pa, pb = (np.round(probabilities(y, s, seed, 2), 2) for s, seed in ((1.0, 1), (0.6, 2)))
    a["predicted_probability"].data[:] = pa / pa.sum(axis=1, keepdims=True)
    b["predicted_probability"].data[:] = pb / pb.sum(axis=1, keepdims=True)
    found = analysis.compare([a, b], n_resamples=50).pairs[0].delong
    assert found is not None and found.average == "binary"
    difference, var = _delong_by_hand(
        a["predicted_probability"].data[:, 1], b["predicted_probability"].data[:, 1], y == 1
    )
    assert found.difference == pytest.approx(difference, abs=1e-12)
    assert found.se == pytest.approx(np.sqrt(var), rel=1e-10)
    z = difference / np.sqrt(var)
    assert found.p_value == pytest.approx(2 * stats.norm.sf(abs(z)), rel=1e-10)
    half = stats.norm.ppf(0.975) * np.sqrt(var)
    assert (found.ci_low, found.ci_high) == (pytest.approx(difference - half), pytest.approx(difference + half))
    assert found.auc_a == pytest.approx(skm.roc_auc_score(y, a["predicted_probability"].data[:, 1]), rel=1e-12)


def test_delong_macro_averages_the_per_class_components_written_out() -> None:
    """One-vs-rest macro: the difference is the mean of the per-class differences, and its variance that of the
    mean of each sample's per-class components (written out with loops), which share samples across classes."""
    n, k = 90, 3
    y = truth(n, k)
    a, b = model("a", 1.0, 1, n=n, tvt=False), model("b", 0.5, 2, n=n, tvt=False)
    pa, pb = a["predicted_probability"].data, b["predicted_probability"].data
    found = analysis.compare([a, b], n_resamples=50).pairs[0].delong
    assert found is not None and found.average == "macro"
    phi = np.zeros(n)
    differences = []
    for c in range(k):
        pos, neg = np.flatnonzero(y == c), np.flatnonzero(y != c)
        m_, n_ = len(pos), len(neg)
        per_model = []
        for p in (pa, pb):
            v10 = {i: np.mean([_kernel(p[i, c], p[j, c]) for j in neg]) for i in pos}
            v01 = {j: np.mean([_kernel(p[i, c], p[j, c]) for i in pos]) for j in neg}
            auc = np.mean(list(v10.values()))
            share = np.zeros(n)
            for i in pos:
                share[i] = (v10[i] - auc) / np.sqrt(m_ * (m_ - 1))
            for j in neg:
                share[j] = (v01[j] - auc) / np.sqrt(n_ * (n_ - 1))
            per_model.append((auc, share))
        differences.append(per_model[0][0] - per_model[1][0])
        phi += (per_model[0][1] - per_model[1][1]) / k
    assert found.difference == pytest.approx(np.mean(differences), abs=1e-12)
    assert found.se == pytest.approx(np.sqrt(np.sum(phi**2)), rel=1e-10)
    assert found.auc_a == pytest.approx(skm.roc_auc_score(y, pa, multi_class="ovr"), rel=1e-12)


# -- metrics with intervals ------------------------------------------------------------------------------------


def _accuracy_rows(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[frame["metric"] == "accuracy"].set_index("split")


@pytest.mark.parametrize("method", ["wilson", "exact"])
@pytest.mark.parametrize("layout", ["tvt_split", "cv_split", "neither"])
def test_accuracy_intervals_per_split_fold_or_overall_equal_statsmodels(method: str, layout: str) -> None:
    y = truth()
    rt = model("m", 0.8, 1, tvt=layout == "tvt_split")
    if layout == "cv_split":
        rt.add_cv_split(np.arange(N) % 4, n_splits=4)
    rows = _accuracy_rows(analysis.evaluate(rt, proportion=method, n_resamples=20).to_frame())
    predicted = np.argmax(rt["predicted_probability"].data, axis=1)
    groups = {
        "tvt_split": {"train": np.arange(N) % 3 != 0, "test": np.arange(N) % 3 == 0},
        "cv_split": {f"fold {f}": np.arange(N) % 4 == f for f in range(4)},
        "neither": {},
    }[layout]
    groups["all"] = np.ones(N, dtype=bool)
    assert sorted(rows.index) == sorted(groups)
    oracle = {"wilson": "wilson", "exact": "beta"}[method]
    for split, mask in groups.items():
        right = int(np.sum(predicted[mask] == y[mask]))
        row = rows.loc[split]
        assert row["value"] == pytest.approx(skm.accuracy_score(y[mask], predicted[mask]), rel=1e-12)
        want = proportion.proportion_confint(right, int(mask.sum()), alpha=0.05, method=oracle)
        np.testing.assert_allclose([row["ci_low"], row["ci_high"]], want, atol=1e-12)
        assert (row["n"], row["method"], row["tables"]) == (mask.sum(), method, ("m",))
        assert pd.isna(row["seed"])


@pytest.mark.parametrize("method", ["percentile", "bca"])
def test_bootstrap_intervals_of_metrics_equal_scipy_over_sklearn(method: str) -> None:
    y = truth()
    rt = model("m", 0.8, 1, tvt=False)
    probs = rt["predicted_probability"].data
    frame = analysis.evaluate(rt, metrics=["f1_macro", "log_loss"], bootstrap=method, n_resamples=300, seed=9)
    rows = frame.to_frame().set_index("metric")
    for metric, fn in (
        ("f1_macro", lambda r: skm.f1_score(y[r], probs[r].argmax(axis=1), average="macro")),
        ("log_loss", lambda r: skm.log_loss(y[r], probs[r], labels=[0, 1, 2])),
    ):
        want = stats.bootstrap(
            (np.arange(N),),
            lambda idx, axis=-1, fn=fn: np.array([fn(r) for r in np.atleast_2d(idx)]),
            vectorized=True,
            n_resamples=300,
            method=method,
            rng=np.random.default_rng(9),
        ).confidence_interval
        assert rows.loc[metric, "value"] == pytest.approx(fn(np.arange(N)), rel=1e-12)
        assert rows.loc[metric, "ci_low"] == pytest.approx(want.low, rel=1e-10)
        assert rows.loc[metric, "ci_high"] == pytest.approx(want.high, rel=1e-10)
        assert (rows.loc[metric, "method"], rows.loc[metric, "seed"]) == (f"bootstrap {method}", 9)


def test_same_seed_same_numbers_other_seed_other_numbers() -> None:
    rt = model("m", 0.8, 1)
    first, again, other = (analysis.evaluate(rt, n_resamples=100, seed=s).to_frame() for s in (1, 1, 2))
    pd.testing.assert_frame_equal(first, again)
    resampled = first["method"].str.startswith("bootstrap")
    assert not np.allclose(first.loc[resampled, "ci_low"], other.loc[resampled, "ci_low"])


def test_regression_metrics_carry_intervals_and_equal_sklearn() -> None:
    rt = regressor("r", 0.5, 1)
    target, value = rt["true_label"].data, rt["predicted_value"].data
    rows = analysis.evaluate(rt, n_resamples=200).to_frame().set_index("metric")
    assert list(rows.index) == ["mae", "rmse", "r2"]
    assert rows.loc["mae", "value"] == pytest.approx(skm.mean_absolute_error(target, value), rel=1e-12)
    assert rows.loc["rmse", "value"] == pytest.approx(skm.root_mean_squared_error(target, value), rel=1e-12)
    assert rows.loc["r2", "value"] == pytest.approx(skm.r2_score(target, value), rel=1e-12)
    assert (rows["ci_low"] < rows["value"]).all() and (rows["value"] < rows["ci_high"]).all()


def test_clustering_metrics_carry_intervals_and_equal_sklearn() -> None:
    y = truth()
    rt = hdmf_ai.ResultsTable(name="k")
    rt.add_true_label(y)
    cluster = np.where(np.random.default_rng(2).random(N) < 0.7, y, np.random.default_rng(3).integers(0, 4, N))
    rt.add_cluster_label(cluster)
    rows = analysis.evaluate(rt, n_resamples=200, bootstrap="percentile").to_frame().set_index("metric")
    assert rows.loc["ari", "value"] == pytest.approx(skm.adjusted_rand_score(y, cluster), rel=1e-12)
    assert rows.loc["nmi", "value"] == pytest.approx(skm.normalized_mutual_info_score(y, cluster), rel=1e-12)
    assert rows.loc[["ari", "nmi"], "ci_low"].notna().all() and (rows["ci_low"] <= rows["ci_high"]).all()


def test_to_frame_has_exactly_the_evaluation_columns() -> None:
    frame = analysis.evaluate(model("m", 0.8, 1, source=source_table()), by="site", n_resamples=20).to_frame()
    assert tuple(frame.columns) == analysis.EVALUATION_COLUMNS
    sliced = frame[frame["slice_column"].notna()]
    assert set(sliced["slice_column"]) == {"site"} and set(sliced["slice_value"]) == {"A", "B", "C"}
    assert set(frame.loc[frame["slice_column"].isna(), "split"]) == {"all"}


def test_metrics_with_ci_follow_each_value_with_its_bounds() -> None:
    rt = model("m", 0.8, 1)
    plain = analysis.metrics(rt)
    with_ci = analysis.metrics(rt, ci=0.9, n_resamples=50)
    columns = list(with_ci.columns)
    for metric in plain.columns.drop("n"):
        at = columns.index(metric)
        assert columns[at + 1 : at + 3] == [f"{metric}_low", f"{metric}_high"]
    pd.testing.assert_frame_equal(with_ci[list(plain.columns)], plain)
    assert (with_ci["accuracy_low"] <= with_ci["accuracy"]).all()


def test_evaluate_names_metrics_it_cannot_give() -> None:
    with pytest.raises(ValueError, match=r"\['mae'\].*accuracy"):
        analysis.evaluate(model("m", 0.8, 1), metrics=["mae"])


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [("proportion", "wald", "'wald'"), ("bootstrap", "basic", "'basic'"), ("ci", 1.5, "1.5"), ("n_resamples", 0, "0")],
)
def test_bad_interval_options_are_refused(option: str, value: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        analysis.evaluate(model("m", 0.8, 1), **{option: value})


# -- compare ----------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def three() -> list[hdmf_ai.ResultsTable]:
    source = source_table()
    return [
        model(name, skill, seed, source=source) for name, skill, seed in (("a", 1.2, 1), ("b", 0.9, 2), ("c", 0.5, 3))
    ]


def _correct(rt: hdmf_ai.ResultsTable, mask: np.ndarray) -> np.ndarray:
    return np.argmax(rt["predicted_probability"].data[mask], axis=1) == truth()[mask]


def test_compare_tests_equal_statsmodels(three: list[hdmf_ai.ResultsTable]) -> None:
    result = analysis.compare(three, split="test", n_resamples=100)
    test = np.arange(N) % 3 == 0
    assert result.n == test.sum() and result.split == "test" and result.models == ("a", "b", "c")
    for pair, (x, y) in zip(result.pairs, itertools.combinations(three, 2), strict=True):
        ca, cb = _correct(x, test), _correct(y, test)
        table = [[np.sum(ca & cb), np.sum(ca & ~cb)], [np.sum(~ca & cb), np.sum(~ca & ~cb)]]
        assert pair.mcnemar is not None
        assert (pair.mcnemar.only_a, pair.mcnemar.only_b) == (table[0][1], table[1][0])
        assert pair.mcnemar.p_exact == pytest.approx(contingency.mcnemar(table, exact=True).pvalue, abs=1e-12)
    correct = np.stack([_correct(t, test) for t in three], axis=1).astype(int)
    assert result.cochran_q is not None
    assert result.cochran_q.p_value == pytest.approx(contingency.cochrans_q(correct).pvalue, abs=1e-12, rel=0)


@pytest.mark.parametrize("method", ["percentile", "bca"])
def test_paired_bootstrap_difference_equals_scipy(three: list[hdmf_ai.ResultsTable], method: str) -> None:
    a, b = three[:2]
    result = analysis.compare([a, b], metric=["accuracy", "f1_macro"], bootstrap=method, n_resamples=400, seed=3)
    y = truth()
    pa, pb = (np.argmax(t["predicted_probability"].data, axis=1) for t in (a, b))

    def diff(ya: np.ndarray, yb: np.ndarray, yt: np.ndarray, axis: int = -1) -> np.ndarray:
        rows = zip(np.atleast_2d(ya), np.atleast_2d(yb), np.atleast_2d(yt), strict=True)
        return np.array([skm.f1_score(t, u, average="macro") - skm.f1_score(t, v, average="macro") for u, v, t in rows])

    want = stats.bootstrap(
        (pa, pb, y), diff, paired=True, vectorized=True, n_resamples=400, method=method, rng=np.random.default_rng(3)
    ).confidence_interval
    f1 = result.pairs[0].differences[1]
    assert f1.metric == "f1_macro" and f1.method == f"paired bootstrap {method}"
    assert f1.difference == pytest.approx(diff(pa, pb, y)[0], rel=1e-12)
    assert (f1.ci_low, f1.ci_high) == (pytest.approx(want.low, rel=1e-10), pytest.approx(want.high, rel=1e-10))


def test_rows_are_matched_through_samples_not_position(three: list[hdmf_ai.ResultsTable]) -> None:
    source = three[0]["samples"].table
    order = np.random.default_rng(4).permutation(N)
    shuffled = model("b", 0.9, 2, source=source, order=order)
    straight = analysis.compare(three[:2], split="test", n_resamples=100)
    matched = analysis.compare([three[0], shuffled], split="test", n_resamples=100)
    pd.testing.assert_frame_equal(straight.to_frame(), matched.to_frame())
    pd.testing.assert_frame_equal(straight.disagreements, matched.disagreements)


def test_tables_over_different_samples_are_refused_with_the_count(three: list[hdmf_ai.ResultsTable]) -> None:
    source = three[0]["samples"].table
    fewer = model("short", 0.9, 2, source=source, order=np.arange(N - 7))
    with pytest.raises(ComparisonError, match=r"'a' and 'short' do not describe the same samples.*: 7 rows differ"):
        analysis.compare([three[0], fewer])
    moved = model("moved", 0.9, 2, source=source, order=np.r_[np.arange(5, N), np.arange(5)])
    moved["tvt_split"].data[:] = three[0]["tvt_split"].data[:]  # the same split, on other samples
    with pytest.raises(ComparisonError, match=r"test rows\): \d+ rows differ"):
        analysis.compare([three[0], moved], split="test")


def test_tables_with_different_truths_are_refused(three: list[hdmf_ai.ResultsTable]) -> None:
    other = model("other", 0.9, 2, source=three[0]["samples"].table)
    labels = other["true_label"].data
    labels[:4] = (labels[:4] + 1) % 3
    with pytest.raises(ComparisonError, match=r"column 'true_label'.*4 rows differ"):
        analysis.compare([three[0], other])


def test_disagreements_are_the_rows_where_predictions_differ_joined_to_the_source(
    three: list[hdmf_ai.ResultsTable],
) -> None:
    result = analysis.compare(three, split="test", n_resamples=50)
    frames = [t.to_dataframe(join_source=True) for t in three]
    predicted = pd.DataFrame(
        {t.name: np.asarray(CLASSES, dtype=object)[np.argmax(t["predicted_probability"].data, axis=1)] for t in three}
    )
    test = (frames[0]["tvt_split"].astype(str) == "test").to_numpy()
    differ = test & (predicted.nunique(axis=1) > 1).to_numpy()
    got = result.disagreements
    assert got.index.name == "source_row" and list(got.index) == list(np.flatnonzero(differ))
    np.testing.assert_array_equal(got["true_label"], frames[0]["true_label"].astype(str).to_numpy()[differ])
    for name in ("a", "b", "c"):
        np.testing.assert_array_equal(got[name], predicted[name].to_numpy()[differ])
    np.testing.assert_array_equal(got["site"], frames[0]["site"].to_numpy()[differ])
    np.testing.assert_array_equal(got["age"], frames[0]["age"].to_numpy()[differ])


def test_comparison_to_frame_and_summary(three: list[hdmf_ai.ResultsTable]) -> None:
    result = analysis.compare(three, metric=["accuracy", "roc_auc"], n_resamples=50)
    frame = result.to_frame()
    assert tuple(frame.columns) == analysis.EVALUATION_COLUMNS
    assert set(frame["split"]) == {"all"} and (frame["n"] == N).all()
    pair_rows = frame[frame["tables"] == ("a", "b")]
    assert set(pair_rows["metric"]) == {
        "accuracy difference",
        "roc_auc difference",
        "mcnemar p",
        "mcnemar mid-p",
        "roc_auc (macro) difference",
        "delong p",
    }
    assert frame.loc[frame["metric"] == "cochran q p", "tables"].tolist() == [("a", "b", "c")]
    summary = result.summary()
    assert len(summary) == 6 and {"mcnemar_p", "mcnemar_midp", "delong_p"} <= set(summary.columns)
    text = repr(result)
    assert "McNemar" in text and "DeLong" in text and "Cochran's Q" in text


def test_compare_same_seed_same_numbers(three: list[hdmf_ai.ResultsTable]) -> None:
    first, again = (analysis.compare(three[:2], metric="f1_macro", n_resamples=80, seed=5) for _ in range(2))
    pd.testing.assert_frame_equal(first.to_frame(), again.to_frame())


def test_compare_regressors_by_rmse() -> None:
    a, b = regressor("a", 0.3, 1), regressor("b", 0.6, 2)
    result = analysis.compare([a, b], n_resamples=100)
    d = result.pairs[0].differences[0]
    target = a["true_label"].data
    want = skm.root_mean_squared_error(target, a["predicted_value"].data) - skm.root_mean_squared_error(
        target, b["predicted_value"].data
    )
    assert d.metric == "rmse" and d.difference == pytest.approx(want, rel=1e-12) and d.ci_high < 0
    assert result.pairs[0].mcnemar is None and result.disagreements is None


def test_clashing_names_need_a_dict(three: list[hdmf_ai.ResultsTable]) -> None:
    twin = model("a", 0.9, 2, source=three[0]["samples"].table)
    with pytest.raises(ComparisonError, match="two tables are named 'a'"):
        analysis.compare([three[0], twin])
    assert analysis.compare({"first": three[0], "second": twin}, n_resamples=20).models == ("first", "second")


def test_one_table_is_not_a_comparison(three: list[hdmf_ai.ResultsTable]) -> None:
    with pytest.raises(ComparisonError, match="at least two tables; got 1"):
        analysis.compare(three[:1])


# -- from files: one file, several files, both backends ----------------------------------------------------------


@pytest.mark.parametrize("suffix", [".h5", ".zarr"])
def test_compare_in_one_file_equals_compare_in_memory(
    three: list[hdmf_ai.ResultsTable], tmp_path: Path, suffix: str
) -> None:
    path = hdmf_ai.write(three, tmp_path / f"models{suffix}")
    on_disk = analysis.compare_files([path], n_resamples=60)
    in_memory = analysis.compare(three, split="test", n_resamples=60)
    pd.testing.assert_frame_equal(on_disk.to_frame(), in_memory.to_frame())
    pd.testing.assert_frame_equal(on_disk.disagreements, in_memory.disagreements, check_categorical=False)


def test_compare_across_files_and_backends(three: list[hdmf_ai.ResultsTable], tmp_path: Path) -> None:
    first = hdmf_ai.write(three[0], tmp_path / "a.h5")
    second = hdmf_ai.write(three[1], tmp_path / "b.zarr")
    on_disk = analysis.compare_files([first, second], split="all", n_resamples=60)
    in_memory = analysis.compare(three[:2], n_resamples=60)
    pd.testing.assert_frame_equal(on_disk.to_frame(), in_memory.to_frame())


def test_same_table_name_in_two_files_is_named_by_file(three: list[hdmf_ai.ResultsTable], tmp_path: Path) -> None:
    one = hdmf_ai.write(three[0], tmp_path / "one.h5")
    two = hdmf_ai.write(three[0], tmp_path / "two.h5")
    result = analysis.compare_files([one, two], n_resamples=20)
    assert result.models == (f"{one}:a", f"{two}:a")
    assert result.pairs[0].mcnemar is not None and result.pairs[0].mcnemar.p_exact == 1.0


# -- the command line, as users run it ---------------------------------------------------------------------------


def hdmf_ai_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hdmf_ai.cli", *args], capture_output=True, text=True, timeout=300, check=False
    )


@pytest.fixture(scope="module")
def files(three: list[hdmf_ai.ResultsTable], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("compare-cli")
    source = three[0]["samples"].table
    fewer = model("short", 0.9, 2, source=source, order=np.arange(N - 7))
    return {
        "both": hdmf_ai.write(three[:2], folder / "both.h5"),
        "c": hdmf_ai.write(three[2], folder / "c.zarr"),
        "short": hdmf_ai.write(fewer, folder / "short.h5"),
        "regressors": hdmf_ai.write([regressor("r1", 0.3, 1), regressor("r2", 0.5, 2)], folder / "regressors.h5"),
    }


def test_cli_prints_differences_intervals_and_p_values(files: dict[str, Path], three: list[Any]) -> None:
    done = hdmf_ai_cli("compare", str(files["both"]), str(files["c"]), "--n-resamples", "60", "--metric", "accuracy")
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    want = analysis.compare(three, split="test", n_resamples=60)
    assert done.stdout.splitlines() == want.lines()
    for pair in want.pairs:
        assert pair.mcnemar is not None and f"p = {pair.mcnemar.p_exact:.4g} (exact)" in done.stdout


def test_cli_table_and_split_options(files: dict[str, Path], three: list[Any]) -> None:
    done = hdmf_ai_cli(
        "compare", str(files["both"]), "--table", "a", "--table", "b", "--split", "all", "--n-resamples", "30"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == analysis.compare(three[:2], n_resamples=30).lines()


@pytest.mark.parametrize(
    ("situation", "code", "expected"),
    [
        ("different samples", 1, ["do not describe the same samples (all rows)", "7 rows differ"]),
        ("one table", 1, ["at least two ResultsTables; found 1"]),
        ("missing file", 1, ["missing.h5"]),
        ("unknown table", 1, ["no ResultsTable named ['nope']"]),
        ("unknown metric", 1, ["cannot compare the metric(s) ['nope']"]),
        ("bad option", 2, ["--n-resamples", "'many'"]),
        ("unknown split", 1, ["table 'a'", "split must be one of", "'nope'"]),
        ("no such split column", 1, ["table 'r1'", "no column 'tvt_split'"]),
        ("bad confidence", 1, ["ci (the confidence) must lie between 0 and 1; got 2.0"]),
    ],
)
def test_cli_errors_are_one_line(
    files: dict[str, Path], tmp_path: Path, situation: str, code: int, expected: list[str]
) -> None:
    argv = {
        "different samples": [
            *(str(files[k]) for k in ("both", "short")),
            "--table",
            "a",
            "--table",
            "short",
            "--split",
            "all",
        ],
        "one table": [str(files["c"])],
        "missing file": [str(files["c"]), str(tmp_path / "missing.h5")],
        "unknown table": [str(files["both"]), "--table", "nope"],
        "unknown metric": [str(files["both"]), "--metric", "nope"],
        "bad option": [str(files["both"]), "--n-resamples", "many"],
        "unknown split": [str(files["both"]), "--split", "nope"],
        "no such split column": [str(files["regressors"]), "--split", "test"],
        "bad confidence": [str(files["both"]), "--ci", "2"],
    }[situation]
    done = hdmf_ai_cli("compare", *argv)
    assert done.returncode == code, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert lines[0].startswith("hdmf-ai compare: error: " if code == 1 else "hdmf-ai")
    for part in expected:
        assert part in lines[0], (part, lines[0])


def test_silhouette_equals_sklearn_and_carries_an_interval() -> None:
    rng = np.random.default_rng(8)
    rt = hdmf_ai.ResultsTable(name="k")
    centres = rng.normal(scale=3, size=(4, 5))
    cluster = rng.integers(-1, 4, N)  # -1 (noise) is one more label, as scikit-learn counts it
    cluster[0] = 7  # a cluster of one row: its silhouette is 0
    embedding = (centres[cluster % 4] + rng.normal(size=(N, 5))).astype(np.float32)
    rt.add_true_label(truth())
    rt.add_cluster_label(cluster)
    rt.add_embedding(embedding)
    rows = analysis.evaluate(rt, metrics=["silhouette"], n_resamples=300, bootstrap="percentile", seed=2).to_frame()
    (row,) = rows.itertuples()
    want = skm.silhouette_score(embedding.astype(np.float64), cluster)
    assert row.value == pytest.approx(want, abs=1e-9)
    each = skm.silhouette_samples(embedding.astype(np.float64), cluster)
    np.testing.assert_allclose(analysis.silhouette_samples(embedding, cluster), each, atol=1e-9)
    # resamples carry each row's silhouette (a duplicated row is not its own neighbour): the mean's bootstrap
    interval = stats.bootstrap(
        (each,), np.mean, n_resamples=300, method="percentile", rng=np.random.default_rng(2)
    ).confidence_interval
    assert (row.ci_low, row.ci_high) == (pytest.approx(interval.low, abs=1e-9), pytest.approx(interval.high, abs=1e-9))


@pytest.mark.parametrize("suffix", [".h5", ".zarr"])
def test_comparison_rows_store_as_an_evaluation_table_and_read_back(
    three: list[hdmf_ai.ResultsTable], tmp_path: Path, suffix: str
) -> None:
    """to_frame() maps onto the stored EvaluationTable by one rename (tables -> results_tables)."""
    result = analysis.compare(three, metric=["accuracy", "roc_auc"], n_resamples=40)
    frame = result.to_frame().rename(columns={"tables": "results_tables"})
    stored = hdmf_ai.EvaluationTable.from_frame(frame, tables=three)
    path = hdmf_ai.write([*three, stored], tmp_path / f"compared{suffix}")
    assert hdmf_ai.validate(path) == []
    back = hdmf_ai.read_evaluations(path).to_frame()
    assert len(back) == len(frame)
    for column in ("metric", "split", "method", "results_tables"):
        assert back[column].tolist() == frame[column].tolist(), column
    for column in ("value", "ci_low", "ci_high"):
        np.testing.assert_array_equal(back[column], frame[column], err_msg=column)
    assert back["n"].tolist() == frame["n"].tolist()
    assert back["seed"].tolist() == frame["seed"].fillna(-1).astype(int).tolist()


# -- the report's comparison section ----------------------------------------------------------------------------


def test_the_report_compares_the_models_of_a_file(tmp_path: Path) -> None:
    import html as html_lib

    import pandas as pd

    source = source_table()
    tables = [model(name, skill, seed, source=source) for name, skill, seed in (("a", 1.2, 1), ("b", 0.9, 2))]
    path = hdmf_ai.write(tables, tmp_path / "two.h5")
    from hdmf_ai.report import write_report

    index = write_report(path, tmp_path / "report")
    text = index.read_text()
    want = analysis.compare_files([path])  # what `hdmf-ai compare` prints: the test rows, default seed
    assert '<h2 id="comparison">Model comparison</h2>' in text and '<a href="#comparison">' in text
    assert html_lib.escape("\n".join(want.lines())) in text
    frame = pd.read_csv(tmp_path / "report" / "comparison.csv")
    np.testing.assert_allclose(frame["value"].to_numpy(), want.to_frame()["value"].to_numpy(dtype=float))
    rows = pd.read_csv(tmp_path / "report" / "comparison_disagreements.csv")
    assert len(rows) == len(want.disagreements) and f"disagree ({len(rows)})" in text


def test_the_report_says_why_tables_over_other_samples_are_not_compared(tmp_path: Path) -> None:
    source = source_table()
    a = model("a", 1.2, 1, source=source)
    b = model("b", 0.9, 2, source=source, order=np.arange(N)[::-1].copy())  # the same rows, reversed: comparable
    c = model("c", 0.5, 3, source=source, n=N // 2)  # other samples
    from hdmf_ai.report import write_report

    text = write_report(hdmf_ai.write([a, c], tmp_path / "other.h5"), tmp_path / "r1").read_text()
    assert "not compared:" in text and "do not describe the same samples" in text
    assert not (tmp_path / "r1" / "comparison.csv").exists()
    text = write_report(hdmf_ai.write([a, b], tmp_path / "same.h5"), tmp_path / "r2").read_text()
    assert "not compared" not in text and (tmp_path / "r2" / "comparison.csv").exists()
