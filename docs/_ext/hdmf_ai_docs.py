"""Pages generated at build time: the format specification (from ``hdmf_ai/schema/*.yaml``) and the CLI reference.

Sphinx calls :func:`setup`; on ``builder-inited`` the pages are written into ``docs/format/_generated`` and
``docs/cli/_generated`` and included from hand-written pages. The rendering functions take the schema
directory and return text, so ``tests/test_docs.py`` checks the specification without building the site.
"""

from __future__ import annotations

import contextlib
import inspect
import io
import os
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from ruamel.yaml import YAML

DOCS = Path(__file__).resolve().parent.parent
SCHEMA = DOCS.parent / "hdmf_ai" / "schema"

# what the base types of hdmf-common mean, for readers who do not know HDMF
BASES = {
    "VectorData": "hdmf-common: one column of a DynamicTable, one element (or row of elements) per table row",
    "EnumData": "hdmf-experimental: a VectorData of integer codes into the ``elements`` dataset it references",
    "DynamicTable": "hdmf-common: a group of equal-length columns with an ``id`` dataset and a ``colnames`` attribute",
    "DynamicTableRegion": "hdmf-common: a VectorData of row indices into the DynamicTable its ``table`` "
    "attribute references",
}


# -- reading the schema --------------------------------------------------------------------------------------


#: the namespace files, each with its own types: hdmf-ai, then the types added after 0.2.0
NAMESPACE_FILES = ("namespace.yaml", "extensions.namespace.yaml")


def load_namespaces(schema: Path = SCHEMA) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """Each namespace entry with the types defined in its source files, datasets then groups."""
    yaml = YAML(typ="safe")
    out = []
    for name in NAMESPACE_FILES:
        if not (schema / name).exists():
            continue
        namespace = yaml.load((schema / name).read_text())["namespaces"][0]
        types: list[dict[str, Any]] = []
        for entry in namespace["schema"]:
            if "source" not in entry:
                continue
            spec = yaml.load((schema / entry["source"]).read_text())
            for kind in ("datasets", "groups"):
                for t in spec.get(kind, []):
                    types.append({**t, "_kind": kind[:-1], "_source": entry["source"]})
        out.append((namespace, types))
    return out


