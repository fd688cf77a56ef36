"""Who keeps reading the secret through remediation: the CMK move names everyone it cuts off, and the
principals that run the audit keep their reads."""
from __future__ import annotations

import json

import botocore.exceptions
import pytest

from tests.remediation.test_guard import (  # noqa: F401 -- fixtures
    GOV,
    WORKLOAD,
    WORKLOAD_REAL,
    _rec_ct,
    _workload_role,
    ctx_for,
    readers_ctx,
)


def test_moving_the_secret_to_our_key_names_every_reader_it_cuts_off_and_only_runs_destructive(emu, ctx_for):  # noqa: F811
    """No secret.allowed_readers: the workload role reads under aws/secretsmanager (GetSecretValue in IAM)
    and would not under our key (no kms:Decrypt).  The step is destructive and its text names the role,
    evaluated; without --allow-destructive the secret stays under its key and nobody is cut off."""
    from bedrock_key_audit.remediation.core import apply_plan
    from bedrock_key_audit.remediation.fixers.secret import fix_secret_cmk

    emu.apply("secret_default_kms")
    _workload_role(emu)
    ctx = ctx_for(destructive=False)
    steps = fix_secret_cmk(ctx, _rec_ct("secret.encrypted_with_cmk"))
    move = next(s for s in steps if s.key == "secret.kms")
    assert move.destructive
    assert WORKLOAD_REAL in move.action and "would lose read access" in move.action, move.action
    sm = emu.client("secretsmanager", "govcloud")
    before = sm.describe_secret(SecretId="cross-partition-commercial-creds").get("KmsKeyId")
    apply_plan(ctx, steps, lambda st, e: None)
    assert move.status == "skipped", (move.status, move.message)
    assert sm.describe_secret(SecretId="cross-partition-commercial-creds").get("KmsKeyId") == before


def test_a_move_that_cuts_nobody_off_says_so(emu, ctx_for):  # noqa: F811
    """The workload also holds kms:Decrypt in IAM, and our key delegates to IAM: nobody loses read access."""
    from bedrock_key_audit.remediation.fixers.secret import fix_secret_cmk

    emu.apply("secret_default_kms")
    _workload_role(emu, decrypt=True)
    steps = fix_secret_cmk(ctx_for(), _rec_ct("secret.encrypted_with_cmk"))
    move = next(s for s in steps if s.key == "secret.kms")
    assert "no principal that reads it now loses read access" in move.action, move.action
    assert WORKLOAD_REAL not in move.action


def test_a_configured_reader_keeps_reading_after_the_move(emu, readers_ctx):  # noqa: F811
    """Configured without its path: the key the plan creates names the real ARN, the move names no loser."""
    from bedrock_key_audit.remediation.core import apply_plan
    from bedrock_key_audit.remediation.fixers.secret import fix_secret_cmk

    emu.apply("secret_default_kms")
    _workload_role(emu)
    ctx = readers_ctx([WORKLOAD])
    steps = fix_secret_cmk(ctx, _rec_ct("secret.encrypted_with_cmk"))
    move = next(s for s in steps if s.key == "secret.kms")
    assert WORKLOAD_REAL not in move.action, move.action
    apply_plan(ctx, steps, lambda st, e: None)
    assert [s.status for s in steps] == ["applied", "applied"], [(s.key, s.message) for s in steps]
    # evaluated on the state AWS (the emulator) has now: the secret is under our key and the reader reads
    from bedrock_key_audit.access import KeyAccess, secret_readers
    from bedrock_key_audit.inventory.access import account_authorization, secret_resource_policy

    fresh = readers_ctx([WORKLOAD])
    secret = fresh.inv.secret()
    kms = emu.client("kms", "govcloud")
    key_arn = kms.describe_key(KeyId=secret.kms_key_id)["KeyMetadata"]["Arn"]
    assert key_arn == kms.describe_key(KeyId="alias/bedrock-key-audit")["KeyMetadata"]["Arn"]
    policy = kms.get_key_policy(KeyId=key_arn, PolicyName="default")["Policy"]
    got = secret_readers(account_authorization(fresh.inv, "govcloud").principals, secret_arn=secret.arn or "",
                         region="us-gov-west-1", account=GOV, resource_policy=secret_resource_policy(fresh.inv),
                         key=KeyAccess(key_arn, policy), now=fresh.now)
    assert any(a.principal == WORKLOAD_REAL and a.certain for a in got), got


