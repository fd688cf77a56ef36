"""Every AWS call the remediation makes through the change guard is covered by a declaration beside it, and every
declaration is used; the remediator policy is what they (and the audit's reads) need.

Every module under ``bedrock_key_audit/remediation/`` is parsed with :mod:`ast`.  A call is one of

- ``X.call("service", partition, "Operation", ...)`` (``Context.call``, ``Guard.call``), the guard's own
  ``self._raw(...)`` / ``raw(...)`` and before-image reads ``self._peek(...)`` / ``peek(...)`` /
  ``ctx.guard._peek(...)``, with the same first three arguments;
- the fixers' forwarders :data:`FORWARDERS`: ``_list(ctx, "Operation", ...)`` (IAM, commercial) and
  ``_ct(ctx, trail, "Operation", ...)`` (CloudTrail, in the trail's partition).

It is covered when a function enclosing it carries ``@writes(...)`` with a
:class:`~bedrock_key_audit.permissions.Write` of that operation, declared for the call's partition: a literal one
(or a local variable only ever assigned that literal), or for a partition given by a variable, declarations that
together name both partitions -- or, in the change guard's methods, :data:`~bedrock_key_audit.permissions.AS_ITS_WRITES`
(a before-image is read in the partition of the write it is read for).  Calls whose operation is a variable are
the plumbing that forwards a declared call (:data:`PLUMBING`); any other fails.
"""
from __future__ import annotations

import ast
import importlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore import xform_name

from bedrock_key_audit import permissions, policies
from bedrock_key_audit.aws_call import IAM_ACTION_OVERRIDES
from bedrock_key_audit.permissions import AS_ITS_WRITES, BOTH, Write
from tests.unit.test_declared_reads import Func, Site, _const, _own_nodes

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "bedrock_key_audit" / "remediation"
CALLS = {"call", "_raw", "raw", "_peek", "peek"}
#: helper -> (service, partition or None for a variable one, index of the operation argument)
FORWARDERS = {"_list": ("iam", "commercial", 1), "_ct": ("cloudtrail", None, 2)}
#: functions that forward an operation named by a variable: the change guard, the call layer, the forwarders
PLUMBING = {"guard.py:Guard._raw", "guard.py:Guard._peek", "guard.py:Guard.call", "guard.py:Guard.write",
            "core.py:Context.call", "fixers/iam.py:_list", "fixers/cloudtrail.py:_ct"}


def _partition(node: ast.AST | None, fn: ast.AST, parents: list[ast.AST]) -> str:
    """A literal partition, or the literal a local name is only ever assigned; else ``"*"``."""
    if (lit := _const(node)) is not None:
        return lit
    if isinstance(node, ast.Name):
        for scope in [fn, *parents]:
            values = [n.value for n in _own_nodes(scope) if isinstance(n, ast.Assign)
                      and any(isinstance(t, ast.Name) and t.id == node.id for t in n.targets)]
            if values:
                lits = {_const(v) for v in values}
                return lits.pop() if len(lits) == 1 and None not in lits else "*"
    return "*"


def _site(call: ast.Call, where: str, fn: ast.AST, parents: list[ast.AST]) -> Site | None:
    f = call.func
    name = f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else None
    args = call.args
    if name in CALLS and args:
        op = _const(args[2]) if len(args) > 2 else None
        return Site(where, call.lineno, _const(args[0]), op, _partition(args[1] if len(args) > 1 else None, fn, parents))
    if name in FORWARDERS:
        service, part, idx = FORWARDERS[name]
        return Site(where, call.lineno, service, _const(args[idx]) if len(args) > idx else None, part or "*")
    return None


def _functions(path: Path, owner: Any) -> Iterator[Func]:
    rel = str(path.relative_to(PACKAGE))
    tree = ast.parse(path.read_text())

    def visit(node: ast.AST, owner: Any, qual: str, parent: Func | None, chain: list[ast.AST]) -> Iterator[Func]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.ClassDef) and parent is None:
                yield from visit(child, getattr(owner, child.name, None), f"{qual}{child.name}.", None, chain)
            elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                obj = getattr(owner, child.name, None) if parent is None and owner is not None else None
                f = Func(f"{rel}:{qual}{child.name}", obj, [], parent)
                f.sites = [s for n in _own_nodes(child) if isinstance(n, ast.Call)
                           for s in [_site(n, f.where, child, chain)] if s is not None]
                yield f
                yield from visit(child, None, f"{qual}{child.name}.", f, [child, *chain])
            elif not isinstance(child, (ast.Lambda, ast.ClassDef)):
                yield from visit(child, owner, qual, parent, chain)
    yield from visit(tree, owner, "", None, [])


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def all_functions() -> list[Func]:
    out: list[Func] = []
    for path in sorted(PACKAGE.rglob("*.py")):
        out += _functions(path, importlib.import_module(_module_name(path)))
    return out


