"""
What the model relies on: feature attributions
==============================================

To trust a model we want to know which features of a sample it uses, and whether those features are the
biology or the acquisition: the site, the scanner, the session. A ``FeatureAttribution`` column keeps, for
every sample, how much each feature contributed to the model's output (SHAP values, integrated gradients,
saliency), next to the rest of the results and linked through ``samples`` to the source table, where the
nuisance variables are.

The data here are synthetic scans from three sites, with a shortcut planted: the share of malignant lesions
differs by site, and one feature, a scanner's ``intensity_offset``, is all but the site itself.
"""

# %%
# Scans from three sites
# ----------------------
import tempfile
from pathlib import Path

import numpy as np
from hdmf.common import DynamicTable, VectorData
from sklearn.ensemble import GradientBoostingClassifier

import hdmf_ai
from hdmf_ai import analysis, plot
from hdmf_ai.sklearn import from_estimator

rng = np.random.default_rng(0)
n = 1500
site = rng.integers(0, 3, n)
malignant = (rng.random(n) < np.array([0.15, 0.5, 0.85])[site]).astype(int)
features = {
    "lesion_size": rng.normal(size=n) + 0.8 * malignant,
    "texture": rng.normal(size=n) + 0.5 * malignant,
    "edge_sharpness": rng.normal(size=n),
    "intensity_offset": 2.0 * site + rng.normal(scale=0.4, size=n),  # the scanner's calibration: the site
    "age": rng.normal(60, 10, size=n),
}
names = list(features)
scans = DynamicTable(
    name="scans",
    description="one row per scan",
    columns=[VectorData(name=f, description=f, data=v) for f, v in features.items()]
    + [VectorData(name="site", description="acquisition site", data=np.array(list("ABC"))[site])],
)
X = np.column_stack([features[f] for f in names])
split = np.where(rng.random(n) < 0.7, "train", "test")

# %%
# A model, and its tree SHAP values
# ---------------------------------
# ``from_estimator(..., attributions="tree")`` asks shap's ``TreeExplainer`` for exact SHAP values of the
# model's raw output (log-odds for gradient boosting) and stores them with the feature names, the method and
# the base value.
model = GradientBoostingClassifier(n_estimators=100, max_depth=2, random_state=0)
model.fit(X[split == "train"], malignant[split == "train"])
rt = from_estimator(model, X, malignant, split=split, source=scans, attributions="tree", feature_names=names, k=None)
column = rt["feature_attribution"]
print(column.method, column.output, column.output_space, column.shape)

# %%
# Written and read back, the attributions still add up to the model's output: SHAP values plus the base
# value give ``decision_function`` on every lossless preset.
path = hdmf_ai.write(rt, Path(tempfile.mkdtemp()) / "attributions.h5")
back = hdmf_ai.read(path)["feature_attribution"]
error = np.abs(np.asarray(back.data).sum(axis=1) + back.base_values[0] - model.decision_function(X)).max()
print(f"largest |SHAP sum + base - decision_function| after the round trip: {error:.1e}")

# %%
# What the model relies on
# ------------------------
# :func:`~hdmf_ai.analysis.attribution_summary` gives each feature's mean absolute attribution with a
# bootstrap interval (seeded). The model leans on ``intensity_offset`` more than on the lesion itself.
analysis.attribution_summary(rt, split="test").round(3)

# %%
plot.attribution_summary(rt, split="test")

# %%
# By site, the reliance on ``intensity_offset`` is largest where the site moves the prediction most.
plot.attribution_by_group(rt, "site", split="test")

# %%
# Which of those features encode the site?
# ----------------------------------------
# :func:`~hdmf_ai.analysis.nuisance_features` tests each feature's values (from the source table, through
# ``samples``) for association with the site (Kruskal-Wallis, Benjamini-Hochberg over features) and ranks the
# features by reliance times association. The planted shortcut comes first; ``lesion_size`` is associated too,
# because the site changes how many lesions are malignant, but far less.
analysis.nuisance_features(rt, by="site", split="test")[
    ["feature", "reliance_rank", "association", "p_adjusted", "score", "flagged"]
].round(4)

# %%
# Attributions from other tools
# -----------------------------
# Any attribution is an array with one row per sample. Integrated gradients from captum, for example, for an
# image classifier (shape ``(n, channels, height, width)`` in PyTorch, moved to ``(n, height, width,
# channels)`` here)::
#
#     from captum.attr import IntegratedGradients
#     ig = IntegratedGradients(net)
#     values = ig.attribute(images, target=predicted).detach().cpu().numpy().transpose(0, 2, 3, 1)
#     rt.add_feature_attribution(values, method="integrated_gradients", output="predicted_class")
#
# With a ``ResultsWriter`` they are written batch by batch, declared once:
images = hdmf_ai.ResultsTable(name="images")
saliency = np.abs(rng.normal(size=(4, 8, 8, 3))).astype(np.float32)  # stands in for a network's output
images.add_feature_attribution(saliency, method="saliency", output="predicted_class")
print(images["feature_attribution"].shape)
