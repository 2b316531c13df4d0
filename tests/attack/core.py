"""The harness of the attack suite: pristine files, the calls made on every variant, and their outcomes.

An outcome is one of:

- ``typed``: an ``HdmfAiError`` subclass whose message names the file;
- ``intact``: the call gave exactly what it gives on the pristine file;
- ``problems`` / ``valid``: what ``validate`` said (a list of problems, or none);
- and the ones that must never happen: ``changed`` (other values, no error), ``untyped`` (another exception, or
  our error without the file's name), ``hang`` (past the time limit), ``crash`` (the child died: a signal or
  an exit), ``blowup`` (the child's peak memory passed ``MEMORY_LIMIT`` or hit the address-space limit).

A variant passes when no call ends in one of those, and ``validate`` says ``valid`` only when every other call
read the file intact (damage the file does not depend on, such as an unused byte, is inert).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import re
import resource
import shutil
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from builders import CLASS_NAMES, column_values, full_table
from fuzz.isolation import run_isolated
from hdmf.common import DynamicTableRegion, EnumData, VectorIndex

import hdmf_ai

__all__ = [
    "BAD",
    "CALLS",
    "Family",
    "Variant",
    "attack_table",
    "calls_here",
    "calls_on",
    "damaged_copy",
    "expected_outcomes",
    "flip",
    "pristine_files",
    "verdict",
    "applies",
    "families",
    "run_family",
]

N_ROWS = 60
CALLS = ("read", "open", "list_tables", "validate", "inspect")
#: outcomes that must never happen
BAD = frozenset({"changed", "untyped", "hang", "crash", "blowup"})
TIME_LIMIT_S = 60.0
#: the address space of a child: an allocation of gigabytes fails (MemoryError: a blow-up) instead of swapping
ADDRESS_SPACE = 4 * 2**30
#: the peak resident memory a call on these small files may reach before it counts as a blow-up
MEMORY_LIMIT = 1 * 2**30

#: a family: (a pristine file, a scratch directory) -> (variant name, damaged file or store), ...
Family = Callable[[Path, Path], Iterator[tuple[str, Path]]]


@dataclass(frozen=True)
class Variant:
    family: str
    name: str
    path: Path


# -- pristine files ------------------------------------------------------------------------------------------


def attack_table(n: int = N_ROWS) -> hdmf_ai.ResultsTable:
    """Every predefined column, a user column and a ragged user column (its index is a dataset of its own)."""
    rt = full_table(n)
    rng = np.random.default_rng(2)
    rows = [rng.normal(size=int(k)).tolist() for k in rng.integers(0, 4, n)]
    rt.add_column("tokens", "per-token scores", data=rows, index=True)
    return rt


def _write_in_batches(table: hdmf_ai.ResultsTable, path: Path) -> Path:
    """The same table through the batched writer, in three batches (its ragged column left out)."""
    columns = {name: column_values(table[name]) for name in table.colnames if name != "tokens"}
    columns["true_label"] = np.asarray(CLASS_NAMES)[columns["true_label"]]
    declared = {"true_label": {"classes": CLASS_NAMES}, "cv_split": {"n_splits": 3}}
    n, batch = len(table), len(table) // 3
    with hdmf_ai.ResultsWriter(
        path,
        n_samples=n,
        columns={name: declared.get(name) for name in columns},
        metadata={k: getattr(table, k) for k in ("name", "description", "source_code", "parameters")},
        source=table.samples.table,
        progress=False,
    ) as writer:
        for start in range(0, n, batch):
            writer.append(**{name: values[start : start + batch] for name, values in columns.items()})
    return path


def pristine_files(out: Path) -> dict[str, Path]:
    """``{"<backend>/<writer>": path}``: the files every family damages, for both backends and both writers."""
    table = attack_table()
    out.mkdir(parents=True, exist_ok=True)
    files = {}
    for backend, suffix in (("hdf5", ".h5"), ("zarr", ".zarr")):
        files[f"{backend}/write"] = hdmf_ai.write(table, out / f"write{suffix}")
        files[f"{backend}/writer"] = _write_in_batches(attack_table(), out / f"writer{suffix}")
    return files


def damaged_copy(source: Path, target: Path) -> Path:
    """A copy of a file or store to damage; symbolic links inside a store are copied as links."""
    if target.exists() or target.is_symlink():
        raise FileExistsError(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    if source.is_dir():
        shutil.copytree(source, target, symlinks=True)
    else:
        shutil.copyfile(source, target)
    return target


def flip(path: Path, offset: int, mask: int = 0xFF) -> None:
    with path.open("r+b") as fh:
        fh.seek(offset)
        byte = fh.read(1)
        fh.seek(offset)
        fh.write(bytes([byte[0] ^ mask]))


# -- what a call gives, in a comparable form -------------------------------------------------------------------


def _canonical(table: Any, seen: set[str] | None = None) -> list[Any]:
    """Everything a user sees of a table: name, description, ids, columns (values, elements, targets), metadata."""
    seen = set() if seen is None else seen
    seen.add(table.name)
    out: list[Any] = [type(table).__name__, table.name, table.description, column_values(table.id).tolist()]
    for key in ("source_code", "parameters", "model_description", "pre_trained_model"):
        out.append((key, getattr(table, key, None)))
    for name in table.colnames:
        col = table[name]
        if isinstance(col, VectorIndex):
            out.append((name, "ragged", [np.asarray(row).tolist() for row in col[:]]))
            continue
        values = column_values(col)
        out.append((name, type(col).__name__, col.description, str(values.dtype), values.tolist()))
        if isinstance(col, EnumData):
            out.append((name, "elements", column_values(col.elements).tolist()))
        for attr in ("n_splits", "training_labels", "probabilities"):
            ref = getattr(col, attr, None)
            out.append((name, attr, getattr(ref, "name", ref)))
        if isinstance(col, DynamicTableRegion) and col.table.name not in seen:
            out.append((name, "target", _canonical(col.table, seen)))
    return out


def _digest(value: Any) -> str:
    return hashlib.sha256(repr(value).encode()).hexdigest()


_STORED = re.compile(r"[\d.,]+ (?:B|KiB|MiB|GiB|TiB) stored")


def _call(call: str, path: str) -> str:
    """What ``call`` gives on ``path``, as a digest (raises what the call raises)."""
    if call == "read":
        return _digest(_canonical(hdmf_ai.read(path)))
    if call == "open":
        with hdmf_ai.open(path) as table:
            return _digest(_canonical(table))
    if call == "list_tables":
        return _digest(hdmf_ai.list_tables(path))
    if call == "validate":
        problems = hdmf_ai.validate(path)
        return "problems" if problems else "valid"
    if call == "inspect":
        from hdmf_ai.report import inspect_file

        lines = inspect_file(path).lines()
        # sizes on disk are not values: a Zarr array's counts its zarr.json, which an edited attribute resizes
        shown = [_STORED.sub("<size> stored", line.replace(path, "<file>")) for line in lines if "on disk" not in line]
        return _digest(shown)
    raise ValueError(call)


def _peak_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _in_child(call: str, path: str) -> tuple[str, str, int]:
    """In a child: the call's result or exception, and the child's peak memory."""
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            result = ("returned", _call(call, path))
    except hdmf_ai.HdmfAiError as err:
        result = ("typed", f"{type(err).__name__}: {err}")
    except BaseException as err:
        result = ("raised", f"{type(err).__name__}: {err}")
    return (*result, _peak_rss())


def expected_outcomes(path: Path) -> dict[str, str]:
    """What each call gives on a pristine file (in this process: the pristine file must read)."""
    return {call: _call(call, str(path)) for call in CALLS}


def _outcome(call: str, path: Path, result: tuple[str, str, int], expected: dict[str, str]) -> tuple[str, str]:
    """The outcome of a call's ``(kind, detail, peak memory)`` (what :func:`_in_child` gives)."""
    kind, detail, peak = result
    if peak > MEMORY_LIMIT:
        return "blowup", f"peak memory {peak / 2**20:.0f} MiB; then {kind}: {detail[:300]}"
    if kind == "typed":
        return ("typed" if path.name in detail else "untyped"), detail[:500]
    if kind == "raised":
        return ("blowup" if detail.startswith("MemoryError") else "untyped"), detail[:500]
    if call == "validate":
        return detail, ""
    return ("intact" if detail == expected[call] else "changed"), ""


