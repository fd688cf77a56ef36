"""Remediation never harms what it does not own: IAM, trails, the plan.

Each test builds an account on the emulator, runs ``--remediate=plan`` (nothing may change),
then applies the plan (with or without ``--allow-destructive``) and compares the account before
and after with tests/remediation/snapshot.py.
"""
from __future__ import annotations

import json

import httpx
import pytest

from bedrock_key_audit.remediation.fixers import cloudtrail as cloudtrail_fixers, iam as iam_fixers
from bedrock_key_audit.remediation.names import SURFACE_DENY_POLICY
from tests.remediation.helpers import SECRET, USER, plan_point, run
from tests.remediation.snapshot import account_snapshot

ALT = f"BedrockApiKeyLeastPrivilege-{USER}"
ACCT = "123456789012"


def _doc(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def plan_and_apply(pytester, scenario: str, setup, *apply_args: str, config: str | None = None,
                   real_plan: bool = False):
    """``--remediate *apply_args`` on a fresh build; ``pcap``, the plan, is the one that run built, taken at its
    plan point (complete, before the first write: tests/remediation/helpers.py ``plan_point``), where the account
    must equal the build -- the audit and the plan's dry runs changed nothing.  Apply builds its plan by plan mode's
    own code (fixtures/remediation/plugin.py ``_plan``: ``build_plan``; ``--allow-destructive`` changes only the
    status of a step made for its dependents, never a step's key, action, calls or targets).  ``real_plan``: a
    separate ``--remediate=plan`` run (without ``apply_args``) first, which must change nothing, gives ``pcap``."""
    seen: dict = {}
    extra = [f"--audit-config={config}"] if config else []

    def build(tag):
        def _b(emu):
            setup(emu)
            seen[tag] = account_snapshot(emu)
            seen["emu"] = emu
        return _b
    presult = None
    if real_plan:
        presult, pcap = run(pytester, "--remediate=plan", *extra, scenario=scenario, setup=build("plan_before"))
        assert account_snapshot(seen["emu"]) == seen["plan_before"], "--remediate=plan changed the account"
    with plan_point(lambda: account_snapshot(seen["emu"])) as point:
        result, cap = run(pytester, "--remediate", *apply_args, *extra, scenario=scenario, setup=build("before"))
    assert point.seen, result.stdout.str()[-2000:]
    assert point.state == seen["before"], "planning (the audit and the plan's dry runs) changed the account"
    return (pcap if real_plan else point), cap, result, seen["before"], account_snapshot(seen["emu"]), presult


def _statuses(cap) -> dict[str, str]:
    return {s.key: s.status for s in cap.plan}


# --------------------------------------------------------------------------- 1. policies
def _role_with_our_policy_name(emu):
    iam = emu.client("iam")
    iam.create_role(RoleName="data-team", AssumeRolePolicyDocument=_doc(
        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}))
    arn = iam.create_policy(PolicyName="BedrockApiKeyLeastPrivilege", PolicyDocument=_doc(
        {"Effect": "Allow", "Action": ["s3:GetObject", "bedrock:InvokeModel"], "Resource": "*"}))["Policy"]["Arn"]
    iam.attach_role_policy(RoleName="data-team", PolicyArn=arn)


def test_policy_attached_to_another_principal_is_never_edited(pytester):
    """The guide needs our policy; a role already holds a customer policy of that name."""
    pcap, cap, result, before, after, _ = plan_and_apply(pytester, "guide", _role_with_our_policy_name,
                                                         "--allow-destructive")
    theirs = f"arn:aws:iam::{ACCT}:policy/BedrockApiKeyLeastPrivilege"
    ensure = next(s for s in pcap.plan if s.key == "iam.ensure-policy")
    assert ALT in ensure.action and theirs not in ensure.target_list()
    assert after[theirs] == before[theirs]  # same versions, same default, same grants
    role = f"arn:aws:iam::{ACCT}:role/data-team"
    assert after[role] == before[role]
    user = after[f"arn:aws:iam::{ACCT}:user/{USER}"]
    assert f"arn:aws:iam::{ACCT}:policy/{ALT}" in user["attached"] and theirs not in user["attached"]
    assert cap.statuses()["iam.policy_grants_required"] == "pass"
    assert cap.statuses()["iam.policy_least_privilege"] == "pass"


