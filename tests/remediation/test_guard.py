"""The change guard (bedrock_key_audit/remediation/guard.py): every write of remediation goes through it.

Unit tests build the state in the emulator and run hand-made steps through ``apply_plan`` (the
only place a step runs), so each refusal is observed on the account itself, not on a mock.
"""
from __future__ import annotations

import ast
import base64
import json
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore import xform_name

from bedrock_key_audit import aws_call
from bedrock_key_audit.remediation.guard import identity_widening, resource_widening
from tests.remediation.helpers import ROOT, SECRET, USER, point_env_at

PRODUCT = ROOT / "bedrock_key_audit"
GUARD = PRODUCT / "remediation" / "guard.py"
READER = PRODUCT / "inventory" / "reader.py"  # reads only: refuses a mutating operation at run time
SERVICES = ("iam", "s3", "s3control", "secretsmanager", "kms", "cloudtrail", "bedrock", "sts", "organizations",
            "bedrock-runtime")
ACCT = "123456789012"


def _doc(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


# --------------------------------------------------------------------------- 1. one write path
def mutating_methods() -> set[str]:
    """boto3 method names (``put_bucket_policy``) of every mutating operation of the services the project uses."""
    session = botocore.session.get_session()
    out: set[str] = set()
    for svc in SERVICES:
        for op in session.get_service_model(svc).operation_names:
            # one-word operations (kms Sign, Encrypt) share their name with unrelated methods
            # (an SSH signer's .sign): every operation that changes a resource has two words or more
            if aws_call.is_mutating(op) and "_" in xform_name(op):
                out.add(xform_name(op))
    return out


def direct_writes(source: str, methods: set[str]) -> list[str]:
    """Calls in ``source`` that reach AWS without the guard: a boto3 client method of a mutating
    operation (``x.put_bucket_policy(...)``), ``aws_call.call(...)``, or a dynamic ``getattr(client, ...)``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        f = node.func
        if isinstance(f, ast.Attribute) and f.attr in methods:
            found.append(f"line {node.lineno}: .{f.attr}(...)")
        if isinstance(f, ast.Attribute) and f.attr == "call" and isinstance(f.value, ast.Name) \
                and f.value.id == "aws_call":
            found.append(f"line {node.lineno}: aws_call.call(...)")
        if isinstance(f, ast.Name) and f.id == "getattr" and node.args and isinstance(node.args[0], ast.Name) \
                and "client" in node.args[0].id:
            found.append(f"line {node.lineno}: getattr(client, ...)")
    return found


def test_no_module_outside_the_guard_calls_aws_to_write():
    methods = mutating_methods()
    assert {"put_bucket_policy", "create_secret", "delete_policy_version", "update_secret_version_stage",
            "create_service_specific_credential", "attach_user_policy"} <= methods
    assert not methods & {"get_bucket_policy", "list_users", "describe_trails", "head_bucket"}
    bad = {}
    for path in [*PRODUCT.rglob("*.py"), *(ROOT / "fixtures").rglob("*.py")]:
        rel = path.relative_to(ROOT)
        if "emulator" in rel.parts or path in (GUARD, PRODUCT / "aws_call.py"):
            continue  # the emulator is the oracle (it builds the accounts); aws_call is the call itself
        hits = direct_writes(path.read_text(), methods)
        if path == READER:
            hits = [h for h in hits if "aws_call.call" not in h]  # reads only: see the runtime test below
        if hits:
            bad[str(rel)] = hits
    assert not bad, bad


def test_the_scan_finds_direct_writes():
    methods = mutating_methods()
    src = ("def f(client, c):\n    client.put_bucket_policy(Bucket='b', Policy='{}')\n"
           "    aws_call.call(c, 'PutBucketPolicy', partition='commercial')\n    getattr(client, 'x')()\n"
           "    client.get_bucket_policy(Bucket='b')\n")
    assert len(direct_writes(src, methods)) == 3


def test_mutating_is_derived_from_botocore_names():
    assert aws_call.is_mutating("PutBucketPolicy") and aws_call.is_mutating("UpdateSecretVersionStage")
    assert aws_call.is_mutating("RemoveUserFromGroup") and aws_call.is_mutating("StartLogging")
    assert not aws_call.is_mutating("GetSecretValue") and not aws_call.is_mutating("HeadBucket")
    assert not aws_call.is_mutating("GenerateCredentialReport")


# --------------------------------------------------------------------------- helpers on the emulator
@pytest.fixture
def ctx_for(emu, monkeypatch):
    from bedrock_key_audit.emulator import clock
    from bedrock_key_audit.aws import Aws, CallLog
    from bedrock_key_audit.config import load_config
    from bedrock_key_audit.fixtures.remediation.plugin import context_for

    point_env_at(monkeypatch, emu)
    cfg = load_config(ROOT / "audit.toml")

    def make(destructive: bool = True):
        return context_for(Aws(cfg, CallLog(), emulated=True), cfg, clock.now(), destructive)
    return make


def _apply(ctx, step):
    from bedrock_key_audit.remediation.core import apply_plan

    entries: list[dict] = []
    apply_plan(ctx, [step], lambda st, e: entries.append(e))
    return entries[0]


def _step(key, targets, run, grants=()):
    from bedrock_key_audit.remediation.core import Step

    return Step(key=key, order=50, action=key, calls=[], target=targets[0] if targets else "", targets=list(targets),
                partition="commercial", run=run, grants=list(grants))


TEAM_POLICY: dict[str, Any] = {"Version": "2012-10-17", "Statement": [
    {"Sid": "SiemRead", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCT}:role/siem"},
     "Action": "s3:GetObject", "Resource": "arn:aws:s3:::team-logs/*"},
    {"Sid": "DenyInsecure", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
     "Resource": ["arn:aws:s3:::team-logs", "arn:aws:s3:::team-logs/*"],
     "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}


def _team_bucket(emu):
    s3 = emu.client("s3")
    s3.create_bucket(Bucket="team-logs")
    s3.put_bucket_policy(Bucket="team-logs", Policy=json.dumps(TEAM_POLICY))
    return s3


def _policy(s3, bucket="team-logs"):
    return json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])


# --------------------------------------------------------------------------- 2. before-images, targets
def test_a_write_outside_a_step_is_refused(emu, ctx_for):
    from bedrock_key_audit.remediation.errors import RemediationError

    s3 = _team_bucket(emu)
    with pytest.raises(RemediationError, match="outside a remediation step"):
        ctx_for().call("s3", "commercial", "PutBucketPolicy", Bucket="team-logs", Policy=_doc())
    assert _policy(s3) == TEAM_POLICY


def test_a_resource_that_existed_is_not_written_unless_the_step_names_it(emu, ctx_for):
    s3 = _team_bucket(emu)

    def run(c, st):
        c.call("s3", "commercial", "PutBucketPolicy", Bucket="team-logs", Policy=_doc())
        return None, None
    entry = _apply(ctx_for(), _step("k", ["arn:aws:s3:::some-other-bucket"], run))
    assert entry["status"] == "manual" and "does not name as its target" in entry["message"], entry["message"]
    assert _policy(s3) == TEAM_POLICY
    w = entry["writes"][0]
    assert w["existed"] is True and json.loads(w["before"]["Policy"]) == TEAM_POLICY and w["refused"]


def test_the_before_image_says_how_to_restore(emu, ctx_for):
    s3 = _team_bucket(emu)
    ours = {"Sid": "BedrockKeyAuditWrite", "Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
            "Action": "s3:PutObject", "Resource": "arn:aws:s3:::team-logs/AWSLogs/*"}
    merged = {**TEAM_POLICY, "Statement": [*TEAM_POLICY["Statement"], ours]}

    def run(c, st):
        c.call("s3", "commercial", "PutBucketPolicy", Bucket="team-logs", Policy=json.dumps(merged))
        return None, None
    entry = _apply(ctx_for(), _step("k", ["arn:aws:s3:::team-logs"], run, grants=["Sid:BedrockKeyAuditWrite"]))
    assert entry["status"] == "applied", entry["message"]
    assert _policy(s3) == merged
    w = entry["writes"][0]
    assert w["call"] == "s3:PutBucketPolicy" and json.loads(w["before"]["Policy"]) == TEAM_POLICY
    assert "put-bucket-policy --bucket team-logs" in w["restore"]


@pytest.mark.parametrize("change", ["undeclared allow", "dropped deny", "overwrite"])
def test_a_bucket_policy_write_that_widens_is_refused(emu, ctx_for, change):
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

    def run(c, st):
        c.call("s3", "commercial", "PutBucketPolicy", Bucket="team-logs", Policy=_doc(*stmts))
        return None, None
    entry = _apply(ctx_for(), _step("k", ["arn:aws:s3:::team-logs"], run, grants=["Sid:Ours"]))
    assert entry["status"] == "manual" and "widen" in entry["message"], entry["message"]
    assert _policy(s3) == TEAM_POLICY


def test_a_secret_binary_value_is_never_rewritten_as_a_string(emu, ctx_for):
    sm = emu.client("secretsmanager", "govcloud")
    blob = base64.b64encode(b"\x00opaque").decode()
    sm.create_secret(Name=SECRET, SecretBinary=blob.encode())

    def run(c, st):
        c.call("secretsmanager", "govcloud", "PutSecretValue", SecretId=SECRET, SecretString='{"a": 1}')
        return None, None
    entry = _apply(ctx_for(), _step("k", [SECRET], run))
    assert entry["status"] == "manual" and "SecretBinary" in entry["message"], entry["message"]
    got = sm.get_secret_value(SecretId=SECRET)
    assert "SecretString" not in got and got["SecretBinary"] == blob.encode()
    assert entry["writes"][0]["before"]["value_type"] == "SecretBinary"
    assert "opaque" not in json.dumps(entry)


def test_a_bucket_of_our_name_that_we_did_not_create_is_not_adopted(emu, ctx_for):
    from bedrock_key_audit.remediation.fixers.traces import _private_bucket

    s3 = _team_bucket(emu)

    def run(c, st):
        _private_bucket(c, "commercial", "us-east-1", "team-logs", {
            "Sid": "AmazonBedrockLogsWrite", "Effect": "Allow", "Principal": {"Service": "bedrock.amazonaws.com"},
            "Action": "s3:PutObject", "Resource": "arn:aws:s3:::team-logs/*"})
        return None, None
    entry = _apply(ctx_for(), _step("k", ["arn:aws:s3:::team-logs"], run, grants=["Sid:AmazonBedrockLogsWrite"]))
    assert entry["status"] == "manual" and "never adopted" in entry["message"], entry["message"]
    assert _policy(s3) == TEAM_POLICY


# --------------------------------------------------------------------------- 3. widening (pure)
GRANT = {"Effect": "Allow", "Action": ["bedrock:InvokeModel", "bedrock:CallWithBearerToken"], "Resource": "*"}
IP_GRANT = {**GRANT, "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}}


def test_a_conditional_grant_that_becomes_unconditional_is_widening():
    before = [("inline:ip", {"Statement": [IP_GRANT]})]
    after = before + [("managed:ours", {"Statement": [GRANT]})]
    why = identity_widening(before, after, grants=GRANT["Action"])
    assert why and "only under a condition" in why and "unconditional" in why
    loosened = [("inline:ip", {"Statement": [{**GRANT, "Condition": {"IpAddress": {"aws:SourceIp": "0.0.0.0/0"}}}]})]
    assert "another conditional grant" in (identity_widening(before, loosened, grants=GRANT["Action"]) or "")


def test_a_declared_grant_where_there_was_none_is_not_widening_and_removal_never_is():
    assert identity_widening([], [("managed:ours", {"Statement": [GRANT]})], grants=GRANT["Action"]) is None
    assert identity_widening([], [("managed:ours", {"Statement": [GRANT]})], grants=["bedrock:InvokeModel"])
    wide = [("managed:full", {"Statement": [{"Effect": "Allow", "Action": "bedrock:*", "Resource": "*"}]})]
    assert identity_widening(wide, [], grants=()) is None  # removing access never widens
    assert identity_widening(wide, wide + [("managed:ours", {"Statement": [GRANT]})]) is None


def test_dropping_a_deny_is_widening():
    deny = {"Effect": "Deny", "Action": "bedrock:DeleteCustomModel", "Resource": "*"}
    before = [("inline:g", {"Statement": [GRANT, deny]})]
    assert "Deny" in (identity_widening(before, [("inline:g", {"Statement": [GRANT]})]) or "")


def test_a_deny_that_spares_fewer_principals_is_not_widening():
    def deny(arns):
        return {"Sid": "D", "Effect": "Deny", "Principal": "*", "Action": "secretsmanager:GetSecretValue",
                "Resource": "*", "Condition": {"StringNotEquals": {"aws:PrincipalArn": arns}}}
    a, b = f"arn:aws-us-gov:iam::{ACCT}:role/a", f"arn:aws-us-gov:iam::{ACCT}:role/b"
    assert resource_widening(_doc(deny([a, b])), _doc(deny([a]))) is None
    assert "Deny" in (resource_widening(_doc(deny([a])), _doc(deny([a, b]))) or "")
    assert resource_widening(None, _doc(deny([a]))) is None


# --------------------------------------------------------------------------- 4. granting on an undecided row
def _rec(check_id: str, status: str):
    from bedrock_key_audit.checkcore import CheckRecord

    return CheckRecord(check_id=check_id, title="", family="iam", severity="high", controls={}, nodeid="x",
                       status=status, detail="undecided: aws:SourceIp" if status == "error" else "missing")


def test_a_row_that_ended_error_is_never_remediated_by_granting(emu, ctx_for):
    from bedrock_key_audit.remediation import fixers  # noqa: F401 -- registers the fixers
    from bedrock_key_audit.remediation.core import build_plan

    emu.apply("compliant")
    iam = emu.client("iam")
    for a in iam.list_attached_user_policies(UserName=USER)["AttachedPolicies"]:
        iam.detach_user_policy(UserName=USER, PolicyArn=a["PolicyArn"])
    steps = {s.key: s for s in build_plan(ctx_for(), [_rec("iam.policy_grants_required", "error")])}
    assert steps["iam.ensure-policy"].manual and "undecided" in steps["iam.ensure-policy"].message
    steps = {s.key: s for s in build_plan(ctx_for(), [_rec("iam.policy_grants_required", "fail")])}
    assert not steps["iam.ensure-policy"].manual  # a row that failed may be fixed by the grant it declares


def test_the_guard_refuses_an_unconditional_grant_beside_a_source_ip_grant(emu, ctx_for):
    """At apply time the guard evaluates the user before and after: the least-privilege policy would
    make a grant conditioned on aws:SourceIp unconditional, so nothing is attached."""
    from bedrock_key_audit.remediation.fixers.iam import _ensure_policy_step

    emu.apply("compliant")
    iam = emu.client("iam")
    for a in iam.list_attached_user_policies(UserName=USER)["AttachedPolicies"]:
        iam.detach_user_policy(UserName=USER, PolicyArn=a["PolicyArn"])
    iam.put_user_policy(UserName=USER, PolicyName="office-only", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{**IP_GRANT, "Action": ["bedrock:*"]}]}))
    ctx = ctx_for()
    st = _ensure_policy_step(ctx)
    assert st is not None
    entry = _apply(ctx, st)
    assert entry["status"] == "manual" and "only under a condition" in entry["message"], entry["message"]
    assert iam.list_attached_user_policies(UserName=USER)["AttachedPolicies"] == []


def test_the_inventory_never_writes(emu, ctx_for):
    from bedrock_key_audit.inventory.errors import ReadError

    with pytest.raises(ReadError, match="never calls it"):
        ctx_for().inv._read("commercial", "s3", "PutBucketPolicy", Bucket="x", Policy="{}")


def test_guard_module_is_where_the_writes_are():
    """Context.call delegates to the guard (the runtime half of the scan above)."""
    src = (PRODUCT / "remediation" / "core.py").read_text()
    assert "self.guard.call(" in src and "aws_call" not in src
    assert Path(GUARD).exists()


def test_remediate_does_not_open_a_source_ip_grant_to_everyone(pytester, emulator):
    """End to end: the key's only grant is conditioned on aws:SourceIp (10.0.0.0/8); the emulator's
    requests come from 127.0.0.1, outside it.  --remediate --allow-destructive must leave the key
    refused from outside the network (403 before, 403 after) and attach no unconditional grant."""
    from tests.remediation.helpers import current_key_answers
    from tests.remediation.test_harm import plan_and_apply

    def setup(emu):
        iam = emu.client("iam")
        for a in iam.list_attached_user_policies(UserName=USER)["AttachedPolicies"]:
            iam.detach_user_policy(UserName=USER, PolicyArn=a["PolicyArn"])
        iam.put_user_policy(UserName=USER, PolicyName="office-only", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{**IP_GRANT, "Action": ["bedrock:*"]}]}))
        assert current_key_answers(emu) == 403
    pcap, cap, result, before, after, _ = plan_and_apply(pytester, "compliant", setup, "--allow-destructive")
    user = f"arn:aws:iam::{ACCT}:user/{USER}"
    assert after[user]["attached"] == before[user]["attached"] == []
    assert after[user]["inline"] == before[user]["inline"]
    seen = {s.key: (s.status, s.message) for s in cap.plan}
    assert "iam.ensure-policy" not in seen or seen["iam.ensure-policy"][0] == "manual", seen
    assert current_key_answers(emulator) == 403
    assert cap.statuses()["iam.policy_grants_required"] != "pass"


# --------------------------------------------------------------------------- 5. merges, names of ours, legacy trails
def test_a_bucket_of_ours_from_an_earlier_run_keeps_its_statements(emu, ctx_for):
    """Our tag on the bucket: an earlier run made it.  Our statements are added beside a team's."""
    from bedrock_key_audit.remediation.fixers.traces import _private_bucket
    from bedrock_key_audit.remediation.guard import OWNER_TAG

    s3 = _team_bucket(emu)
    s3.put_bucket_tagging(Bucket="team-logs", Tagging={"TagSet": [OWNER_TAG]})
    writer = {"Sid": "AmazonBedrockLogsWrite", "Effect": "Allow", "Principal": {"Service": "bedrock.amazonaws.com"},
              "Action": "s3:PutObject", "Resource": "arn:aws:s3:::team-logs/*"}

    def run(c, st):
        _private_bucket(c, "commercial", "us-east-1", "team-logs", writer)
        return None, None
    entry = _apply(ctx_for(), _step("k", ["arn:aws:s3:::team-logs"], run, grants=["Sid:AmazonBedrockLogsWrite"]))
    assert entry["status"] == "applied", entry["message"]
    assert _policy(s3)["Statement"] == [*TEAM_POLICY["Statement"], writer]


def test_a_stopped_legacy_trail_is_not_restarted_beside_a_live_one(emu, ctx_for):
    from bedrock_key_audit.remediation.fixers.cloudtrail import _trail_fixer

    emu.apply("compliant")
    ct = emu.client("cloudtrail")
    live = ct.describe_trails()["trailList"][0]
    # the live trail is not the best candidate: single-region, without log-file validation
    ct.update_trail(Name=live["TrailARN"], IsMultiRegionTrail=False, EnableLogFileValidation=False)
    s3 = emu.client("s3")
    s3.create_bucket(Bucket="legacy-trail-bucket")
    s3.put_bucket_policy(Bucket="legacy-trail-bucket", Policy=_doc(
        {"Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "s3:*",
         "Resource": ["arn:aws:s3:::legacy-trail-bucket", "arn:aws:s3:::legacy-trail-bucket/*"]}))
    kms = {"KmsKeyId": live["KmsKeyId"]} if live.get("KmsKeyId") else {}
    legacy = ct.create_trail(Name="legacy", S3BucketName="legacy-trail-bucket", IsMultiRegionTrail=True,
                             EnableLogFileValidation=True, IncludeGlobalServiceEvents=True, **kms)["TrailARN"]
    ctx = ctx_for()
    from bedrock_key_audit.remediation.fixers.cloudtrail import _target_trail
    assert _target_trail(ctx, ctx.inv.trails("commercial")).arn == legacy  # the audit judges the stopped one
    steps = _trail_fixer(ctx, _rec_ct("cloudtrail.logging"))
    assert [s.manual for s in steps] == [True] and "second, billed copy" in steps[0].action, steps
    assert ct.get_trail_status(Name=legacy)["IsLogging"] is False


def _rec_ct(check_id):
    from bedrock_key_audit.checkcore import CheckRecord

    return CheckRecord(check_id=check_id, title="", family="cloudtrail", severity="high", controls={}, nodeid="x",
                       partition="commercial", status="fail", detail="not logging")


# --------------------------------------------------------------------------- 6. invocation logging privacy
def test_invocation_logs_are_private_and_the_step_needs_consent(emu, ctx_for):
    from bedrock_key_audit.remediation.core import apply_plan
    from bedrock_key_audit.remediation.fixers.traces import invocation_logging_fixer

    emu.apply("compliant")
    bedrock = emu.client("bedrock")
    bedrock.delete_model_invocation_logging_configuration()
    rec = _rec_ct("bedrock.invocation_logging")
    plain = ctx_for(destructive=False)
    steps = invocation_logging_fixer(plain, rec)
    step = next(s for s in steps if s.key.startswith("bedrock.invocation-logging"))
    assert step.destructive and "STORES EVERY PROMPT AND ANSWER" in step.action
    apply_plan(plain, steps, lambda st, e: None)
    assert step.status == "skipped" and "--enable-invocation-logging" in step.message
    assert not bedrock.get_model_invocation_logging_configuration().get("loggingConfig")

    from bedrock_key_audit.emulator import clock
    from bedrock_key_audit.aws import Aws, CallLog
    from bedrock_key_audit.config import load_config
    from bedrock_key_audit.fixtures.remediation.plugin import context_for

    cfg = load_config(ROOT / "audit.toml")
    consent = context_for(Aws(cfg, CallLog(), emulated=True), cfg, clock.now(), False, ["enable-invocation-logging"])
    steps = invocation_logging_fixer(consent, rec)
    apply_plan(consent, steps, lambda st, e: None)
    assert [s.status for s in steps] == ["applied"] * len(steps), [(s.key, s.message) for s in steps]
    bucket = bedrock.get_model_invocation_logging_configuration()["loggingConfig"]["s3Config"]["bucketName"]
    s3 = emu.client("s3")
    pab = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert all(pab.values())
    rule = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    statements = _policy(s3, bucket)["Statement"]
    deny = next(s for s in statements if s["Effect"] == "Deny")
    assert deny["Principal"] == "*" and "s3:GetObject" in deny["Action"]
    exempt = deny["Condition"]["StringNotEquals"]["aws:PrincipalArn"]
    assert exempt and all(":user/" in a or ":role/" in a or ":root" in a for a in exempt)
    # the Deny applies to a role that AmazonS3ReadOnlyAccess lets read every bucket (the reported harm),
    # and not to the administrator who ran the remediation (evaluated, not compared as text)
    from bedrock_key_audit.policy import RequestContext, parse_document

    st = parse_document({"Version": "2012-10-17", "Statement": [deny]}, "bucket policy")[0]
    obj = f"arn:aws:s3:::{bucket}/AWSLogs/{ACCT}/BedrockModelInvocationLogs/x.json.gz"
    analytics = f"arn:aws:iam::{ACCT}:role/analytics"
    assert st.applies("s3:GetObject", obj, RequestContext({"aws:PrincipalArn": analytics})).value is True
    assert st.applies("s3:GetObject", obj, RequestContext({"aws:PrincipalArn": exempt[0]})).value is False
    assert st.applies("s3:PutObject", obj, RequestContext({"aws:PrincipalArn": analytics})).value is False
    assert {s.get("Sid") for s in statements if s["Effect"] == "Allow"} == {"AmazonBedrockLogsWrite"}


# --------------------------------------------------------------------------- 7. the readers keep reading
GOV = "210987654321"
WORKLOAD = f"arn:aws-us-gov:iam::{GOV}:role/bedrock-workload"  # as configured: without the role's path
WORKLOAD_REAL = f"arn:aws-us-gov:iam::{GOV}:role/service/bedrock-workload"


@pytest.fixture
def readers_ctx(emu, monkeypatch, tmp_path):
    from bedrock_key_audit.emulator import clock
    from bedrock_key_audit.aws import Aws, CallLog
    from bedrock_key_audit.config import load_config
    from bedrock_key_audit.fixtures.remediation.plugin import context_for

    point_env_at(monkeypatch, emu)

    def make(readers: list[str]):
        cfg_file = tmp_path / "readers.toml"
        cfg_file.write_text(f"[secret]\nallowed_readers = {json.dumps(readers)}\n")
        cfg = load_config(cfg_file, ROOT)
        return context_for(Aws(cfg, CallLog(), emulated=True), cfg, clock.now(), True)
    return make


def _workload_role(emu, decrypt: bool = False):
    iam = emu.client("iam", "govcloud")
    iam.create_role(RoleName="bedrock-workload", Path="/service/", AssumeRolePolicyDocument=_doc(
        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}))
    actions = ["secretsmanager:GetSecretValue"] + (["kms:Decrypt"] if decrypt else [])
    iam.put_role_policy(RoleName="bedrock-workload", PolicyName="read", PolicyDocument=_doc(
        {"Effect": "Allow", "Action": actions, "Resource": "*"}))


