"""Rewrite imports after modules or names moved: ``python scripts/rewrite_moves.py [--moves FILE] PATH...``.

FILE (default scripts/moves-23.txt) holds one move a line, ``old.dotted.path -> new.dotted.path``: a whole
module (``bedrock_key_audit.redact -> bedrock_key_audit.redaction``) or one name of a module
(``bedrock_key_audit.fixtures.checks.CouldNotDecide -> bedrock_key_audit.checkcore.CouldNotDecide``).
Each ``from OLD import a, b as c`` statement is regrouped by the names' new homes (one statement per module,
same indentation); every other dotted mention (``import OLD``, ``monkeypatch.setattr("OLD.name", …)``, a
docstring) is replaced textually.  A directory argument is walked for ``*.py``, ``*.md`` and ``*.txt`` files.
"""
from __future__ import annotations

import argparse
import ast
import importlib.util
import re
import sys
from pathlib import Path


def load_moves(path: Path) -> tuple[dict[str, str], dict[tuple[str, str], tuple[str, str]]]:
    """(module moves old -> new, name moves (old module, name) -> (new module, new name))."""
    modules: dict[str, str] = {}
    names: dict[tuple[str, str], tuple[str, str]] = {}
    raw = [ln.split("->") for ln in path.read_text().splitlines() if "->" in ln and not ln.lstrip().startswith("#")]
    pairs = [(a.strip(), b.strip()) for a, b in raw]
    for old, new in pairs:
        if _is_module(new):
            modules[old] = new
        else:
            o_mod, _, o_name = old.rpartition(".")
            n_mod, _, n_name = new.rpartition(".")
            names[(o_mod, o_name)] = (n_mod, n_name)
    return modules, names


def _is_module(dotted: str) -> bool:
    """Whether ``dotted`` names a module (its destination exists as one), not a name inside a module."""
    try:
        return importlib.util.find_spec(dotted) is not None
    except (ImportError, ValueError, AttributeError):
        return False


def rewrite_source(text: str, modules: dict[str, str], names: dict[tuple[str, str], tuple[str, str]]) -> str:
    try:
        tree = ast.parse(text)
    except SyntaxError:
        tree = None
    lines = text.splitlines(keepends=True)
    edits: list[tuple[int, int, str]] = []
    name_sources = {m for m, _ in names}
    if tree is not None:
        for node in ast.walk(tree):
            if not (isinstance(node, ast.ImportFrom) and node.level == 0 and node.module):
                continue
            mod = node.module
            if mod not in name_sources and mod not in modules and not any(f"{mod}.{a.name}" in modules
                                                                           for a in node.names):
                continue
            groups: dict[str, list[str]] = {}
            for a in node.names:
                if f"{mod}.{a.name}" in modules:  # ``from package import module`` of a moved module
                    target_mod, _, target_name = modules[f"{mod}.{a.name}"].rpartition(".")
                else:
                    target_mod, target_name = names.get((mod, a.name), (modules.get(mod, mod), a.name))
                alias = a.asname if a.asname else (a.name if target_name != a.name else None)
                groups.setdefault(target_mod, []).append(
                    target_name + (f" as {alias}" if alias and alias != target_name else ""))
            first, last = node.lineno - 1, (node.end_lineno or node.lineno) - 1
            original = "".join(lines[first:last + 1])
            indent = " " * node.col_offset
            comment = ""
            m = re.search(r"#.*$", lines[last].rstrip("\n"))
            if m and "#" not in original.split("import", 1)[0]:
                comment = "  " + m.group(0)
            prefix = lines[first][:node.col_offset]
            out = []
            for i, (target, ns) in enumerate(groups.items()):
                stmt = f"from {target} import {', '.join(ns)}"
                if len(indent) + len(stmt) > 120:
                    stmt = f"from {target} import (\n" + "".join(f"{indent}    {n},\n" for n in ns) + f"{indent})"
                out.append((prefix if i == 0 else indent) + stmt + (comment if i == 0 else "") + "\n")
            edits.append((first, last, "".join(out)))
    for first, last, new in sorted(edits, reverse=True):
        lines[first:last + 1] = [new]
    text = "".join(lines)
    for (o_mod, o_name), (n_mod, n_name) in names.items():
        text = re.sub(rf"(?<![\w.]){re.escape(o_mod + '.' + o_name)}(?!\w)", f"{n_mod}.{n_name}", text)
    for old, new in sorted(modules.items(), key=lambda kv: -len(kv[0])):
        text = re.sub(rf"(?<![\w.]){re.escape(old)}(?![\w])", new, text)
    return text


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--moves", type=Path, default=Path(__file__).with_name("moves-23.txt"))
    ap.add_argument("paths", nargs="+", type=Path)
    args = ap.parse_args(argv)
    modules, names = load_moves(args.moves)
    files: list[Path] = []
    for p in args.paths:
        if p.is_dir():
            files += [f for ext in ("py", "md", "txt") for f in p.rglob(f"*.{ext}")
                      if ".venv" not in f.parts and "build" not in f.parts
                      and f.resolve() not in (args.moves.resolve(), Path(__file__).resolve())]
        else:
            files.append(p)
    changed = 0
    for f in sorted(set(files)):
        before = f.read_text()
        after = rewrite_source(before, modules, names) if f.suffix == ".py" else _rewrite_text(before, modules, names)
        if after != before:
            f.write_text(after)
            changed += 1
            print(f"rewrote {f}")
    print(f"{changed} files rewritten", file=sys.stderr)
    return 0


def _rewrite_text(text: str, modules: dict[str, str], names: dict[tuple[str, str], tuple[str, str]]) -> str:
    return rewrite_source("\x00" + text, modules, names)[1:] if text else text


if __name__ == "__main__":
    sys.exit(main())
