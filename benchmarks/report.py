"""Turn a benchmark report (the dict ``run.py`` builds) into readable tables and the targets' verdicts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from candidates import PRESETS

BASE = "raw-h5py"
MiB = 1024 * 1024
TIMES = ("write", "read_column", "read_full", "random_rows", "slice")
TARGET_CASE = "N=1,000,000 C=100 peaked"
ENTROPY_CASE = "N=1,000,000 C=100 entropy"


def _ratio(value: float, base: float) -> str:
    return f"{value / base:.2f}" if base else "-"


def case_rows(case: dict[str, Any]) -> list[list[str]]:
    """One row per candidate: times in seconds with the ratio to raw h5py, size and memory."""
    results = case["results"]
    base = results[BASE]
    rows = []
    for name, r in results.items():
        row = [name]
        for key in TIMES:
            row.append(f"{r[key]:.3g} s ({_ratio(r[key], base[key])}x)" if key in r else "-")
        row.append(f"{r['size'] / MiB:.1f} MiB ({_ratio(r['size'], base['size'])}x)")
        row.append(f"{100 * r['extra_peak'] / case['table_bytes']:.1f}%" if "extra_peak" in r else "-")
        row.append(f"{r['build']:.3g} s" if "build" in r else "-")
        rows.append(row)
    return rows


HEADER = ["candidate", "write", "open+1 column", "full read", "1,000 random rows", "10,000-row slice"]
HEADER += ["size", "extra peak mem (write)", "build table"]


def _md_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def text_table(report: dict[str, Any]) -> str:
    out = []
    for case in report["cases"]:
        out.append(f"\n== {case['key']}  (table {case['table_bytes'] / MiB:.0f} MiB; ratios to {BASE})")
        rows = [HEADER, *case_rows(case)]
        widths = [max(len(r[i]) for r in rows) for i in range(len(HEADER))]
        out += ["  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)) for r in rows]
    out.append("\n" + targets_markdown(report))
    return "\n".join(out)


# -- the targets of the storage-policy issue ---------------------------------------------------------------


def _check(
    found: list[list[str]], what: str, value: float | None, limit: float, ok: Callable[[float, float], bool]
) -> None:
    if value is None:
        found.append([what, "-", f"{limit:g}", "not measured"])
        return
    verdict = "met" if ok(value, limit) else "MISSED"
    found.append([what, f"{value:.2f}", f"{limit:g}", verdict])


def targets(report: dict[str, Any]) -> list[list[str]]:
    cases = {c["key"]: c for c in report["cases"]}
    case = cases.get(TARGET_CASE)
    if case is None:
        return [["(the targets are defined at N=1,000,000, C=100: run the full suite)", "-", "-", "-"]]
    r = case["results"]
    le: Callable[[float, float], bool] = lambda v, lim: v <= lim  # noqa: E731
    ge: Callable[[float, float], bool] = lambda v, lim: v >= lim  # noqa: E731
    found: list[list[str]] = []

    def ratio(a: str, b: str, key: str) -> float | None:
        return r[a][key] / r[b][key] if a in r and b in r and key in r[a] and key in r[b] else None

    _check(
        found,
        "hdmf-ai uncompressed HDF5 write / raw h5py uncompressed",
        ratio("hdmf-ai[uncompressed,hdf5]", BASE, "write"),
        1.5,
        le,
    )
    for preset in PRESETS:
        for backend, raw in (("hdf5", f"raw-h5py[{preset}]"), ("zarr", f"raw-zarr[{preset}]")):
            ours = f"hdmf-ai[{preset},{backend}]"
            _check(found, f"{ours} write / {raw}", ratio(ours, raw, "write"), 1.5, le)
            _check(found, f"reference default write / {ours} write", ratio("reference-0.2.0", ours, "write"), 20, ge)
            _check(found, f"{ours} open + 1 column / raw-h5py", ratio(ours, BASE, "read_column"), 2, le)
            _check(found, f"{ours} full read / {raw}", ratio(ours, raw, "read_full"), 1.5, le)
            _check(found, f"{ours} 1,000 random rows / raw-h5py", ratio(ours, BASE, "random_rows"), 10, le)
            mem = r.get(ours, {}).get("extra_peak")
            _check(
                found,
                f"{ours} extra peak memory / table size",
                None if mem is None else mem / case["table_bytes"],
                0.10,
                le,
            )
    entropy = cases.get(ENTROPY_CASE)
    for backend in ("hdf5", "zarr"):
        ours = f"hdmf-ai[compact,{backend}]"
        _check(found, f"{ours} size / parquet-zstd (peaked)", ratio(ours, "parquet-zstd", "size"), 1.0, le)
        _check(found, f"raw size / {ours} size (peaked)", ratio(BASE, ours, "size"), 3, ge)
        if entropy is not None:
            e = entropy["results"]
            _check(
                found,
                f"{ours} size / parquet-zstd (high entropy)",
                e[ours]["size"] / e["parquet-zstd"]["size"],
                1.0,
                le,
            )
            _check(found, f"{ours} size / raw (high entropy)", e[ours]["size"] / e[BASE]["size"], 0.75, le)
        fast = f"hdmf-ai[fast,{backend}]"
        _check(found, f"parquet-zstd write / {fast} write", ratio("parquet-zstd", fast, "write"), 3, ge)
    return found


def targets_markdown(report: dict[str, Any]) -> str:
    rows = targets(report)
    met, missed = (sum(1 for r in rows if r[3] == verdict) for verdict in ("met", "MISSED"))
    head = f"Targets at {TARGET_CASE}: {met} met, {missed} missed.\n\n"
    return head + _md_table(["target", "measured", "limit", "verdict"], rows)


def sweep_markdown(report: dict[str, Any]) -> str:
    sweep = report.get("sweep")
    if not sweep:
        return ""
    rows = [
        [
            s["codec"],
            s["backend"],
            str(s["chunk_kib"]),
            f"{s['write']:.3g}",
            f"{s['read_full']:.3g}",
            f"{1000 * s['random_rows']:.1f}",
            f"{1000 * s['slice']:.1f}",
            f"{s['size'] / MiB:.1f}",
        ]
        for s in sweep["results"]
    ]
    header = ["codec", "backend", "chunk KiB", "write s", "full read s", "1,000 rows ms", "slice ms", "MiB"]
    return f"Chunk-shape sweep: probabilities alone, N={sweep['n']:,} x {sweep['n_classes']} (peaked)\n\n" + _md_table(
        header, rows
    )


def markdown(report: dict[str, Any]) -> str:
    parts = [f"Mode: {report['mode']}; {report['seconds']:.0f} s. Reference hdmf-ai 0.2.0: {report['reference']}."]
    parts.append("Machine: " + ", ".join(f"{k} {v}" for k, v in report["machine"].items()))
    parts.append("Versions: " + ", ".join(f"{k} {v}" for k, v in report["versions"].items()))
    for case in report["cases"]:
        parts.append(f"### {case['key']} (table {case['table_bytes'] / MiB:.0f} MiB; ratios to {BASE})")
        parts.append(_md_table(HEADER, case_rows(case)))
    parts.append("### Targets\n\n" + targets_markdown(report))
    sweep = sweep_markdown(report)
    if sweep:
        parts.append("### " + sweep)
    return "\n\n".join(parts) + "\n"