def test_a_reader_configured_without_its_path_is_denied_by_its_real_arn(emu, readers_ctx):
    from bedrock_key_audit.remediation.fixers.access import DENY_SID, fix_secret_readers

    emu.apply("compliant")
    _workload_role(emu)
    ctx = readers_ctx([WORKLOAD])
    steps = fix_secret_readers(ctx, _rec_ct("secret.readers_restricted"))
    assert WORKLOAD_REAL in steps[0].action and f"{WORKLOAD}," not in steps[0].action
    _apply(ctx, steps[0])
    policy = json.loads(emu.client("secretsmanager", "govcloud").get_resource_policy(SecretId=SECRET)["ResourcePolicy"])
    deny = next(s for s in policy["Statement"] if s.get("Sid") == DENY_SID)
    from bedrock_key_audit.policy import RequestContext, parse_document

    st = parse_document({"Version": "2012-10-17", "Statement": [deny]}, "secret policy")[0]
    # a session of the workload role carries aws:PrincipalArn = the role's ARN with its path
    assert st.applies("secretsmanager:GetSecretValue", "*", RequestContext({"aws:PrincipalArn": WORKLOAD_REAL})).value \
        is False


def test_a_configured_reader_that_does_not_exist_stops_the_plan(emu, readers_ctx):
    from bedrock_key_audit.remediation import fixers  # noqa: F401 -- registers the fixers
    from bedrock_key_audit.remediation.core import build_plan

    emu.apply("guide")
    steps = build_plan(readers_ctx([WORKLOAD]), [_rec("iam.policy_grants_required", "fail")])
    assert [s.key for s in steps] == ["plan:stopped"] and steps[0].manual
    assert "secret.allowed_readers names" in steps[0].action and WORKLOAD in steps[0].action


