"""The audit never imports the emulator (house rule: the emulator is the oracle the audit is tested against).

Every audit module -- the product package except ``bedrock_key_audit/emulator/``, the pytest wiring
under ``fixtures/`` except the emulator's own wiring ``fixtures/emulator/``, the checks and the
root conftest -- is parsed with :mod:`ast`; no ``import``/``from`` statement, and no string naming
a module (``importlib.import_module("...")``, ``pytest_plugins``), may name
``bedrock_key_audit.emulator`` or the emulator wiring.  Checking every audit module's direct imports
covers transitive ones: a path to the emulator has to leave the audit through one of them.
"""
from __future__ import annotations

import ast
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = ("bedrock_key_audit.emulator", "bedrock_key_audit.fixtures.emulator", "fixtures.emulator")
# registering the emulator's wiring as a pytest plugin by name (conftest's pytest_plugins, an entry
# point's list) is how --emulate is switched on; the audit's code still never calls into it
PLUGIN_NAMES = {"bedrock_key_audit.fixtures.emulator.plugin"}
# the emulator and the wiring that starts it (fixtures/emulator/plugin.py hands the audit its clock)
EXEMPT = (ROOT / "bedrock_key_audit" / "emulator", ROOT / "fixtures" / "emulator")


def audit_modules() -> list[Path]:
    files = [*(ROOT / "bedrock_key_audit").rglob("*.py"), *(ROOT / "fixtures").rglob("*.py"),
             *(ROOT / "checks").rglob("*.py"), ROOT / "conftest.py"]
    return sorted(f for f in files if not any(f.is_relative_to(e) for e in EXEMPT))


