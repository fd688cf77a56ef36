"""Every AWS call of the audit's read modules is covered by a declaration beside it, and every declaration is used.

The read modules (:data:`bedrock_key_audit.permissions.READ_MODULES`) are parsed with :mod:`ast`.  A call is one
of

- ``X._read(partition, "service", "Operation", ...)``, ``X._paginate(...)``, ``X._paginated(...)``;
- ``client.get_paginator("operation_name")`` or ``client.get_paginator(xform_name("Operation"))``, and a
  botocore client method ``client.operation_name(...)`` (a receiver named ``client``: the ``via`` callables
  of ``_read``);
- in ``inventory/org.py`` and ``organization.py``, Organizations through the ``own``/``admin`` callables or a
  client's pages: ``own("Operation")``, ``_pages(admin, "Operation", ...)``, ``_pages(client, "operation", ...)``.

It is covered when a function enclosing it (itself, or the method or module function it is nested in)
carries ``@reads(...)`` with a :class:`~bedrock_key_audit.permissions.Read` of that operation, and -- for a
``_read``-style call naming its partition -- declared for that partition (a partition given by a variable:
declared for both).  A declaration is used when its function calls its operation.  Calls whose operation is a
variable are the plumbing that forwards a declared call (:data:`PLUMBING`); any other fails.  Bedrock's HTTP
probes (``Inventory._http``) send the audited key itself: they need nothing of the auditor's policy.
"""
from __future__ import annotations

import ast
import importlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore import xform_name

from bedrock_key_audit import permissions
from bedrock_key_audit.permissions import BOTH, Read

ROOT = Path(__file__).resolve().parents[2]
READ_CALLS = {"_read", "_paginate", "_paginated"}
CLIENTS = {"client"}
NOT_OPERATIONS = {"get_paginator", "request", "close", "stream", "send"}  # the httpx client's own methods too
#: functions that forward an operation named by a variable: the call layer, and org.py's page loop
PLUMBING = {"inventory/reader.py:Inventory._read", "inventory/reader.py:Inventory._paginate",
            "inventory/reader.py:Inventory._paginated", "inventory/reader.py:Inventory._paginated.via",
            "inventory/reader.py:Inventory.org_policies.fetch.caller.call",
            "inventory/org.py:_pages", "organization.py:_pages"}


@dataclass(frozen=True)
class Site:
    where: str  # "inventory/reader.py:Inventory.user"
    line: int
    service: str | None  # None: any (a client's method names no service)
    operation: str | None  # None: a variable
    partition: str | None  # a literal partition, "*" for a variable one, None when the call names none


def _const(node: ast.AST | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "xform_name" and node.args:
        return _const(node.args[0])
    return None


def _site(call: ast.Call, where: str, org_module: bool) -> Site | None:
    fn = call.func
    name = fn.attr if isinstance(fn, ast.Attribute) else fn.id if isinstance(fn, ast.Name) else None
    args = call.args
    if name in READ_CALLS and len(args) >= 3:
        part = _const(args[0])
        return Site(where, call.lineno, _const(args[1]), _const(args[2]), part if part else "*")
    if isinstance(fn, ast.Attribute) and isinstance(fn.value, ast.Name) and fn.value.id in CLIENTS:
        if name == "get_paginator":
            return Site(where, call.lineno, None, _const(args[0]) if args else None, None)
        if name not in NOT_OPERATIONS:
            return Site(where, call.lineno, None, name, None)
    if isinstance(fn, ast.Attribute) and isinstance(fn.value, ast.Name) and fn.value.id == "aws_call" \
            and name == "call":
        return Site(where, call.lineno, None, _const(args[1]) if len(args) > 1 else None, None)
    if org_module and name in ("own", "admin", "call"):
        return Site(where, call.lineno, "organizations", _const(args[0]) if args else None, None)
    if org_module and name == "_pages":
        return Site(where, call.lineno, "organizations", _const(args[1]) if len(args) > 1 else None, None)
    return None


@dataclass
class Func:
    where: str
    obj: Any  # the runtime function (for its __reads__), None for a nested one
    sites: list[Site]
    parent: "Func | None"


def _functions(module: str) -> Iterator[Func]:
    mod = importlib.import_module(module)
    path = Path(mod.__file__ or "")
    rel = str(path.relative_to(ROOT / "bedrock_key_audit"))
    tree = ast.parse(path.read_text())
    org_module = rel in ("inventory/org.py", "organization.py")

    def visit(node: ast.AST, owner: Any, qual: str, parent: Func | None) -> Iterator[Func]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.ClassDef) and parent is None:
                yield from visit(child, getattr(owner, child.name, None), f"{qual}{child.name}.", None)
            elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                obj = getattr(owner, child.name, None) if parent is None and owner is not None else None
                f = Func(f"{rel}:{qual}{child.name}", obj, [], parent)
                f.sites = [s for n in _own_nodes(child) if isinstance(n, ast.Call)
                           for s in [_site(n, f.where, org_module)] if s is not None]
                yield f
                yield from visit(child, None, f"{qual}{child.name}.", f)
            elif not isinstance(child, (ast.Lambda, ast.ClassDef)):
                yield from visit(child, owner, qual, parent)
    yield from visit(tree, mod, "", None)


def _own_nodes(fn: ast.AST) -> Iterator[ast.AST]:
    """The nodes of ``fn``'s body, nested functions' bodies left out (lambdas kept: they run as part of it)."""
    todo = list(ast.iter_child_nodes(fn))
    while todo:
        n = todo.pop()
        yield n
        if not isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)):
            todo.extend(ast.iter_child_nodes(n))