def calls_on(path: Path, expected: dict[str, str], *, workers: int = 2) -> dict[str, tuple[str, str]]:
    """``{call: (outcome, detail)}`` for every call of CALLS on a damaged ``path``, each in its own child."""

    def one(call: str) -> tuple[str, tuple[str, str]]:
        how, what = run_isolated(_in_child, call, str(path), timeout=TIME_LIMIT_S)
        if how == "hang":
            return call, ("hang", f"no result after {what} s")
        if how == "crash":
            return call, ("crash", f"exit code {what}")
        if how == "raised":  # the child's own machinery failed
            return call, ("untyped", str(what))
        return call, _outcome(call, path, what, expected)

    with ThreadPoolExecutor(workers) as pool:
        return dict(pool.map(one, CALLS))


def calls_here(path: Path, expected: dict[str, str]) -> dict[str, tuple[str, str]]:
    """As :func:`calls_on`, each call in this process, without limits (for a fuzzer that watches crashes, time and
    memory itself)."""
    found = {}
    for call in CALLS:
        try:
            result = ("returned", _call(call, str(path)), 0)
        except hdmf_ai.HdmfAiError as err:
            result = ("typed", f"{type(err).__name__}: {err}", 0)
        except Exception as err:
            result = ("raised", f"{type(err).__name__}: {err}", 0)
        found[call] = _outcome(call, path, result, expected)
    return found


