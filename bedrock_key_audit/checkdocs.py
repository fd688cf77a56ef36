"""The docs' per-check tables, generated from the checks' metadata (``checks/metadata/<id>.json``):
README.md's check table (``asserts``, ``severity``, ``severity_note``) and docs/remediation.md's
fixer table (``remediation.steps``, ``remediation.destructive_text``).

``scripts/gen-docs`` (``python -m bedrock_key_audit.checkdocs``) rewrites each table between its
markers; ``tests/unit/test_registry.py`` fails while a committed table is not the generated one.  Rows follow the families' order in the metadata schema, and within a family the
order the verdicts are declared in (``@verdict``); consecutive checks of one family that assert
the same text share a row (``cloudtrail.logging`` / ``.multi_region``).
"""
from __future__ import annotations

import importlib
import json
import pkgutil
import sys
from pathlib import Path
from typing import Any

from bedrock_key_audit import registry, resources
from bedrock_key_audit.checkcore import VERDICTS

BEGIN = "<!-- check table: generated from checks/metadata by scripts/gen-docs; edit the metadata, not this table -->"
END = "<!-- end of check table -->"
FIX_BEGIN = "<!-- fixer table: generated from checks/metadata by scripts/gen-docs; edit the metadata, not this table -->"
FIX_END = "<!-- end of fixer table -->"


def _families() -> list[str]:
    schema = json.loads(resources.schema("check-metadata.schema.json").read_text())
    return list(schema["properties"]["family"]["enum"])


def ordered_ids() -> list[str]:
    """Every check id in the table's order."""
    import bedrock_key_audit.verdicts as verdicts_pkg
    for info in pkgutil.iter_modules(verdicts_pkg.__path__):
        importlib.import_module(f"{verdicts_pkg.__name__}.{info.name}")
    families = _families()
    meta = registry.metadata()

    def key(cid: str) -> tuple[Any, ...]:
        family = meta[cid]["family"]
        decl = VERDICTS.get(cid)
        module = decl.module.rsplit(".", 1)[1] if decl else "~"
        line = decl.fn.__code__.co_firstlineno if decl else 0
        return families.index(family), module != family, module, line, cid
    return sorted(meta, key=key)


def check_table() -> str:
    """The table, header included, one line per row, ending in a newline."""
    meta = registry.metadata()
    groups: list[list[str]] = []
    for cid in ordered_ids():
        last = groups[-1][-1] if groups else None
        if last and meta[last]["family"] == meta[cid]["family"] and meta[last]["asserts"] == meta[cid]["asserts"] \
                and "severity_note" not in meta[cid] and "severity_note" not in meta[last]:
            groups[-1].append(cid)
        else:
            groups.append([cid])
    lines = ["| id | what it asserts | severity |", "|---|---|---|"]
    for group in groups:
        first = meta[group[0]]
        ids = " / ".join([f"`{group[0]}`", *(f"`.{cid.split('.', 1)[1]}`" for cid in group[1:])])
        severities = list(dict.fromkeys(meta[cid]["severity"] for cid in group))
        severity = "/".join(severities) + (f" ({first['severity_note']})" if "severity_note" in first else "")
        lines.append(f"| {ids} | {first['asserts']} | {severity} |")
    return "\n".join(lines) + "\n"


def fixer_table() -> str:
    """docs/remediation.md's table: checks whose fixers do the same share a row (in table order)."""
    meta = registry.metadata()
    groups: dict[tuple[str, str], list[str]] = {}
    for cid in ordered_ids():
        r = meta[cid]["remediation"]
        groups.setdefault((r["steps"], r["destructive_text"]), []).append(cid)
    lines = ["| check id | step(s) | destructive |", "|---|---|---|"]
    for (steps, destructive), ids in groups.items():
        lines.append(f"| {', '.join(f'`{cid}`' for cid in ids)} | {steps} | {destructive} |")
    return "\n".join(lines) + "\n"


def _between(text: str, begin: str, end: str, table: str) -> str:
    head, rest = text.split(begin + "\n", 1)
    _, tail = rest.split(end, 1)
    return head + begin + "\n" + table + end + tail


def readme_with_table(text: str) -> str:
    """``text`` (README.md) with the generated check table between its markers."""
    return _between(text, BEGIN, END, check_table())


def remediation_doc_with_table(text: str) -> str:
    """``text`` (docs/remediation.md) with the generated fixer table between its markers."""
    return _between(text, FIX_BEGIN, FIX_END, fixer_table())


def main(argv: list[str] | None = None) -> int:
    """Rewrite README.md's check table in the source checkout; ``--check``: exit 1 when it is not current."""
    args = sys.argv[1:] if argv is None else argv
    root = resources.source_root()
    if root is None:
        print("the README's table is generated in the source checkout", file=sys.stderr)
        return 2
    stale = 0
    for name, make in (("README.md", readme_with_table), ("docs/remediation.md", remediation_doc_with_table)):
        path = Path(root) / name
        text = path.read_text(encoding="utf-8")
        new = make(text)
        if new == text:
            continue
        if "--check" in args:
            print(f"{name}'s generated table is not current: run scripts/gen-docs", file=sys.stderr)
            stale = 1
        else:
            path.write_text(new, encoding="utf-8")
            print(f"{name}: table regenerated")
    return stale


if __name__ == "__main__":
    sys.exit(main())
