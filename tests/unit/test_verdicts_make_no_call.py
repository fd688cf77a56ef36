"""Verdict modules make no AWS or HTTP call: they judge the data handed to them.

A verdict module (``bedrock_key_audit/verdicts/*.py`` and the verdict helpers ``access.py``, ``policy.py``,
``iam_verdicts.py``, ``trails.py``, ``usage.py``) gets its data from the ``inventory`` argument's methods or
as plain data; it imports no AWS SDK or HTTP client and no read module, directly or through the modules it
imports (those may read botocore's bundled endpoint data: :data:`BOTOCORE_DATA`).  Each module is parsed with :mod:`ast`; every ``import``/``from`` counts, module-level or inside a
function, except those under ``if TYPE_CHECKING:`` (they name a type for an annotation and run only
under the type checker).  The closure follows the product package's own modules (a package's
``__init__`` included).
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PKG = ROOT / "bedrock_key_audit"

VERDICT_MODULES = (
    *sorted("bedrock_key_audit.verdicts" + ("" if p.stem == "__init__" else f".{p.stem}")
            for p in (PKG / "verdicts").glob("*.py")),
    "bedrock_key_audit.access", "bedrock_key_audit.policy", "bedrock_key_audit.iam_verdicts",
    "bedrock_key_audit.trails", "bedrock_key_audit.usage",
)
#: the AWS SDK, HTTP clients, and the modules that read AWS (the audit's client layer and its readers)
FORBIDDEN = (
    "boto3", "botocore", "httpx", "requests", "urllib3",
    "bedrock_key_audit.aws", "bedrock_key_audit.aws_call",
    *(f"bedrock_key_audit.inventory.{m}" for m in ("reader", "access", "traces", "usage", "org", "bulk",
                                                    "probes", "gather")),
)
#: botocore's bundled data (the endpoint and partition files: which Regions offer a service) and its version, which
#: the pure helpers a verdict uses read offline (inventory/keys.py, config.py); a verdict module itself imports no
#: botocore
BOTOCORE_DATA = ("botocore.loaders", "botocore.regions")


def _file_of(module: str) -> Path | None:
    parts = module.split(".")
    if parts[0] != "bedrock_key_audit":
        return None
    base = PKG.joinpath(*parts[1:])
    for f in (base.with_suffix(".py"), base / "__init__.py"):
        if f.is_file():
            return f
    return None


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def imports_of(source: str, module: str) -> list[tuple[int, str]]:
    """(line, dotted name) of every import in ``source`` outside ``if TYPE_CHECKING:``; ``from a import b``
    gives ``a.b`` (a module or a name in ``a``), relative imports resolved against ``module``."""
    tree = ast.parse(source)
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            skipped |= {id(n) for stmt in node.body for n in ast.walk(stmt)}
    out: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                pkg = module.split(".")[:-1]
                pkg = pkg[: len(pkg) - node.level + 1]
                base = ".".join([*pkg, *([base] if base else [])])
            out += [(node.lineno, f"{base}.{a.name}") for a in node.names]
    return out


def _resolve(name: str) -> list[str]:
    """The product modules importing ``name`` runs: the longest prefix that is a module, and its packages."""
    parts = name.split(".")
    mods = [".".join(parts[:i]) for i in range(1, len(parts) + 1) if _file_of(".".join(parts[:i]))]
    return mods


def _forbidden(name: str, direct: bool = True) -> bool:
    if not direct and (name == "botocore" or any(name == d or name.startswith(d + ".") for d in BOTOCORE_DATA)):
        return False
    return any(name == f or name.startswith(f + ".") for f in FORBIDDEN)


def reaches(start: str) -> list[str]:
    """The import chains from ``start`` to a forbidden module (empty: none)."""
    seen = {start}
    stack: list[tuple[str, list[str]]] = [(start, [start])]
    bad: list[str] = []
    while stack:
        module, chain = stack.pop()
        f = _file_of(module)
        if f is None:
            continue
        for line, name in imports_of(f.read_text(), module if f.name != "__init__.py" else module + ".__init__"):
            if _forbidden(name, direct=module == start):
                bad.append(" -> ".join(chain) + f" -> {name} ({f.relative_to(ROOT)}:{line})")
                continue
            for m in _resolve(name):
                if _forbidden(m):
                    bad.append(" -> ".join(chain) + f" -> {m} ({f.relative_to(ROOT)}:{line})")
                elif m not in seen:
                    seen.add(m)
                    stack.append((m, [*chain, m]))
    return bad


def test_the_verdict_modules_are_found() -> None:
    assert {"bedrock_key_audit.verdicts.secret", "bedrock_key_audit.verdicts.access",
            "bedrock_key_audit.iam_verdicts"} <= set(VERDICT_MODULES)
    assert all(_file_of(m) for m in VERDICT_MODULES)


@pytest.mark.parametrize("module", VERDICT_MODULES)
def test_a_verdict_module_imports_no_reader_nor_client(module: str) -> None:
    bad = reaches(module)
    assert not bad, f"{module} can start an AWS or HTTP call; hand it the data instead:\n" + "\n".join(bad)


@pytest.mark.parametrize("source, caught", [
    ("import boto3\n", True),
    ("def f():\n    from bedrock_key_audit.inventory.traces import invocation_logging\n", True),
    ("from bedrock_key_audit.inventory import access\n", True),
    ("from ..inventory.reader import Inventory\n", True),
    ("from bedrock_key_audit import aws_call\n", True),
    ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from bedrock_key_audit.inventory.reader import Inventory\n",
     False),
    ("from bedrock_key_audit.inventory.models import Secret\n", False),
    ("from bedrock_key_audit.inventory.keys import decode_key\n", False),
    ("import botocore.loaders\n", True),
])
def test_the_check_catches_each_form(monkeypatch: pytest.MonkeyPatch, source: str, caught: bool) -> None:
    """The detector itself, on a verdict module written each way."""
    fake = PKG / "verdicts" / "secret.py"
    real = Path.read_text
    monkeypatch.setattr(Path, "read_text", lambda self, *a, **k: source if self == fake else real(self, *a, **k))
    assert bool(reaches("bedrock_key_audit.verdicts.secret")) is caught