def test_both_policy_names_taken_is_a_manual_step_and_nothing_is_stripped(pytester):
    def setup(emu):
        _role_with_our_policy_name(emu)
        # the second name exists in another case (IAM names ignore case), unattached
        emu.client("iam").create_policy(PolicyName=ALT.lower(), PolicyDocument=_doc(
            {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"}))
    pcap, cap, result, before, after, presult = plan_and_apply(pytester, "guide", setup, "--allow-destructive")
    st = _statuses(cap)
    assert st["iam.ensure-policy"] == "manual"
    ensure = next(s for s in cap.plan if s.key == "iam.ensure-policy")
    assert "no name is free" in ensure.action and "IAM names ignore case" in ensure.action
    # the detach needs the policy first: blocked, so the user keeps working permissions
    assert st["iam.detach:arn:aws:iam::aws:policy/AmazonBedrockFullAccess"] == "blocked"
    iam_keys = [k for k in before if ":iam::" in k]
    # the only IAM change: the Deny that closes Mantle (AmazonBedrockFullAccess stays attached, so it is open)
    assert st["endpoint.deny-unused-surfaces"] == "applied"
    user = f"arn:aws:iam::{ACCT}:user/{USER}"
    after_user = dict(after[user], inline={k: v for k, v in after[user]["inline"].items() if k != SURFACE_DENY_POLICY})
    assert {k: (after_user if k == user else after.get(k)) for k in iam_keys} == {k: before[k] for k in iam_keys}


# --------------------------------------------------------------------------- 2. names regardless of case
def test_user_named_in_another_case_is_the_same_user(pytester, tmp_path):
    """audit.toml names the user in capitals: the audit finds IAM's user, no near-duplicate is made."""
    cfg = tmp_path / "upper.toml"
    cfg.write_text(f'[user]\nname = "{USER.upper()}"\n')
    from bedrock_key_audit.emulator.scenario_base import guardrails  # the organization's SCPs are a given here

    pcap, cap, result, before, after, presult = plan_and_apply(pytester, "guide", lambda emu: guardrails(),
                                                               "--allow-destructive", config=str(cfg))
    assert pcap.statuses()["iam.user_exists"] == "pass"
    assert "iam.create-user" not in _statuses(pcap)
    users = [k for k in after if ":user/" in k and k.lower().endswith(USER)]
    assert users == [f"arn:aws:iam::{ACCT}:user/{USER}"]
    bad = {k: r.detail for k, r in cap.records.items() if r.status != "pass"}
    assert not bad and result.ret == 0, bad


def test_missing_user_is_undecided_when_other_cases_cannot_be_listed(pytester):
    """GetUser says NoSuchEntity but ListUsers is denied: a user in another case may exist, so the
    audit cannot say the user is missing (error, not fail) and no CreateUser is planned."""
    from bedrock_key_audit.emulator import aws_faults

    result, cap = run(pytester, "--remediate=plan", scenario="no_user", setup=lambda emu: aws_faults.deny("iam:ListUsers"))
    rec = cap.records["iam.user_exists"]
    assert rec.status == "error" and "iam:ListUsers" in rec.detail, rec.detail
    assert "iam.create-user" not in _statuses(cap)


def test_create_user_never_makes_a_near_duplicate(emulator, monkeypatch):
    """At apply time a user of the same name in another case appeared: a manual step, no CreateUser."""
    from bedrock_key_audit.aws import Aws, CallLog
    from bedrock_key_audit.config import load_config
    from bedrock_key_audit.emulator import clock
    from bedrock_key_audit.remediation.core import apply_plan
    from bedrock_key_audit.fixtures.remediation.plugin import context_for
    from tests.remediation.helpers import ROOT, point_env_at

    emulator.reset()
    point_env_at(monkeypatch, emulator)
    cfg = load_config(ROOT / "audit.toml")
    ctx = context_for(Aws(cfg, CallLog(), emulated=True), cfg, clock.now(), False)
    step = iam_fixers._create_user_step(ctx)
    emulator.client("iam").create_user(UserName=USER.upper())
    apply_plan(ctx, [step], lambda st, e: None)
    assert step.status == "manual" and USER.upper() in step.message
    assert [u["UserName"] for u in emulator.client("iam").list_users()["Users"]] == [USER.upper()]


# --------------------------------------------------------------------------- 3. Deny guardrails
DENY_TITAN = {"Sid": "NoTitan", "Effect": "Deny", "Action": "bedrock:GetFoundationModel",
              "Resource": "arn:aws:bedrock:*::foundation-model/amazon.*"}


def _titan_status(emu) -> int:
    value = emu.client("secretsmanager", "govcloud").get_secret_value(SecretId=SECRET)["SecretString"]
    key = json.loads(value)["bedrock_api_key"]
    with httpx.Client(timeout=10) as c:
        return c.get(f"{emu.url}/foundation-models/amazon.titan-text-express-v1",
                     headers={"Authorization": f"Bearer {key}"}).status_code


def test_inline_policy_with_a_deny_is_narrowed_not_deleted(pytester, emulator):
    def setup(emu):
        emu.client("iam").put_user_policy(UserName=USER, PolicyName="team-guardrail", PolicyDocument=_doc(
            {"Effect": "Allow", "Action": ["s3:*", "bedrock:ListFoundationModels"], "Resource": "*"}, DENY_TITAN))
        assert _titan_status(emu) == 403
    pcap, cap, result, before, after, _ = plan_and_apply(pytester, "compliant", setup, "--allow-destructive")
    step = next(s for s in pcap.plan if s.key == "iam.narrow-inline:team-guardrail")
    assert step.destructive and "iam:PutUserPolicy" in step.calls
    doc = after[f"arn:aws:iam::{ACCT}:user/{USER}"]["inline"]["team-guardrail"]
    assert DENY_TITAN in doc["Statement"]
    assert {"Effect": "Allow", "Action": ["bedrock:ListFoundationModels"], "Resource": "*"} in doc["Statement"]
    assert not any("s3:*" in json.dumps(s) for s in doc["Statement"])
    assert cap.statuses()["iam.policy_least_privilege"] == "pass"
    assert _titan_status(emulator) == 403  # what the guardrail blocked stays blocked
    entry = next(e for e in cap.actions if e["step"] == "iam.narrow-inline:team-guardrail")
    assert entry["before"]["PolicyDocument"] == before[f"arn:aws:iam::{ACCT}:user/{USER}"]["inline"]["team-guardrail"]


def test_leaving_a_group_with_a_deny_and_detaching_a_managed_deny_are_manual(pytester, emulator):
    def setup(emu):
        iam = emu.client("iam")
        iam.create_group(GroupName="bedrock-team")
        iam.put_group_policy(GroupName="bedrock-team", PolicyName="guardrail", PolicyDocument=_doc(DENY_TITAN))
        iam.put_group_policy(GroupName="bedrock-team", PolicyName="wide", PolicyDocument=_doc(
            {"Effect": "Allow", "Action": "bedrock:*", "Resource": "*"}))
        iam.add_user_to_group(GroupName="bedrock-team", UserName=USER)
        arn = iam.create_policy(PolicyName="team-managed", PolicyDocument=_doc(
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"},
            {"Effect": "Deny", "Action": "bedrock:DeleteCustomModel", "Resource": "*"}))["Policy"]["Arn"]
        iam.attach_user_policy(UserName=USER, PolicyArn=arn)
    pcap, cap, result, before, after, _ = plan_and_apply(pytester, "compliant", setup, "--allow-destructive")
    st = _statuses(cap)
    assert st["manual:leave-group:bedrock-team"] == "manual"
    assert st[f"manual:detach:arn:aws:iam::{ACCT}:policy/team-managed"] == "manual"
    assert not any(k.startswith(("iam.leave-group", "iam.detach")) for k in st)
    user = f"arn:aws:iam::{ACCT}:user/{USER}"
    assert after[user] == before[user] and after[f"arn:aws:iam::{ACCT}:group/bedrock-team"] == \
        before[f"arn:aws:iam::{ACCT}:group/bedrock-team"]
    assert _titan_status(emulator) == 403
    # honest: the check still fails, and says why through the manual steps
    assert cap.statuses()["iam.policy_least_privilege"] == "fail"
    assert "holds a Deny statement" in result.stdout.str()


# --------------------------------------------------------------------------- 4. policy versions
def _stale_policy_with_five_versions(emu):
    iam = emu.client("iam")
    arn = iam.create_policy(PolicyName="BedrockApiKeyLeastPrivilege", PolicyDocument=_doc(
        {"Effect": "Allow", "Action": "bedrock:InvokeModel", "Resource": "*"}))["Policy"]["Arn"]
    for n in range(4):
        iam.create_policy_version(PolicyArn=arn, PolicyDocument=_doc(
            {"Sid": f"V{n + 2}", "Effect": "Allow", "Action": "bedrock:InvokeModel", "Resource": "*"}),
            SetAsDefault=False)
    iam.attach_user_policy(UserName=USER, PolicyArn=arn)
    for p in iam.list_attached_user_policies(UserName=USER)["AttachedPolicies"]:
        if p["PolicyName"] == "BedrockCrossPartitionEnhanced":
            iam.detach_user_policy(UserName=USER, PolicyArn=p["PolicyArn"])


def test_deleting_a_policy_version_is_destructive_and_recorded(pytester):
    arn = f"arn:aws:iam::{ACCT}:policy/BedrockApiKeyLeastPrivilege"
    pcap, cap, result, before, after, _ = plan_and_apply(pytester, "compliant", _stale_policy_with_five_versions)
    ensure = next(s for s in pcap.plan if s.key == "iam.ensure-policy")
    assert ensure.destructive and any("DeletePolicyVersion" in c for c in ensure.calls)
    assert _statuses(cap)["iam.ensure-policy"] == "skipped" and after[arn] == before[arn]
    # with the flag: v2 (the oldest non-default) goes, and its document is in the action log first
    pcap, cap, result, before, after, _ = plan_and_apply(pytester, "compliant", _stale_policy_with_five_versions,
                                                         "--allow-destructive")
    entry = next(e for e in cap.actions if e["step"] == "iam.ensure-policy")
    assert entry["status"] == "applied"
    assert entry["before"]["deleted_version"] == {"VersionId": "v2",
                                                 "Document": json.loads(before[arn]["versions"]["v2"])}
    assert "v2" not in after[arn]["versions"]
    assert cap.statuses()["iam.policy_grants_required"] == "pass"


# --------------------------------------------------------------------------- 5. trails
DATA_ONLY = [{"ReadWriteType": "WriteOnly", "IncludeManagementEvents": False,
              "DataResources": [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3:::team-bucket/"]}]}]


def _data_trail(emu, name="a-data-team-trail", selectors=DATA_ONLY):
    s3 = emu.client("s3")
    s3.create_bucket(Bucket=f"{name}-logs")
    arn = f"arn:aws:cloudtrail:us-east-1:{ACCT}:trail/{name}"
    # CreateTrail refuses a bucket CloudTrail cannot write to (as AWS does)
    s3.put_bucket_policy(Bucket=f"{name}-logs",
                         Policy=json.dumps(cloudtrail_fixers.trail_bucket_policy("aws", ACCT, f"{name}-logs", arn)))
    ct = emu.client("cloudtrail")
    ct.create_trail(Name=name, S3BucketName=f"{name}-logs")
    ct.put_event_selectors(TrailName=name, EventSelectors=selectors)
    ct.start_logging(Name=name)
    return f"arn:aws:cloudtrail:us-east-1:{ACCT}:trail/{name}"


def test_another_teams_data_trail_is_never_changed(pytester):
    """The guide's trails lack validation, KMS and multi-region; a data-only trail sorts first by name."""
    holder: dict = {}
    pcap, cap, result, before, after, _ = plan_and_apply(
        pytester, "guide", lambda emu: holder.setdefault("arn", _data_trail(emu)), "--allow-destructive")
    data = holder["arn"]
    assert not any(data in s.target_list() for s in pcap.plan)
    assert after[data] == before[data]
    guide_trail = f"arn:aws:cloudtrail:us-east-1:{ACCT}:trail/bedrock-audit-trail"
    assert after[guide_trail]["KmsKeyId"] and after[guide_trail]["LogFileValidationEnabled"]
    assert all(r.status == "pass" for k, r in cap.records.items() if k.startswith("cloudtrail."))


def test_a_partition_with_only_a_data_trail_gets_our_own_trail(pytester):
    def setup(emu):
        ct = emu.client("cloudtrail")
        ct.put_event_selectors(TrailName="bedrock-audit-trail", EventSelectors=DATA_ONLY)
    trail = f"arn:aws:cloudtrail:us-east-1:{ACCT}:trail/bedrock-audit-trail"
    pcap, cap, result, before, after, _ = plan_and_apply(pytester, "compliant", setup)
    keys = _statuses(cap)
    assert keys["trail.create:commercial"] == "applied"
    assert not any(trail in s.target_list() for s in cap.plan)
    assert after[trail] == before[trail]
    assert cap.statuses()["cloudtrail.management_events[commercial]"] == "pass"


def test_data_event_selectors_are_kept_exactly(pytester):
    """WriteOnly data events stay WriteOnly while management events become read and write."""
    mixed = [{"ReadWriteType": "WriteOnly", "IncludeManagementEvents": True,
              "DataResources": [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3:::team-bucket/"]}]}]
    trail = f"arn:aws:cloudtrail:us-east-1:{ACCT}:trail/bedrock-audit-trail"
    pcap, cap, result, before, after, _ = plan_and_apply(
        pytester, "compliant", lambda emu: emu.client("cloudtrail").put_event_selectors(
            TrailName="bedrock-audit-trail", EventSelectors=mixed))
    assert _statuses(cap)["trail.management-events:commercial"] == "applied"
    assert after[trail]["records"]["data"] == before[trail]["records"]["data"] == \
        ["AWS::S3::Object|arn:aws:s3:::team-bucket/|WriteOnly"]
    assert after[trail]["records"]["management_read"] and after[trail]["records"]["management_write"]
    entry = next(e for e in cap.actions if e["step"] == "trail.management-events:commercial")
    assert entry["before"]["EventSelectors"] == mixed
    assert cap.statuses()["cloudtrail.management_events[commercial]"] == "pass"


def test_advanced_data_selectors_are_kept_verbatim(pytester, emulator):
    data_sel = {"Name": "team S3 writes", "FieldSelectors": [
        {"Field": "eventCategory", "Equals": ["Data"]}, {"Field": "resources.type", "Equals": ["AWS::S3::Object"]},
        {"Field": "readOnly", "Equals": ["false"]}]}
    mgmt_writes = {"Name": "writes", "FieldSelectors": [
        {"Field": "eventCategory", "Equals": ["Management"]}, {"Field": "readOnly", "Equals": ["false"]}]}
    pcap, cap, result, before, after, _ = plan_and_apply(
        pytester, "compliant", lambda emu: emu.client("cloudtrail").put_event_selectors(
            TrailName="bedrock-audit-trail", AdvancedEventSelectors=[data_sel, mgmt_writes]))
    got = emulator.client("cloudtrail").get_event_selectors(TrailName="bedrock-audit-trail")["AdvancedEventSelectors"]
    assert data_sel in got and mgmt_writes not in got
    assert cap.statuses()["cloudtrail.management_events[commercial]"] == "pass"


# --------------------------------------------------------------------------- 6. usable KMS targets
@pytest.mark.parametrize("how", ["disable_key", "schedule_key_deletion"])
def test_unusable_kms_key_under_our_alias_is_a_manual_step(pytester, how):
    def setup(emu):
        kms = emu.client("kms")
        key = kms.create_key(Description="someone's")["KeyMetadata"]["KeyId"]
        kms.create_alias(AliasName="alias/bedrock-key-audit", TargetKeyId=key)
        if how == "disable_key":
            kms.disable_key(KeyId=key)
        else:
            kms.schedule_key_deletion(KeyId=key, PendingWindowInDays=7)
    trail = f"arn:aws:cloudtrail:us-east-1:{ACCT}:trail/bedrock-audit-trail"
    pcap, cap, result, before, after, presult = plan_and_apply(pytester, "trail_no_kms", setup, "--allow-destructive")
    st = _statuses(cap)
    assert st["kms.create:commercial"] == "manual" and st["trail.kms:commercial"] == "blocked"
    manual = next(s for s in cap.plan if s.key == "kms.create:commercial")
    assert manual.action.count(". ") == 0 and ("Disabled" in manual.action or "PendingDeletion" in manual.action)
    assert after[trail] == before[trail]
    assert cap.statuses()["cloudtrail.kms[commercial]"] == "fail"


# --------------------------------------------------------------------------- 7. an honest plan
def test_summary_never_claims_success_over_failing_checks(pytester, monkeypatch):
    """Fixers that plan nothing for failing checks: the summary names each check and why."""
    from bedrock_key_audit.remediation import core

    monkeypatch.setattr(core, "FIXERS", {cid: (lambda ctx, rec: []) for cid in core.FIXERS})
    result, cap = run(pytester, "--remediate=plan", scenario="guide")
    out = result.stdout.str()
    assert cap.plan == []
    assert "every check passed" not in out
    # the guide: 12 rows, and the 4 org.* rows (its accounts are in no organization)
    assert "no step planned, yet 16 check(s) did not pass" in out
    assert "iam.policy_least_privilege (fail): no step: its fixer finds nothing to change" in out


def test_every_step_lists_machine_readable_targets_and_the_log_carries_them(pytester):
    result, cap = run(pytester, "--remediate", "--allow-destructive", scenario="guide")
    assert cap.actions
    for e in cap.actions:
        assert e["targets"], e
        if e["step"].startswith(("iam.", "trail.", "kms.")):  # this branch's steps: ARNs only
            assert all(t.startswith("arn:") for t in e["targets"]), e


def test_action_log_restores_what_the_plan_changed(pytester, emulator):
    """docs/remediation.md, "Restoring from the action log", done with boto3: the account is back."""
    write_only = [{"ReadWriteType": "WriteOnly", "IncludeManagementEvents": True, "DataResources": [],
                   "ExcludeManagementEventSources": []}]

    def setup(emu):
        iam = emu.client("iam")
        iam.put_user_policy(UserName=USER, PolicyName="extra", PolicyDocument=_doc(
            {"Effect": "Allow", "Action": ["s3:*", "bedrock:InvokeModel"], "Resource": "*"}))
        iam.attach_user_policy(UserName=USER, PolicyArn="arn:aws:iam::aws:policy/AmazonBedrockFullAccess")
        iam.create_group(GroupName="wide")
        iam.put_group_policy(GroupName="wide", PolicyName="all", PolicyDocument=_doc(
            {"Effect": "Allow", "Action": "ec2:*", "Resource": "*"}))
        iam.add_user_to_group(GroupName="wide", UserName=USER)
        emu.client("cloudtrail").put_event_selectors(TrailName="bedrock-audit-trail", EventSelectors=write_only)
    pcap, cap, result, before, after, _ = plan_and_apply(pytester, "compliant", setup, "--allow-destructive")
    assert result.ret == 0, [(s.key, s.status, s.message) for s in cap.plan]
    user, trail = f"arn:aws:iam::{ACCT}:user/{USER}", f"arn:aws:cloudtrail:us-east-1:{ACCT}:trail/bedrock-audit-trail"
    assert after[user] != before[user] and after[trail] != before[trail]
    iam, ct = emulator.client("iam"), emulator.client("cloudtrail")
    for e in reversed(cap.actions):
        b, step = e["before"], e["step"]
        if e["status"] != "applied":
            continue
        if step.startswith("iam.detach:"):
            iam.attach_user_policy(UserName=b["UserName"], PolicyArn=b["PolicyArn"])
        elif step.startswith(("iam.narrow-inline:", "iam.delete-inline:")):
            iam.put_user_policy(UserName=b["UserName"], PolicyName=b["PolicyName"],
                                PolicyDocument=json.dumps(b["PolicyDocument"]))
        elif step.startswith("iam.leave-group:"):
            iam.add_user_to_group(UserName=b["UserName"], GroupName=b["GroupName"])
        elif step == "iam.ensure-policy" and not b["attached"]:
            iam.detach_user_policy(UserName=USER, PolicyArn=b["PolicyArn"])
        elif step == "endpoint.deny-unused-surfaces":
            if b["PolicyDocument"] is None:
                iam.delete_user_policy(UserName=b["UserName"], PolicyName=b["PolicyName"])
            else:
                iam.put_user_policy(UserName=b["UserName"], PolicyName=b["PolicyName"],
                                    PolicyDocument=json.dumps(b["PolicyDocument"]))
        elif step.startswith("trail.management-events:"):
            ct.put_event_selectors(TrailName=b["TrailARN"], EventSelectors=b["EventSelectors"])
    restored = account_snapshot(emulator)
    assert restored[user] == before[user]
    assert restored[trail]["records"] == before[trail]["records"]


# --------------------------------------------------------------------------- other credential types
def test_every_other_credential_type_is_deleted_only_by_named_destructive_steps(pytester):
    """Signing certificate, SSH key, a CodeCommit credential: each gets its own destructive step
    naming it; without --allow-destructive nothing is deleted, with it the row passes and the
    user's Bedrock key is untouched."""
    from tests.hostile.test_review_classes import _self_signed_cert, _ssh_public_key

    builds: list[dict[str, str]] = []  # one per account build (plan run, then apply run)

    def setup(emu):
        iam = emu.client("iam")
        builds.append({
            "signing-certificate": iam.upload_signing_certificate(
                UserName=USER, CertificateBody=_self_signed_cert())["Certificate"]["CertificateId"],
            "ssh-public-key": iam.upload_ssh_public_key(
                UserName=USER, SSHPublicKeyBody=_ssh_public_key())["SSHPublicKey"]["SSHPublicKeyId"],
            "service-credential": iam.create_service_specific_credential(
                UserName=USER, ServiceName="codecommit.amazonaws.com")["ServiceSpecificCredential"][
                "ServiceSpecificCredentialId"],
        })

    pcap, cap, result, before, after, _ = plan_and_apply(pytester, "compliant", setup, real_plan=True)
    for plan, ids in ((pcap.plan, builds[0]), (cap.plan, builds[1])):
        steps = {s.key: s for s in plan}
        for slug, cid in ids.items():
            st = steps[f"iam.delete-{slug}:{cid}"]
            assert st.destructive and cid[:8] in st.action, st.action
    assert all(s.status == "skipped" for s in cap.plan if s.key.startswith("iam.delete-")), _statuses(cap)
    assert before == after

    _, cap2, result2, before2, after2, _ = plan_and_apply(pytester, "compliant", setup, "--allow-destructive")
    assert cap2.statuses()["iam.user_no_other_credentials"] == "pass", _statuses(cap2)
    user_arn = f"arn:aws:iam::{ACCT}:user/{USER}"
    u_before, u_after = before2[user_arn], after2[user_arn]
    assert u_before["signing_certificates"] and u_before["ssh_public_keys"]
    assert not u_after["signing_certificates"] and not u_after["ssh_public_keys"]
    # the Bedrock key is untouched; only the CodeCommit credential went
    cc = builds[-1]["service-credential"]
    assert u_after["credentials"] == {k: v for k, v in u_before["credentials"].items() if k != cc}
