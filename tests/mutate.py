"""``make mutate``: mutation testing (mutmut) of the modules where a wrong value would pass silently.

Each module is mutated in a scratch copy of the project (``.cache/mutate/<module>``) against a narrow selection
of the tests that exercise it: in-process tests only (no child processes, reference venvs, servers or browsers),
each under a time limit, stopping at the first failure. The score per module goes to ``tests/MUTATION.md`` and
``tests/MUTATION.json``, and only for a module whose run completed: a run stopped midway records nothing.
Usage::

    python tests/mutate.py                              # every module below, one after the other
    python tests/mutate.py hdmf_ai/checks.py            # one module
    python tests/mutate.py --list hdmf_ai/checks.py     # the tests its mutants run against, running nothing
    python tests/mutate.py --report                     # the report again from tests/MUTATION.json
    python tests/mutate.py --recheck hdmf_ai/checks.py  # only the last run's timeouts again, with more time

``MUTATE_JOBS`` sets mutmut's number of workers (default: the machine's cores). mutmut is installed into
``.cache/mutmut-lib`` (not the project's venv) on first use.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LIB = ROOT / ".cache" / "mutmut-lib"
SCRATCH = ROOT / ".cache" / "mutate"
REPORT = ROOT / "tests" / "MUTATION.md"
RESULTS = REPORT.with_suffix(".json")
TARGET = 0.85
MUTMUT = "mutmut>=3.8,<4"
#: seconds one test may take before it fails (pytest-timeout): a mutant that hangs a test is caught, not waited on
TEST_TIMEOUT = 60
#: mutmut's CPU-time limit per mutant is its tests' measured time x this x 2 (mutmut's default is 15). On a loaded
#: machine, a mutant of code every test runs (a preset built at import) passes that limit while its tests pass:
#: counted as killed, it would be a survivor in disguise. So every timeout is tried once more with this many
#: times the limit; what still times out is slow or stuck for real.
RECHECK_TIMEOUT_MULTIPLIER = 150.0

#: Tests that start other processes or environments: slow, and a mutant that hangs their child would stall
#: the run. Named by ``-k`` (module, class, function or parameter names) or marker; they keep their place in
#: ``make test``.
OUT_OF_PROCESS = (
    "killed",  # the writer killed and resumed (test_writer); writes killed at random points (test_reliability)
    "concurrent_readers",  # reader processes (test_reliability)
    "without_hdf5plugin",  # a child interpreter without the plugin (test_policy)
)
OUT_OF_PROCESS_MARKERS = ("interop",)  # the reference hdmf-ai 0.2.0 in its own venv
#: Tests that cannot pass on mutmut's unmutated copy: mutmut calls each function of the module through a
#: trampoline, one more stack frame, so a warning's ``stacklevel`` points one frame short there.
UNDER_TRAMPOLINE = ("warning_points_at_the_callers_line",)


@dataclass(frozen=True)
class Selection:
    """The tests a module's mutants run against."""

    files: tuple[str, ...]
    #: also leave out the Zarr variants: the module never sees the backend, and HDF5 runs the same checks
    one_backend: bool = False

    def pytest_args(self) -> list[str]:
        # a file or a node id (file::test); tests/test_mutants_*.py may not exist yet
        files = [f for f in self.files if (ROOT / f.partition("::")[0]).exists()]
        left_out = [*OUT_OF_PROCESS, *UNDER_TRAMPOLINE, *(["zarr"] if self.one_backend else [])]
        markers = " or ".join(OUT_OF_PROCESS_MARKERS)
        return [*files, "-k", f"not ({' or '.join(left_out)})", "-m", f"not ({markers})"]


#: module -> the tests that exercise it (only these run against its mutants)
MODULES = {
    # the module grew with issues 12-16 (DeLong, McNemar, Cochran's Q, Clopper-Pearson...): their tests too
    "hdmf_ai/analysis/stats.py": Selection(
        (
            "tests/test_mutants_stats.py",
            "tests/test_analysis.py",
            "tests/test_compare.py",
            "tests/test_slices.py",
            "tests/test_evaluation.py",
        )
    ),
    "hdmf_ai/checks.py": Selection(
        ("tests/test_mutants_checks.py", "tests/test_errors.py", "tests/test_missing_values.py"),
        one_backend=True,
    ),
    "hdmf_ai/coercion.py": Selection(
        (
            "tests/test_mutants_coercion.py",
            "tests/test_errors.py",
            "tests/test_missing_values.py",
            # the batched writer's bounds (issue 17): a file per test, so only these of test_writer.py
            "tests/test_writer.py::test_a_class_index_beyond_the_probability_width_is_refused",
            "tests/test_writer.py::test_a_top_k_class_beyond_the_probability_width_is_refused",
            "tests/test_writer.py::test_class_indices_without_probabilities_are_stored_unsigned_and_valid",
            "tests/test_writer.py::test_columns_are_taken_from_the_first_batch",
            "tests/test_writer.py::test_a_bad_batch_is_a_column_error_and_the_file_stays_consistent",
            # the attribution rules (issue 14)
            "tests/test_attribution.py",
        ),
        one_backend=True,
    ),
    "hdmf_ai/invariants.py": Selection(
        ("tests/test_mutants_invariants.py", "tests/test_invariants.py", "tests/test_attribution.py"),
        one_backend=True,
    ),
    "hdmf_ai/io/policy.py": Selection(
        ("tests/test_mutants_policy.py", "tests/test_policy.py", "tests/test_checksums.py", "tests/test_layout.py")
    ),
    # the read path's defences: bombs, depth, budgets, links, chunk indexes (issues 17 and 18)
    "hdmf_ai/io/safety.py": Selection(
        (
            "tests/test_mutants_safety.py",
            "tests/test_hostile.py",
            "tests/test_integrity.py",
            "tests/test_reliability.py",
            "tests/test_checksums.py",
        )
    ),
}