def _declared(f: Func | None) -> list[tuple[Func, Write]]:
    out: list[tuple[Func, Write]] = []
    while f is not None:
        out += [(f, w) for w in getattr(f.obj, "__writes__", ())]
        f = f.parent
    return out


def _matches(w: Write, s: Site) -> bool:
    return s.operation is not None and s.service == w.service and s.operation in (w.operation, xform_name(w.operation))


def problems(funcs: list[Func], every: list[Write] | None = None) -> list[str]:
    every = permissions.declared_writes() if every is None else every
    out: list[str] = []
    used: set[tuple[str, Write]] = set()
    for f in funcs:
        for s in f.sites:
            if s.operation is None or s.service is None:
                if f.where not in PLUMBING:
                    out.append(f"{s.where}:{s.line}: calls an operation named by a variable outside the plumbing")
                continue
            matching = [(g, w) for g, w in _declared(f) if _matches(w, s)]
            if s.partition == "*":
                guarded = [(g, w) for g, w in matching if w.partitions == AS_ITS_WRITES]
                if guarded and not f.where.startswith("guard.py:Guard."):
                    out.append(f"{s.where}:{s.line}: AS_ITS_WRITES outside the change guard's methods")
                parts = {p for _, w in matching for p in permissions.write_partitions(w, every)}
                covering = matching if guarded or parts >= set(BOTH) else []
            else:
                covering = [(g, w) for g, w in matching if s.partition in permissions.write_partitions(w, every)]
            if not covering:
                out.append(f"{s.where}:{s.line}: {s.service}:{s.operation} (partition {s.partition}) has no "
                           "declaration beside it")
            used |= {(g.where, w) for g, w in covering}
    for f in funcs:
        for w in getattr(f.obj, "__writes__", ()):
            if (f.where, w) not in used:
                out.append(f"{f.where}: declares {w.call} on {w.on.sid if w.on else None} but does not call it")
    return out


def test_the_remediation_modules_are_walked() -> None:
    names = {f.where for f in all_functions()}
    assert {"guard.py:Guard._image_iam", "fixers/iam.py:_ensure_policy_step", "rotation.py:_rotate",
            "fixers/iam.py:_ensure_policy_step.run"} <= names


def test_every_call_is_declared_and_every_declaration_used() -> None:
    bad = problems(all_functions())
    assert not bad, "\n".join(bad)


def test_the_plumbing_is_only_plumbing() -> None:
    funcs = {f.where: f for f in all_functions()}
    assert all(any(s.operation is None or s.service is None for s in funcs[p].sites) for p in PLUMBING)


def test_every_module_declaring_is_imported_for_the_policy() -> None:
    """A module whose declarations the policy would not see (not in REMEDIATION_MODULES) fails."""
    declaring = {_module_name(Path(importlib.import_module(f.obj.__module__).__file__ or ""))
                 for f in all_functions() if getattr(f.obj, "__writes__", ())}
    assert declaring <= set(permissions.REMEDIATION_MODULES)


def test_each_declared_call_is_a_botocore_operation_with_its_iam_action() -> None:
    """botocore knows the operation; where IAM names its action otherwise (``HeadBucket`` needs ``s3:ListBucket``:
    bedrock_key_audit/aws_call.py IAM_ACTION_OVERRIDES), the declaration names that action."""
    session = botocore.session.get_session()
    bad = [w.call for w in permissions.declared_writes()
           if w.operation not in session.get_service_model(w.service).operation_names]
    assert not bad
    wrong = [w.call for w in permissions.declared_writes()
             if (override := IAM_ACTION_OVERRIDES.get((w.service, w.operation))) is not None
             and override not in w.needs and w.on not in (permissions.R_SECRET_KEY_VIA_SECRETS_MANAGER,
                                                          permissions.R_OUR_KMS_KEY)]
    assert not wrong
    assert not [w.call for w in permissions.declared_writes()
                if w.actions is None and (w.service, w.operation) in IAM_ACTION_OVERRIDES]


def test_every_auditor_statement_has_its_place_in_the_remediators() -> None:
    assert set(permissions.AUDIT_READS_IN_REMEDIATOR) == set(permissions.SCOPES) | {permissions.ORGANIZATION_ACCOUNTS}


def test_the_remediator_policy_is_exactly_what_the_calls_declare() -> None:
    doc = policies.generate("remediator")
    allowed = {a for st in doc["Statement"] if st["Effect"] == "Allow" for a in policies._as_list(st["Action"])}
    assert allowed == {a for _, a, _ in permissions.remediator_needs()}
    # each guardrail is printed, on the action the remediation calls
    denies = [st["Sid"] for st in doc["Statement"] if st["Effect"] == "Deny"]
    assert denies == ["NewKeysAreBedrockKeys", "NewKeysMustExpire", "NewKeysLiveAtMost180Days"]


