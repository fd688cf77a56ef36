"""The generated policies (``bedrock_key_audit.policies.for_config``) proven by actual calls.

The whole audit, and ``--remediate``, run against the emulator with ``enforce_iam`` on, as
principals -- one per partition -- holding only the generated policy of their partition, with its
resource ARNs and conditions as printed (not widened to "*").  Every signed call is authorized by
the emulator's own evaluator (bedrock_key_audit/emulator/enforce_iam.py): nothing may be refused.
The same run with one action fewer is refused that action, and the row that needs it says so.
"""
from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from bedrock_key_audit import policies
from bedrock_key_audit.emulator import enforce_iam
from bedrock_key_audit.fixtures.config import load_config
from tests.remediation.helpers import ROOT, point_env_at, run
from tests.remediation.test_policies import PrincipalAws


@pytest.fixture
def enforced(emu):
    emu.enforce_iam = True
    enforce_iam.clear()
    try:
        yield emu
    finally:
        emu.enforce_iam = False
        enforce_iam.clear()


def _without(doc: dict[str, Any], action: str) -> dict[str, Any]:
    out = copy.deepcopy(doc)
    kept = []
    for st in out["Statement"]:
        acts = [st["Action"]] if isinstance(st["Action"], str) else list(st["Action"])
        if action in acts:
            acts.remove(action)
            if not acts:
                continue
            st["Action"] = acts
        kept.append(st)
    out["Statement"] = kept
    return out


def _principals(emu, role: str, drop: str | None = None) -> dict[str, tuple[str, str]]:
    """A user per partition holding only the generated ``role`` policy of that partition."""
    cfg = load_config(None, root=ROOT)
    keys = {}
    for part in ("commercial", "govcloud"):
        doc = policies.for_config(role, cfg, partition=part)
        if drop is not None:
            doc = _without(doc, drop)
        iam = emu.client("iam", part)
        iam.create_user(UserName=f"bedrock-key-{role}")
        iam.put_user_policy(UserName=f"bedrock-key-{role}", PolicyName="generated", PolicyDocument=json.dumps(doc))
        ak = iam.create_access_key(UserName=f"bedrock-key-{role}")["AccessKey"]
        keys[part] = (ak["AccessKeyId"], ak["SecretAccessKey"])
    return keys


def _run_as(pytester, monkeypatch, emu, role: str, *args: str, drop: str | None = None):
    point_env_at(monkeypatch, emu)
    keys = _principals(emu, role, drop)
    return run(pytester, *args, plugins_extra=[PrincipalAws(keys)])


def test_generated_auditor_policy_is_enough_for_the_whole_audit(pytester, enforced, monkeypatch):
    enforced.apply("compliant")
    result, cap = _run_as(pytester, monkeypatch, enforced, "auditor")
    assert enforce_iam.refused() == []
    bad = {k: r.detail for k, r in cap.records.items() if r.status != "pass"}
    assert not bad and result.ret == 0, bad


@pytest.mark.parametrize("action, check, words", [
    ("iam:ListAccessKeys", "iam.user_no_other_credentials", "iam:ListAccessKeys"),
])
def test_generated_auditor_policy_without_one_action_is_refused_it(pytester, enforced, monkeypatch, action, check,
                                                                    words):
    enforced.apply("compliant")
    result, cap = _run_as(pytester, monkeypatch, enforced, "auditor", drop=action)
    assert {a for a, _ in enforce_iam.refused()} == {action}
    rows = {k: r for k, r in cap.records.items() if k.startswith(check)}
    assert rows and all(r.status == "error" and words in r.detail for r in rows.values())
    assert result.ret != 0