#: what was seen in the survivors of a measured module (``mutmut show <name>`` in its scratch copy's directory)
NOTES = {
    "hdmf_ai/analysis/stats.py": (
        "run of 2026-11-30 with tests/test_mutants_stats.py (767 mutants, 2 workers, 605 s on an idle machine): "
        "93.9%, 720 killed (5 of them after a first-pass timeout), 47 survived: the 40 equivalent mutants listed "
        "below and 7 the classification of the run before had missed. Of those 7, one was a real gap: "
        "average_ranks' `reshape(-1)` of np.unique's inverse, which numpy 2 gives in the input's shape, dropped "
        "(average_ranks 19): ranks of a 2-D array came out 2-D, and kruskal_wallis of values given as a column "
        "failed; now failed by two tests of test_mutants_stats.py against scipy's rankdata and kruskal (seen "
        "failing with MUTANT_UNDER_TEST). Equivalent, the other 6: reshape(-2) is numpy's unknown dimension as -1 "
        "is (average_ranks 21); astype(None) is float64 (average_ranks 23 24); the continued fraction's "
        "convergence test made one that never passes (`d * c + 1`, `d / c - 1`, `d * c - 2`: _beta_fraction 80 81 "
        "82), so the loop runs to its 10,000-term bound, each further factor 1 to rounding: on 300 random (a, b, "
        "x) the worst relative difference from scipy's betainc is 2.1e-12 against 1.2e-12 unmutated, about 460 "
        "times slower, which no test times by rule. The run before it (after the fork fix, before "
        "test_mutants_stats.py; 3,141 s on a loaded machine): 86%, 657 killed, 110 survived, classified one by "
        "one. Real gaps, each since failed by a named test of tests/test_mutants_stats.py against scipy, "
        "scikit-learn or statsmodels (seen failing with MUTANT_UNDER_TEST, and killed in the run above): chi2_sf at a "
        "statistic of 0 and below; empty rows and columns of a contingency table and a column of one; a table "
        "with one row left; infinite and NaN z; the regularized beta at and past 0 and 1; the exact interval's "
        "default confidence, n = 0 among the intervals (`continue` -> `break`); the binomial at k > n; Cochran's "
        "Q's shape check and its message, full agreement (statistic 0, k - 1 degrees of freedom, p 1); DeLong's "
        "bound of two per class, its NaN result with zero influence, the influence of the negatives (against a "
        "pair-by-pair count); the default proportion interval; Fisher's p capped at 1 (the probabilities of a "
        "table's support summed to 1.0000000000000018); confidences of 0, 1 and past them refused; the normal "
        "quantile at and past 0 and 1; the Wilson interval clipped to [0, 1] where rounding leaves it (0 and n "
        "successes). Equivalent: `dtype=None` or no dtype where the next operation gives float64 anyway "
        "(chi_square 2, clopper_pearson_interval 9 11 13 15, cochran_q 3 5, delong_components 3 5, "
        "wilson_interval 5 7 9 11); the stand-in total of an empty count (1 or 2) under a NaN result, and 1 for a "
        "total of 1 (wilson_interval 26 27); the clip bounds an interval's end cannot reach (wilson_interval 67 "
        "73 84); the two branches of the incomplete beta both converge (regularized_beta 21 23 24 27), as does "
        "the bisection over [0, 2] (_beta_quantile 3 16); caps the value cannot pass (chi2_sf 25 54; mcnemar 35: "
        "the mid-p value is P(X <= k) + P(X <= k - 1) <= 1 for k <= n/2); `(dof + 2) // 2` for `(dof + 1) // 2` "
        "in the odd-dof branch (chi2_sf 48); the exact binomial at k = n sums to exactly 1, and at n = 20,000 the "
        "incomplete beta agrees with it to 1e-10 (binomial_half_cdf 4 6); `isfinite(z) or True` gives erfc(inf) = "
        "0 and erfc(nan) = nan, the same values (normal_two_sided_p 2); `lp < limit` for `<=` against a limit "
        "that carries a tolerance (fisher_exact 59). The continued fraction's guards against division by a tiny "
        "number and its iteration bound (_beta_fraction 17 19 26 64 66 73 75 83) change no value the tests reach. "
        "None is excluded from the score."
    ),
    "hdmf_ai/checks.py": (
        "run of 2026-11-30 with every test below (661 mutants, 2 workers, 65 s on an idle machine): 93.6%, 619 "
        "killed, 42 survived: the 42 classified below, none excluded. A run minutes before it counted 620: "
        "smallest_uint 11 (copy=True) killed with exit code 1 in a forked worker, yet it passes every test of "
        "the selection in-process and in `mutmut run` of that mutant alone, so a test of the selection failed "
        "once in mutmut's worker for a reason not found (left as it is: it did not happen again). "
        "The run before (661 mutants: the module grew by the check of bytes that are not UTF-8): 93.5%, 618 "
        "killed in 135 s; its 43 survivors: the 42 classified below, and the 40-byte excerpt of such bytes in "
        "the message changed to 41 (_decoded 3), since failed by a test of tests/test_mutants_checks.py. "
        "The run before it, the first after the fork fix (643 mutants): 93%, the 42 survivors of "
        "the run described next and 2 new ones in as_integers, a uint64 equal to the int64 maximum refused and the "
        "message naming that range changed (as_integers 76 84), real gaps since failed by a test of "
        "tests/test_mutants_checks.py (seen failing with MUTANT_UNDER_TEST). Before: "
        "first run 86% (541 killed + 1 timed out of 628, 465 s, before the tests of "
        "tests/test_mutants_checks.py's last section); its 86 survivors classified one by one: 45 were real gaps "
        "(errors that no longer name their column or say what is expected, float32 whole numbers refused as "
        "integers, a blank entry of a pandas column let through, a tie hiding the row that rises, a float16 row "
        "sum taken in float16, an iterator consumed, UTF-8 bytes labels decoded as ASCII...), each now failed by "
        "a named test there (`tests/mutate.py --kills-of-survivors`). The 42 survivors now: "
        "37 equivalent: dtype=None where numpy's default is the same or the next cast gives the same integer type "
        "(as_float 22, as_integers 15 43, check_no_missing 13 15 18 20 25 27 55 57, encode_labels 6 8 10: "
        "numpy decodes UTF-8 by default, 'UTF-8' = 'utf-8'); reshape(None) keeps the shape and the arrays are "
        "1-D (as_tvt_codes 40 42, check_no_missing 23 53, encode_labels 19); `kind in 'XXUSOXX'` is the same "
        "substring test (as_tvt_codes 14, check_no_missing 42); np.diff's default axis and axis=+1 are the last "
        "axis of these 2-D arrays (check_descending 12 22, check_probabilities 21); a row of one top-k "
        "probability has nothing to order (check_descending 6); copy flags only (smallest_int 12 14 15, "
        "smallest_uint 7 9 11); an empty column gets uint8 from 0 or 1 (smallest_uint 5); the object-array path "
        "gives the same mask, slower (check_no_missing 30); np.asarray of an array is that array (check_storable "
        "7 11; 11 counted as a timeout, so killed, in the first run: a spurious timeout on a loaded machine); "
        "`>=` for `>` at the 1e-3 sum tolerance (no float64 sum near 1 is exactly fl(1e-3) from it: "
        "check_probabilities 32); allow_nan=None is falsy (json_list 22, numbered 26 since). "
        "2 not testable under mutmut: stacklevel=4 changed or dropped (check_probabilities 38 42): mutmut's "
        "trampoline adds frames, so test_the_sum_warning_points_at_the_callers_line is left out of the run; "
        "it fails on stacklevel=5 edited by hand. "
        "3 on the message of an AssertionError that no input reaches now (smallest_int 16 17 18): a uint64 "
        "cluster label >= 2**63 reached it until as_integers refused one; cv_split's folds >= 2**63 and an "
        "n_splits past 2**63 reached it until 2026-11-30, now ColumnErrors (test_mutants_coercion.py, "
        "test_folds_beyond_the_int64_range_are_a_column_error)."
    ),
    "hdmf_ai/coercion.py": (
        "run of 2026-11-30 with every test below (1,151 mutants, 2 workers, 132 s on an idle machine): 97.5%, "
        "1,122 killed, 29 survived: the 29 equivalent mutants listed here, none excluded. The run before "
        "(1,151 mutants: cv_split's int64 range checks added): 97.2%, 1,119 killed in 270 s; "
        "its 32 survivors: the 29 equivalent mutants listed here, none excluded, and 3 that changed the column "
        "named by the error for an n_splits past 2**63 (cv_split 46 52 53), since pinned by "
        "test_folds_beyond_the_int64_range_are_a_column_error. The run before it (1,123 mutants), the first with "
        "the tests for the survivors of the one before: 97.4%, the 29 equivalent. The run before (1,123 mutants, 90%, "
        "1,016 killed) had 107 survivors, classified one by one: 82 were new, in the attribution rules of issue "
        "14, and 78 of them real gaps: messages of the attribution errors not pinned (the axes a rank needs, a "
        "method that is not text, 'positive_class' with more than 2 classes, each feature_names refusal, a "
        "feature_table that is not a table or lacks the names, base_values of the wrong shape, count or not "
        "finite), a scalar or integer base_values (stored as float64), a declared attribution with output_space "
        "or feature_table refused, per-output image attributions read along the wrong axis; each now fails a "
        "test of tests/test_mutants_coercion.py's last section (seen failing with MUTANT_UNDER_TEST). Found on "
        "the way and fixed: feature names or metadata given as bytes that are not UTF-8 raised a bare "
        "UnicodeDecodeError, now a ColumnError naming the column (checks.text_list and json_list). "
        "Equivalent, new: reshape(-2) is numpy's unknown dimension as -1 is (_base_values 19); a lone name goes "
        "through np.asarray(...).ravel() to the same one-name list (_feature_names 3); n_outputs is read only "
        "for per-output attributions, so the value the other branch gives it is unused (attribution_attributes "
        "10 13). Equivalent, from the first run (86%, 580 of 671, whose 66 real gaps were nearly all an error "
        "naming another column than the rule's, plus n_splits=1 refused, a big-endian float batch refused, "
        "cv_split stored as int64 for 2**31 folds, top-k probabilities out of order let through `coerce`, the "
        "unknown-labels listing): copy flags only (_widened 2 4 9); the same substring test with 'XX' around it "
        "(fit 16 19 42, schema_width 6, stored_dtype 7 50, true_label 15, user_numbers 7); the boolean branch of "
        "fit is dead code, `arr.dtype == dtype` returns first (fit 51 52 53 55 56); `and` -> `or` in fit's "
        "precondition assert, which every caller meets (fit 1); encode_labels does not use its column argument "
        "(true_label 27 31 32); np.array of Python ints is int64 by default (true_label 58 60); check_sum=None "
        "is falsy (topk_probabilities 13); `limit or 1` and `max(limit - 1, 1)` give the same types as 0 "
        "(stored_dtype 16 30)."
    ),
    "hdmf_ai/io/policy.py": (
        "run of 2026-11-30 with tests/test_mutants_policy.py (2 workers, 409 s on an idle machine): 97.5%, 394 "
        "of 404 killed; its 10 survivors are the 9 equivalent mutants and the one without tests listed below, "
        "none excluded. The same counts as the run before it (1,450 s on a loaded machine). "
        "The run before it, the first after the fork fix (404 mutants, in 1,532 s): "
        "292 killed, 111 survived, 1 without tests, 72%, where the run before the fix had counted 95%: its hangs "
        "had counted as kills. Why so many were not reached: the presets are built when the module is imported, "
        "before mutmut forks a worker and switches a mutant on, so the codec and Setting checks every preset "
        "passes through ran unmutated, and no test built a setting at the edges. Its survivors, classified one "
        "by one: 102 real gaps, each now failed by a test of tests/test_mutants_policy.py (seen failing with "
        "MUTANT_UNDER_TEST): the ranges of Gzip, Zstd and Blosc levels, Quantize bits and BitRound keepbits at "
        "both ends and their messages; each Blosc cname and shuffle; Setting's checks (a list for a tuple, an "
        "unknown codec, chunk_kib, chunk_rows and shard_chunks of 1 accepted and 0 refused, an unknown dtype "
        "refused when the setting is made); chunk shapes at their edges (rows of 5, 1 and 0 bytes, 3-D rows, one "
        "row, no rows); lossy()'s defaults and message; Quantize rounding in place; the error bound each lossy "
        "transform describes; BitRound at keepbits 22 and its ties (against numcodecs' BitRound, float32 and "
        "float64); a preset's fallback to its float setting and the message for a backend it lacks; resolve's "
        "unknown kind; column_kind by dtype and for attributions; the write plan of wrapped, empty, one-row, "
        "boolean-list and text columns and of a column whose kind comes from its type; check_storage's and "
        "stored_data's messages. Equivalent (9): `kind in 'XXiuXX'` is the same substring test (_cast 3 6, "
        "_numeric 11, column_kind 17 28); np.prod's default integer is int64 on the platforms supported "
        "(chunk_shape 5 7); BitRound.apply's `drop <= 0` branch cannot be reached (keepbits <= 22 leaves "
        "drop >= 1), so `drop < 0` is the same (BitRound.apply 9); `- 2` in the last mask clears bit 0, which "
        "the dropped bits' mask has cleared already (BitRound.apply 56). No tests: `StorageBackend.data_io`, a "
        "Protocol method whose body is `...` (never run, by design). Before the fork fix, the first run had found "
        "`_cast` (the per-column `dtype` setting) untested: test_policy.py's dtype-setting tests were written "
        "for it."
    ),
    "hdmf_ai/io/safety.py": (
        "run of 2026-11-30 with tests/test_mutants_safety.py (882 mutants, 2 workers, 968 s on an idle "
        "machine): 96.3%, 849 killed (2 of them after a first-pass timeout), 33 survived: exactly the 33 "
        "equivalent mutants listed below, none excluded. The run before it, the first after the fork fix and the "
        "first of the whole module (3,532 s with 2 workers on a loaded machine): 84.2%, 743 killed, 139 "
        "survived; most of test_mutants_safety.py's tests were written while it ran, for its survivors. "
        "Classified one by one: 106 real gaps, each now failed by a test of test_mutants_safety.py (seen with "
        "MUTANT_UNDER_TEST and `--kills-of-survivors`, and killed in the run above): skippable zstd frames "
        "(every magic number, an empty one last, one cut before its "
        "length); frames after a checksum or a dictionary id; a frame cut inside a block header; a zstd frame "
        "without its size; chunks that must fill their bound and chunks that need not; Blosc sizes past 2 GiB "
        "and LZ4's 4-byte prefix in whole chunks; HDF5 Zstd chunk heads read from the file's descriptor and "
        "through HDF5, one byte past the bound of one-byte values and of variable-length elements; the walk's "
        "filter ids from 256 up, names that are not UTF-8 in an external link's target and path and in an "
        "external storage's file name, a virtual dataset of its own file, the first problem kept before a damaged "
        "object behind it, HDF5's reason for a damaged header or link table, the descriptor it opens closed "
        "again, none for a file in memory; the read budget (the default from the memory size, the 8 GiB "
        "fallback, exactly the limit allowed, arrays without a dtype or shape, text, a hostile shape that an "
        "int64 product would wrap to 0); table lengths in-process (nested tables, names as bytes, ragged columns "
        "by their index, rows from a declared shape, a named column not stored); Zarr references (the current "
        "store in every spelling, the store named from itself or its parent, URLs and absolute paths, JSON text "
        "and 0-d arrays, keys out of the store refused naming the file). Found on the way and fixed: a Zstd or "
        "Blosc variable-length string dataset was refused as a chunk bomb (the bound used h5py's 8-byte size "
        "of a string; a chunk holds 16-byte heap references). Equivalent (33): the first-chunk check's "
        "`shape is None and ...` (a chunked dataset has a simple dataspace) and its plist passed or read again "
        "(_first_chunk_problems 1 15 17); the descriptor's open flags (O_RDONLY is 0, O_NONBLOCK exists on every "
        "POSIX system and changes nothing for a regular file) and a getattr default h5py's File never needs "
        "(_raw_descriptor 6 18 19 21 24 25 26 27); a decoder's unused_data is empty until its stream ends "
        "(_streamed_size 32); the skippable-frame mask keeps 32 bits, so a fifth byte read is dropped (_zstd_size "
        "11); `strict=` on zips of one rank (check_chunk_index 27 31 32 47 50 51); no descriptor or no plist "
        "passed down: the same bytes and properties read through HDF5 (check_hdf5 6 70 71 75); any value but "
        "None stops h5py's visit (check_hdf5 86 87); numpy's default dtype for a list of names iterates to the "
        "same text (check_table_lengths 20 22); the first clause of the filter-chain rule, which the other two "
        "cover (chunk_bomb_problems 17); np.prod's int64 for a chunk shape, which HDF5 keeps under 4 GiB "
        "(chunk_bomb_problems 43 45); a signed byte view keeps every bit the header code tests, and `>> 6` of a "
        "negative descriptor indexes the same entry from the end (decoded_size_problem 6); lstrip('XX/XX') "
        "strips leading X too, and no refusal depends on one (resolve_ref 18); the same substring test with 'XX' "
        "around it (ReadBudget.charge 26)."
    ),
    "hdmf_ai/invariants.py": (
        "run of 2026-11-30 with every test below (588 mutants, 2 workers, 116 s on an idle machine): 97.4%, 573 "
        "killed, 15 survived: the 15 equivalent mutants listed here, none excluded. The run before, the first "
        "after the fork fix (588 mutants, 1 worker, 288 s): 94.7%, 557 killed, 31 "
        "survived; the 100% recorded before it counted hangs as kills. Its survivors: 16 real gaps, each now "
        "failed by a test of tests/test_mutants_invariants.py (seen failing with MUTANT_UNDER_TEST, and killed "
        "in the run above): a stored "
        "attribution's base_values, output_space, feature_table and class width were not checked again (the "
        "attributes left out of the call, or n_classes passed as None: _attribution 13-16 22-25, _column_rules "
        "51); an empty ragged column (_rising_index 40) and the column named for row ends past the values "
        "(_rising_index 59); a link to something that is not a column, named as it is (_link 7 12 26 29); the "
        "values that no rule can read, named in the error (_apply 3). "
        "Equivalent (15): the fast path for ids already rising (np.unique gives the same answer: "
        "_unique 1 4 5); the min/max pre-check of probabilities widened only runs the full check, which passes "
        "what is valid (_probabilities 12 13 14), check_sum=None is falsy (18), and the range check raises "
        "before any sum is checked (22); float64 differences of row ends below 2**53 keep their sign "
        "(_rising_index 24); an index whose target has no data or no length cannot be built, hdmf's VectorIndex "
        "takes its target's length (_rising_index 6 11 12); the table rule's name appears only in the message for "
        "unreadable values, which the check of unique column names over a tuple of text never raises "
        "(_table_rules 1 2); a column's parent is a table or None wherever check_slice is called "
        "(check_slice 4). Before: second run, after the module was rewritten for issue 18 "
        "(352 -> 588 mutants): every mutant counted killed, none excluded. 35 timed out on the first pass (a "
        "machine at load 4-6, one worker); rerun with 10x the time "
        "limit, each failed a test. The first run (95%, 333 of 352) had 7 real gaps, each since failed by a named "
        "test in tests/test_mutants_invariants.py, and 12 equivalent survivors in code that has since changed."
    ),
}