# --------------------------------------------------------------------------- the principals that run the audit
AUDITOR = f"arn:aws-us-gov:iam::{GOV}:role/BedrockKeyAudit"


def _auditor_role(emu):
    iam = emu.client("iam", "govcloud")
    iam.create_role(RoleName="BedrockKeyAudit", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws-us-gov:iam::{GOV}:root"}, "Action": "sts:AssumeRole"}]}))
    iam.put_role_policy(RoleName="BedrockKeyAudit", PolicyName="audit", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["secretsmanager:GetSecretValue",
                                                                          "kms:Decrypt"], "Resource": "*"}]}))


@pytest.fixture
def auditors_ctx(emu, monkeypatch, tmp_path):
    from bedrock_key_audit.emulator import clock
    from bedrock_key_audit.aws import Aws, CallLog
    from bedrock_key_audit.config import load_config
    from bedrock_key_audit.fixtures.remediation.plugin import context_for
    from tests.remediation.helpers import ROOT, point_env_at

    point_env_at(monkeypatch, emu)

    def make(readers: list[str], auditors: list[str]):
        cfg_file = tmp_path / "auditors.toml"
        cfg_file.write_text(f"[secret]\nallowed_readers = {json.dumps(readers)}\nauditors = {json.dumps(auditors)}\n")
        cfg = load_config(cfg_file, ROOT)
        return context_for(Aws(cfg, CallLog(), emulated=True), cfg, clock.now(), True)
    return make


def _read_as_auditor(emu) -> str:
    """GetSecretValue as a session of the auditor role, answered by the emulator: "read" or the error code."""
    sts = emu.client("sts", "govcloud")
    c = sts.assume_role(RoleArn=AUDITOR, RoleSessionName="nightly")["Credentials"]
    sm = emu.client("secretsmanager", "govcloud", aws_access_key_id=c["AccessKeyId"],
                    aws_secret_access_key=c["SecretAccessKey"], aws_session_token=c["SessionToken"])
    try:
        sm.get_secret_value(SecretId="cross-partition-commercial-creds")
    except botocore.exceptions.ClientError as exc:
        return str(exc.response["Error"]["Code"])
    return "read"


def test_the_readers_deny_spares_the_configured_auditor_who_then_still_reads(emu, auditors_ctx):
    """A nightly auditor role other than the remediator, configured in secret.auditors: the Deny spares it,
    and the emulator lets its session read after the step."""
    from bedrock_key_audit.remediation.fixers.access import fix_secret_readers
    from tests.remediation.test_guard import _apply

    emu.apply("compliant")
    _workload_role(emu)
    _auditor_role(emu)
    assert _read_as_auditor(emu) == "read"
    ctx = auditors_ctx([WORKLOAD], [AUDITOR])
    steps = fix_secret_readers(ctx, _rec_ct("secret.readers_restricted"))
    assert AUDITOR in steps[0].action and "locked out unless listed" not in steps[0].action
    entry = _apply(ctx, steps[0])
    assert entry["status"] == "applied", entry
    assert _read_as_auditor(emu) == "read"


def test_without_configured_auditors_the_plan_says_who_must_run_the_audit(emu, readers_ctx):  # noqa: F811
    from bedrock_key_audit.remediation.fixers.access import fix_secret_readers

    emu.apply("compliant")
    _workload_role(emu)
    steps = fix_secret_readers(readers_ctx([WORKLOAD]), _rec_ct("secret.readers_restricted"))
    assert "locked out unless listed in secret.auditors" in steps[0].action, steps[0].action


