"""Sphinx configuration of the hdmf-ai documentation (``make docs`` builds it into docs/_build/html)."""

import os
import sys
from pathlib import Path

# one BLAS/OpenMP thread: the tutorials' arrays are small, and on a loaded machine (CI runners, two shared
# cores) thread pools spinning against each other made a 50 ms scikit-learn fit take 4 s
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import matplotlib  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

threadpool_limits(limits=1)

matplotlib.use("Agg")  # tutorials draw into files, never a window

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS / "_ext"))

import hdmf_ai  # noqa: E402

project = "hdmf-ai"
author = "hdmf-ai contributors"
copyright = "hdmf-ai contributors"  # noqa: A001
version = release = hdmf_ai.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
    "sphinx.ext.intersphinx",
    "sphinx_gallery.gen_gallery",
    "myst_parser",
    "hdmf_ai_docs",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = [
    "_build",
    "**/_generated/*.rst",
    "tutorials/README.rst",
    "gallery/*.ipynb",
    "gallery/*.py",
    "gallery/*.zip",
    "gallery/*.md5",
    "gallery/*.json",
]
templates_path = ["_templates"]

# -- API reference -------------------------------------------------------------------------------------------
autosummary_generate = True
autosummary_imported_members = True
autodoc_default_options = {"members": True}
autodoc_member_order = "groupwise"
autodoc_typehints = "signature"
autodoc_typehints_format = "short"
autodoc_inherit_docstrings = False  # hdmf's base classes document their own methods, not ours
napoleon_numpy_docstring = True
napoleon_google_docstring = False
napoleon_use_rtype = False
napoleon_preprocess_types = False
napoleon_type_aliases = {
    "Path": "pathlib.Path",
    "NWBFile": "pynwb.file.NWBFile",
    "DynamicTable": "hdmf.common.table.DynamicTable",
    "Figure": "matplotlib.figure.Figure",
    "ResultsTable": "hdmf_ai.ResultsTable",
    "TableInfo": "hdmf_ai.TableInfo",
}

# references nobody can resolve offline (types of other libraries shown in signatures) are listed here, so
# that nitpicky mode (-n) reports every other broken reference as an error
intersphinx_mapping: dict[str, tuple[str, str | None]] = {}
nitpick_ignore_regex = [
    (
        r"py:.*",
        r"(numpy|np|pd|pandas|matplotlib|hdmf|pynwb|h5py|zarr|dask|os|pathlib|collections|typing|types)"
        r"(\..*)?",
    ),
    (r"py:.*", r"math"),
    (r"py:class", r"(Path|NWBFile|DynamicTable|VectorData|ProcessingModule|Figure|DataFrame|ArrayLike|NDArray)"),
    (r"py:class", r"TypeAliasForwardRef"),  # how Sphinx shows an alias it cannot evaluate
    # type aliases (documented as data, referred to as classes in signatures)
    (r"py:class", r"hdmf_ai\.io\.policy\.(Codec|Lossy)"),
    # internal names that public docstrings mention: documented in their modules, not in this reference
    (r"py:mod", r"hdmf_ai\.(io\.remote|nwbtypes|coercion|errors|invariants)"),
    (r"py:(func|class|exc)", r"(applied|column_kind|MissingDependencyError|hdmf_ai\.(coercion|errors)\..*)"),
    (r"py:(class|meth)", r"hdmf_ai\.(_frames|_tableview|columns\._|io\.plan|io\.lazy)\..*"),
    (r"py:class", r"dict\[str"),  # Sphinx splits a dict[str, ...] annotation of a dataclass field
]

# -- tutorials -----------------------------------------------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": "tutorials",
    "gallery_dirs": "gallery",
    "filename_pattern": r"/plot_",  # every tutorial runs at build time
    "download_all_examples": False,
    "remove_config_comments": True,
    "abort_on_example_error": False,  # report every failing tutorial, then fail the build (-W)
    "only_warn_on_example_error": False,
    "matplotlib_animations": False,
    "min_reported_time": 0,
    "show_memory": False,
    "write_computation_times": True,
    "reset_modules": ("matplotlib",),
    "within_subsection_order": "FileNameSortKey",
    # pyplot's figures, and the Figure objects hdmf_ai.plot returns (which pyplot does not manage)
    "image_scrapers": ("matplotlib", "hdmf_ai_docs.figure_scraper"),
}

# -- HTML ----------------------------------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"hdmf-ai {release}"
html_static_path: list[str] = []
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
}
html_show_sourcelink = False

myst_heading_anchors = 3
