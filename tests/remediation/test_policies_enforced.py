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
from bedrock_key_audit.emulator.partitions import ACCOUNTS
from bedrock_key_audit.config import load_config
from tests.remediation.helpers import ROOT, USER, point_env_at, run
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
    """A user per partition holding only the generated ``role`` policy of that partition, scoped to
    the partition's account (``--account``) and the configuration's Regions, as a real user prints it."""
    cfg = load_config(None, root=ROOT)
    keys = {}
    for part in ("commercial", "govcloud"):
        doc = policies.for_config(role, cfg, partition=part, account=ACCOUNTS[part])
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
    # the calls were decided by the enforcing emulator (one action of each service the audit reads), on
    # the resources' own ARNs, in both partitions
    decided = enforce_iam.allowed()
    actions = {a for a, _ in decided}
    assert {"iam:GetUser", "iam:ListAccessKeys", "secretsmanager:DescribeSecret", "kms:GetKeyPolicy",
            "cloudtrail:GetTrailStatus", "s3:GetBucketLogging", "ec2:DescribeRegions",
            "bedrock:GetModelInvocationLoggingConfiguration"} <= actions, sorted(actions)
    assert any(a == "secretsmanager:DescribeSecret" and r.startswith("arn:aws-us-gov:secretsmanager:") for a, r in decided)
    assert any(a == "iam:GetUser" and r.startswith("arn:aws:iam::") for a, r in decided)
    bad = {k: r.detail for k, r in cap.records.items() if r.status != "pass"}
    assert not bad and result.ret == 0, bad


@pytest.mark.parametrize("action", ["iam:ListAccessKeys", "kms:GetKeyPolicy", "s3:GetBucketLogging",
                                    "secretsmanager:DescribeSecret"])
def test_generated_auditor_policy_without_one_action_is_refused_it(pytester, enforced, monkeypatch, action):
    """One action fewer (one per service): the emulator refuses exactly it, and a row ends error naming it."""
    enforced.apply("compliant")
    result, cap = _run_as(pytester, monkeypatch, enforced, "auditor", drop=action)
    assert {a for a, _ in enforce_iam.refused()} == {action}
    erred = {k: r.detail for k, r in cap.records.items() if r.status == "error"}
    assert any(action in d for d in erred.values()), erred
    assert result.ret != 0


def _guide_to_remediate(emu) -> None:
    """The guide's state, plus extra credentials and policies, a stale policy, a group and a stopped trail."""
    emu.apply("guide")
    iam = emu.client("iam")
    iam.create_login_profile(UserName=USER, Password="Not-a-real-password-1!")
    iam.create_access_key(UserName=USER)
    iam.put_user_policy(UserName=USER, PolicyName="extra", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}))
    stale = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "bedrock:InvokeModel",
                                                                "Resource": "*"}]})
    iam.create_policy(PolicyName="BedrockApiKeyLeastPrivilege", PolicyDocument=stale)
    iam.create_group(GroupName="bedrock-admins")
    iam.put_group_policy(GroupName="bedrock-admins", PolicyName="all", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "bedrock:*", "Resource": "*"}]}))
    iam.add_user_to_group(GroupName="bedrock-admins", UserName=USER)
    ct = emu.client("cloudtrail")
    trail = ct.describe_trails()["trailList"][0]["TrailARN"]
    ct.stop_logging(Name=trail)
    ct.put_event_selectors(TrailName=trail, EventSelectors=[{"ReadWriteType": "WriteOnly", "IncludeManagementEvents": True}])


def test_generated_remediator_policy_is_enough_to_remediate(pytester, enforced, monkeypatch):
    _guide_to_remediate(enforced)
    result, cap = _run_as(pytester, monkeypatch, enforced, "remediator", "--remediate", "--allow-destructive")
    assert enforce_iam.refused() == []
    actions = {a for a, _ in enforce_iam.allowed()}
    assert {"iam:DeleteLoginProfile", "iam:RemoveUserFromGroup", "cloudtrail:StartLogging",
            "cloudtrail:PutEventSelectors"} <= actions, sorted(actions)
    failed = [(s.key, s.message) for s in cap.plan if s.status != "applied" and not s.key.startswith("manual:org-")]
    assert not failed
    bad = {k: r.detail for k, r in cap.records.items() if r.status != "pass" and not k.startswith("org.")}
    assert not bad, bad


def test_generated_remediator_policy_without_one_action_is_refused_it(pytester, enforced, monkeypatch):
    _guide_to_remediate(enforced)
    result, cap = _run_as(pytester, monkeypatch, enforced, "remediator", "--remediate", "--allow-destructive",
                          drop="cloudtrail:StartLogging")
    assert {a for a, _ in enforce_iam.refused()} == {"cloudtrail:StartLogging"}
    assert any(s.status != "applied" for s in cap.plan if s.key.startswith("trail.start-logging"))
