"""The fixers live in one module per family; the rotation and the names never import them (no cycle)."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import bedrock_key_audit.remediation.fixers as fixers_pkg
from bedrock_key_audit.remediation import names, rotation

FIXERS = "bedrock_key_audit.remediation.fixers"


def _imports(path: Path) -> set[str]:
    """Absolute modules a file imports, lazy (in-function) imports included; ``from a import b`` gives a and a.b."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            out |= {node.module} | {f"{node.module}.{a.name}" for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            out.add("." * node.level + (node.module or ""))
    return out


def test_rotation_and_names_import_no_fixer_module() -> None:
    for mod in (rotation, names):
        bad = sorted(i for i in _imports(Path(mod.__file__)) if i == FIXERS or i.startswith(FIXERS + ".")
                     or i.startswith("."))
        assert not bad, f"{mod.__name__} imports {bad}"


def test_rotation_alone_loads_no_fixer_module() -> None:
    code = ("import sys, bedrock_key_audit.remediation.rotation as r; "
            f"print(sorted(m for m in sys.modules if m.startswith({FIXERS!r})))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.strip() == "[]"


def test_every_module_in_the_fixers_folder_is_registered() -> None:
    """Importing the package imports every module in its folder: a fixer module dropped in is registered."""
    folder = Path(fixers_pkg.__file__).parent
    for path in sorted(folder.glob("*.py")):
        if path.stem != "__init__":
            assert f"{FIXERS}.{path.stem}" in sys.modules, f"{path.name} is never imported"