def load_schema(schema: Path = SCHEMA) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The ``hdmf-ai`` namespace entry, and every type of every namespace file."""
    namespaces = load_namespaces(schema)
    return namespaces[0][0], [t for _, types in namespaces for t in types]


def _dtype(dtype: Any) -> str:
    if dtype is None:
        return "inherited"
    if isinstance(dtype, dict):
        return f"reference to {dtype['target_type']} ({dtype.get('reftype', 'object')})"
    return str(dtype)


def _shape(item: dict[str, Any]) -> str:
    shape, dims = item.get("shape"), item.get("dims")
    if shape is None:
        return "inherited" if "data_type_inc" in item and item.get("_kind") == "dataset" else "scalar"
    options = shape if shape and isinstance(shape[0], list) else [shape]
    names = dims if dims and isinstance(dims[0], list) else [dims] if dims else [[None] * len(s) for s in options]
    out = []
    for size, name in zip(options, names, strict=True):
        out.append(
            "["
            + ", ".join(f"{n or 'any'}{'' if s is None else f' = {s}'}" for s, n in zip(size, name, strict=True))
            + "]"
        )
    return " or ".join(out)


def _required(item: dict[str, Any], *, attribute: bool) -> str:
    if attribute:
        return "required" if item.get("required", True) else "optional"
    quantity = item.get("quantity", 1)
    return {"?": "optional", 1: "required", "*": "any number", "+": "at least one"}.get(quantity, str(quantity))


def _text(doc: str) -> str:
    return " ".join(str(doc).split())


# -- rendering reStructuredText ------------------------------------------------------------------------------


def _table(header: list[str], rows: list[list[str]], widths: str) -> list[str]:
    lines = [".. list-table::", "   :header-rows: 1", f"   :widths: {widths}", ""]
    for row in [header, *rows]:
        lines.append(f"   * - {row[0]}")
        lines.extend(f"     - {cell}" for cell in row[1:])
    return [*lines, ""]


def _type_ref(name: str, defined: set[str]) -> str:
    return f":ref:`{name} <spec-{name}>`" if name in defined else f"``{name}``"


def render_types(schema: Path = SCHEMA) -> str:
    """The specification of every type, one section each, as reStructuredText."""
    namespaces = load_namespaces(schema)
    types = [t for _, kinds in namespaces for t in kinds]
    defined = {t["data_type_def"] for t in types}
    lines = []
    for namespace, kinds in namespaces:
        lines += [
            f"Namespace ``{namespace['name']}`` version **{namespace['version']}** ({namespace['full_name']}), "
            f"{len(kinds)} types: "
            + ", ".join(_type_ref(t["data_type_def"], defined) for t in kinds)
            + ". It includes "
            + ", ".join(f"``{s['namespace']}``" for s in namespace["schema"] if "namespace" in s)
            + ".",
            "",
        ]
    for t in types:
        name = t["data_type_def"]
        base = t.get("data_type_inc", "")
        lines += [f".. _spec-{name}:", "", name, "-" * len(name), "", _text(t["doc"]), ""]
        rows = [
            ["kind", f"{t['_kind']} (defined in ``{t['_source']}``)"],
            ["extends", _type_ref(base, defined) + (f" — {BASES[base]}" if base in BASES else "")],
        ]
        if t["_kind"] == "dataset":
            inherited = f"any (as {base})"
            dtype = _dtype(t.get("dtype")) if t.get("dtype") is not None else inherited
            shape = _shape({**t, "_kind": "dataset"}) if t.get("shape") is not None else inherited
            rows += [["dtype", dtype], ["shape", shape]]
        lines += _table(["property", "value"], rows, "20 80")
        if t.get("attributes"):
            lines += ["**Attributes**", ""]
            rows = [
                [f"``{a['name']}``", _dtype(a.get("dtype")), _shape(a), _required(a, attribute=True), _text(a["doc"])]
                for a in t["attributes"]
            ]
            lines += _table(["name", "dtype", "shape", "required", "description"], rows, "18 22 14 10 36")
        if t.get("datasets"):
            lines += ["**Datasets (columns)**", ""]
            rows = [
                [
                    f"``{d['name']}``",
                    _type_ref(d["data_type_inc"], defined),
                    _required(d, attribute=False),
                    _text(d["doc"]),
                ]
                for d in t["datasets"]
            ]
            lines += _table(["name", "type", "quantity", "description"], rows, "20 22 12 46")
    return "\n".join(lines) + "\n"


def type_names_in(rst: str) -> list[str]:
    """The types a rendered specification documents (its ``spec-<Type>`` labels), in order."""
    return [line[len(".. _spec-") : -1] for line in rst.splitlines() if line.startswith(".. _spec-")]


# -- the overview figure -------------------------------------------------------------------------------------


def draw_overview(path: Path, schema: Path = SCHEMA) -> None:
    """An SVG of the namespace: ResultsTable's columns on the left, the type of each on the right.

    Each type's box names what it extends, its dtype and its shape; the types are ordered by the first
    column using them, so that the arrows hardly cross.
    """
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    from matplotlib.patches import FancyBboxPatch

    _, types = load_namespaces(schema)[0]  # hdmf-ai's types: ResultsTable and its columns
    table = next(t for t in types if t["_kind"] == "group")
    columns = table["datasets"]
    by_name = {t["data_type_def"]: t for t in types if t["_kind"] == "dataset"}
    order = list(dict.fromkeys([c["data_type_inc"] for c in columns] + list(by_name)))
    n = max(len(columns), len(order))
    fig = Figure(figsize=(11, 0.5 * n + 1.4))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, 11)
    ax.set_ylim(-n - 0.9, 1.3)
    ax.axis("off")

    def box(x: float, y: float, w: float, text: str, color: str, *, small: str = "") -> None:
        ax.add_patch(
            FancyBboxPatch(
                (x, y - 0.2), w, 0.4, boxstyle="round,pad=0.03", facecolor=color, edgecolor="#555555", lw=0.8
            )
        )
        ax.text(x + 0.1, y, text, ha="left", va="center", fontsize=9, weight="bold" if small else "normal")
        if small:
            ax.text(x + w - 0.1, y, small, ha="right", va="center", fontsize=8, color="#444444")

    ax.text(
        0.2, 0.85, f"{table['data_type_def']}  (group, extends {table['data_type_inc']})", fontsize=10, weight="bold"
    )
    ax.text(4.6, 0.85, "type of the column: extends, dtype, shape", fontsize=10, weight="bold")
    type_y = {name: -i * (n - 1) / max(1, len(order) - 1) for i, name in enumerate(order)}
    for name, y in type_y.items():
        t = by_name.get(name)
        if t is None:  # a type of hdmf-common
            box(4.6, y, 6.2, name, "#e6e6e6", small="hdmf-common")
        else:
            shape = _shape({**t, "_kind": "dataset"}).replace("num_", "")
            detail = f"extends {t['data_type_inc']}  ·  {_dtype(t.get('dtype'))}  ·  {shape}"
            box(4.6, y, 6.2, name, "#f3e9d2", small=detail)
    for i, c in enumerate(columns):
        y = -i * (n - 1) / max(1, len(columns) - 1)
        required = c.get("quantity", 1) == 1
        box(0.2, y, 2.9, c["name"] + ("" if required else "  (optional)"), "#e8eef7")
        ax.annotate(
            "",
            (4.55, type_y[c["data_type_inc"]]),
            (3.15, y),
            arrowprops={"arrowstyle": "->", "color": "#5b7bb0", "lw": 0.8},
        )
    ax.text(
        0.2,
        -n - 0.4,
        "Arrows: the type of each column (dataset) of the table. "
        "Every ResultsTable also has the DynamicTable's `id` dataset and `colnames` attribute.",
        fontsize=8.5,
        color="#444444",
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="svg", metadata={"Date": None})


# -- the command line reference ------------------------------------------------------------------------------


def _help(*args: str) -> str:
    from hdmf_ai.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        main([*args, "--help"])
    return out.getvalue()


def render_cli() -> str:
    """Each command's ``--help``, as ``hdmf-ai COMMAND --help`` prints it, from :mod:`hdmf_ai.cli`."""
    from hdmf_ai.cli import COMMANDS

    os.environ["COLUMNS"] = "100"  # argparse wraps help at the terminal's width; fix it for a stable page
    parts = [("hdmf-ai", "", _help())] + [(f"hdmf-ai {c.name}", c.help, _help(c.name)) for c in COMMANDS]
    lines = []
    for title, summary, text in parts:
        label = title.replace(" ", "-")
        lines += [f".. _cli-{label}:", "", f"``{title}``", "-" * (len(title) + 4), ""]
        if summary:
            lines += [summary[0].upper() + summary[1:] + ".", ""]
        lines += [".. code-block:: text", ""] + [f"   {line}".rstrip() for line in text.splitlines()] + [""]
    return "\n".join(lines) + "\n"