def test_a_guard_read_follows_the_partitions_of_its_services_writes() -> None:
    every = permissions.declared_writes()
    iam_peek = next(w for w in every if w.call == "iam:GetLoginProfile" and w.partitions == AS_ITS_WRITES)
    assert permissions.write_partitions(iam_peek, every) == ("commercial",)  # IAM writes: the commercial key user
    s3_peek = next(w for w in every if w.call == "s3:HeadBucket" and w.partitions == AS_ITS_WRITES)
    assert permissions.write_partitions(s3_peek, every) == BOTH


def _probe(source: str, guard: bool = False) -> list[str]:
    """:func:`problems` of a module holding ``source`` (at ``guard.py`` when ``guard``)."""
    namespace: dict[str, Any] = {}
    saved = list(permissions.DECLARED_WRITES)
    try:
        every = list(permissions.declared_writes())
        exec(compile(source, "probe", "exec"), {"writes": permissions.writes, "Write": Write, "BOTH": BOTH,
                                                "COMMERCIAL": permissions.COMMERCIAL, "GOVCLOUD": permissions.GOVCLOUD,
                                                "AS_ITS_WRITES": AS_ITS_WRITES,
                                                "R_SECRET": permissions.R_SECRET, "ROLE": permissions.ROLE,
                                                "R_GOVCLOUD_READER_ROLES": permissions.R_GOVCLOUD_READER_ROLES}, namespace)
        tree = ast.parse(source)
        rel = "guard.py" if guard else "fixers/probe.py"
        funcs: list[Func] = []

        def visit(node: ast.AST, parent: Func | None, chain: list[ast.AST], qual: str) -> None:
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.FunctionDef):
                    obj = namespace.get(child.name) if parent is None else None
                    f = Func(f"{rel}:{qual}{child.name}", obj, [], parent)
                    f.sites = [s for n in _own_nodes(child) if isinstance(n, ast.Call)
                               for s in [_site(n, f.where, child, chain)] if s is not None]
                    funcs.append(f)
                    visit(child, f, [child, *chain], f"{qual}{child.name}.")
        visit(tree, None, [], "Guard." if guard else "")
        return problems(funcs, every + [w for f in funcs for w in getattr(f.obj, "__writes__", ())])
    finally:
        permissions.DECLARED_WRITES[:] = saved


@pytest.mark.parametrize("source, guard, caught", [
    ('@writes(Write("secretsmanager:PutSecretValue", R_SECRET, partitions=GOVCLOUD))\n'
     'def f(ctx):\n    def run(c):\n        c.call("secretsmanager", "govcloud", "PutSecretValue", SecretId="s")\n'
     '    return run\n', False, False),
    ('def f(ctx):\n    ctx.call("secretsmanager", "govcloud", "PutSecretValue", SecretId="s")\n', False, True),
    ('@writes(Write("secretsmanager:PutSecretValue", R_SECRET, partitions=GOVCLOUD))\n'
     'def f(ctx, p):\n    ctx.call("secretsmanager", p, "PutSecretValue", SecretId="s")\n', False, True),
    ('@writes(Write("secretsmanager:PutSecretValue", R_SECRET, partitions=GOVCLOUD))\n'
     'def f(ctx):\n    p = "govcloud"\n    ctx.call("secretsmanager", p, "PutSecretValue", SecretId="s")\n', False, False),
    ('@writes(Write("iam:GetRole", ROLE, partitions=COMMERCIAL), Write("iam:GetRole", R_GOVCLOUD_READER_ROLES, '
     'partitions=GOVCLOUD))\ndef f(ctx, p):\n    ctx.call("iam", p, "GetRole", RoleName="r")\n', False, False),
    ('@writes(Write("secretsmanager:PutSecretValue", R_SECRET), Write("secretsmanager:UpdateSecret", R_SECRET))\n'
     'def f(ctx, p):\n    ctx.call("secretsmanager", p, "PutSecretValue", SecretId="s")\n', False, True),
    ('@writes(Write("secretsmanager:DescribeSecret", R_SECRET, partitions=AS_ITS_WRITES))\n'
     'def f(self, p):\n    self._peek("secretsmanager", p, "DescribeSecret", None, SecretId="s")\n', True, False),
    ('@writes(Write("secretsmanager:DescribeSecret", R_SECRET, partitions=AS_ITS_WRITES))\n'
     'def f(ctx, p):\n    ctx.guard._peek("secretsmanager", p, "DescribeSecret", None, SecretId="s")\n', False, True),
    ('def f(ctx, op):\n    ctx.call("iam", "commercial", op)\n', False, True),
])
def test_the_check_catches_each_form(source: str, guard: bool, caught: bool) -> None:
    assert bool(_probe(source, guard)) is caught
