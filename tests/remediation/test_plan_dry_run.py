"""Plan and apply cannot disagree: the plan runs every step's writes through the change guard in dry-run
mode (remediation/core.py ``dry_run``), so a step the guard would refuse is planned as manual with the
very sentence apply gives, and the dry run itself writes nothing.

Each refusal class of the guard (tests/remediation/test_guard.py) is built twice on the emulator: one
step goes through the plan's dry run, an identical fresh step through ``apply_plan``."""
from __future__ import annotations

import base64
import json
from typing import Any, Callable

import pytest

from tests.remediation.helpers import SECRET, USER
from tests.remediation.test_guard import (  # noqa: F401 -- fixtures
    ACCT,
    GOV,
    IP_GRANT,
    TEAM_POLICY,
    WORKLOAD,
    WORKLOAD_REAL,
    _apply,
    _doc,
    _policy,
    _step,
    _team_bucket,
    _workload_role,
    ctx_for,
)
from tests.remediation.test_guard_readers import AUDITOR, _auditor_role, auditors_ctx  # noqa: F401

Make = Callable[[], Any]  # a fresh Step


def _plan_then_apply(ctx, make: Make, state: Callable[[], Any]) -> tuple[Any, dict[str, Any]]:
    """The plan's dry run of one step (checking it wrote nothing), then apply of an identical step."""
    from bedrock_key_audit.remediation.core import dry_run

    before = state()
    planned = make()
    dry_run(ctx, planned)
    assert state() == before, "the plan's dry run changed the account"
    assert ctx.journal.mine == [], "the plan's dry run journaled an intent"
    return planned, _apply(ctx, make())


def _agree(planned, entry: dict[str, Any], words: str) -> None:
    assert entry["status"] == "manual" and words in entry["message"], entry["message"]
    assert planned.status == "manual" and planned.manual, (planned.status, planned.message)
    assert planned.message == entry["message"]  # the same sentence, word for word
    assert planned.message in planned.action  # the plan's line shows it
    refused = [w for w in planned.writes if w.get("refused")]
    assert refused and all("refused" in w for w in planned.writes)  # only the refusal's before-image is kept


def _put_team_policy(bucket_targets: list[str], statements: list[dict], grants=()) -> Make:
    def run(c, st):
        c.call("s3", "commercial", "PutBucketPolicy", Bucket="team-logs", Policy=_doc(*statements))
        return None, None
    return lambda: _step("k", bucket_targets, run, grants=grants)


def test_a_write_to_a_resource_the_step_does_not_name_is_manual_in_the_plan(emu, ctx_for):  # noqa: F811
    s3 = _team_bucket(emu)
    planned, entry = _plan_then_apply(ctx_for(), _put_team_policy(["arn:aws:s3:::some-other-bucket"], [
        *TEAM_POLICY["Statement"]]), lambda: _policy(s3))
    _agree(planned, entry, "does not name as its target")
    assert json.loads(planned.writes[0]["before"]["Policy"]) == TEAM_POLICY


@pytest.mark.parametrize("change", ["undeclared allow", "dropped deny", "overwrite"])
def test_a_widening_bucket_policy_is_manual_in_the_plan(emu, ctx_for, change):  # noqa: F811
    s3 = _team_bucket(emu)
    stmts: list[dict] = list(TEAM_POLICY["Statement"])
    if change == "undeclared allow":
        stmts.append({"Sid": "Everyone", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCT}:root"},
                      "Action": "s3:GetObject", "Resource": "arn:aws:s3:::team-logs/*"})
    elif change == "dropped deny":
        stmts = stmts[:1]
    else:
        stmts = [{"Sid": "Ours", "Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
                  "Action": "s3:PutObject", "Resource": "arn:aws:s3:::team-logs/*"}]
    planned, entry = _plan_then_apply(ctx_for(), _put_team_policy(["arn:aws:s3:::team-logs"], stmts, ["Sid:Ours"]),
                                      lambda: _policy(s3))
    _agree(planned, entry, "widen")
    assert _policy(s3) == TEAM_POLICY


