"""Turn a benchmark report (the dict ``run.py`` builds) into readable tables and the targets' verdicts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

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


# -- the targets of the performance issue (11) ---------------------------------------------------------------

PARQUET = "parquet-zstd"
PORTABLE = {"hdf5": "hdmf-ai[portable,hdf5]", "zarr": "hdmf-ai[portable,zarr]"}


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
    case = cases.get(TARGET_CASE) or report["cases"][0]
    r = case["results"]
    le: Callable[[float, float], bool] = lambda v, lim: v <= lim  # noqa: E731
    found: list[list[str]] = []

    def ratio(a: str, b: str, key: str) -> float | None:
        return r[a][key] / r[b][key] if a in r and b in r and key in r[a] and key in r[b] else None

    for backend, ours in PORTABLE.items():
        limit = 1 / 1.5 if backend == "hdf5" else 1.0
        _check(found, f"{ours} write / {PARQUET} write", ratio(ours, PARQUET, "write"), round(limit, 2), le)
        _check(found, f"{ours} size / {PARQUET} size", ratio(ours, PARQUET, "size"), 1.0, le)
        _check(found, f"{ours} full read / {PARQUET} full read", ratio(ours, PARQUET, "read_full"), 1.0, le)
        _check(found, f"{ours} open + 1 column / {BASE}", ratio(ours, BASE, "read_column"), 3.0, le)
        rows_limit = 10.0 if backend == "hdf5" else 20.0
        _check(found, f"{ours} 1,000 random rows / {BASE}", ratio(ours, BASE, "random_rows"), rows_limit, le)
        mem = r.get(ours, {}).get("extra_peak")
        share = None if mem is None else mem / case["table_bytes"]
        _check(found, f"{ours} extra peak memory of write / table", share, 0.20, le)
    ours = "hdmf-ai[uncompressed,hdf5]"
    _check(found, f"{ours} 1,000 random rows / {BASE}", ratio(ours, BASE, "random_rows"), 10.0, le)
    return found


def codec_markdown(report: dict[str, Any]) -> str:
    """The codec limit beside each write: single-core encode throughput x cores, and the write it allows."""
    codec = report.get("codec")
    if not codec:
        return ""
    rows = [
        [
            name,
            f"{c['single_core_mb_s']:.0f} MB/s",
            str(c["cores"]),
            f"{c['limit_s']:.2f} s",
            f"{c['write_s']:.2f} s" if c.get("write_s") is not None else "-",
            f"{c['write_s'] / c['limit_s']:.2f}x" if c.get("write_s") else "-",
        ]
        for name, c in codec.items()
    ]
    header = ["writer", "codec, one core", "cores", "codec limit (table / (MB/s x cores))", "write", "write / limit"]
    return "Codec limit of each write (the whole table through its codecs)\n\n" + _md_table(header, rows)


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
    parts.append("### Targets of issue 11\n\n" + targets_markdown(report))
    codec = codec_markdown(report)
    if codec:
        parts.append("### " + codec)
    sweep = sweep_markdown(report)
    if sweep:
        parts.append("### " + sweep)
    return "\n\n".join(parts) + "\n"