def all_functions() -> list[Func]:
    return [f for m in permissions.READ_MODULES for f in _functions(m)]


def _declared(f: Func | None) -> list[tuple[Func, Read]]:
    out: list[tuple[Func, Read]] = []
    while f is not None:
        out += [(f, r) for r in getattr(f.obj, "__reads__", ())]
        f = f.parent
    return out


def _covers(r: Read, s: Site) -> bool:
    if s.operation is None:
        return False
    if s.service is None:  # a client method or paginator: snake_case or CamelCase, any service
        return s.operation in (r.operation, xform_name(r.operation))
    if s.service != r.service or s.operation not in (r.operation, xform_name(r.operation)):
        return False
    if s.partition == "*":
        return tuple(r.partitions) == BOTH
    return s.partition is None or s.partition in r.partitions


def problems(funcs: list[Func]) -> list[str]:
    out: list[str] = []
    used: set[tuple[str, Read]] = set()
    for f in funcs:
        for s in f.sites:
            if s.operation is None or (s.service is None and s.operation is None):
                if f.where not in PLUMBING:
                    out.append(f"{s.where}:{s.line}: calls an operation named by a variable outside the plumbing")
                continue
            covering = [(g, r) for g, r in _declared(f) if _covers(r, s)]
            if not covering:
                what = f"{s.service}:{s.operation}" if s.service else s.operation
                out.append(f"{s.where}:{s.line}: {what} (partition {s.partition}) has no declaration beside it")
            used |= {(g.where, r) for g, r in covering}
    for f in funcs:
        for r in getattr(f.obj, "__reads__", ()):
            if (f.where, r) not in used:
                out.append(f"{f.where}: declares {r.call} but does not call it")
    return out


def test_the_read_modules_are_walked() -> None:
    names = {f.where for f in all_functions()}
    assert {"inventory/reader.py:Inventory.user", "inventory/reader.py:Inventory.user.fetch",
            "inventory/access.py:key_policy", "inventory/org.py:read"} <= names


def test_every_call_is_declared_and_every_declaration_used() -> None:
    bad = problems(all_functions())
    assert not bad, "\n".join(bad)


def test_the_plumbing_is_only_plumbing() -> None:
    """Each :data:`PLUMBING` function exists and forwards a variable operation (else it leaves the list)."""
    funcs = {f.where: f for f in all_functions()}
    assert all(any(s.operation is None for s in funcs[p].sites) for p in PLUMBING)


def test_each_declared_call_is_a_botocore_operation() -> None:
    session = botocore.session.get_session()
    bad = [r.call for r in permissions.declared()
           if r.operation not in session.get_service_model(r.service).operation_names]
    assert not bad


def test_no_permission_only_where_aws_asks_none() -> None:
    """A read needing no action (``on=None``) is one AWS answers without a permission."""
    assert {r.call for r in permissions.declared() if r.on is None or not r.needs} == {"sts:GetCallerIdentity"}


def _probe(source: str) -> list[str]:
    """:func:`problems` of a module ``inventory/probe.py`` holding ``source`` (its functions' reads run)."""
    namespace: dict[str, Any] = {}
    saved = list(permissions.declared())  # the probe's declarations must not join the audit's
    try:
        exec(compile(source, "probe", "exec"), {"reads": permissions.reads, "Read": Read, "BOTH": BOTH,
                                                "COMMERCIAL": permissions.COMMERCIAL,
                                                "KEY_USER": permissions.KEY_USER}, namespace)
        tree = ast.parse(source)
        funcs: list[Func] = []

        def visit(node: ast.AST, parent: Func | None) -> None:
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.FunctionDef):
                    f = Func(f"inventory/probe.py:{child.name}", namespace.get(child.name) if parent is None else None,
                             [], parent)
                    f.sites = [s for n in _own_nodes(child) if isinstance(n, ast.Call)
                               for s in [_site(n, f.where, False)] if s is not None]
                    funcs.append(f)
                    visit(child, f)
        visit(tree, None)
        return problems(funcs)
    finally:
        permissions.DECLARED[:] = saved


@pytest.mark.parametrize("source, caught", [
    ('@reads(Read("iam:GetUser", KEY_USER, partitions=COMMERCIAL))\n'
     'def f(inv):\n    def fetch():\n        return inv._read("commercial", "iam", "GetUser")\n    return fetch()\n', False),
    ('def f(inv):\n    return inv._read("commercial", "iam", "GetUser")\n', True),
    ('@reads(Read("iam:GetUser", KEY_USER, partitions=COMMERCIAL))\n'
     'def f(inv, p):\n    return inv._read(p, "iam", "GetUser")\n', True),
    ('@reads(Read("iam:GetUser", KEY_USER), Read("iam:ListUsers", KEY_USER))\n'
     'def f(inv, p):\n    return inv._read(p, "iam", "GetUser")\n', True),
    ('@reads(Read("iam:ListAccessKeys", KEY_USER))\n'
     'def f(inv, p):\n    return inv._read(p, "iam", "ListAccessKeys", via=lambda c: c.get_paginator("list_access_keys"))\n',
     False),
    ('@reads(Read("iam:GetUser", KEY_USER))\n'
     'def f(inv, p):\n    inv._read(p, "iam", "GetUser", via=lambda client: client.get_role(RoleName="r"))\n', True),
    ('def f(inv, p, op):\n    return inv._read(p, "iam", op)\n', True),
])
def test_the_check_catches_each_form(source: str, caught: bool) -> None:
    assert bool(_probe(source)) is caught
