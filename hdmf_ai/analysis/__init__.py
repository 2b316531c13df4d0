"""What a model got right and wrong: metrics per split and fold with confidence intervals, error rates by any
source-table column, and paired comparisons of models over the same samples.

Two layers:

* **Array functions** (numpy in, numbers out): :func:`accuracy`, :func:`balanced_accuracy`,
  :func:`precision_recall_f1`, :func:`confusion_counts`, :func:`top_k_accuracy`, :func:`log_loss`,
  :func:`calibration_bins`, :func:`expected_calibration_error`, :func:`mean_absolute_error`,
  :func:`root_mean_squared_error`, :func:`r2_score`, :func:`roc_auc`, :func:`adjusted_rand_index`,
  :func:`normalized_mutual_information` and :func:`silhouette_score`. Each gives the value scikit-learn's
  function for the same metric gives (the tests check it), without needing scikit-learn. And the statistics:
  :func:`wilson_interval`, :func:`clopper_pearson_interval`, :func:`bootstrap` (percentile and BCa, seeded:
  the resamples and intervals of ``scipy.stats.bootstrap``), :func:`mcnemar`, :func:`cochran_q` and
  :func:`delong_test`, each checked against statsmodels or scipy.
* **Table functions** (a ResultsTable in, a small pandas DataFrame out): :func:`metrics` (one row per split
  or fold), :func:`class_metrics`, :func:`confusion_matrix`, :func:`reliability_curve` and
  :func:`error_breakdown` (the nuisance-variable question: does the error rate depend on the site, scanner
  or session of the sample, a column of the source table reached through ``samples``?),
  :func:`attribution_summary` and :func:`nuisance_features` (which features does the model rely on, and do
  they encode the site?). They work on a table
  built in memory, read with :func:`hdmf_ai.read`, or open lazily with :func:`hdmf_ai.open`, and read each
  column they need once. Classes are named by the ``true_label`` enum when there is one. With ``ci=0.95``,
  :func:`metrics` and :func:`class_metrics` give each value's interval; :func:`evaluate` gives the same as an
  :class:`Evaluation`, whose ``to_frame()`` has the rows to store (:data:`EVALUATION_COLUMNS`).
* **Comparison**: :func:`compare` (tables in memory or open) and :func:`compare_files` (files, as
  ``hdmf-ai compare`` does) judge two or more models on the same samples: each metric's difference with a
  paired-bootstrap interval, McNemar's exact and mid-p tests, DeLong's test of ROC AUC, Cochran's Q, and the
  rows where the models disagree joined to the source table.

Only numpy is imported with this module; pandas (``pip install 'hdmf-ai[analysis]'``) when a table function
builds its DataFrame. The statistics are computed here with numpy and :mod:`math` (scipy and statsmodels are
the tests' oracles, not dependencies).

Example
-------
>>> import numpy as np, hdmf_ai
>>> from hdmf_ai import analysis
>>> rt = hdmf_ai.ResultsTable(name="toy")
>>> _ = rt.add_tvt_split(["train", "train", "test", "test"])
>>> _ = rt.add_true_label(["cat", "dog", "cat", "dog"])
>>> _ = rt.add_predicted_class([0, 1, 0, 0])
>>> analysis.metrics(rt)[["n", "accuracy", "f1_macro"]].round(3)
           n  accuracy  f1_macro
tvt_split
train      2      1.00     1.000
test       2      0.50     0.333
all        4      0.75     0.733
"""

from .attribution import attribution_summary, kruskal_wallis, nuisance_features
from .breakdown import ErrorBreakdown, error_breakdown
from .compare import (
    CochranQ,
    Comparison,
    DeLong,
    McNemar,
    MetricDifference,
    ModelMetric,
    PairComparison,
    compare,
    compare_files,
    delong_test,
)
from .evaluation import EVALUATION_COLUMNS, Evaluation, Interval, Intervals
from .labels import LabelIssues, confident_learning, label_issues
from .leakage import Leakage, leakage
from .resampling import Bootstrap, bootstrap
from .scores import (
    accuracy,
    adjusted_rand_index,
    balanced_accuracy,
    calibration_bins,
    confusion_counts,
    expected_calibration_error,
    log_loss,
    mean_absolute_error,
    normalized_mutual_information,
    precision_recall_f1,
    r2_score,
    roc_auc,
    roc_auc_by_class,
    root_mean_squared_error,
    silhouette_samples,
    silhouette_score,
    top_k_accuracy,
)
from .slices import benjamini_hochberg, find_slices, slice_columns
from .stats import (
    DeLongComponents,
    average_ranks,
    clopper_pearson_interval,
    cochran_q,
    delong_components,
    mcnemar,
    proportion_interval,
    wilson_interval,
)
from .tables import class_metrics, confusion_matrix, evaluate, metrics, reliability_curve

__all__ = [
    "CochranQ",
    "Comparison",
    "DeLong",
    "DeLongComponents",
    "McNemar",
    "MetricDifference",
    "ModelMetric",
    "PairComparison",
    "compare",
    "compare_files",
    "Bootstrap",
    "EVALUATION_COLUMNS",
    "ErrorBreakdown",
    "Evaluation",
    "Interval",
    "Intervals",
    "LabelIssues",
    "Leakage",
    "accuracy",
    "adjusted_rand_index",
    "attribution_summary",
    "average_ranks",
    "balanced_accuracy",
    "benjamini_hochberg",
    "bootstrap",
    "calibration_bins",
    "class_metrics",
    "clopper_pearson_interval",
    "cochran_q",
    "confident_learning",
    "confusion_counts",
    "confusion_matrix",
    "delong_components",
    "delong_test",
    "error_breakdown",
    "evaluate",
    "expected_calibration_error",
    "find_slices",
    "kruskal_wallis",
    "label_issues",
    "leakage",
    "log_loss",
    "mcnemar",
    "mean_absolute_error",
    "metrics",
    "normalized_mutual_information",
    "nuisance_features",
    "precision_recall_f1",
    "proportion_interval",
    "r2_score",
    "reliability_curve",
    "roc_auc",
    "roc_auc_by_class",
    "root_mean_squared_error",
    "silhouette_samples",
    "silhouette_score",
    "slice_columns",
    "top_k_accuracy",
    "wilson_interval",
]