def test_a_secret_binary_rewrite_is_manual_in_the_plan(emu, ctx_for):  # noqa: F811
    sm = emu.client("secretsmanager", "govcloud")
    sm.create_secret(Name=SECRET, SecretBinary=base64.b64encode(b"\x00opaque"))

    def run(c, st):
        c.call("secretsmanager", "govcloud", "PutSecretValue", SecretId=SECRET, SecretString='{"a": 1}')
        return None, None
    planned, entry = _plan_then_apply(ctx_for(), lambda: _step("k", [SECRET], run),
                                      lambda: [(v["VersionId"], v["VersionStages"])  # a read sets LastAccessedDate
                                               for v in sm.list_secret_version_ids(SecretId=SECRET)["Versions"]])
    _agree(planned, entry, "SecretBinary")
    assert "opaque" not in json.dumps(planned.describe()) + json.dumps(planned.writes)


def test_a_bucket_of_our_name_taken_by_another_is_manual_in_the_plan(emu, ctx_for):  # noqa: F811
    """The adoption refusal comes from the guard's helper (taken_bucket), raised by the fixer's run."""
    from bedrock_key_audit.remediation.fixers.traces import _private_bucket

    s3 = _team_bucket(emu)

    def run(c, st):
        _private_bucket(c, "commercial", "us-east-1", "team-logs", {
            "Sid": "AmazonBedrockLogsWrite", "Effect": "Allow", "Principal": {"Service": "bedrock.amazonaws.com"},
            "Action": "s3:PutObject", "Resource": "arn:aws:s3:::team-logs/*"})
        return None, None
    planned, entry = _plan_then_apply(
        ctx_for(), lambda: _step("k", ["arn:aws:s3:::team-logs"], run, grants=["Sid:AmazonBedrockLogsWrite"]),
        lambda: _policy(s3))
    assert entry["status"] == "manual" and "never adopted" in entry["message"], entry["message"]
    assert planned.status == "manual" and planned.message == entry["message"]


def test_an_unconditional_grant_beside_a_source_ip_grant_is_manual_in_the_plan(emu, ctx_for):  # noqa: F811
    """The least-privilege policy step (a row that failed, so it may grant what it declares) would make a
    grant conditioned on aws:SourceIp unconditional: the plan already says so, as apply does."""
    from bedrock_key_audit.remediation.fixers.iam import _ensure_policy_step

    emu.apply("compliant")
    iam = emu.client("iam")
    for a in iam.list_attached_user_policies(UserName=USER)["AttachedPolicies"]:
        iam.detach_user_policy(UserName=USER, PolicyArn=a["PolicyArn"])
    iam.put_user_policy(UserName=USER, PolicyName="office-only", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{**IP_GRANT, "Action": ["bedrock:*"]}]}))
    ctx = ctx_for()

    def make():
        st = _ensure_policy_step(ctx)
        assert st is not None
        return st

    def state():
        return (iam.list_attached_user_policies(UserName=USER)["AttachedPolicies"],
                sorted(p["PolicyName"] for p in iam.list_policies(Scope="Local")["Policies"]))
    planned, entry = _plan_then_apply(ctx, make, state)
    _agree(planned, entry, "only under a condition")
    assert iam.list_attached_user_policies(UserName=USER)["AttachedPolicies"] == []


def test_a_deny_that_locks_a_configured_auditor_out_is_manual_in_the_plan(emu, auditors_ctx):  # noqa: F811
    from bedrock_key_audit.remediation.fixers.access import deny_statement

    emu.apply("compliant")
    _workload_role(emu)
    _auditor_role(emu)
    ctx = auditors_ctx([WORKLOAD], [AUDITOR])
    sm = emu.client("secretsmanager", "govcloud")
    arn = sm.describe_secret(SecretId="cross-partition-commercial-creds")["ARN"]

    def run(c, st):
        doc = {"Version": "2012-10-17", "Statement": [deny_statement([WORKLOAD_REAL, f"arn:aws-us-gov:iam::{GOV}:root"])]}
        c.call("secretsmanager", "govcloud", "PutResourcePolicy", SecretId=arn, ResourcePolicy=json.dumps(doc))
        return {}, {}

    def make():
        st = _step("secret.deny-other-readers", [arn], run)
        st.partition = "govcloud"
        return st
    planned, entry = _plan_then_apply(ctx, make, lambda: sm.get_resource_policy(SecretId=arn).get("ResourcePolicy"))
    _agree(planned, entry, "would lock")
    assert AUDITOR in planned.message


