"""The ``hdmf-ai`` command line.

Each subcommand is one entry of :data:`COMMANDS`: a name, a line of help, a function that declares its
arguments and a function that runs it and returns the exit code. Adding ``inspect``, ``validate`` or
``convert`` means writing those two functions and adding one line to the table.

Exit codes (every command):

- 0: success (``validate``: the file is valid; ``--help`` and ``--version`` too);
- 1: the work failed: a missing, corrupt or unreadable file, a missing optional dependency, an unwritable
  output directory (the error is printed on one line to stderr, ``hdmf-ai COMMAND: error: ...``), or
  ``validate`` found problems (listed on stdout);
- 2: usage errors (argparse's own convention: unknown command, missing or bad argument), also on one line.

No traceback and no Python warning reaches the terminal unless ``--debug`` is given; hdmf-ai's own warnings
(an unfinished table, a newer schema) are printed as one line each, ``hdmf-ai COMMAND: warning: ...``. Errors
speak in the command line's terms (``--overwrite``, ``--backend``), not the Python API's. Output cut short by
its reader (``hdmf-ai inspect x | head``) ends quietly.

Example::

    $ hdmf-ai demo --out demo-out --seed 0
    $ hdmf-ai inspect demo-out/demo.h5
    $ hdmf-ai report demo-out/demo.zarr --out demo-out/report --by site
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

from . import __version__
from .errors import HdmfAiError, UnknownFormatError

__all__ = ["COMMANDS", "Command", "build_parser", "main"]

PROG = "hdmf-ai"

# what a user can cause and fix (bad file, missing extra, unwritable directory): one line, no traceback.
# Anything else is a bug, and its traceback is what a bug report needs.
EXPECTED_ERRORS: tuple[type[BaseException], ...] = (HdmfAiError, OSError)
#: what a process killed by SIGPIPE returns in a shell (128 + 13)
BROKEN_PIPE = 141


@dataclass(frozen=True)
class Command:
    """One subcommand: its name, one line of help, how it declares its arguments, and how it runs."""

    name: str
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


# -- demo ------------------------------------------------------------------------------------------------


def _demo_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("demo-out"),
        metavar="DIR",
        help="directory for demo.h5 and demo.zarr, created if missing (default: %(default)s)",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=0,
        metavar="N",
        help="seed of the splits, synthetic metadata and k-means (default: %(default)s)",
    )


def _demo(args: argparse.Namespace) -> int:
    from .demo import run_demo  # imported here: only the demo needs scikit-learn

    run_demo(args.out, seed=args.seed, log=print)
    return 0


# -- validate --------------------------------------------------------------------------------------------


def _validate_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", type=Path, help="an HDF5 (.h5, .hdf5, .nwb) or Zarr (.zarr) file")
    parser.add_argument("--backend", choices=("hdf5", "zarr"), help="the format, when the suffix does not tell")


def _validate(args: argparse.Namespace) -> int:
    from .io import validate
    from .io.incomplete import incomplete_note, unfinished_tables

    notes: list[str] = []
    with unfinished_tables() as unfinished:  # stated below, on stdout
        problems = validate(args.file, backend=args.backend, notes=notes)
    for problem in problems:
        print(problem)
    for note in notes if not unfinished else []:  # an unfinished table gets its digests when it finishes
        print(f"note: {note}")
    for table, (complete, target) in unfinished.items():
        print(f"table '{table}': {incomplete_note(complete, target)}")
    verdict = "valid" if not problems else f"{len(problems)} problem(s)"
    scope = " (the complete rows of unfinished tables)" if unfinished else ""
    print(f"{args.file}: {verdict} against its cached schema{scope}")
    return 0 if not problems else 1


# -- inspect ---------------------------------------------------------------------------------------------


def _file_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", type=Path, help="an HDF5 (.h5, .hdf5), NWB (.nwb) or Zarr (.zarr) file")
    parser.add_argument("--backend", choices=("hdf5", "zarr"), help="the format, when the suffix does not tell")


def _inspect_arguments(parser: argparse.ArgumentParser) -> None:
    _file_arguments(parser)
    parser.add_argument(
        "--no-metrics", action="store_true", help="describe the storage only; do not read columns for metrics"
    )


def _inspect(args: argparse.Namespace) -> int:
    from .report import inspect_file

    for line in inspect_file(args.file, backend=args.backend, metrics=not args.no_metrics).lines():
        print(line)
    return 0


# -- report ----------------------------------------------------------------------------------------------


def _report_arguments(parser: argparse.ArgumentParser) -> None:
    _file_arguments(parser)
    parser.add_argument("--out", type=Path, required=True, metavar="DIR", help="directory for the report")
    parser.add_argument("--table", metavar="NAME", help="only this ResultsTable (default: every one)")
    parser.add_argument(
        "--split", metavar="SPLIT", help="split for the confusion matrix, calibration and error rates (default: test)"
    )
    parser.add_argument(
        "--by",
        action="append",
        metavar="COLUMN",
        help="break the error rate down by this column of the source table; repeat for several "
        "(default: its columns with 2 to 20 distinct values)",
    )


def _report(args: argparse.Namespace) -> int:
    from .report import write_report

    index = write_report(args.file, args.out, table=args.table, split=args.split, by=args.by, backend=args.backend)
    print(f"report written: {index}")
    return 0


# -- convert ---------------------------------------------------------------------------------------------


def _convert_arguments(parser: argparse.ArgumentParser) -> None:
    from .io.policy import DEFAULT_PRESET, PRESETS

    parser.add_argument("source", type=Path, help="the file to read (.h5, .hdf5, .nwb or .zarr)")
    parser.add_argument("target", type=Path, help="the file to write; its suffix picks the format")
    parser.add_argument(
        "--preset", choices=sorted(PRESETS), default=DEFAULT_PRESET, help="storage preset (default: %(default)s)"
    )
    parser.add_argument("--overwrite", action="store_true", help="replace an existing target")
    parser.add_argument(
        "--backend", choices=("hdf5", "zarr"), help="the format of the target, when its suffix does not tell"
    )
    parser.add_argument(
        "--source-backend", choices=("hdf5", "zarr"), help="the format of the source, when its suffix does not tell"
    )


def _convert(args: argparse.Namespace) -> int:
    from .io.convert import convert

    written = convert(
        args.source,
        args.target,
        preset=args.preset,
        overwrite=args.overwrite,
        backend=args.backend,
        source_backend=args.source_backend,
    )
    print(f"{args.source} -> {written} ({args.preset})")
    return 0


# -- audit -----------------------------------------------------------------------------------------------


def _audit_arguments(parser: argparse.ArgumentParser) -> None:
    _file_arguments(parser)
    parser.add_argument("--table", metavar="NAME", help="only this ResultsTable (default: every one)")
    parser.add_argument(
        "--group", metavar="COLUMN", help="source column whose values must not cross splits (subject, session)"
    )
    parser.add_argument(
        "--max-order", type=int, choices=(1, 2), default=2, help="1: single columns; 2: pairs too (default: 2)"
    )
    parser.add_argument("--split", metavar="SPLIT", help="audit one split only (e.g. test)")


def _audit(args: argparse.Namespace) -> int:
    from .audit import audit_file

    found = audit_file(
        args.file, table=args.table, group=args.group, max_order=args.max_order, split=args.split, backend=args.backend
    )
    for line in found.lines():
        print(line)
    return 1 if found.leaks else 0


# -- compare ---------------------------------------------------------------------------------------------


def _compare_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", type=Path, nargs="+", metavar="FILE", help="files holding the ResultsTables")
    parser.add_argument(
        "--table",
        action="append",
        metavar="NAME",
        help="compare only the ResultsTables of this name; repeat for several (default: every one)",
    )
    parser.add_argument(
        "--split", metavar="SPLIT", help="rows to compare: train, validate, test or all (default: test if present)"
    )
    parser.add_argument(
        "--metric",
        action="append",
        metavar="NAME",
        help="metric to compare (accuracy, f1_macro, roc_auc, rmse, ...); repeat for several "
        "(default: accuracy, or rmse for regressors)",
    )
    parser.add_argument("--ci", type=float, default=0.95, metavar="LEVEL", help="confidence (default: %(default)s)")
    parser.add_argument(
        "--n-resamples", type=int, default=2000, metavar="N", help="bootstrap resamples (default: %(default)s)"
    )
    parser.add_argument("--seed", type=int, default=0, metavar="N", help="seed of the bootstrap (default: %(default)s)")
    parser.add_argument("--backend", choices=("hdf5", "zarr"), help="the format, when the suffixes do not tell")


def _compare(args: argparse.Namespace) -> int:
    from .analysis.compare import compare_files

    comparison = compare_files(
        args.files,
        tables=args.table,
        split=args.split,
        metric=args.metric,
        ci=args.ci,
        n_resamples=args.n_resamples,
        seed=args.seed,
        backend=args.backend,
    )
    for line in comparison.lines():
        print(line)
    return 0


COMMANDS: tuple[Command, ...] = (
    Command(
        "demo",
        "train a classifier on scikit-learn's digits, write its results to HDF5 and Zarr, read them back",
        _demo_arguments,
        _demo,
    ),
    Command("validate", "check a file against the schema cached inside it", _validate_arguments, _validate),
    Command(
        "inspect",
        "describe a file: tables, columns, types, dtypes, shapes, chunks, codecs, sizes, provenance, metrics",
        _inspect_arguments,
        _inspect,
    ),
    Command(
        "report",
        "write metrics (CSV), figures (PNG) and an index.html showing them for the results in a file",
        _report_arguments,
        _report,
    ),
    Command(
        "convert", "rewrite a file with another storage preset, or into the other format", _convert_arguments, _convert
    ),
    Command(
        "audit",
        "suspicious slices, possible label errors and groups leaking across splits (exit 1 on leakage)",
        _audit_arguments,
        _audit,
    ),
    Command(
        "compare",
        "compare models stored over the same samples: differences with intervals, McNemar, DeLong, Cochran's Q",
        _compare_arguments,
        _compare,
    ),
)


# -- the parser and the entry point ----------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    """argparse, with its usage errors on one line (the usage itself is what ``--help`` is for)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """The parser of ``hdmf-ai``, with one subparser per entry of :data:`COMMANDS`."""
    parser = _Parser(
        prog=PROG, description="Store and check per-sample results of ML models in HDF5 and Zarr (HDMF-AI)."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--debug", action="store_true", help="show Python tracebacks and warnings (for a bug report)")
    subparsers = parser.add_subparsers(title="commands", dest="command", metavar="COMMAND", required=True)
    for command in COMMANDS:
        sub = subparsers.add_parser(command.name, help=command.help, description=command.help)
        command.add_arguments(sub)
        sub.set_defaults(run=command.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``hdmf-ai`` with ``argv`` (default: ``sys.argv[1:]``) and return the exit code.

    ``--help`` and ``--version`` return 0 and usage errors 2, as returned values rather than
    ``SystemExit``, so that callers (and tests) handle every outcome alike.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as done:  # argparse exits, with an int, after --help, --version and usage errors
        return int(done.code or 0)
    if args.debug:
        return int(args.run(args))
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            code = int(args.run(args))
        _print_warnings(args.command, caught)
        sys.stdout.flush()
        return code
    except BrokenPipeError:  # the reader stopped reading (``| head``): nothing more to say, to anyone
        _silence_stdout()
        return BROKEN_PIPE
    except EXPECTED_ERRORS as err:
        print(f"{PROG} {args.command}: error: {_in_cli_terms(err, args)}", file=sys.stderr)
        return 1


def _print_warnings(command: str, caught: list[warnings.WarningMessage]) -> None:
    """hdmf-ai's own warnings, one line each and each once; other libraries' warnings are for ``--debug``."""
    seen: set[str] = set()
    for found in caught:
        if not type(found.message).__module__.startswith(__package__ or "hdmf_ai"):
            continue
        line = _one_line(found.message)
        if line not in seen:
            seen.add(line)
            print(f"{PROG} {command}: warning: {line}", file=sys.stderr)


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so that the interpreter's last flush does not fail on the closed pipe."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout is not a real file (e.g. captured by a test): nothing to flush to
        pass
    finally:
        os.close(devnull)


def _in_cli_terms(err: BaseException, args: argparse.Namespace) -> str:
    """The error on one line, naming the command line's options where the API's message names arguments."""
    if isinstance(err, UnknownFormatError):
        option = "--source-backend" if str(err.path) == str(getattr(args, "source", None)) else "--backend"
        return (
            f"{err.path}: cannot tell the format from the suffix {err.suffix!r} (known: {', '.join(err.known)}); "
            f"pass {option} hdf5 or {option} zarr"
        )
    if isinstance(err, OSError) and not isinstance(err, HdmfAiError) and err.strerror:
        # "[Errno 2] ..." is Python's rendering; the user needs the file and the reason
        text = f"{err.filename}: {err.strerror}" if err.filename else str(err.strerror)
    else:
        text = _one_line(err)
    text = " ".join(text.replace("pass overwrite=True", "pass --overwrite").split())
    named = getattr(args, "file", None) or getattr(args, "source", None)
    target = getattr(args, "target", None)
    names_other = isinstance(err, OSError) and err.filename is not None
    if named is not None and not names_other and str(named) not in text and str(target) not in text:
        text = f"{named}: {text}"  # every error names the file it is about
    return text


def _one_line(err: BaseException | Warning | str) -> str:
    return " ".join(str(err).split()) or type(err).__name__


if __name__ == "__main__":
    raise SystemExit(main())
