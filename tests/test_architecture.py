"""The package's layering, as docs/architecture.md states it: dependencies point one way, and no module takes
another's private names.

The import graph of ``hdmf_ai/`` is built from the source (AST): every import counts, also one deferred into a
function (it is still a dependency), except those under ``if TYPE_CHECKING:``. A private *module* (``_frames``)
may be imported by name; a ``_name`` imported from another module may not: what modules share is public in its
module's ``__all__``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "hdmf_ai"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


class _Imports(ast.NodeVisitor):
    """(level, module, names) of every import, skipping ``if TYPE_CHECKING:`` blocks (not their ``else``)."""

    def __init__(self) -> None:
        self.found: list[tuple[int, str, list[str]]] = []

    def visit_If(self, node: ast.If) -> None:
        test = node.test
        name = test.id if isinstance(test, ast.Name) else getattr(test, "attr", None)
        for child in node.orelse if name == "TYPE_CHECKING" else [*node.body, *node.orelse]:
            self.visit(child)

    def visit_Import(self, node: ast.Import) -> None:
        self.found += [(0, alias.name, []) for alias in node.names]

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        self.found.append((node.level, node.module or "", [alias.name for alias in node.names]))


def _graph() -> tuple[dict[str, set[str]], list[str]]:
    """Module -> modules of the package it imports; and the private names imported across modules."""
    files = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {m: set() for m in files}
    private: list[str] = []
    for module, path in files.items():
        visitor = _Imports()
        visitor.visit(ast.parse(path.read_text(encoding="utf-8")))
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        for level, target, names in visitor.found:
            base = target
            if level:
                anchor = package.split(".")[: len(package.split(".")) - (level - 1)]
                base = ".".join([*anchor, *([target] if target else [])])
            for name in names or [""]:
                full = f"{base}.{name}" if name else base
                owner = full if full in files else base
                while owner not in files and "." in owner:
                    owner = owner.rpartition(".")[0]
                if owner not in files or owner == module:
                    continue
                graph[module].add(owner)
                if name and full not in files and name.startswith("_") and not name.startswith("__"):
                    private.append(f"{module} imports {owner}.{name}")
    return graph, private


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), a package's __init__ aside."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in graph[node]:
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    # a package's __init__ re-exporting what its modules define is not a cycle of responsibilities
    packages = {_module_name(p) for p in PACKAGE.rglob("__init__.py")}
    return [c for c in found if not set(c) <= packages | {"hdmf_ai"}]


def test_the_graph_sees_deferred_imports_and_skips_type_checking_blocks() -> None:
    graph, _ = _graph()
    assert "hdmf_ai.io.lazy" in graph["hdmf_ai.results_table"]  # imported inside ResultsTable.column()
    assert "hdmf_ai.results_table" not in graph["hdmf_ai._frames"]  # under TYPE_CHECKING only


def test_the_package_has_no_import_cycle() -> None:
    graph, _ = _graph()
    assert _cycles(graph) == []


def test_no_module_imports_another_modules_private_names() -> None:
    _, private = _graph()
    assert private == []


@pytest.mark.parametrize(
    ("lower", "upper"),
    [
        ("hdmf_ai.results_table", "hdmf_ai.io.read"),  # the domain model knows nothing of files
        ("hdmf_ai.coercion", "hdmf_ai.io.plan"),  # column rules are pure
        ("hdmf_ai.io.read", "hdmf_ai.io.write"),  # writing may depend on reading, never the reverse
        ("hdmf_ai.io.read", "hdmf_ai.io.writer"),
        ("hdmf_ai.io.read", "hdmf_ai.nwb"),  # NWB is built on the file API, not the other way round
        ("hdmf_ai.io.hdf5", "hdmf_ai.io.registry"),  # backends know the contract, not each other
        ("hdmf_ai.io.zarr", "hdmf_ai.io.hdf5"),
    ],
)
def test_dependencies_point_down(lower: str, upper: str) -> None:
    graph, _ = _graph()

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        if start == goal:
            return True
        seen.add(start)
        return any(reaches(nxt, goal, seen) for nxt in graph[start] if nxt not in seen)

    assert not reaches(lower, upper, set()), f"{lower} depends on {upper}"


def test_no_module_outside_the_backends_asks_for_a_backend_by_name() -> None:
    allowed = {PACKAGE / "io" / "hdf5.py", PACKAGE / "io" / "zarr.py"}
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        if path in allowed:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Compare) and any(isinstance(op, (ast.Eq, ast.NotEq)) for op in node.ops):
                values = [node.left, *node.comparators]
                if any(isinstance(v, ast.Constant) and v.value in ("hdf5", "zarr") for v in values):
                    offenders.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    assert offenders == []