def verdict(outcomes: dict[str, tuple[str, str]]) -> list[str]:
    """What is wrong with a variant's outcomes (an empty list: nothing)."""
    wrong = [f"{call}: {kind}: {detail}" for call, (kind, detail) in outcomes.items() if kind in BAD]
    others = [kind for call, (kind, _) in outcomes.items() if call != "validate"]
    if outcomes["validate"][0] == "valid" and any(kind != "intact" for kind in others):
        wrong.append(f"validate: valid, while the other calls gave {sorted(set(others))}")
    return wrong


# -- running families -----------------------------------------------------------------------------------------


def families(*, unfixed: bool = False) -> dict[str, Family]:
    """Every family of every module of the suite, by name (``<backend or any>/<what>``); with ``unfixed``, also
    the families a module lists as ``UNFIXED`` (damage the library does not yet handle: the report runs them,
    the tests do not)."""
    from . import FAMILY_MODULES

    found: dict[str, Family] = {}
    for module in FAMILY_MODULES:
        loaded = __import__(f"attack.{module}", fromlist=["FAMILIES"])
        groups = [loaded.FAMILIES, getattr(loaded, "UNFIXED", {}) if unfixed else {}]
        for name, family in (item for group in groups for item in group.items()):
            if name in found:
                raise ValueError(f"two families named {name}")
            found[name] = family
    return found


def applies(family: str, pristine: str) -> bool:
    """Whether a family (``hdf5/...``, ``zarr/...`` or ``any/...``) damages a pristine file (``hdf5/write``...)."""
    return family.split("/")[0] in ("any", pristine.split("/")[0])


def run_family(
    name: str, family: Family, pristine: str, good: Path, scratch: Path
) -> list[tuple[str, dict[str, tuple[str, str]]]]:
    """``[(variant, outcomes), ...]`` of one family on one pristine file."""
    expected = expected_outcomes(good)
    results = []
    for variant, path in family(good, scratch):
        results.append((variant, calls_on(path, expected)))
    if not results:
        raise AssertionError(f"{name} made no variant of {pristine}")
    return results