def test_the_guard_refuses_a_deny_that_locks_a_configured_auditor_out(emu, auditors_ctx):
    """A write that spares the workload but not the auditor configured to run the audit: manual, naming it;
    nothing is written and the auditor still reads."""
    from bedrock_key_audit.remediation.fixers.access import deny_statement
    from tests.remediation.test_guard import _apply, _step

    emu.apply("compliant")
    _workload_role(emu)
    _auditor_role(emu)
    ctx = auditors_ctx([WORKLOAD], [AUDITOR])
    sm = emu.client("secretsmanager", "govcloud")
    arn = sm.describe_secret(SecretId="cross-partition-commercial-creds")["ARN"]

    def run(ctx, st):
        doc = {"Version": "2012-10-17", "Statement": [deny_statement([WORKLOAD_REAL, f"arn:aws-us-gov:iam::{GOV}:root"])]}
        ctx.call("secretsmanager", "govcloud", "PutResourcePolicy", SecretId=arn, ResourcePolicy=json.dumps(doc))
        return {}, {}

    step = _step("secret.deny-other-readers", [arn], run)
    step.partition = "govcloud"
    entry = _apply(ctx, step)
    assert entry["status"] == "manual" and "would lock" in entry["message"] and AUDITOR in entry["message"], entry
    assert "ResourcePolicy" not in sm.get_resource_policy(SecretId=arn) or \
        "BedrockKeyAuditDenyOtherReaders" not in str(sm.get_resource_policy(SecretId=arn).get("ResourcePolicy"))
    assert _read_as_auditor(emu) == "read"


def test_an_explicit_deny_on_the_secret_is_not_answered_with_grant_advice():
    """AWS says "with an explicit deny" when a Deny refused the read: a grant changes nothing ("Policy
    evaluation logic"), so the advice names the Deny and secret.auditors."""
    import boto3

    from bedrock_key_audit import aws_call

    client = boto3.client("secretsmanager", region_name="us-gov-west-1", aws_access_key_id="AKIDEXAMPLE",
                          aws_secret_access_key="x")

    def via(_client):
        raise botocore.exceptions.ClientError({"Error": {"Code": "AccessDeniedException", "Message": (
            "User: arn:aws-us-gov:iam::210987654321:role/x is not authorized to perform: "
            "secretsmanager:GetSecretValue on resource: s with an explicit deny")}}, "GetSecretValue")

    with pytest.raises(aws_call.AwsCallError) as info:
        aws_call.call(client, "GetSecretValue", partition="govcloud", via=via)
    text = str(info.value)
    assert "explicit Deny" in text and "secret.auditors" in text and "; grant" not in text, text


def test_a_configured_auditor_is_an_allowed_reader_of_the_row(pytester, emulator, tmp_path):
    """secret.readers_restricted counts the principals in secret.auditors as allowed (they run the audit, which
    reads the secret), as it counts the caller; the same role unlisted fails the row."""
    from tests.audit.helpers import run_audit, statuses

    def config(auditors: list[str]) -> str:
        path = tmp_path / f"audit-{len(auditors)}.toml"
        path.write_text(f"[secret]\nauditors = {json.dumps(auditors)}\n")
        return str(path)

    rows = run_audit(pytester, "compliant", f"--audit-config={config([AUDITOR])}", rows=["secret.readers_restricted"],
                     setup=_auditor_role)
    assert statuses(rows)["secret.readers_restricted"] == "pass", rows["secret.readers_restricted"]["detail"]
    rows = run_audit(pytester, "compliant", f"--audit-config={config([])}", rows=["secret.readers_restricted"],
                     setup=_auditor_role)
    assert statuses(rows)["secret.readers_restricted"] == "fail"
    assert AUDITOR in rows["secret.readers_restricted"]["detail"]