def test_an_access_write_the_guard_cannot_evaluate_is_manual_in_the_plan(emu, ctx_for):  # noqa: F811
    """A grant on a KMS key that existed before the run: CreateGrant is judged before the dry run stops at it."""
    kms = emu.client("kms")
    key = kms.create_key(Description="team key")["KeyMetadata"]

    def run(c, st):
        c.call("kms", "commercial", "CreateGrant", KeyId=key["KeyId"], GranteePrincipal=f"arn:aws:iam::{ACCT}:root",
               Operations=["Decrypt"])
        return None, None
    planned, entry = _plan_then_apply(ctx_for(), lambda: _step("k", [key["Arn"]], run),
                                      lambda: kms.list_grants(KeyId=key["KeyId"])["Grants"])
    _agree(planned, entry, "cannot evaluate")


# --------------------------------------------------------------------------- what the dry run leaves alone
def test_a_step_the_guard_allows_stays_planned_and_nothing_is_written(emu, ctx_for):  # noqa: F811
    s3 = _team_bucket(emu)
    ours = {"Sid": "BedrockKeyAuditWrite", "Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
            "Action": "s3:PutObject", "Resource": "arn:aws:s3:::team-logs/AWSLogs/*"}
    ctx = ctx_for()
    from bedrock_key_audit.remediation.core import dry_run

    st = _put_team_policy(["arn:aws:s3:::team-logs"], [*TEAM_POLICY["Statement"], ours],
                          ["Sid:BedrockKeyAuditWrite"])()
    st.before = {"kept": True}
    ctx.memo["x"] = 1
    dry_run(ctx, st)
    assert st.status == "planned" and not st.manual and st.writes == [] and st.before == {"kept": True}
    assert _policy(s3) == TEAM_POLICY and ctx.memo == {"x": 1} and not ctx.guard.dry_run and ctx.step is None


def test_the_dry_run_stops_at_a_create_whose_answer_is_needed_and_journals_no_intent(emu, ctx_for, tmp_path):  # noqa: F811
    """CreateBucket is judged and carried past (what it makes is known from its parameters), but neither made
    nor journaled; CreateKey's answer (the key id) is what later calls need, so the dry run stops there."""
    from bedrock_key_audit.remediation import journal
    from bedrock_key_audit.remediation.core import dry_run

    s3, kms = emu.client("s3"), emu.client("kms")
    keys = kms.list_keys()["Keys"]
    ctx = ctx_for()
    ctx.journal = journal.Journal(tmp_path)
    seen: list[str] = []

    def run(c, st):
        c.call("s3", "commercial", "CreateBucket", Bucket="ours-new")
        seen.append("after bucket")
        c.call("kms", "commercial", "CreateKey", Description="ours")
        seen.append("after key")  # never reached in the dry run
        return None, None
    st = _step("k", ["arn:aws:s3:::ours-new"], run)
    dry_run(ctx, st)
    assert st.status == "planned" and seen == ["after bucket"] and st.writes == []
    assert "ours-new" not in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert kms.list_keys()["Keys"] == keys
    assert journal.read(tmp_path) == [] and ctx.journal.mine == [] and ctx.guard.created == set()


