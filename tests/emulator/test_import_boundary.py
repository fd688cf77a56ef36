"""The emulator is the oracle the audit is tested against: it never imports audit code.

An emulator module may import the standard library, third-party packages,
``bedrock_key_audit.emulator.*`` and the neutral leaf modules below (which themselves import
only the standard library).  Lazy imports inside functions count too (``ast.walk``).
"""
from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

import bedrock_key_audit
import bedrock_key_audit.emulator

PACKAGE = "bedrock_key_audit"
EMULATOR = "bedrock_key_audit.emulator"
# Neutral leaves: standard library only, shared by the audit and the emulator.
NEUTRAL_LEAVES = ("bedrock_key_audit.redaction", "bedrock_key_audit.guard")
# The project's own top-level names: importing them from the emulator is never "third-party".
OWN_TOP_LEVEL = {PACKAGE, "fixtures", "checks", "tests", "conftest"}
ROOT = Path(bedrock_key_audit.__file__).parent


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(source: str, module: str, is_package: bool) -> list[str]:
    """Every module ``source`` (the text of ``module``) imports, relative imports resolved.

    ``from a import b`` yields ``a.b`` (b may be a submodule), which is what the rules judge.
    """
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".")
                if not is_package:
                    anchor = anchor[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            found += [f"{base}.{alias.name}" if alias.name != "*" else base for alias in node.names]
    return found


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def emulator_may_import(name: str) -> bool:
    top = name.split(".", 1)[0]
    if top not in OWN_TOP_LEVEL:
        return True  # standard library or third-party
    return any(_within(name, allowed) for allowed in (EMULATOR, *NEUTRAL_LEAVES))


def leaf_may_import(name: str, leaf: str) -> bool:
    top = name.split(".", 1)[0]
    return _within(name, leaf) or (top in sys.stdlib_module_names and top != PACKAGE)


def _sources(root: Path) -> list[Path]:
    return sorted(root.rglob("*.py")) if root.is_dir() else [root]


def _leaf_path(leaf: str) -> Path:
    rel = Path(*leaf.split(".")[1:])
    return ROOT / rel if (ROOT / rel).is_dir() else ROOT / rel.with_suffix(".py")


@pytest.mark.parametrize("name, allowed", [
    ("json", True), ("moto.iam.models", True), ("werkzeug.serving", True),
    ("bedrock_key_audit.emulator.clock", True), ("bedrock_key_audit.emulator.bedrock.models.Ctx", True),
    ("bedrock_key_audit.redaction.redact_text", True), ("bedrock_key_audit.guard", True),
    ("bedrock_key_audit.config.GUIDE_ACTIONS", False), ("bedrock_key_audit.checkcore.CouldNotDecide", False),
    ("bedrock_key_audit.policy", False), ("bedrock_key_audit.emulatorx", False), ("fixtures.config", False),
    ("checks.test_secret", False),
])
def test_the_rule(name: str, allowed: bool) -> None:
    assert emulator_may_import(name) is allowed


def test_relative_imports_are_resolved() -> None:
    src = "from ..jsonable import to_jsonable\nfrom . import clock\nfrom .models import Ctx\n"
    assert imported_modules(src, "bedrock_key_audit.emulator.bedrock", is_package=True) == [
        "bedrock_key_audit.emulator.jsonable.to_jsonable", "bedrock_key_audit.emulator.bedrock.clock",
        "bedrock_key_audit.emulator.bedrock.models.Ctx"]
    assert imported_modules(src, "bedrock_key_audit.emulator.server", is_package=False)[0] == \
        "bedrock_key_audit.jsonable.to_jsonable"


def test_emulator_never_imports_audit_code() -> None:
    root = Path(bedrock_key_audit.emulator.__file__).parent
    bad = []
    for path in _sources(root):
        module = _module_name(path)
        for name in imported_modules(path.read_text(encoding="utf-8"), module, path.name == "__init__.py"):
            if not emulator_may_import(name):
                bad.append(f"{path.relative_to(ROOT.parent)} imports {name}")
    assert len(_sources(root)) > 10  # the walk saw the emulator
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("leaf", NEUTRAL_LEAVES)
def test_neutral_leaves_import_only_the_standard_library(leaf: str) -> None:
    bad = []
    paths = _sources(_leaf_path(leaf))
    assert paths and all(p.exists() for p in paths)
    for path in paths:
        module = _module_name(path)
        for name in imported_modules(path.read_text(encoding="utf-8"), module, path.name == "__init__.py"):
            if not leaf_may_import(name, leaf):
                bad.append(f"{path.relative_to(ROOT.parent)} imports {name}")
    assert not bad, "\n".join(bad)


def test_the_emulators_copy_of_the_guide_policy_is_the_audits() -> None:
    """Both copy the setup guide's custom policy (Step 2); a test may import both sides."""
    from bedrock_key_audit.emulator import scenarios
    from bedrock_key_audit import config

    assert scenarios.GUIDE_ACTIONS == config.GUIDE_ACTIONS