def ensure_mutmut() -> None:
    if (LIB / "mutmut").is_dir():
        return
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--target", str(LIB), MUTMUT]
    subprocess.run(pip, check=True)
    for shadow in ("pytest", "_pytest", "pluggy", "py.py"):  # use the venv's pytest, not a second copy
        target = LIB / shadow
        shutil.rmtree(target) if target.is_dir() else target.unlink(missing_ok=True)


def pytest_options() -> list[str]:
    """Options of every pytest run mutmut makes (the clean run, the stats run and each mutant's)."""
    return [
        "-p", "no:cacheprovider", "-q", "--no-header", "-o", "addopts=", "-x",
        f"--timeout={TEST_TIMEOUT}",
        "--hypothesis-profile=ci",  # the same examples for every mutant: a survivor stays one on a re-run
    ]  # fmt: skip


def scratch_copy(module: str) -> Path:
    where = SCRATCH / module.replace("/", "_").removesuffix(".py")
    shutil.rmtree(where, ignore_errors=True)
    where.mkdir(parents=True)
    for name in ("hdmf_ai", "tests"):
        ignore = shutil.ignore_patterns("__pycache__", "MUTATION.*")
        shutil.copytree(ROOT / name, where / name, ignore=ignore)
    for name in ("conftest.py", "setup.cfg", "README.md"):
        shutil.copy(ROOT / name, where / name)
    config = (
        "\n[tool.mutmut]\n"
        'source_paths = ["hdmf_ai"]\n'
        f"only_mutate = [{json.dumps(module)}]\n"
        f"pytest_add_cli_args_test_selection = {json.dumps(MODULES[module].pytest_args())}\n"
        'also_copy = ["conftest.py", "tests", "README.md"]\n'
        f"pytest_add_cli_args = {json.dumps(pytest_options())}\n"
    )
    (where / "pyproject.toml").write_text((ROOT / "pyproject.toml").read_text() + config)
    return where


