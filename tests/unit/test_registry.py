"""One registry (bedrock_key_audit/registry.py): checks, verdicts, fixers and docs agree with checks/metadata/.

Fast: imports the check modules and reads their marks; no pytest run, no emulator.
"""
from __future__ import annotations

import importlib
import itertools
import re
from collections.abc import Callable
from typing import Any

import pytest

from bedrock_key_audit import registry, resources
from bedrock_key_audit.remediation import fixers as _fixers  # noqa: F401 -- registers every fixer
from bedrock_key_audit.remediation.core import FIXERS

ROOT = resources.source_root()


def marked_checks() -> dict[str, list[Callable[..., Any]]]:
    """``{check id: [functions marked @pytest.mark.check(id)]}`` over every checks/test_*.py."""
    found: dict[str, list[Callable[..., Any]]] = {}
    for path in sorted(resources.checks_dir().glob("test_*.py")):
        module = importlib.import_module(f"bedrock_key_audit.checks.{path.stem}")
        for fn in vars(module).values():
            for mark in getattr(fn, "pytestmark", []) if callable(fn) else []:
                if mark.name == "check":
                    found.setdefault(mark.args[0], []).append(fn)
    return found


def rows_of_marks(check_id: str, fn: Callable[..., Any]) -> list[str]:
    """The row ids pytest makes of ``fn`` from its parametrize marks (as tests/audit/helpers.row_id names them)."""
    axes = []
    for mark in reversed(getattr(fn, "pytestmark", [])):  # decorator order: the innermost mark comes first
        if mark.name == "parametrize":
            names, values = mark.args[0], mark.args[1]
            assert isinstance(names, str) and "," not in names, "one parameter per parametrize mark"
            axes.append([str(v) for v in values])
    return [check_id + (f"[{','.join(combo)}]" if combo else "") for combo in itertools.product(*axes)]


def test_counts() -> None:
    assert len(registry.check_ids()) == len(set(registry.check_ids())) == len(list(resources.metadata_dir().glob("*.json")))
    assert registry.row_count() == len(set(registry.row_ids())) >= len(registry.check_ids())


def test_every_metadata_id_has_exactly_one_marked_check() -> None:
    found = marked_checks()
    assert sorted(found) == sorted(registry.check_ids()), "marked checks without metadata, or metadata without a check"
    twice = {cid: [f.__name__ for f in fns] for cid, fns in found.items() if len(fns) != 1}
    assert not twice, f"check ids marked on more than one function: {twice}"


def test_each_checks_rows_are_its_metadata_params() -> None:
    found = marked_checks()
    for cid in registry.check_ids():
        (fn,) = found[cid]
        assert rows_of_marks(cid, fn) == [r.id for r in registry.rows_of(cid)], cid


def test_each_check_id_has_its_verdict_function() -> None:
    """``family.name`` is judged by ``bedrock_key_audit.verdicts.family.name`` (one hop from the check)."""
    for cid in registry.check_ids():
        family, name = cid.split(".", 1)
        module = importlib.import_module(f"bedrock_key_audit.verdicts.{family}")
        assert callable(getattr(module, name, None)), f"{cid}: no verdict function verdicts.{family}.{name}"


def test_each_check_id_has_exactly_one_declared_verdict() -> None:
    """``@verdict(id)`` in bedrock_key_audit/verdicts/ is every check's home; checks/test_<module>.py exists for it."""
    marked_checks()  # imports every checks/ module, and with them every verdict module
    from bedrock_key_audit.checkcore import VERDICTS
    assert sorted(VERDICTS) == sorted(registry.check_ids())
    for cid, decl in VERDICTS.items():
        module = decl.module.rsplit(".", 1)[1]
        assert resources.checks_dir().joinpath(f"test_{module}.py").is_file(), f"{cid}: no checks/test_{module}.py"


def test_every_fixer_names_a_real_check_id() -> None:
    assert FIXERS and set(FIXERS) <= set(registry.check_ids()), sorted(set(FIXERS) - set(registry.check_ids()))


def test_every_fixer_the_metadata_names_is_registered() -> None:
    named = {cid: m["remediation"].get("fixer") for cid, m in registry.metadata().items()}
    assert {cid: f for cid, f in named.items() if f is not None and f not in FIXERS} == {}


def readme_check_table() -> dict[str, str]:
    """``{check id: severity cell}`` of the README's "The checks" table; ``a.b`` / ``.c`` cells name ``a.b`` and ``a.c``."""
    assert ROOT is not None, "the README is checked from the source checkout"
    text = (ROOT / "README.md").read_text()
    section = text.split("## The checks", 1)[1].split("\n## ", 1)[0]
    table: dict[str, str] = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 3 or not cells[0].startswith("`"):
            continue
        family = ""
        for ref in re.findall(r"`([a-z_.]+)`", cells[0]):
            if ref.startswith("."):
                ref = family + ref
            family = ref.split(".", 1)[0]
            table[ref] = cells[-1]
    return table


def test_readme_check_table_lists_exactly_the_registry() -> None:
    table = readme_check_table()
    assert sorted(table) == sorted(registry.check_ids())
    for cid, cell in table.items():
        assert registry.metadata()[cid]["severity"] in re.findall(r"[a-z]+", cell), (cid, cell)


@pytest.mark.parametrize("doc", ["README.md", *sorted(p.name for p in (resources.source_root() or resources.checks_dir()).joinpath("docs").glob("*.md"))])
def test_docs_quote_the_registry_counts(doc: str) -> None:
    """A number of rows or checks written in the docs is the registry's."""
    assert ROOT is not None
    path = ROOT / doc if doc == "README.md" else ROOT / "docs" / doc
    text = path.read_text()
    for n in re.findall(r"\b(\d+) rows\b", text):
        assert int(n) == registry.row_count(), f"{doc} says {n} rows; the registry has {registry.row_count()}"
    for n in re.findall(r"\b(\d+) (?:checks|check ids)\b", text):
        assert int(n) == len(registry.check_ids()), f"{doc} says {n} checks; the registry has {len(registry.check_ids())}"


def test_invalid_metadata_is_one_line_naming_the_file(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "iam.user_exists.json").write_text('{"id": "iam.other"}')
    monkeypatch.setattr(resources, "metadata_dir", lambda: tmp_path)
    registry._load.cache_clear()
    try:
        with pytest.raises(registry.MetadataError, match=r"^iam.user_exists.json: 'title' is a required property$"):
            registry.metadata()
    finally:
        monkeypatch.undo()
        registry._load.cache_clear()
    assert "iam.user_exists" in registry.check_ids()


def test_readme_check_table_is_generated_from_the_metadata() -> None:
    """The committed table is what ``scripts/gen-docs`` makes of checks/metadata/ (run it after editing one)."""
    from bedrock_key_audit import checkdocs
    assert ROOT is not None
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert checkdocs.readme_with_table(text) == text, "README.md's check table is not current: run scripts/gen-docs"


def test_remediation_fixer_table_is_generated_from_the_metadata() -> None:
    """docs/remediation.md's "What each fixer does" is what ``scripts/gen-docs`` makes of checks/metadata/."""
    from bedrock_key_audit import checkdocs
    assert ROOT is not None
    text = (ROOT / "docs" / "remediation.md").read_text(encoding="utf-8")
    assert checkdocs.remediation_doc_with_table(text) == text, "docs/remediation.md's table is not current: run scripts/gen-docs"