# -- the tutorials' figures ---------------------------------------------------------------------------------

_SCRAPED: dict[str, set[int]] = {}


def figure_scraper(block: Any, block_vars: dict[str, Any], gallery_conf: dict[str, Any]) -> str:
    """Show the matplotlib Figures a tutorial block left in its variables.

    :mod:`hdmf_ai.plot` returns ``Figure`` objects that pyplot does not manage (so that a library never opens
    windows), which sphinx-gallery's own scraper cannot see; this one finds them among the example's
    globals, each once.
    """
    from matplotlib.figure import Figure
    from sphinx_gallery.scrapers import figure_rst

    seen = _SCRAPED.setdefault(str(block_vars["src_file"]), set())
    paths = []
    for value in list(block_vars["example_globals"].values()):
        if isinstance(value, Figure) and value.canvas.manager is None and id(value) not in seen:
            seen.add(id(value))
            path = next(block_vars["image_path_iterator"])
            value.savefig(path, dpi=110)
            paths.append(path)
    return figure_rst(paths, gallery_conf["src_dir"])


# -- links within the site ----------------------------------------------------------------------------------


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for key, value in attrs:
            if key in ("href", "src") and value:
                self.links.append(value)
            elif key in ("id", "name") and value:
                self.ids.add(value)


def broken_links(site: Path) -> list[str]:
    """Every relative link of the HTML pages under ``site`` whose file, or anchor in it, does not exist.

    Sphinx's ``linkcheck`` needs the network; links within the site need only the files.
    """
    pages: dict[Path, _Links] = {}
    for page in sorted(site.rglob("*.html")):
        if "_static" in page.relative_to(site).parts:
            continue  # the theme's templates, copied as they are; not pages
        parser = _Links()
        parser.feed(page.read_text(encoding="utf-8"))
        pages[page.resolve()] = parser
    problems = []
    for page, parser in pages.items():
        for link in parser.links:
            parts = urlsplit(link)
            if parts.scheme or parts.netloc:
                continue  # another site, a mail address or inline data
            target = (page.parent / unquote(parts.path)).resolve() if parts.path else page
            if target.is_dir():
                target = target / "index.html"
            if not target.exists():
                problems.append(f"{page.relative_to(site.resolve())}: {link} (no such file)")
            elif parts.fragment and target.suffix == ".html" and unquote(parts.fragment) not in pages[target].ids:
                problems.append(f"{page.relative_to(site.resolve())}: {link} (no such anchor)")
    return problems