def mutmut_env() -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(LIB)}
    # a test that would skip must not fail instead (the CI rule), or a skip would count as a killed mutant
    env.pop("CI", None)
    env.pop("HDMF_AI_REQUIRE_ALL", None)
    return env


def statuses(where: Path) -> dict[str, str]:
    """Each mutant's status as ``mutmut results --all`` states it ("killed", "survived", "not checked", ...)."""
    out = subprocess.run(
        [sys.executable, "-m", "mutmut", "results", "--all", "true"],
        cwd=where,
        env=mutmut_env(),
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    found = {}
    for line in out.splitlines():
        name, sep, status = line.strip().rpartition(": ")
        if sep and name.startswith("hdmf_ai."):
            found[name] = status
    return found


def run(module: str, *, recheck_only: bool = False) -> dict[str, object] | None:
    """Mutate ``module``; its results, or None when the run did not test every mutant. With ``recheck_only``,
    only re-run the timeouts of the last run's scratch copy (``--recheck``)."""
    where = scratch_copy(module) if not recheck_only else SCRATCH / module.replace("/", "_").removesuffix(".py")
    command = [sys.executable, "-m", "mutmut", "run"]
    jobs = os.environ.get("MUTATE_JOBS")
    if jobs:
        command += ["--max-children", jobs]
    start = time.monotonic()
    if recheck_only:
        finished: subprocess.CompletedProcess[bytes] = subprocess.CompletedProcess(command, 0)
        recorded = json.loads(RESULTS.read_text()).get(module, {}) if RESULTS.exists() else {}
        first_timeouts = recorded.get("timeout_first_pass", 0)
    else:
        finished = subprocess.run(command, cwd=where, env=mutmut_env(), check=False)
        first_timeouts = Counter(statuses(where).values())["timeout"] if (where / "mutants").is_dir() else 0
    if finished.returncode == 0 and first_timeouts:
        finished = recheck_timeouts(where, command)
    seconds = round(time.monotonic() - start)
    found = statuses(where) if (where / "mutants").is_dir() else {}
    counts = Counter(found.values())
    unfinished = counts["not checked"] + counts["check was interrupted by user"]
    if finished.returncode != 0 or not found or unfinished:
        print(
            f"{module}: mutmut stopped (exit code {finished.returncode}) with {unfinished} of {len(found)} mutants "
            "untested; nothing recorded",
            file=sys.stderr,
        )
        return None
    return {
        "module": module,
        "source": blob(module),
        "tests": MODULES[module].pytest_args(),
        "total": len(found),
        "killed": counts["killed"],
        "timeout": counts["timeout"],
        "timeout_first_pass": first_timeouts,
        "survived": counts["survived"],
        "no_tests": counts["no tests"],
        "skipped": counts["skipped"],
        "suspicious": counts["suspicious"],
        "segfault": counts["segfault"],
        "survivors": sorted(name for name, status in found.items() if status not in ("killed", "timeout")),
        "seconds": seconds,
    }


def recheck_timeouts(where: Path, command: list[str]) -> subprocess.CompletedProcess[bytes]:
    """Run the mutants that timed out again, with RECHECK_TIMEOUT_MULTIPLIER: mutmut re-runs only those when
    its timeout setting changes, and keeps every other verdict."""
    config = where / "pyproject.toml"
    text = config.read_text()
    if "timeout_multiplier" not in text:
        config.write_text(text + f"timeout_multiplier = {RECHECK_TIMEOUT_MULTIPLIER}\n")
    return subprocess.run(command, cwd=where, env=mutmut_env(), check=False)


def blob(module: str) -> str:
    """The git blob id of the module as mutated: a result is stale once the module's id differs."""
    data = (ROOT / module).read_bytes()
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()  # git's object id, not a security hash


def score(stats: dict[str, object]) -> float:
    """mutmut's own score (as in its badge): killed and timed out, of all mutants but the skipped ones."""
    killed = int(stats["killed"]) + int(stats["timeout"])  # type: ignore[call-overload]
    total = int(stats["total"]) - int(stats["skipped"])  # type: ignore[call-overload]
    return killed / total if total else float("nan")


def _write_atomically(path: Path, text: str) -> None:
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text)
    partial.replace(path)


