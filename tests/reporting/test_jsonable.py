"""One JSON converter (bedrock_key_audit.jsonable) for the audit, the reports and remediation."""
from __future__ import annotations

import ast
import dataclasses
import datetime as dt
import json
from pathlib import Path

import bedrock_key_audit
import bedrock_key_audit.fixtures
from bedrock_key_audit.jsonable import json_default, to_jsonable
from bedrock_key_audit.redaction import MASK, redact_obj


@dataclasses.dataclass
class _Row:
    when: dt.datetime
    tags: frozenset[str]


def test_to_jsonable_converts_what_boto3_and_the_audit_hand_it() -> None:
    when = dt.datetime(2026, 3, 4, 5, 6, 7, tzinfo=dt.timezone.utc)
    got = to_jsonable({"row": _Row(when, frozenset({"a"})), "day": when.date(), 7: ("x", None, 1.5, True),
                       "path": Path("/tmp/x"), "blob": b"\x00secret"})
    assert got == {"row": {"when": "2026-03-04T05:06:07+00:00", "tags": ["a"]}, "day": "2026-03-04",
                   "7": ["x", None, 1.5, True], "path": "/tmp/x", "blob": b"\x00secret"}
    # bytes survive the conversion so that the redaction masks them
    assert redact_obj(got)["blob"] == MASK
    json.dumps(redact_obj(got))


def test_json_default_writes_what_json_cannot() -> None:
    when = dt.datetime(2026, 3, 4, tzinfo=dt.timezone.utc)
    text = json.dumps({"when": when, "set": {2}, "raw": b"ab"}, default=json_default, sort_keys=True)
    assert json.loads(text) == {"when": "2026-03-04T00:00:00+00:00", "set": [2], "raw": "b'ab'"}


def _json_defaults(root: Path, skip: Path) -> list[str]:
    """Every ``default=`` handed to json.dump(s) and every JSONEncoder subclass under ``root`` (not ``skip``)."""
    out = []
    for path in sorted(root.rglob("*.py")):
        if path.is_relative_to(skip):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and ast.unparse(node.func) in ("json.dumps", "json.dump"):
                out += [f"{path.name}: default={ast.unparse(k.value)}" for k in node.keywords if k.arg == "default"]
            if isinstance(node, ast.ClassDef) and any("JSONEncoder" in ast.unparse(b) for b in node.bases):
                out.append(f"{path.name}: class {node.name}")
    return out


def test_the_audit_has_one_json_converter() -> None:
    """The audit, the reports and remediation convert with jsonable (the emulator keeps its own)."""
    pkg = Path(bedrock_key_audit.__file__).parent
    found = []
    for root in (pkg, Path(bedrock_key_audit.fixtures.__file__).parent):
        found += _json_defaults(root, skip=pkg / "emulator")
    assert any(f.startswith("evidence.py") for f in found)  # the walk saw the reports
    others = [f for f in found if not f.endswith("default=json_default")]
    assert not others, others
    from bedrock_key_audit.remediation import core
    from bedrock_key_audit.fixtures.reporting import sources

    assert sources._plain is to_jsonable and core._plain is to_jsonable


def test_jsonable_is_a_leaf() -> None:
    tree = ast.parse(Path(bedrock_key_audit.__file__).with_name("jsonable.py").read_text(encoding="utf-8"))
    mods = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    mods |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    import sys

    assert all(m.split(".")[0] in sys.stdlib_module_names for m in mods), mods
