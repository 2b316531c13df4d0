"""
Where and why: failing slices, label errors, leakage
====================================================

A model can look fine on average and fail on a subgroup that nobody thought to check: the old subjects of
one site, the scans of one session. It can also look better than it is, because some labels are wrong, or
because the same subject sits on both sides of a split. A results file knows each row's split, fold,
probabilities and source row, so it can search for all three with nothing but its own contents.

The data here are synthetic, with each problem planted so that we can see it found.
"""

# %%
# A table whose errors hide in a subgroup
# ---------------------------------------
# Five sites, an age, ten scans per subject. The model fails (35% errors instead of 5%) on subjects older
# than 65 at site C: about 4% of the rows.
import numpy as np
from hdmf.common import DynamicTable, VectorData

import hdmf_ai
from hdmf_ai import analysis, plot

rng = np.random.default_rng(0)
n = 5000
site = np.array(list("ABCDE"))[(rng.random(n) * 5).astype(int)]
age = 20 + 60 * rng.random(n)
subject = np.arange(n) // 10
scans = DynamicTable(
    name="scans",
    description="one row per scan",
    columns=[
        VectorData(name="site", description="acquisition site", data=site),
        VectorData(name="age", description="subject age", data=age),
        VectorData(name="subject", description="subject id", data=subject),
    ],
)
failing = (site == "C") & (age > 65)
wrong = rng.random(n) < np.where(failing, 0.35, 0.05)
truth = (rng.random(n) * 3).astype(int)
rt = hdmf_ai.ResultsTable(name="model", description="a classifier with a blind spot")
rt.add_samples(np.arange(n), table=scans)
rt.add_tvt_split(np.where(subject % 4 == 0, "test", "train"))
rt.add_true_label(truth)
rt.add_predicted_class(np.where(wrong, (truth + 1) % 3, truth))

# %%
# Slice discovery
# ---------------
# :func:`~hdmf_ai.analysis.find_slices` tests every value of every source column, and every pair of values
# of two columns (numeric columns in quartiles), against the rest of the table, and controls the false
# discovery rate over all the slices it tested (Benjamini-Hochberg q-values).
slices = analysis.find_slices(rt, ["site", "age"])
slices[["slice", "size", "error_rate", "rest_rate", "q_value"]].head(5).round(4)

# %%
# The planted subgroup comes first. The figure shows each significant slice's error rate with its interval.
plot.slices(slices, top=8)

# %%
# Leakage across splits
# ---------------------
# The split above was made per subject, so no subject crosses it. A split made per scan would leak: the same
# subject would be trained on and tested on.
print("per subject:", analysis.leakage(rt, "subject").found)
leaky = hdmf_ai.ResultsTable(name="leaky")
leaky.add_samples(np.arange(n), table=scans)
leaky.add_tvt_split(rng.choice(["train", "test"], n, p=[0.75, 0.25]))
leaks = analysis.leakage(leaky, "subject")
print("per scan:", leaks.found)
leaks.overlaps["tvt_split"].head()

# %%
# Possible label errors
# ---------------------
# Confident learning compares each row's label with the probabilities an out-of-sample model gave it: here a
# cross-validated model on scikit-learn's digits, with 5% of the training labels flipped on purpose.
from sklearn.datasets import load_digits
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

from hdmf_ai.sklearn import from_cross_val_predict

X, y = load_digits(return_X_y=True)
flipped = rng.random(len(y)) < 0.05
noisy = np.where(flipped, (y + rng.integers(1, 10, len(y))) % 10, y)
digits = from_cross_val_predict(LinearDiscriminantAnalysis(), X, noisy, cv=5, name="digits")
issues = analysis.label_issues(digits)
print(f"{issues.mask.sum()} rows flagged; {flipped[issues.mask].mean():.0%} of them were flipped; "
      f"{issues.mask[flipped].mean():.0%} of the flipped rows found")  # fmt: skip
