"""Print the attack's table of outcomes per family (markdown): ``python tests/attack/report.py [FAMILY ...]``.

Each cell counts calls (``read``, ``open`` + every column, ``list_tables``, ``validate``, ``inspect``) over the
variants of a family on every pristine file it applies to; the last column lists the variants that failed.
"""

from __future__ import annotations

import sys
import tempfile
from collections import Counter
from pathlib import Path

# the tests directory, in place of this script's own (whose modules, such as zarr.py, would shadow packages)
sys.path[0] = str(Path(__file__).resolve().parents[1])

from attack.core import BAD, applies, families, pristine_files, run_family, verdict  # noqa: E402

COLUMNS = ("typed", "intact", "problems", "valid", *sorted(BAD))


def main(selected: list[str]) -> int:
    chosen = {name: f for name, f in families(unfixed=True).items() if not selected or name in selected}
    print("| family | files | variants | calls | " + " | ".join(COLUMNS) + " | failing variants |")
    print("|---|---|---:|---:|" + "---:|" * len(COLUMNS) + "---|")
    failing_total = 0
    with tempfile.TemporaryDirectory() as tmp:
        pristine = pristine_files(Path(tmp) / "pristine")
        for name, family in sorted(chosen.items()):
            kinds = [k for k in pristine if applies(name, k)]
            counts: Counter[str] = Counter()
            variants, failing = 0, []
            for kind in kinds:
                for variant, outcomes in run_family(name, family, kind, pristine[kind], Path(tmp) / name / kind):
                    variants += 1
                    counts.update(outcome for outcome, _ in outcomes.values())
                    if problems := verdict(outcomes):
                        failing.append(f"{kind}:{variant}")
                        print(f"<!-- {name} {kind} {variant}: {problems} -->", file=sys.stderr)
            failing_total += len(failing)
            cells = " | ".join(str(counts[c]) for c in COLUMNS)
            files = ", ".join(kinds)
            print(f"| {name} | {files} | {variants} | {sum(counts.values())} | {cells} | {', '.join(failing)} |")
    return 1 if failing_total else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