def test_build_plan_runs_every_step_through_the_dry_run(emu, ctx_for, monkeypatch):  # noqa: F811
    """Plan and apply use this one list (fixtures/remediation/plugin.py ``_plan``): a step the guard refuses
    is manual before apply starts, and apply then leaves it alone."""
    from bedrock_key_audit.checkcore import CheckRecord
    from bedrock_key_audit.remediation import core

    s3 = _team_bucket(emu)
    step = _put_team_policy(["arn:aws:s3:::team-logs"], TEAM_POLICY["Statement"][:1])
    monkeypatch.setitem(core.FIXERS, "test.refused", lambda ctx, rec: [step()])
    rec = CheckRecord(check_id="test.refused", title="", family="iam", severity="high", controls={}, nodeid="x",
                      status="fail", detail="missing")
    ctx = ctx_for()
    steps = core.build_plan(ctx, [rec])
    assert [s.status for s in steps] == ["manual"] and "Deny statement DenyInsecure" in steps[0].message
    entries: list[dict] = []
    core.apply_plan(ctx, steps, lambda st, e: entries.append(e))
    assert entries[0]["status"] == "manual" and entries[0]["message"] == steps[0].message
    assert _policy(s3) == TEAM_POLICY


def test_the_plans_dry_runs_read_each_before_image_once_and_apply_reads_afresh(emu, ctx_for, monkeypatch):  # noqa: F811
    """No write is made while the plan's dry runs run, so a read they repeat (each step's before-image of the
    same bucket policy) is answered from the first; once the plan is built, and after any real write, every
    read goes to AWS again, so apply judges the account as it is then."""
    from bedrock_key_audit import aws_call
    from bedrock_key_audit.checkcore import CheckRecord
    from bedrock_key_audit.remediation import core

    s3 = _team_bucket(emu)
    ours = {"Sid": "BedrockKeyAuditWrite", "Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
            "Action": "s3:PutObject", "Resource": "arn:aws:s3:::team-logs/AWSLogs/*"}
    made = [_put_team_policy(["arn:aws:s3:::team-logs"], [*TEAM_POLICY["Statement"], ours], ["Sid:BedrockKeyAuditWrite"])
            for _ in range(2)]
    monkeypatch.setitem(core.FIXERS, "test.a", lambda ctx, rec: [dataclasses_replace(made[0](), key="a")])
    monkeypatch.setitem(core.FIXERS, "test.b", lambda ctx, rec: [dataclasses_replace(made[1](), key="b")])
    reads: list[str] = []
    real = aws_call.call

    def counting(client, operation, **kw):
        if operation == "GetBucketPolicy":
            reads.append(operation)
        return real(client, operation, **kw)
    monkeypatch.setattr(aws_call, "call", counting)
    recs = [CheckRecord(check_id=c, title="", family="iam", severity="high", controls={}, nodeid="x",
                        status="fail", detail="missing") for c in ("test.a", "test.b")]
    ctx = ctx_for()
    steps = core.build_plan(ctx, recs)
    assert [s.status for s in steps] == ["planned", "planned"]
    assert reads == ["GetBucketPolicy"]  # two dry runs, one before-image read
    # AWS changes after the plan (the team's policy is deleted): apply reads it again and judges what it finds
    s3.delete_bucket_policy(Bucket="team-logs")
    entries: list[dict] = []
    core.apply_plan(ctx, steps, lambda st, e: entries.append(e))
    # judged on the account as it is now: with the team's policy gone, the same write would add its SiemRead Allow
    assert len(reads) >= 3
    assert [e["status"] for e in entries] == ["manual", "manual"]
    assert all("it adds or loosens the Allow statement SiemRead" in e["message"] for e in entries), entries
    assert ctx.guard._dry_reads == {} and not ctx.guard.planning


def dataclasses_replace(step, **changes):
    import dataclasses

    return dataclasses.replace(step, **changes)


def test_a_secrets_value_is_never_remembered_by_the_plans_reads() -> None:
    """The key stays in the one frame that reads it (never leak the key): GetSecretValue, and streamed answers, are
    asked again rather than kept for the plan."""
    from bedrock_key_audit.remediation.guard import _read_key

    assert _read_key("secretsmanager", "govcloud", "GetSecretValue", None, (), {"SecretId": "s"}) is None
    assert _read_key("s3", "commercial", "GetObject", None, (), {"Bucket": "b", "Key": "k"}) is None
    assert _read_key("secretsmanager", "govcloud", "DescribeSecret", None, (), {"SecretId": "s"}) is not None