def package_of(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[0] == "fixtures":
        parts = ["bedrock_key_audit", *parts]
    return ".".join(parts[:-1])


def imported_names(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every import in ``path``, relative ones resolved, plus module-like string constants."""
    tree = ast.parse(path.read_text(), str(path))
    out: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                pkg = package_of(path).split(".")
                base = ".".join(pkg[: len(pkg) - node.level + 1] + ([base] if base else []))
            out += [(node.lineno, f"{base}.{a.name}") for a in node.names]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value not in PLUGIN_NAMES:
            out.append((node.lineno, node.value))
    return out


def offending(path: Path) -> list[str]:
    return [f"{path.relative_to(ROOT)}:{line} imports {name}" for line, name in imported_names(path)
            if any(name == f or name.startswith(f + ".") for f in FORBIDDEN)]


def test_the_audit_modules_are_found() -> None:
    names = {str(p.relative_to(ROOT)) for p in audit_modules()}
    assert {"fixtures/inventory.py", "bedrock_key_audit/inventory/reader.py", "checks/test_iam.py",
            "bedrock_key_audit/remediation/core.py"} <= names
    assert not any(n.startswith(("bedrock_key_audit/emulator/", "fixtures/emulator/")) for n in names)


def test_no_audit_module_imports_the_emulator() -> None:
    bad = [line for p in audit_modules() for line in offending(p)]
    assert not bad, "the audit must not import the emulator:\n" + "\n".join(bad)


@pytest.mark.parametrize("source, caught", [
    ("from bedrock_key_audit.emulator import clock\n", True),
    ("import bedrock_key_audit.emulator.server as s\n", True),
    ("def f():\n    from bedrock_key_audit.emulator.clock import now\n", True),
    ("import importlib\nimportlib.import_module('bedrock_key_audit.emulator.scenarios')\n", True),
    ("from ..emulator import clock\n", True),
    ("from bedrock_key_audit.fixtures.emulator.plugin import EMULATOR_KEY\n", True),
    ("pytest_plugins = ['bedrock_key_audit.fixtures.emulator.plugin']\n", False),
    ("from bedrock_key_audit.fixtures.clock import audit_now\n", False),
    ("x = 'bedrock_key_audit.emulators_are_fine'\n", False),
])
def test_the_check_catches_each_form(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: str, caught: bool) -> None:
    """The detector itself: a module under bedrock_key_audit/remediation/ written each way."""
    fake = ROOT / "bedrock_key_audit" / "remediation" / "_probe_import_graph.py"
    monkeypatch.setattr(Path, "read_text", lambda self, *a, **k: source if self == fake else Path.read_bytes(self).decode())
    assert bool(offending(fake)) is caught


# --- the pytest wiring stays in its place, and no module import cycle -------------------------------------------
#
# The product package is bedrock_key_audit/; the top-level directories pyproject's [tool.setuptools.package-dir]
# ships inside it (fixtures/ -> bedrock_key_audit.fixtures, checks/ -> bedrock_key_audit.checks) are walked under
# their installed names.  Every import statement counts, module-level or inside a function: a function-local import
# that breaks a cycle at run time still makes the two modules depend on each other.  For the pytest rule an import
# under ``if TYPE_CHECKING:`` counts too; for cycles it does not: it runs only under the type checker and names a
# type for an annotation (PEP 484's way for a module to name the type of a caller that imports it), so it adds no
# import-time or behavioural dependency.

WIRING = ("bedrock_key_audit.fixtures", "bedrock_key_audit.checks")
PYTEST_NAMES = ("pytest", "_pytest", "pluggy", "bedrock_key_audit.fixtures")


def _pyproject() -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    with open(ROOT / "pyproject.toml", "rb") as fh:
        data: dict[str, Any] = tomllib.load(fh)
    return data


def wiring_modules() -> tuple[str, ...]:
    """Modules allowed to import pytest: fixtures/, checks/, the pytest11 plugins and the console scripts' modules."""
    project = _pyproject()["project"]
    entry = [*project.get("entry-points", {}).get("pytest11", {}).values(), *project.get("scripts", {}).values()]
    return (*WIRING, *sorted({e.split(":")[0] for e in entry}))


def module_files() -> dict[str, tuple[Path, bool]]:
    """Dotted module name -> (file, is a package) for every module of the installed package."""
    dirs = {"bedrock_key_audit": ROOT / "bedrock_key_audit"}
    for name, where in _pyproject()["tool"]["setuptools"].get("package-dir", {}).items():
        if name.startswith("bedrock_key_audit."):
            dirs[name] = ROOT / where
    out: dict[str, tuple[Path, bool]] = {}
    for base, directory in dirs.items():
        for f in directory.rglob("*.py"):
            rel = f.relative_to(directory).with_suffix("").parts
            if any(p == "__pycache__" for p in rel):
                continue
            is_pkg = rel[-1] == "__init__"
            parts = rel[:-1] if is_pkg else rel
            name = ".".join([base, *parts])
            if base == "bedrock_key_audit" and any(name == d or name.startswith(d + ".") for d in dirs if d != base):
                continue
            out[name] = (f, is_pkg)
    return out


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    """ids of the nodes inside ``if TYPE_CHECKING:`` (or ``typing.TYPE_CHECKING``) blocks."""
    inside: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and ast.unparse(node.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING"):
            for stmt in node.body:
                inside |= {id(n) for n in ast.walk(stmt)}
    return inside


def imports_of(source: str, module: str, is_package: bool, known: set[str] | frozenset[str],
               type_checking: bool = True) -> set[str]:
    """Every module ``source`` imports, relative imports resolved; ``from p import n`` is ``p.n`` when that
    is a module of ``known``, else ``p``.  ``type_checking=False`` leaves out imports under ``if TYPE_CHECKING:``."""
    found: set[str] = set()
    anchor_base = module.split(".") if is_package else module.split(".")[:-1]
    tree = ast.parse(source)
    skip = set() if type_checking else _type_checking_nodes(tree)
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = anchor_base[: len(anchor_base) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            for a in node.names:
                sub = f"{base}.{a.name}"
                found.add(sub if sub in known else base)
        elif (isinstance(node, ast.Call) and isinstance(node.func, (ast.Attribute, ast.Name))
              and getattr(node.func, "attr", getattr(node.func, "id", None)) == "import_module"
              and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            found.add(node.args[0].value)
    return found


def import_graph() -> dict[str, set[str]]:
    """module -> the package's modules it imports (edges to outside modules are dropped)."""
    files = module_files()
    known = frozenset(files)
    graph: dict[str, set[str]] = {}
    for name, (path, is_pkg) in files.items():
        deps = imports_of(path.read_text(), name, is_pkg, known, type_checking=False)
        graph[name] = {k for k in (_known_prefix(d, known) for d in deps) if k is not None and k != name}
    return graph


def _known_prefix(name: str, known: frozenset[str]) -> str | None:
    parts = name.split(".")
    while parts:
        if ".".join(parts) in known:
            return ".".join(parts)
        parts.pop()
    return None


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    out: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work: list[tuple[str, list[str]]] = [(root, sorted(graph[root]))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, todo = work[-1]
            if todo:
                nxt = todo.pop()
                if nxt not in graph:
                    continue
                if nxt not in index:
                    index[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, sorted(graph[nxt])))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                comp = []
                while True:
                    m = stack.pop()
                    on_stack.discard(m)
                    comp.append(m)
                    if m == node:
                        break
                if len(comp) > 1:
                    out.append(sorted(comp))
    return sorted(out)


def pytest_importers() -> list[str]:
    """'module imports name' for every module outside the wiring that imports pytest or the wiring."""
    files = module_files()
    known = frozenset(files)
    allowed = wiring_modules()
    bad = []
    for name, (path, is_pkg) in sorted(files.items()):
        if any(name == w or name.startswith(w + ".") for w in allowed):
            continue
        for dep in sorted(imports_of(path.read_text(), name, is_pkg, known)):
            if any(dep == p or dep.startswith(p + ".") for p in PYTEST_NAMES):
                bad.append(f"{name} imports {dep}")
    return bad


def test_the_module_walk_finds_the_installed_layout() -> None:
    files = module_files()
    assert {"bedrock_key_audit.fixtures.checks", "bedrock_key_audit.checks.test_iam", "bedrock_key_audit.plugin",
            "bedrock_key_audit.emulator.scenarios", "bedrock_key_audit.inventory"} <= set(files)
    assert "bedrock_key_audit.cli" in wiring_modules() and "bedrock_key_audit.plugin" in wiring_modules()


def test_no_product_module_imports_pytest_or_the_wiring() -> None:
    bad = pytest_importers()
    assert not bad, "only fixtures/, checks/, the pytest11 plugin and the console script may import pytest:\n" + \
        "\n".join(bad)


def test_no_import_cycle() -> None:
    found = cycles(import_graph())
    assert found == [], "import cycles (each line one strongly connected component):\n" + \
        "\n".join(" <-> ".join(c) for c in found)


@pytest.mark.parametrize("source, module, is_pkg, expected", [
    ("import pytest\n", "bedrock_key_audit.x", False, {"pytest"}),
    ("def f():\n    from .b import c\n", "bedrock_key_audit.a", False, {"bedrock_key_audit.b"}),
    ("from . import b\n", "bedrock_key_audit.a", False, {"bedrock_key_audit.b"}),
    ("from .. import b\n", "bedrock_key_audit.p.a", False, {"bedrock_key_audit.b"}),
    ("from .m import name\n", "bedrock_key_audit.p", True, {"bedrock_key_audit.p.m"}),
    ("from bedrock_key_audit import name_not_module\n", "bedrock_key_audit.a", False, {"bedrock_key_audit"}),
    ("import importlib\nimportlib.import_module('bedrock_key_audit.b')\n", "bedrock_key_audit.a", False,
     {"importlib", "bedrock_key_audit.b"}),
])
def test_imports_are_resolved(source: str, module: str, is_pkg: bool, expected: set[str]) -> None:
    assert imports_of(source, module, is_pkg, {"bedrock_key_audit.b", "bedrock_key_audit.p.m"}) == expected


def test_type_checking_imports_count_for_the_pytest_rule_and_not_for_cycles() -> None:
    src = "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import pytest\n    from .b import X\n"
    assert {"pytest", "bedrock_key_audit.b"} <= imports_of(src, "bedrock_key_audit.a", False, {"bedrock_key_audit.b"})
    assert imports_of(src, "bedrock_key_audit.a", False, {"bedrock_key_audit.b"}, type_checking=False) == {"typing"}


def test_cycles_finds_a_three_module_loop_and_not_a_chain() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": {"c"}, "c": set()}) == []