def write_report(results: list[dict[str, object]]) -> None:
    previous = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    previous.update({str(r["module"]): r for r in results})
    _write_atomically(RESULTS, json.dumps(previous, indent=2, sort_keys=True) + "\n")
    lines = [
        "# Mutation score (`make mutate`, mutmut)",
        "",
        "Written by `tests/mutate.py`. Score = (killed + timed out) / (mutants - skipped), mutmut's own figure;",
        "mutants no test reaches, suspicious ones and crashes count as survivors, and so do the equivalent",
        f"mutants listed below (none is excluded). Target: >= {TARGET:.0%} per module. Each module runs against",
        "the tests named in `MODULES` (tests/mutate.py), in-process only, each under a",
        f"{TEST_TIMEOUT} s limit; seconds are wall time on the machine of the run. Modules not listed have not",
        "been measured yet. A mutant that passes mutmut's time limit is run once more with",
        f"{RECHECK_TIMEOUT_MULTIPLIER / 15:.0f} times that limit: 'timed out' counts those still over it (in brackets:",
        "after the first pass, where a loaded machine makes survivors of code every test runs look like timeouts).",
        "Every run recorded is after 099106f ('the fork fix' below): until then a process forked after an HDF5",
        "read or write hung on its next one, and mutmut counted the hangs of its forked workers as kills.",
        "",
        "| module | source (git blob) | tests | mutants | killed | timed out | survived | no tests | score | seconds |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for module, r in sorted(previous.items()):
        ran = r["tests"]  # the selection's pytest arguments: its files, then any options
        files = ran[: next((i for i, a in enumerate(ran) if a.startswith("-")), len(ran))]
        tests = ", ".join(f.removeprefix("tests/") for f in files)
        source = r["source"][:10]
        if (ROOT / module).exists() and blob(module) != r["source"]:
            source += " (stale: the module has changed since)"
        lines.append(
            f"| `{module}` | {source} | {tests} | {r['total']} | {r['killed']} | {timeouts(r)} | "
            f"{r['survived']} | {r['no_tests']} | {score(r):.0%} | {r['seconds']} |"
        )
    lines += ["", "## Survivors", ""]
    lines += [f"- `{module}`: {note}" for module, note in NOTES.items() if module in previous]
    _write_atomically(REPORT, "\n".join(lines) + "\n")


def timeouts(result: dict[str, object]) -> str:
    return f"{result['timeout']} ({result['timeout_first_pass']})"


def list_tests(module: str) -> int:
    """Collect (not run) the tests ``module``'s mutants would run against."""
    command = [sys.executable, "-m", "pytest", "--collect-only", *pytest_options(), *MODULES[module].pytest_args()]
    return subprocess.run(command, cwd=ROOT, env={**mutmut_env(), "PYTHONPATH": str(ROOT)}, check=False).returncode


def kills(module: str, *, survivors_only: bool = False) -> dict[str, list[str]]:
    """For each test of ``tests/test_mutants_*.py`` in ``module``'s selection, the mutants it fails on.

    Runs in the scratch copy of the last ``run(module)``: every mutant in turn, against those tests only, in one
    process (mutmut's trampolines pick the mutant from ``MUTANT_UNDER_TEST`` at each call). Shows that each test
    written for a survivor fails on a mutant, not only that it passes on the code.
    """
    mutants = SCRATCH / module.replace("/", "_").removesuffix(".py") / "mutants"
    files = [f for f in MODULES[module].files if Path(f).name.startswith("test_mutants_") and (ROOT / f).exists()]
    env = {**mutmut_env(), "PYTHONPATH": os.pathsep.join([str(mutants), str(LIB)])}
    only = RESULTS.exists() and survivors_only and json.loads(RESULTS.read_text()).get(module, {}).get("survivors")
    env["MUTATE_ONLY"] = " ".join(only or [])
    command = [sys.executable, str(Path(__file__).resolve()), "--kills-here", module, *files]
    out = subprocess.run(command, cwd=mutants, env=env, check=True, capture_output=True, text=True).stdout
    found: dict[str, list[str]] = json.loads(out.splitlines()[-1])
    return found


def _kills_here(module: str, files: list[str]) -> None:
    """The worker of :func:`kills`, in the scratch copy's ``mutants`` directory."""
    import contextlib
    import io

    import pytest

    meta = json.loads(Path(module + ".meta").read_text())
    failed: dict[str, list[str]] = {}

    class Record:
        def __init__(self, mutant: str) -> None:
            self.mutant = mutant

        def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
            failed.setdefault(report.nodeid, [])
            if report.failed:
                failed[report.nodeid].append(self.mutant)

    options = [a for a in pytest_options() if a != "-x"] + ["-k", f"not ({' or '.join(UNDER_TRAMPOLINE)})"]
    only = os.environ.get("MUTATE_ONLY", "").split()
    for mutant in only or sorted(meta["exit_code_by_key"]):
        os.environ["MUTANT_UNDER_TEST"] = mutant
        with contextlib.redirect_stdout(io.StringIO()):
            pytest.main([*options, *files], plugins=[Record(mutant)])
    print(json.dumps(failed))


def main(argv: list[str]) -> int:
    if argv[:1] == ["--kills-here"]:
        _kills_here(argv[1], argv[2:])
        return 0
    if argv[:1] in (["--kills"], ["--kills-of-survivors"]):
        for module in argv[1:]:
            found = kills(module, survivors_only=argv[0] == "--kills-of-survivors")
            for test, mutants in sorted(found.items()):
                print(f"{len(set(mutants)):4d} {test}")
            caught = set().union(*found.values()) if found else set()
            print(
                f"{module}: {len(caught)} mutants fail these tests; tests failing on none: "
                f"{sorted(t for t, m in found.items() if not m)}"
            )
        return 0
    listing = argv[:1] == ["--list"]
    recheck = argv[:1] == ["--recheck"]
    modules = argv[1:] if listing or recheck else [] if argv == ["--report"] else argv or list(MODULES)
    unknown = sorted(set(modules) - set(MODULES))
    if unknown:
        print(f"not a module under mutation testing: {unknown}; choose from {list(MODULES)}", file=sys.stderr)
        return 2
    if argv == ["--report"]:  # rewrite tests/MUTATION.md from the recorded results, running nothing
        write_report([])
        return 0
    if listing:
        return max(list_tests(module) for module in modules)
    ensure_mutmut()
    failed = False
    for module in modules:
        result = run(module, recheck_only=recheck)
        if result is None:
            failed = True
            continue
        write_report([result])  # at once: a later module's run may be stopped
        print(f"{module}: {score(result):.1%} of {result['total']} mutants killed in {result['seconds']} s")
        failed |= score(result) < TARGET
    print(REPORT.read_text())
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