def test_moving_the_secret_to_our_key_keeps_the_configured_reader_reading(emu, readers_ctx):
    """The workload may GetSecretValue (IAM) but holds no kms:Decrypt: under aws/secretsmanager it reads,
    under a key of ours it would not -- so the key the plan creates names it, evaluated after."""
    from bedrock_key_audit.remediation.fixers.kms import READERS_SID
    from bedrock_key_audit.remediation.fixers.secret import _readers_cut_off, fix_secret_cmk

    emu.apply("secret_default_kms")
    _workload_role(emu)
    ctx = readers_ctx([WORKLOAD])
    steps = fix_secret_cmk(ctx, _rec_ct("secret.encrypted_with_cmk"))
    assert [s.key for s in steps] == ["kms.create:govcloud", "secret.kms"], [(s.key, s.action) for s in steps]
    assert _readers_cut_off(ctx, {"missing": True}) == ([], [])
    from bedrock_key_audit.remediation.core import apply_plan

    apply_plan(ctx, steps, lambda st, e: None)
    assert [s.status for s in steps] == ["applied", "applied"], [(s.key, s.message) for s in steps]
    kms = emu.client("kms", "govcloud")
    key_id = kms.describe_key(KeyId="alias/bedrock-key-audit")["KeyMetadata"]["KeyId"]  # GetKeyPolicy takes no alias
    policy = json.loads(kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"])
    assert next(s for s in policy["Statement"] if s["Sid"] == READERS_SID)["Principal"]["AWS"] == [WORKLOAD_REAL]


def test_an_existing_key_of_ours_that_would_cut_a_reader_off_is_a_manual_step(emu, readers_ctx):
    from bedrock_key_audit.remediation.fixers.secret import fix_secret_cmk

    emu.apply("secret_default_kms")
    _workload_role(emu)
    kms = emu.client("kms", "govcloud")
    key = kms.create_key(Policy=_doc({"Sid": "EnableIamPolicies", "Effect": "Allow",
                                      "Principal": {"AWS": f"arn:aws-us-gov:iam::{GOV}:root"},
                                      "Action": "kms:*", "Resource": "*"}),
                         Tags=[{"TagKey": "created-by", "TagValue": "bedrock-key-audit"}])["KeyMetadata"]
    kms.create_alias(AliasName="alias/bedrock-key-audit", TargetKeyId=key["KeyId"])
    steps = fix_secret_cmk(readers_ctx([WORKLOAD]), _rec_ct("secret.encrypted_with_cmk"))
    assert [s.key for s in steps] == ["manual:secret-cmk-readers"] and WORKLOAD_REAL in steps[0].action


@pytest.mark.parametrize("tagged_other", [False, True])
def test_a_key_of_another_team_under_our_alias_is_never_adopted(emu, readers_ctx, tagged_other):
    """Our alias names a key we did not create (no created-by=bedrock-key-audit tag, no journal entry), with
    a key policy that Denies everyone outside the team: the plan moves nothing to it, never advises editing
    its key policy, and the run refuses to use it too."""
    from bedrock_key_audit.remediation.errors import NeedsPerson
    from bedrock_key_audit.remediation.fixers.kms import kms_key_arn
    from bedrock_key_audit.remediation.fixers.secret import fix_secret_cmk

    emu.apply("secret_default_kms")
    _workload_role(emu)
    kms = emu.client("kms", "govcloud")
    tags = [{"TagKey": "created-by", "TagValue": "data-team"}] if tagged_other else []
    key = kms.create_key(Policy=_doc({"Sid": "EnableIamPolicies", "Effect": "Allow",
                                      "Principal": {"AWS": f"arn:aws-us-gov:iam::{GOV}:root"},
                                      "Action": "kms:*", "Resource": "*"},
                                     {"Sid": "OnlyDataTeam", "Effect": "Deny", "Principal": "*",
                                      "Action": "kms:Decrypt", "Resource": "*",
                                      "Condition": {"ArnNotLike": {"aws:PrincipalArn":
                                                                   f"arn:aws-us-gov:iam::{GOV}:role/data-team-*"}}}),
                         Tags=tags)["KeyMetadata"]
    kms.create_alias(AliasName="alias/bedrock-key-audit", TargetKeyId=key["KeyId"])
    ctx = readers_ctx([WORKLOAD])
    steps = fix_secret_cmk(ctx, _rec_ct("secret.encrypted_with_cmk"))
    assert [(s.key, s.manual) for s in steps] == [("kms.create:govcloud", True)], [(s.key, s.action) for s in steps]
    assert key["Arn"] in steps[0].action and "did not create" in steps[0].action
    assert "key policy of" not in steps[0].action
    with pytest.raises(NeedsPerson):
        kms_key_arn(ctx, "govcloud")


def test_narrowing_a_conditional_statement_is_not_widening():
    wide = {**IP_GRANT, "Action": ["bedrock:*", "s3:*"]}
    cut = {**IP_GRANT, "Action": ["bedrock:InvokeModel"]}
    assert identity_widening([("inline:p", {"Statement": [wide]})], [("inline:p", {"Statement": [cut]})]) is None


def test_a_trail_bucket_name_taken_by_another_team_is_a_manual_step(emu, ctx_for):
    """Our trail's bucket name exists already (another team's, with a Deny and a SIEM grant): the plan
    says so and creates nothing; the team's statements stay as they are."""
    from bedrock_key_audit.remediation.fixers.cloudtrail import _create_trail_step

    s3 = emu.client("s3")
    name = f"bedrock-key-audit-trail-{ACCT}-us-east-1"
    s3.create_bucket(Bucket=name)
    team = json.loads(json.dumps(TEAM_POLICY).replace("team-logs", name))
    s3.put_bucket_policy(Bucket=name, Policy=json.dumps(team))
    ctx = ctx_for()
    step = _create_trail_step(ctx, "commercial")
    assert step.manual and "never adopted" in step.action and step.key == "trail.create:commercial"
    _apply(ctx, step)
    assert _policy(s3, name) == team
    assert emu.client("cloudtrail").describe_trails()["trailList"] == []


def test_a_deleted_trail_bucket_is_a_manual_step_to_recreate_it_not_a_foreign_owner(emu, ctx_for):
    from bedrock_key_audit.remediation.fixers.traces import bucket_protected_fixer

    emu.apply("compliant")
    ct, s3 = emu.client("cloudtrail"), emu.client("s3")
    bucket = ct.describe_trails()["trailList"][0]["S3BucketName"]
    for obj in s3.list_objects_v2(Bucket=bucket).get("Contents", []):
        s3.delete_object(Bucket=bucket, Key=obj["Key"])
    s3.delete_bucket(Bucket=bucket)
    steps = bucket_protected_fixer(ctx_for(), _rec_ct("cloudtrail.bucket_protected"))
    assert [s.manual for s in steps] == [True], steps
    assert "does not exist" in steps[0].action and "re-create it" in steps[0].action
    assert "its owner must protect it" not in steps[0].action


# AmazonBedrockMantleInferenceAccess's shape: the bearer action on "*", the project actions on every project
MANTLE_MANAGED: dict[str, list[dict[str, Any]]] = {"Statement": [
    {"Effect": "Allow", "Action": "bedrock-mantle:CallWithBearerToken", "Resource": "*"},
    {"Effect": "Allow", "Action": ["bedrock-mantle:CreateInference", "bedrock-mantle:Get*", "bedrock-mantle:List*"],
     "Resource": "arn:aws:bedrock-mantle:*:*:project/*"}]}
MANTLE_OURS: dict[str, list[dict[str, Any]]] = {"Statement": [{"Effect": "Allow", "Resource": "*",
                              "Action": ["bedrock-mantle:CallWithBearerToken", "bedrock-mantle:CreateInference"]}]}


def test_a_grant_on_star_where_every_arn_of_the_actions_type_was_granted_is_not_widening():
    """A project action allowed on ``project/*`` in every Region and account is allowed on every resource it
    can take: our ``"*"`` grant beside it is no wider (not a "condition")."""
    before = [("managed:mantle", MANTLE_MANAGED)]
    assert identity_widening(before, before + [("managed:ours", MANTLE_OURS)],
                             grants=MANTLE_OURS["Statement"][0]["Action"]) is None


def test_a_grant_on_star_beyond_a_region_scoped_resource_is_widening_and_says_resources_not_condition():
    only_project = {"Statement": [{"Effect": "Allow", "Action": "bedrock-mantle:CreateInference",
                                   "Resource": "arn:aws:bedrock-mantle:us-east-1:*:project/*"}]}
    before = [("inline:p", only_project)]
    why = identity_widening(before, before + [("managed:ours", MANTLE_OURS)],
                            grants=MANTLE_OURS["Statement"][0]["Action"])
    assert why and "only on some resources" in why and "condition" not in why, why
    # the same grant under a condition is still judged a condition
    conditioned = [("inline:p", {"Statement": [{**MANTLE_MANAGED["Statement"][1],
                                                 "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}}]})]
    why = identity_widening(conditioned, conditioned + [("managed:ours", MANTLE_OURS)],
                            grants=MANTLE_OURS["Statement"][0]["Action"])
    assert why and "only under a condition" in why, why
