"""The documentation's generated pages agree with what they document (no Sphinx build needed).

The specification page is rendered from the schema YAML by ``docs/_ext/hdmf_ai_docs.py`` at build time; these
tests render it the same way and compare it with the YAML read independently here. The link check runs on a
built site (``make docs``) when there is one.
"""

import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = ROOT / "hdmf_ai" / "schema"
SITE = ROOT / "docs" / "_build" / "html"


@pytest.fixture(scope="module")
def docs_ext() -> ModuleType:
    spec = importlib.util.spec_from_file_location("hdmf_ai_docs", ROOT / "docs" / "_ext" / "hdmf_ai_docs.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _defined_types(spec: Any) -> list[str]:
    """Every data_type_def in a schema file, nested ones included."""
    if isinstance(spec, dict):
        own = [spec["data_type_def"]] if "data_type_def" in spec else []
        return own + [name for value in spec.values() for name in _defined_types(value)]
    if isinstance(spec, list):
        return [name for item in spec for name in _defined_types(item)]
    return []


def _yaml_types() -> list[str]:
    yaml = YAML(typ="safe")
    files = [p for p in sorted(SCHEMA.glob("*.yaml")) if not p.name.endswith("namespace.yaml")]
    return [name for path in files for name in _defined_types(yaml.load(path.read_text()))]


def test_specification_lists_every_type_of_the_schema(docs_ext: ModuleType) -> None:
    listed = docs_ext.type_names_in(docs_ext.render_types())
    assert sorted(listed) == sorted(_yaml_types())
    assert len(listed) == len(set(listed))


def test_specification_names_every_attribute_and_column(docs_ext: ModuleType) -> None:
    rst = docs_ext.render_types()
    sections = dict(zip(docs_ext.type_names_in(rst), rst.split(".. _spec-")[1:], strict=True))
    _, types = docs_ext.load_schema()
    for spec in types:
        section = sections[spec["data_type_def"]]
        for field in spec.get("attributes", []) + spec.get("datasets", []):
            assert f"``{field['name']}``" in section, (spec["data_type_def"], field["name"])


def test_specification_states_the_namespace_version(docs_ext: ModuleType) -> None:
    version = YAML(typ="safe").load((SCHEMA / "namespace.yaml").read_text())["namespaces"][0]["version"]
    assert f"version **{version}**" in docs_ext.render_types()


def test_cli_reference_has_every_command(docs_ext: ModuleType) -> None:
    from hdmf_ai.cli import COMMANDS

    rst = docs_ext.render_cli()
    for command in COMMANDS:
        assert f".. _cli-hdmf-ai-{command.name}:" in rst
        assert f"usage: hdmf-ai {command.name}" in rst


def test_link_check_finds_a_missing_page_and_a_missing_anchor(docs_ext: ModuleType, tmp_path: Path) -> None:
    (tmp_path / "a.html").write_text('<a href="b.html#here">b</a><a href="#top">top</a><p id="top"></p>')
    (tmp_path / "b.html").write_text('<a href="c.html">c</a><a href="https://example.org/x.html">out</a>')
    assert docs_ext.broken_links(tmp_path) == ["a.html: b.html#here (no such anchor)", "b.html: c.html (no such file)"]


# the built site itself is checked by `make docs`, which fails on a broken relative link (conf.py)