def _check_links(app: Any, error: Exception | None) -> None:
    if error is None and app.builder.format == "html":
        from sphinx.util import logging

        for problem in broken_links(Path(app.outdir)):
            logging.getLogger(__name__).warning("broken link within the site: %s", problem)


# -- class signatures ----------------------------------------------------------------------------------------


class _Annotation:
    """An annotation written as text (``from __future__ import annotations``), shown as written."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text


def _class_signature(
    app: Any, what: str, name: str, obj: Any, options: Any, signature: str | None, return_annotation: str | None
) -> tuple[str, str | None] | None:
    """The keyword signature of hdmf containers, whose ``__init__`` hdmf wraps as ``(*args, **kwargs)``.

    The classes publish their real signature (``inspect.signature`` finds it); autodoc looks at ``__init__``.
    """
    if what != "class" or signature not in (None, "(*args, **kwargs)"):
        return None
    try:
        real = inspect.signature(obj)
    except (TypeError, ValueError):
        return None
    shown = [
        p.replace(annotation=_Annotation(p.annotation)) if isinstance(p.annotation, str) else p
        for p in real.parameters.values()
    ]
    return str(real.replace(parameters=shown, return_annotation=inspect.Signature.empty)), return_annotation


# -- Sphinx --------------------------------------------------------------------------------------------------


def _write_if_changed(path: Path, text: str) -> None:
    # unchanged pages keep their time stamp, so Sphinx does not rebuild them every time
    if not path.exists() or path.read_text() != text:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def generate(app: Any = None) -> None:
    """Write the generated pages and the overview figure (Sphinx's ``builder-inited``)."""
    _write_if_changed(DOCS / "format" / "_generated" / "types.rst", render_types())
    _write_if_changed(DOCS / "cli" / "_generated" / "commands.rst", render_cli())
    svg = DOCS / "format" / "_generated" / "overview.svg"
    draw_overview(svg)


def setup(app: Any) -> dict[str, Any]:
    app.connect("builder-inited", generate)
    app.connect("build-finished", _check_links)
    app.connect("autodoc-process-signature", _class_signature)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
