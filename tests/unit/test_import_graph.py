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
from pathlib import Path

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
    ("from bedrock_key_audit.clock import audit_now\n", False),
    ("x = 'bedrock_key_audit.emulators_are_fine'\n", False),
])
def test_the_check_catches_each_form(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: str, caught: bool) -> None:
    """The detector itself: a module under bedrock_key_audit/remediation/ written each way."""
    fake = ROOT / "bedrock_key_audit" / "remediation" / "_probe_import_graph.py"
    monkeypatch.setattr(Path, "read_text", lambda self, *a, **k: source if self == fake else Path.read_bytes(self).decode())
    assert bool(offending(fake)) is caught
