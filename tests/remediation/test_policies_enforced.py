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


def _principals(emu, role: str, drop: str | None = None, cfg_path: str | None = None) -> dict[str, tuple[str, str]]:
    """A user per partition holding only the generated ``role`` policy of that partition, scoped to
    the partition's account (``--account``) and the Regions of the configuration (``cfg_path``, else the
    checkout's), as a real user prints it."""
    cfg = load_config(cfg_path, root=ROOT)
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


WORKLOAD_ROLE = "arn:aws-us-gov:iam::210987654321:role/bedrock-workload"
PATH_USER = "svc-key-user"


def _config_with_path_user_and_role_reader(tmp_path) -> str:
    """audit.toml with a key user under an IAM path (``/svc/``) and a GovCloud role in ``secret.allowed_readers``."""
    text = (ROOT / "audit.toml").read_text()
    text = text.replace('name = "bedrock-cross-partition-user"', f'name = "{PATH_USER}"')
    text = text.replace(f'# allowed_readers = ["{WORKLOAD_ROLE}"]', f'allowed_readers = ["{WORKLOAD_ROLE}"]')
    assert PATH_USER in text and f'\nallowed_readers = ["{WORKLOAD_ROLE}"]' in text
    path = tmp_path / "audit.toml"
    path.write_text(text)
    return str(path)


def _path_user_and_role_reader(emu) -> None:
    emu.apply("guide")  # the secret on aws/secretsmanager: the remediator makes its KMS key and re-encrypts
    iam = emu.client("iam")
    iam.create_user(UserName=PATH_USER, Path="/svc/")
    iam.attach_user_policy(UserName=PATH_USER, PolicyArn="arn:aws:iam::aws:policy/AmazonBedrockFullAccess")
    emu.client("iam", "govcloud").create_role(RoleName="bedrock-workload", AssumeRolePolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws-us-gov:iam::210987654321:root"},
                                                 "Action": "sts:AssumeRole"}]}))


def _remediate_as(pytester, monkeypatch, emu, tmp_path, drop: str | None = None):
    cfg_path = _config_with_path_user_and_role_reader(tmp_path)
    point_env_at(monkeypatch, emu)
    keys = _principals(emu, "remediator", drop, cfg_path)
    return run(pytester, f"--audit-config={cfg_path}", "--remediate", "--allow-destructive",
               "-k", "least_privilege or encrypted_with_cmk", plugins_extra=[PrincipalAws(keys)])


_REMEDIATED: dict[str, Any] = {}


def _remediated(pytester, monkeypatch, emu, tmp_path) -> dict[str, Any]:
    """The one ``_remediate_as`` run (no action dropped) of ``_path_user_and_role_reader``'s account that the two
    tests below judge -- the same account, configuration, principal and arguments, and neither test changes the
    result or the account -- made by whichever of them runs first in this process, with what each reads once it
    is over: the run, enforce_iam's decisions, and the key policy of the KMS key it created (or why it cannot be
    read)."""
    if not _REMEDIATED:
        _path_user_and_role_reader(emu)
        result, cap = _remediate_as(pytester, monkeypatch, emu, tmp_path)
        refused, allowed = list(enforce_iam.refused()), list(enforce_iam.allowed())  # before any read of ours
        key_policy: Any
        try:
            kms = emu.client("kms", "govcloud")
            key = kms.describe_key(KeyId="alias/bedrock-key-audit")["KeyMetadata"]["Arn"]
            key_policy = json.loads(kms.get_key_policy(KeyId=key, PolicyName="default")["Policy"])
        except Exception as exc:  # noqa: BLE001 -- re-raised by the test that reads it, after its assertions before
            key_policy = exc
        _REMEDIATED.update(result=result, cap=cap, refused=refused, allowed=allowed, key_policy=key_policy)
    return _REMEDIATED


def test_generated_remediator_policy_covers_a_path_user_a_role_reader_and_a_new_key(pytester, enforced, monkeypatch,
                                                                                   tmp_path):
    """A key user under an IAM path (its ARN is ``user/svc/NAME``), a role among the secret's readers (resolved with
    ``iam:GetRole`` in GovCloud), and the KMS key the remediator creates (its key policy names the creator for
    CreateKey's lockout safety check): nothing refused, the steps applied."""
    done = _remediated(pytester, monkeypatch, enforced, tmp_path)
    cap = done["cap"]
    assert done["refused"] == []
    decided = done["allowed"]
    assert ("iam:AttachUserPolicy", f"arn:aws:iam::{ACCOUNTS['commercial']}:user/svc/{PATH_USER}") in decided
    assert ("iam:GetRole", WORKLOAD_ROLE) in decided
    steps = {s.key: (s.status, s.message) for s in cap.plan}
    assert steps["iam.ensure-policy"][0] == "applied", steps
    assert all(st == "applied" for k, (st, _) in steps.items() if k.startswith(("kms.", "secret."))), steps
    assert cap.records["iam.policy_least_privilege"].status == "pass", cap.records["iam.policy_least_privilege"].detail
    assert cap.records["secret.encrypted_with_cmk"].status == "pass", cap.records["secret.encrypted_with_cmk"].detail


def test_generated_remediator_policy_without_get_role_fails(pytester, enforced, monkeypatch, tmp_path):
    _path_user_and_role_reader(enforced)
    result, cap = _remediate_as(pytester, monkeypatch, enforced, tmp_path, drop="iam:GetRole")
    assert cap.records["secret.encrypted_with_cmk"].status != "pass"
    assert "iam:GetRole" in {a for a, _ in enforce_iam.refused()}


def test_the_new_keys_policy_names_its_creator_for_put_key_policy(pytester, enforced, monkeypatch, tmp_path):
    """The remediator holds no ``kms:PutKeyPolicy``; CreateKey's lockout safety check passes because the key policy
    it writes names the creating principal (IAM's ARN) for ``kms:PutKeyPolicy``."""
    done = _remediated(pytester, monkeypatch, enforced, tmp_path)
    cap = done["cap"]
    assert cap.records["secret.encrypted_with_cmk"].status == "pass", cap.records["secret.encrypted_with_cmk"].detail
    doc = done["key_policy"]
    if isinstance(doc, Exception):
        raise doc
    me = f"arn:aws-us-gov:iam::{ACCOUNTS['govcloud']}:user/bedrock-key-remediator"
    named = [st for st in doc["Statement"] if st.get("Principal", {}).get("AWS") == me]
    assert [(st["Effect"], st["Action"]) for st in named] == [("Allow", "kms:PutKeyPolicy")], doc


def test_a_new_key_policy_without_its_creator_is_refused_by_the_lockout_check(pytester, enforced, monkeypatch,
                                                                              tmp_path):
    """Without the creator statement (and without any IAM grant of ``kms:PutKeyPolicy``) KMS refuses CreateKey
    itself: the statement is what passes the lockout safety check."""
    from bedrock_key_audit.remediation.fixers import kms

    monkeypatch.setattr(kms, "_creator_statements", lambda ctx, partition: [])
    _path_user_and_role_reader(enforced)
    result, cap = _remediate_as(pytester, monkeypatch, enforced, tmp_path)
    assert cap.records["secret.encrypted_with_cmk"].status != "pass"
    failed = [s.message for s in cap.plan if s.key.startswith("kms.") and s.status != "applied"]
    assert failed and any("MalformedPolicyDocument" in m or "update the key policy" in m for m in failed), failed
