"""Waivers hold across fixers, and keys and policy versions are labelled and logged honestly.

* A live waiver applies to the reason the fixers share (the key diagnosis), not only to its row: a
  waived "key expires soon" is not rotated through secret.schema's, credential.single_active's or an
  endpoint row's fixer.  The plan says which waiver accepted it, and the applied plan is the plan.
* Every step that deactivates or deletes a Bedrock API key the secret does not hold is destructive.
* A deleted policy version's document stays in the action log even when the step fails after deleting it.
* No step's writes change a property a live-waived row judges, whichever row asked for the step: the
  secret's region (rewrite, rotation), the new secret's KMS key, a created trail's KMS key and other
  properties; a step that would is manual and names the waiver (docs/remediation.md, "Waivers across fixers").
"""
from __future__ import annotations

import json
from typing import Any

import pytest

from bedrock_key_audit.emulator import aws_faults
from bedrock_key_audit.checkcore import CheckRecord
from bedrock_key_audit.fixtures.remediation import plugin
from bedrock_key_audit.remediation import rotation
from bedrock_key_audit.remediation.core import apply_plan, build_plan
from bedrock_key_audit.remediation.fixers.iam import _ensure_policy_step
from bedrock_key_audit.fixtures.reporting import sources
from bedrock_key_audit.reporting.waivers import parse_waivers
from tests.remediation.helpers import SECRET, USER, run
from tests.remediation.test_rotation_recovery import Killed, kill_at_checkpoint, runs, state  # noqa: F401
from tests.remediation.test_guard import ctx_for  # noqa: F401 -- fixture

BEDROCK = "bedrock.amazonaws.com"


def _rec(cid: str, status: str = "fail", partition: str | None = None) -> CheckRecord:
    return CheckRecord(cid, cid, cid.split(".")[0], "high", {}, f"checks/x::{cid}", status=status, detail="x",
                       partition=partition, params={"partition": partition} if partition else {})


def _waive(monkeypatch, *checks: str) -> None:
    ws = parse_waivers([{"check": c, "justification": "rotation handled by the platform team",
                         "approved_by": "ciso@example.com", "expires": "2099-01-01"} for c in checks], None)
    monkeypatch.setattr(sources, "waivers", lambda config: ws)


def _plan(ctx, monkeypatch, recs: list[CheckRecord]):
    """What the plugin's _plan does: waived rows out, their acceptance into the context, one list of steps."""
    kept, waived = plugin._without_waived(None, recs, ctx.now)
    ctx.waived = plugin.waived_reasons(waived)
    ctx.waived_rows, ctx.waived_scopes = plugin.live_waivers(None, recs, ctx.now)
    ctx.waived_created = plugin.created_scopes(None, recs, ctx.now)
    return build_plan(ctx, kept) + waived


def _expiring_with_bad_region(emu) -> str:
    emu.apply("key_expiring_soon")
    sm = emu.client("secretsmanager", "govcloud")
    data = json.loads(sm.get_secret_value(SecretId=SECRET)["SecretString"])
    data["region"] = "moon-base-1"
    sm.put_secret_value(SecretId=SECRET, SecretString=json.dumps(data))
    return next(iter(state(emu)["creds"]))


ROWS = ["credential.unexpired", "secret.schema", "endpoint.list_models", "endpoint.invoke", "credential.single_active"]


def test_a_waived_reason_is_not_rotated_through_another_rows_fixer(emu, runs, monkeypatch):  # noqa: F811
    held = _expiring_with_bad_region(emu)
    ctx = runs(1)
    # without the waiver: secret.schema's fixer (and the endpoint rows') rotate the expiring key
    plain = build_plan(ctx, [_rec(c) for c in ROWS])
    assert "credential.rotate" in {s.key for s in plain}
    _waive(monkeypatch, "credential.unexpired")
    ctx = runs(2)
    steps = _plan(ctx, monkeypatch, [_rec(c) for c in ROWS])
    keys = {s.key for s in steps}
    assert "credential.rotate" not in keys and not any(k.startswith("credential.retire") for k in keys), keys
    assert "waived:credential.unexpired" in keys and "secret.rewrite" in keys
    # apply what was planned: the same steps, the same key
    entries: list[dict[str, Any]] = []
    apply_plan(ctx, steps, lambda s, e: entries.append(e))
    assert [e["step"] for e in entries] == [s.key for s in steps]
    after = state(emu)
    assert after["creds"] == {held: "Active"}
    sm = emu.client("secretsmanager", "govcloud")
    assert json.loads(sm.get_secret_value(SecretId=SECRET)["SecretString"])["region"] == "us-east-1"
    assert rotation.credential_of_version(next(v for v, s in after["stages"].items() if "AWSCURRENT" in s),
                                          [held]) == held  # the same key, rewritten


def test_a_waiver_on_one_row_of_a_shared_reason_stops_the_other_rows_fix_and_the_summary_says_so(emu, runs, monkeypatch):  # noqa: F811
    emu.apply("secret_missing")
    _waive(monkeypatch, "secret.exists")
    ctx = runs(1)
    steps = _plan(ctx, monkeypatch, [_rec("secret.exists"), _rec("secret.encrypted_with_cmk")])
    assert [s.key for s in steps] == ["waived:secret.exists"]
    why = ctx.memo["plan:no-step"]["secret.encrypted_with_cmk"]
    assert "live waiver accepts" in why and "secret.exists" in why and "ciso@example.com" in why


def test_plan_and_apply_print_the_same_steps_and_no_rotation_under_a_waiver(pytester, monkeypatch):
    """End to end: --remediate --allow-destructive with credential.unexpired waived on an expiring key with a
    bad region: the printed plan has the waiver's step and the rewrite, no rotation, and the key stays."""
    from bedrock_key_audit.emulator import scenarios  # noqa: F401 -- the emulator builds the account

    _waive(monkeypatch, "credential.unexpired")
    monkeypatch.setattr(rotation, "EMULATED_DELAY", 0.0)
    facts: dict[str, Any] = {}

    def build(emu):
        facts["held"] = _expiring_with_bad_region(emu)
        facts["emu"] = emu
    result, cap = run(pytester, "--remediate", "--allow-destructive", scenario="empty", setup=build)
    text = result.stdout.str()
    assert "is waived until 2099-01-01" in text
    assert "rotate the Bedrock API key" not in text and "credential.rotate" not in {s.key for s in cap.plan}
    assert {s.key for s in cap.plan} >= {"waived:credential.unexpired", "secret.rewrite"}
    assert state(facts["emu"])["creds"] == {facts["held"]: "Active"}


# --------------------------------------------------------------------------- labels
def _steps_touching_keys(steps) -> list:
    return [s for s in steps if any(("ServiceSpecificCredential" in c and "Create" not in c and "List" not in c)
                                    for c in s.calls)]


@pytest.mark.parametrize("build", ["other_active", "expired_spare", "inactive_spare", "orphan_of_a_killed_run"])
def test_deactivating_or_deleting_a_key_the_secret_never_held_is_destructive(emu, runs, monkeypatch, build):  # noqa: F811
    emu.apply("key_expiring_soon")
    iam = emu.client("iam")
    held = next(iter(state(emu)["creds"]))
    if build == "orphan_of_a_killed_run":
        with monkeypatch.context() as m:
            kill_at_checkpoint(m, "write_pending")
            with pytest.raises(Killed):
                apply_plan(runs(1), build_plan(runs(1), [_rec("credential.unexpired")]), lambda s, e: None)
    else:
        extra = iam.create_service_specific_credential(UserName=USER, ServiceName=BEDROCK, CredentialAgeDays=1 if
                                                       build == "expired_spare" else 30)["ServiceSpecificCredential"]
        if build == "inactive_spare":
            iam.update_service_specific_credential(UserName=USER, Status="Inactive",
                                                   ServiceSpecificCredentialId=extra["ServiceSpecificCredentialId"])
        if build == "expired_spare":
            from bedrock_key_audit.emulator import clock
            clock.advance(days=2)
    ctx = runs(2)
    steps = build_plan(ctx, [_rec(c) for c in ("credential.unexpired", "credential.single_active", "credential.active",
                                               "secret.key_matches_credential", "iam.user_no_other_credentials")])
    touching = [s for s in _steps_touching_keys(steps) if held not in s.target]
    assert touching, [(s.key, s.calls) for s in steps]
    for s in touching:
        assert s.destructive, (s.key, s.action)


def test_a_deleted_policy_versions_document_is_kept_when_the_step_then_fails(emu, runs):  # noqa: F811
    emu.apply("compliant")
    iam = emu.client("iam")
    stale: dict[str, Any] = {"Version": "2012-10-17",
                             "Statement": [{"Effect": "Allow", "Action": "bedrock:InvokeModel", "Resource": "*"}]}
    pol = next(p for p in iam.list_attached_user_policies(UserName=USER)["AttachedPolicies"])
    for p in iam.list_attached_user_policies(UserName=USER)["AttachedPolicies"]:
        iam.detach_user_policy(UserName=USER, PolicyArn=p["PolicyArn"])
    arn = iam.create_policy(PolicyName="BedrockApiKeyLeastPrivilege", PolicyDocument=json.dumps(stale))["Policy"]["Arn"]
    oldest = {**stale, "Statement": [{**stale["Statement"][0], "Sid": "Oldest"}]}
    iam.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(oldest), SetAsDefault=False)
    for _ in range(3):
        iam.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(stale), SetAsDefault=False)
    iam.attach_user_policy(UserName=USER, PolicyArn=arn)
    assert pol["PolicyArn"] != arn
    ctx = runs(1)
    st = _ensure_policy_step(ctx)
    assert st is not None and st.destructive
    aws_faults.deny("iam:CreatePolicyVersion")
    entries: list[dict[str, Any]] = []
    apply_plan(ctx, [st], lambda s, e: entries.append(e))
    aws_faults.reset()
    assert st.status == "failed"
    versions = {v["VersionId"] for v in iam.list_policy_versions(PolicyArn=arn)["Versions"]}
    assert "v2" not in versions  # deleted before the denied call
    kept = entries[0]["before"]["deleted_version"]
    assert kept["VersionId"] == "v2" and kept["Document"] == oldest


# scenario -> the row whose waiver accepts the key's state: each is a reason the key diagnosis names
WAIVABLE = [("inactive_key", "credential.active"), ("key_expiring_soon", "credential.unexpired"),
            ("never_expiring_key", "credential.bounded_lifetime"), ("expired_key", "credential.unexpired")]
# the effects issuing or retiring a key has: none may be planned while the key's reason is waived
KEY_STEPS = ("credential.rotate", "credential.retire", "credential.create", "credential.delete",
             "credential.deactivate", "credential.free-slot", "credential.orphan")


@pytest.mark.parametrize("scenario,row", WAIVABLE)
def test_no_fixer_of_any_row_issues_or_retires_a_key_whose_state_is_waived(emu, runs, monkeypatch, scenario, row):  # noqa: F811
    """Every registered fixer is asked (each failing at once, and each alone): none plans a step that makes
    a key or touches one, although the endpoint rows fail because of the waived state (an Inactive key
    is refused)."""
    from bedrock_key_audit.remediation.core import FIXERS

    emu.apply(scenario)
    _waive(monkeypatch, row)
    everything = [_rec(c) for c in sorted(FIXERS) if c != row] + [_rec(row)]
    for recs in [everything] + [[_rec(c), _rec(row)] for c in sorted(FIXERS) if c != row]:
        ctx = runs(1)
        steps = _plan(ctx, monkeypatch, recs)
        touching = [s.key for s in steps if not s.manual and (
            s.key.startswith(KEY_STEPS) or any(c.split(":")[-1] in (
                "CreateServiceSpecificCredential", "UpdateServiceSpecificCredential",
                "DeleteServiceSpecificCredential", "ResetServiceSpecificCredential")
                for c in (s.calls or []) if isinstance(c, str)))]
        assert not touching, (scenario, [r.check_id for r in recs], touching)
        assert f"waived:{row}" in {s.key for s in steps}


# --------------------------------------------------------------------------- writes that change a waived row's property
def _region(emu, region: str, **extra: str) -> None:
    sm = emu.client("secretsmanager", "govcloud")
    data = json.loads(sm.get_secret_value(SecretId=SECRET)["SecretString"])
    data.update(region=region, **extra)
    sm.put_secret_value(SecretId=SECRET, SecretString=json.dumps(data))


def _document(emu) -> dict[str, Any]:
    return json.loads(emu.client("secretsmanager", "govcloud").get_secret_value(SecretId=SECRET)["SecretString"])


ENDPOINT_ROWS = ["endpoint.list_models", "endpoint.invoke", "endpoint.unused_surfaces_closed"]


def test_a_waived_region_is_not_rewritten_for_the_endpoint_rows(emu, runs, monkeypatch):  # noqa: F811
    """The secret's region (judged by secret.schema, waived) is what the endpoint rows fail on: no rewrite and no
    rotation; their summary names the waiver; applying the plan leaves the secret as it is."""
    emu.apply("compliant")
    _region(emu, "eu-central-9")
    recs = [_rec("secret.schema")] + [_rec(c) for c in ENDPOINT_ROWS]
    assert "secret.rewrite" in {s.key for s in build_plan(runs(1), [_rec(c) for c in ENDPOINT_ROWS])}
    _waive(monkeypatch, "secret.schema")
    ctx = runs(2)
    steps = _plan(ctx, monkeypatch, recs)
    keys = {s.key for s in steps}
    assert "secret.rewrite" not in keys and "credential.rotate" not in keys, keys
    assert all(s.manual for s in steps), [(s.key, s.status) for s in steps]
    for row in ("endpoint.list_models", "endpoint.invoke"):
        why = ctx.memo["plan:no-step"][row]
        assert "secret.schema" in why and "ciso@example.com" in why and "region" in why, why
    before = state(emu)["stages"]
    apply_plan(ctx, steps, lambda s, e: None)
    assert _document(emu)["region"] == "eu-central-9" and state(emu)["stages"] == before


def test_a_rotation_keeps_the_fields_a_waived_schema_row_judged(emu, runs, monkeypatch):  # noqa: F811
    """credential.unexpired (not waived) rotates the expiring key; secret.schema is waived on an invalid region and
    an extra field: the new version keeps both as they were, and the plan says so."""
    emu.apply("key_expiring_soon")
    held = next(iter(state(emu)["creds"]))
    _region(emu, "eu-central-9", team="ml-platform")
    _waive(monkeypatch, "secret.schema")
    ctx = runs(1)
    steps = _plan(ctx, monkeypatch, [_rec("credential.unexpired"), _rec("secret.schema")]
                  + [_rec(c) for c in ENDPOINT_ROWS])
    rot = next(s for s in steps if s.key == "credential.rotate")
    assert "secret.schema" not in rot.affects and "kept as it is" in rot.action and "secret.schema" in rot.action
    assert rot.check_ids == ["credential.unexpired"], rot.check_ids  # the endpoint rows fail on the waived region
    assert "secret.rewrite" not in {s.key for s in steps}
    apply_plan(ctx, steps, lambda s, e: None)
    assert rot.status == "applied", rot.message
    doc = _document(emu)
    assert doc["region"] == "eu-central-9" and doc["team"] == "ml-platform"
    current = next(v for v, st in state(emu)["stages"].items() if "AWSCURRENT" in st)
    assert rotation.credential_of_version(current, list(state(emu)["creds"])) not in (None, held)  # a new key


def test_a_new_secret_stays_on_the_default_key_under_a_waiver_on_its_cmk_row(emu, runs, monkeypatch):  # noqa: F811
    """secret.exists fails, secret.encrypted_with_cmk ends error (there is no secret to judge) under a live waiver:
    the rotation that creates the secret creates it on Secrets Manager's default key, and no KMS key is made."""
    emu.apply("secret_missing")
    _waive(monkeypatch, "secret.encrypted_with_cmk")
    ctx = runs(1)
    steps = _plan(ctx, monkeypatch, [_rec("secret.exists"), _rec("secret.encrypted_with_cmk", "error")])
    keys = [s.key for s in steps]
    assert "credential.rotate" in keys and not any(k.startswith("kms.create") for k in keys), keys
    rot = next(s for s in steps if s.key == "credential.rotate")
    assert "secret.encrypted_with_cmk" not in rot.affects and "default key" in rot.action
    assert "waived:secret.encrypted_with_cmk" in keys  # the erroring row's own fixer is not planned: the waiver says why
    apply_plan(ctx, steps, lambda s, e: None)
    assert rot.status == "applied", rot.message
    desc = emu.client("secretsmanager", "govcloud").describe_secret(SecretId=SECRET)
    assert not desc.get("KmsKeyId") or "aws/secretsmanager" in desc["KmsKeyId"], desc.get("KmsKeyId")


TRAIL_ROWS = ["cloudtrail.logging", "cloudtrail.multi_region", "cloudtrail.log_file_validation",
              "cloudtrail.management_events", "cloudtrail.kms"]


def _no_trail(emu) -> None:
    emu.apply("compliant")
    ct = emu.client("cloudtrail")
    for t in ct.describe_trails()["trailList"]:
        ct.delete_trail(Name=t["Name"])
    assert not ct.describe_trails()["trailList"]


@pytest.mark.parametrize("waived", ["cloudtrail.kms", "cloudtrail.log_file_validation"])
def test_a_created_trail_leaves_a_waived_property_at_cloudtrails_default(emu, runs, monkeypatch, waived):  # noqa: F811
    """The commercial trail is gone; every trail row fails and one step creates our trail.  Under a live waiver on
    one row (of the commercial partition) that property is left at CloudTrail's default (no SSE-KMS and no key
    made for it; no validation), the other rows' properties are set; the plan names the waiver."""
    _no_trail(emu)
    _waive(monkeypatch, f"{waived}[commercial]")
    ctx = runs(1)
    steps = _plan(ctx, monkeypatch, [_rec(c, partition="commercial") for c in TRAIL_ROWS])
    create = next(s for s in steps if s.key == "trail.create:commercial")
    assert f"{waived}[commercial]" not in create.affects and "ciso@example.com" in create.action
    # the planned entry names the trail the step makes (a waiver scoped to another trail does not reach it)
    assert create.creates and create.describe()["creates"] == create.creates
    if waived == "cloudtrail.kms":
        assert not any(s.key == "kms.create:commercial" for s in steps) and not create.requires
    apply_plan(ctx, steps, lambda s, e: None)
    assert create.status == "applied", create.message
    trail = emu.client("cloudtrail").describe_trails()["trailList"][0]
    assert trail.get("IsMultiRegionTrail")
    if waived == "cloudtrail.kms":
        assert not trail.get("KmsKeyId") and trail.get("LogFileValidationEnabled")
    else:
        assert trail.get("KmsKeyId") and not trail.get("LogFileValidationEnabled")


def test_a_step_whose_writes_change_a_waived_rows_property_is_manual_naming_the_waiver(emu, runs):  # noqa: F811
    """The plan's last word: a step that still names a live-waived row in ``affects`` (no fixer adapted it) is
    not run; the plan says which waiver, and apply leaves it manual."""
    from bedrock_key_audit.remediation.core import Step, _waived_writes

    emu.apply("compliant")
    ctx = runs(1)
    ctx.waived_rows = {"cloudtrail.kms[commercial]": "cloudtrail.kms[commercial], until 2099-01-01, approved by x"}
    ran: list[str] = []

    def run_(c: Any, s: Any) -> tuple[Any, Any]:
        ran.append("run")
        return None, None
    st = Step(key="x", order=70, action="encrypt", calls=[], target="t", partition="commercial",
              run=run_, affects=["cloudtrail.kms[commercial]"])
    other = Step(key="y", order=70, action="same, other partition", calls=[], target="t", partition="govcloud",
                 affects=["cloudtrail.kms"])
    _waived_writes(ctx, {"x": st, "y": other})
    assert st.manual and "cloudtrail.kms[commercial]" in st.message and "approved by x" in st.message
    assert not other.manual  # the waiver names the commercial row only
    apply_plan(ctx, [st], lambda s, e: None)
    assert st.status == "manual" and not ran


def test_a_grant_for_the_endpoint_rows_is_manual_while_the_grants_row_is_waived(emu, runs, monkeypatch):  # noqa: F811
    """The user's policy is detached (Bedrock refuses the key: 403) and iam.policy_grants_required is waived (the
    missing grant is accepted): the least-privilege policy the endpoint rows' fixer plans would change what the
    waived row judges, so it is manual naming the waiver, and applying the plan attaches nothing."""
    emu.apply("compliant")
    iam = emu.client("iam")
    for p in iam.list_attached_user_policies(UserName=USER)["AttachedPolicies"]:
        iam.detach_user_policy(UserName=USER, PolicyArn=p["PolicyArn"])
    recs = [_rec("endpoint.list_models"), _rec("endpoint.invoke"), _rec("iam.policy_grants_required")]
    plain = build_plan(runs(1), recs)
    assert any(s.key == "iam.ensure-policy" and not s.manual for s in plain), [(s.key, s.status) for s in plain]
    _waive(monkeypatch, "iam.policy_grants_required")
    ctx = runs(2)
    steps = _plan(ctx, monkeypatch, recs)
    grant = next(s for s in steps if s.key == "iam.ensure-policy")
    assert grant.manual and "iam.policy_grants_required" in grant.message and "ciso@example.com" in grant.message
    apply_plan(ctx, steps, lambda s, e: None)
    assert grant.status == "manual"
    assert not iam.list_attached_user_policies(UserName=USER)["AttachedPolicies"]


def test_moving_the_secret_to_our_key_is_manual_while_the_readers_it_cuts_off_are_waived(emu, ctx_for):  # noqa: F811
    """secret.encrypted_with_cmk's move to our key would cut off a reader, and secret.readers_restricted (who
    reads the secret) is under a live waiver: the move changes what that row judges, so it is manual naming the
    waiver, also with --allow-destructive, and the secret stays under its key."""
    from tests.remediation.test_guard import _rec_ct, _workload_role

    emu.apply("secret_default_kms")
    _workload_role(emu)
    ctx = ctx_for(destructive=True)
    ctx.waived_rows = {"secret.readers_restricted": "secret.readers_restricted, until 2099-01-01, approved by x"}
    steps = build_plan(ctx, [_rec_ct("secret.encrypted_with_cmk")])
    move = next(s for s in steps if s.key == "secret.kms")
    assert move.manual and "secret.readers_restricted" in move.message, move.message
    sm = emu.client("secretsmanager", "govcloud")
    before = sm.describe_secret(SecretId=SECRET).get("KmsKeyId")
    apply_plan(ctx, steps, lambda s, e: None)
    assert move.status == "manual" and sm.describe_secret(SecretId=SECRET).get("KmsKeyId") == before


def test_end_to_end_the_rotation_under_a_schema_waiver_keeps_the_region_and_the_plan_says_so(pytester, monkeypatch):
    """--remediate --allow-destructive on an expiring key whose secret holds an invalid region and an extra field,
    secret.schema waived: the printed plan rotates for credential.unexpired only, says the region is kept, plans
    no rewrite; the secret keeps both fields, and the endpoint rows' summary names the waiver."""
    from bedrock_key_audit.emulator import scenarios  # noqa: F401 -- the emulator builds the account

    _waive(monkeypatch, "secret.schema")
    monkeypatch.setattr(rotation, "EMULATED_DELAY", 0.0)
    facts: dict[str, Any] = {}

    def build(emu):
        emu.apply("key_expiring_soon")
        _region(emu, "eu-central-9", team="ml-platform")
        facts["emu"] = emu
    result, cap = run(pytester, "--remediate", "--allow-destructive", scenario="empty", setup=build)
    text = result.stdout.str()
    keys = {s.key for s in cap.plan}
    assert "credential.rotate" in keys and "secret.rewrite" not in keys and "waived:secret.schema" in keys, keys
    assert "region 'eu-central-9' kept as it is" in text
    assert "a live waiver accepts" in text and "secret.schema" in text
    doc = _document(facts["emu"])
    assert doc["region"] == "eu-central-9" and doc["team"] == "ml-platform"


def test_the_user_is_not_created_for_another_row_while_its_absence_is_waived(emu, runs, monkeypatch):  # noqa: F811
    """The key's user is gone and iam.user_exists is waived: iam.policy_grants_required's fixer would create it
    (to attach the grant), which changes what the waived row judges; that step is manual naming the waiver, the
    grant that requires it is blocked, and applying the plan creates no user."""
    emu.apply("no_user")
    _waive(monkeypatch, "iam.user_exists")
    ctx = runs(1)
    steps = _plan(ctx, monkeypatch, [_rec("iam.user_exists"), _rec("iam.policy_grants_required")])
    create = next(s for s in steps if s.key == "iam.create-user")
    assert create.manual and "iam.user_exists" in create.message and "ciso@example.com" in create.message
    assert all(s.manual or s.status == "blocked" for s in steps), [(s.key, s.status) for s in steps]
    apply_plan(ctx, steps, lambda s, e: None)
    assert USER not in [u["UserName"] for u in emu.client("iam").list_users()["Users"]]


# --------------------------------------------------------------------------- the re-review's narrowing, detach, create
def _policy_of(emu, arn: str) -> dict[str, Any]:
    iam = emu.client("iam")
    doc = iam.get_policy_version(PolicyArn=arn, VersionId=iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"])
    return doc["PolicyVersion"]["Document"]


def _our_policy_with_extras(emu) -> str:
    """The user's grant is a policy under our name holding required_actions minus CallWithBearerToken plus S3 reads."""
    iam = emu.client("iam")
    old = [p["PolicyArn"] for p in iam.list_attached_user_policies(UserName=USER)["AttachedPolicies"]]
    acts = [a for a in _policy_of(emu, old[0])["Statement"][0]["Action"] if a != "bedrock:CallWithBearerToken"]
    for a in old:
        iam.detach_user_policy(UserName=USER, PolicyArn=a)
    doc = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": acts, "Resource": "*"},
           {"Sid": "DataAccess", "Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket"], "Resource": "*"}]}
    arn: str = iam.create_policy(PolicyName="BedrockApiKeyLeastPrivilege", PolicyDocument=json.dumps(doc))["Policy"]["Arn"]
    iam.attach_user_policy(UserName=USER, PolicyArn=arn)
    return arn


def test_our_policy_is_not_narrowed_while_its_extra_actions_are_waived(emu, runs, monkeypatch):  # noqa: F811
    """Our policy lacks CallWithBearerToken and holds S3 reads a live waiver on iam.policy_least_privilege accepts:
    the update to required_actions only would drop them, so it names that row in ``affects`` and is manual naming
    the waiver; applying the plan leaves the policy as it is."""
    emu.apply("compliant")
    arn = _our_policy_with_extras(emu)
    plain = next(s for s in build_plan(runs(1), [_rec("iam.policy_grants_required")]) if s.key == "iam.ensure-policy")
    assert "iam.policy_least_privilege" in plain.affects and not plain.manual
    _waive(monkeypatch, "iam.policy_least_privilege")
    ctx = runs(2)
    steps = _plan(ctx, monkeypatch, [_rec("iam.policy_grants_required"), _rec("iam.policy_least_privilege")])
    grant = next(s for s in steps if s.key == "iam.ensure-policy")
    assert grant.manual and "iam.policy_least_privilege" in grant.message and "ciso@example.com" in grant.message
    before = _policy_of(emu, arn)
    apply_plan(ctx, steps, lambda s, e: None)
    assert grant.status == "manual" and _policy_of(emu, arn) == before


def test_a_detach_that_closes_a_surface_waived_open_is_manual_naming_the_waiver(emu, runs, monkeypatch):  # noqa: F811
    """MantleAccess (bedrock-mantle:*) opens Mantle to a runtime workload's key; endpoint.unused_surfaces_closed is
    waived (Mantle open on purpose): least privilege's detach of it would close Mantle, so it is manual."""
    emu.apply("compliant")
    iam = emu.client("iam")
    doc = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["bedrock-mantle:*"], "Resource": "*"}]}
    arn = iam.create_policy(PolicyName="MantleAccess", PolicyDocument=json.dumps(doc))["Policy"]["Arn"]
    iam.attach_user_policy(UserName=USER, PolicyArn=arn)
    plain = build_plan(runs(1), [_rec("iam.policy_least_privilege")])
    detach = next(s for s in plain if s.key == f"iam.detach:{arn}")
    assert detach.affects == ["endpoint.unused_surfaces_closed"] and not detach.manual
    _waive(monkeypatch, "endpoint.unused_surfaces_closed")
    ctx = runs(2)
    steps = _plan(ctx, monkeypatch, [_rec("iam.policy_least_privilege"), _rec("endpoint.unused_surfaces_closed")])
    detach = next(s for s in steps if s.key == f"iam.detach:{arn}")
    assert detach.manual and "endpoint.unused_surfaces_closed" in detach.message and "ciso@example.com" in detach.message
    apply_plan(ctx, steps, lambda s, e: None)
    assert arn in [p["PolicyArn"] for p in iam.list_attached_user_policies(UserName=USER)["AttachedPolicies"]]


def _data_only_trail(emu, validation: bool = True) -> str:
    emu.apply("compliant")
    ct = emu.client("cloudtrail")
    trail = ct.describe_trails()["trailList"][0]
    if not validation:
        ct.update_trail(Name=trail["TrailARN"], EnableLogFileValidation=False)
    ct.put_event_selectors(TrailName=trail["TrailARN"], EventSelectors=[{
        "ReadWriteType": "All", "IncludeManagementEvents": False,
        "DataResources": [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3:::somebucket/"]}]}])
    arn: str = trail["TrailARN"]
    return arn


def test_no_trail_is_created_while_management_events_are_waived(emu, runs, monkeypatch):  # noqa: F811
    """The only trail records data events only and cloudtrail.management_events is waived (another trail records
    them): a new trail records management events whatever its selectors, so the create every trail row asks for
    is manual naming the waiver, no KMS key is made for it, and applying the plan creates no trail."""
    _data_only_trail(emu)
    _waive(monkeypatch, "cloudtrail.management_events[commercial]")
    ctx = runs(1)
    steps = _plan(ctx, monkeypatch, [_rec(c, partition="commercial") for c in TRAIL_ROWS])
    create = next(s for s in steps if s.key == "trail.create:commercial")
    assert create.manual and "cloudtrail.management_events" in create.message and "ciso@example.com" in create.message
    assert not any(s.key.startswith("kms.create") for s in steps), [s.key for s in steps]
    apply_plan(ctx, steps, lambda s, e: None)
    assert len(emu.client("cloudtrail").describe_trails()["trailList"]) == 1


def test_a_waiver_scoped_to_one_trail_does_not_reach_the_trail_the_tool_creates(emu, runs, monkeypatch):  # noqa: F811
    """cloudtrail.log_file_validation[commercial]@<the existing trail>: the new trail is another resource, so it is
    created validated (every property set) and the waived trail is left as it is."""
    old = _data_only_trail(emu, validation=False)
    _waive(monkeypatch, f"cloudtrail.log_file_validation[commercial]@{old}")
    ctx = runs(1)
    recs = [_rec(c, partition="commercial") for c in TRAIL_ROWS]
    for r in recs:
        r.resource = old
    steps = _plan(ctx, monkeypatch, recs)
    create = next(s for s in steps if s.key == "trail.create:commercial")
    assert not create.manual and "cloudtrail.log_file_validation[commercial]" in create.affects
    assert "validated" in create.action and "live waiver" not in create.action
    apply_plan(ctx, steps, lambda s, e: None)
    assert create.status == "applied", create.message
    trails = {t["TrailARN"]: t for t in emu.client("cloudtrail").describe_trails()["trailList"]}
    new = next(t for a, t in trails.items() if a != old)
    assert new.get("LogFileValidationEnabled") and not trails[old].get("LogFileValidationEnabled")


def test_a_grant_of_an_action_a_waived_endpoint_row_judges_is_manual(emu, runs, monkeypatch):  # noqa: F811
    """endpoint.list_models is waived (ListFoundationModels deliberately not granted) and iam.policy_grants_required
    fails for the same action: "a reason several rows judge is accepted when any of them is waived", so the grant
    is manual naming the waiver."""
    emu.apply("compliant")
    iam = emu.client("iam")
    arn = iam.list_attached_user_policies(UserName=USER)["AttachedPolicies"][0]["PolicyArn"]
    doc = _policy_of(emu, arn)
    doc["Statement"][0]["Action"] = [a for a in doc["Statement"][0]["Action"] if a != "bedrock:ListFoundationModels"]
    iam.detach_user_policy(UserName=USER, PolicyArn=arn)
    narrow = iam.create_policy(PolicyName="NoListing", PolicyDocument=json.dumps(doc))["Policy"]["Arn"]
    iam.attach_user_policy(UserName=USER, PolicyArn=narrow)
    _waive(monkeypatch, "endpoint.list_models")
    ctx = runs(1)
    steps = _plan(ctx, monkeypatch, [_rec("iam.policy_grants_required"), _rec("endpoint.list_models")])
    grant = next(s for s in steps if s.key == "iam.ensure-policy")
    assert grant.manual and "endpoint.list_models" in grant.message and "ciso@example.com" in grant.message


# --------------------------------------------------------------------------- the key's state under a waiver
def _secret_holds_a_deleted_key(emu) -> None:
    """A second key is made, put into the secret as AWSCURRENT, then deleted: the secret holds a key of no
    credential (secret.key_matches_credential fails), and the key it held before is in AWSPREVIOUS."""
    iam = emu.client("iam")
    made = iam.create_service_specific_credential(UserName=USER, ServiceName=BEDROCK,
                                                  CredentialAgeDays=90)["ServiceSpecificCredential"]
    sm = emu.client("secretsmanager", "govcloud")
    data = json.loads(sm.get_secret_value(SecretId=SECRET)["SecretString"])
    data["bedrock_api_key"] = made.get("ServiceCredentialSecret") or made.get("ServicePassword")
    sm.put_secret_value(SecretId=SECRET, SecretString=json.dumps(data))
    del data
    iam.delete_service_specific_credential(UserName=USER, ServiceSpecificCredentialId=made["ServiceSpecificCredentialId"])


KEY_MATCH_ROWS = ["secret.key_matches_credential", "endpoint.list_models", "endpoint.invoke"]


def test_the_rotation_another_row_needs_leaves_a_waived_expiring_key_active(emu, runs, monkeypatch):  # noqa: F811
    """credential.unexpired is waived; the secret holds a deleted credential's key and the user's only key (the
    expiring one) is in AWSPREVIOUS.  The rotation secret.key_matches_credential needs runs (the expiring key keeps
    its expiry: a new key does not change it), but retiring the expiring key would change what the waived row
    judges: that step is manual naming the waiver, and applying the plan leaves the key Active."""
    emu.apply("key_expiring_soon")
    old = next(iter(state(emu)["creds"]))
    _secret_holds_a_deleted_key(emu)
    _waive(monkeypatch, "credential.unexpired")
    ctx = runs(1)
    steps = _plan(ctx, monkeypatch, [_rec(c) for c in KEY_MATCH_ROWS] + [_rec("credential.unexpired")])
    by = {s.key: s for s in steps}
    assert not by["credential.rotate"].manual
    retire = by[f"credential.retire:{old}"]
    assert retire.manual and "credential.unexpired" in retire.affects
    assert "credential.unexpired" in retire.message and "ciso@example.com" in retire.message
    ctx.allow_destructive = True
    apply_plan(ctx, steps, lambda s, e: None)
    assert by["credential.rotate"].status == "applied", by["credential.rotate"].message
    assert state(emu)["creds"][old] == "Active"


def test_no_active_key_is_minted_while_an_inactive_key_is_waived(emu, runs, monkeypatch):  # noqa: F811
    """credential.active is waived (the user's key is Inactive on purpose) and the secret holds a deleted
    credential's key: a new key would give the user an Active key against that decision, so the rotation is
    manual naming the waiver; applying the plan mints nothing."""
    emu.apply("inactive_key")
    before = dict(state(emu)["creds"])
    _secret_holds_a_deleted_key(emu)
    _waive(monkeypatch, "credential.active")
    ctx = runs(1)
    steps = _plan(ctx, monkeypatch, [_rec(c) for c in KEY_MATCH_ROWS] + [_rec("credential.active")])
    rot = next(s for s in steps if s.key == "credential.rotate")
    assert rot.manual and "credential.active" in rot.affects and "ciso@example.com" in rot.message
    ctx.allow_destructive = True
    apply_plan(ctx, steps, lambda s, e: None)
    assert state(emu)["creds"] == before


def test_a_refused_key_whose_expiry_is_waived_is_a_manual_step_naming_both(emu, runs, monkeypatch):  # noqa: F811
    """credential.unexpired is waived and Bedrock refuses the stored key (a wrong value with the expiring key's
    alias): the refusal is a reason no waiver accepts, and the rotation that fixes it would replace the key whose
    expiry the waiver accepts.  One manual step names both; the rows are not told their reason is waived."""
    emu.apply("key_expiring_soon")
    sm = emu.client("secretsmanager", "govcloud")
    data = json.loads(sm.get_secret_value(SecretId=SECRET)["SecretString"])
    key = data["bedrock_api_key"]
    data["bedrock_api_key"] = key[:-6] + ("AAAAAA" if not key.endswith("AAAAAA") else "BBBBBB")
    sm.put_secret_value(SecretId=SECRET, SecretString=json.dumps(data))
    del data, key
    _waive(monkeypatch, "credential.unexpired")
    ctx = runs(1)
    steps = _plan(ctx, monkeypatch, [_rec(c) for c in KEY_MATCH_ROWS] + [_rec("credential.unexpired")])
    keys = [s.key for s in steps]
    assert not any(k.startswith(("credential.rotate", "credential.retire")) for k in keys), keys
    st = next(s for s in steps if s.key == "manual:key-state-waived")
    assert "Bedrock refuses the key" in st.action and "credential.unexpired" in st.action
    assert "ciso@example.com" in st.action
    assert not ctx.memo.get("plan:no-step"), ctx.memo.get("plan:no-step")


# --------------------------------------------------------------------------- a missing secret re-created under waivers
def test_a_new_secret_stays_on_the_default_key_while_its_readers_are_waived(emu, runs, monkeypatch):  # noqa: F811
    """secret.readers_restricted is waived (an accepted reader reads through the default key's account-wide grant)
    and the secret is gone: under a key of ours that reader would also need kms:Decrypt on it, so the rotation
    creates the secret on Secrets Manager's default key, makes no key for it, and its action names the waiver."""
    emu.apply("secret_missing")
    _waive(monkeypatch, "secret.readers_restricted")
    ctx = runs(1)
    steps = _plan(ctx, monkeypatch, [_rec("secret.exists"), _rec("secret.readers_restricted", "error"),
                                     _rec("secret.encrypted_with_cmk", "error")])
    keys = [s.key for s in steps]
    assert "credential.rotate" in keys and not any(k.startswith("kms.create") for k in keys), keys
    rot = next(s for s in steps if s.key == "credential.rotate")
    assert "default key" in rot.action and "secret.readers_restricted" in rot.action and "ciso@example.com" in rot.action
    apply_plan(ctx, steps, lambda s, e: None)
    assert rot.status == "applied", rot.message
    desc = emu.client("secretsmanager", "govcloud").describe_secret(SecretId=SECRET)
    assert not desc.get("KmsKeyId") or "aws/secretsmanager" in desc["KmsKeyId"], desc.get("KmsKeyId")


def test_a_secret_created_under_a_schema_waiver_says_so(emu, runs, monkeypatch):  # noqa: F811
    """secret.schema is waived while the secret is missing: the rotation writes this tool's document, and its
    action names the waiver (the accepted document went with the secret)."""
    emu.apply("secret_missing")
    _waive(monkeypatch, "secret.schema")
    ctx = runs(1)
    steps = _plan(ctx, monkeypatch, [_rec("secret.exists"), _rec("secret.schema", "error")])
    rot = next(s for s in steps if s.key == "credential.rotate")
    assert "secret.schema" in rot.action and "ciso@example.com" in rot.action


# --------------------------------------------------------------------------- a waiver scoped to what a step creates
def test_a_waiver_scoped_to_the_trail_the_tool_creates_keeps_its_property(emu, runs, monkeypatch):  # noqa: F811
    """cloudtrail.kms[commercial]@<this tool's trail ARN> with no trail: the failing row's resource is the
    partition ("cloudtrail commercial"), not the trail, which does not exist yet; the waiver names what trail.create
    makes, so the trail is created without SSE-KMS and no key is made for it."""
    from bedrock_key_audit.remediation.fixers.cloudtrail import our_trail_arn

    _no_trail(emu)
    ctx = runs(1)
    _waive(monkeypatch, f"cloudtrail.kms[commercial]@{our_trail_arn(ctx, 'commercial')}")
    recs = [_rec(c, partition="commercial") for c in TRAIL_ROWS]
    for r in recs:
        r.resource = "cloudtrail commercial"
    steps = _plan(ctx, monkeypatch, recs)
    keys = [s.key for s in steps]
    create = next(s for s in steps if s.key == "trail.create:commercial")
    assert not any(k.startswith("kms.create") for k in keys) and not create.requires, keys
    assert "cloudtrail.kms[commercial]" not in create.affects and "ciso@example.com" in create.action
    assert ctx.memo["plan:created-scope-waivers"]
    apply_plan(ctx, steps, lambda s, e: None)
    assert create.status == "applied", create.message
    trail = emu.client("cloudtrail").describe_trails()["trailList"][0]
    assert not trail.get("KmsKeyId") and trail.get("LogFileValidationEnabled")


def test_a_waiver_scoped_to_the_trail_bucket_the_tool_creates_leaves_its_logging_off(emu, runs, monkeypatch):  # noqa: F811
    """cloudtrail.bucket_protected[commercial]@<the bucket trail.create makes> with no trail: the trail and its
    bucket are still made (other rows ask for them), but the bucket's server access logging is not turned on and no
    access-log bucket is made; the plan names the waiver, which counts as weighed (not stale)."""
    _no_trail(emu)
    ctx = runs(1)
    region = ctx.cfg.region("commercial")
    bucket = f"bedrock-key-audit-trail-{ctx.account('commercial')}-{region}"
    _waive(monkeypatch, f"cloudtrail.bucket_protected[commercial]@arn:aws:s3:::{bucket}")
    recs = [_rec(c, partition="commercial") for c in [*TRAIL_ROWS, "cloudtrail.bucket_protected"]]
    for r in recs:
        r.resource = "cloudtrail commercial"
    steps = _plan(ctx, monkeypatch, recs)
    keys = [s.key for s in steps]
    assert "trail.create:commercial" in keys
    assert not any(k.startswith(("s3.access-logging:", "s3.access-log-bucket:")) for k in keys), keys
    waived = next(s for s in steps if s.key.startswith("waived:cloudtrail.bucket_protected[commercial]"))
    assert waived.manual and bucket in waived.action and "ciso@example.com" in waived.action
    assert ctx.memo["plan:created-scope-waivers"]
    apply_plan(ctx, steps, lambda s, e: None)
    assert emu.client("s3").get_bucket_logging(Bucket=bucket).get("LoggingEnabled") is None


def test_a_waiver_scoped_to_the_secret_the_tool_creates_keeps_it_on_the_default_key(emu, runs, monkeypatch):  # noqa: F811
    """secret.encrypted_with_cmk@<the secret's ARN pattern> with the secret missing: the erroring row names the
    secret by name, so the waiver matches no row; it names what the rotation creates, so the new secret is on
    Secrets Manager's default key and no key is made for it."""
    emu.apply("secret_missing")
    ctx = runs(1)
    acct = ctx.account("govcloud")
    _waive(monkeypatch, f"secret.encrypted_with_cmk@arn:aws-us-gov:secretsmanager:{ctx.cfg.region('govcloud')}:"
                        f"{acct}:secret:{SECRET}-*")
    recs = [_rec("secret.exists"), _rec("secret.encrypted_with_cmk", "error")]
    for r in recs:
        r.resource = SECRET
    steps = _plan(ctx, monkeypatch, recs)
    keys = [s.key for s in steps]
    assert "credential.rotate" in keys and not any(k.startswith("kms.create") for k in keys), keys
    rot = next(s for s in steps if s.key == "credential.rotate")
    assert "default key" in rot.action and "ciso@example.com" in rot.action
    apply_plan(ctx, steps, lambda s, e: None)
    assert rot.status == "applied", rot.message
    desc = emu.client("secretsmanager", "govcloud").describe_secret(SecretId=SECRET)
    assert not desc.get("KmsKeyId") or "aws/secretsmanager" in desc["KmsKeyId"], desc.get("KmsKeyId")


def test_end_to_end_a_waiver_on_the_trail_the_tool_creates_is_weighed_and_not_stale(pytester, monkeypatch):
    """--remediate=plan with the commercial trail gone and cloudtrail.kms[commercial] waived for this tool's trail
    ARN: the printed plan creates the trail without SSE-KMS naming the waiver, and the waiver is reported as
    weighed by the plan, not stale."""
    from bedrock_key_audit.emulator import scenarios  # noqa: F401 -- the emulator builds the account

    arn = "arn:aws:cloudtrail:us-east-1:123456789012:trail/bedrock-key-audit-trail"
    _waive(monkeypatch, f"cloudtrail.kms[commercial]@{arn}")
    result, cap = run(pytester, "--remediate=plan", scenario="empty", setup=_no_trail)
    text = result.stdout.str()
    keys = {s.key for s in cap.plan}
    assert "trail.create:commercial" in keys and "kms.create:commercial" not in keys, keys
    assert "no SSE-KMS" in text and arn in text
    assert "which a remediation step creates" in text and "matches no row of cloudtrail.kms\n" not in text


def test_an_erroring_row_under_a_live_waiver_gets_no_step_of_its_own_fixer(emu, runs, monkeypatch):  # noqa: F811
    """The readers row ended error (a reader's grant depends on a key the audit cannot know) and a live waiver
    accepts who reads: its own fixer neither narrows the readers nor advises removing their grants; the plan has
    one manual step naming the waiver, as for a failing waived row."""
    emu.apply("compliant")
    ctx = runs(1)
    _waive(monkeypatch, "secret.readers_restricted")
    steps = _plan(ctx, monkeypatch, [_rec("secret.readers_restricted", "error")])
    assert [s.key for s in steps] == ["waived:secret.readers_restricted"], [(s.key, s.action) for s in steps]
    assert steps[0].manual and "ciso@example.com" in steps[0].action and "error" in steps[0].why[0]


def test_end_to_end_the_footer_says_waived_for_a_row_the_reaudit_reports_waived(pytester, monkeypatch):
    """Applied: the trail is created without SSE-KMS under the waiver scoped to it, so the re-audit's
    cloudtrail.kms[commercial] fails and is reported waived; the footer's "found → after" says waived too."""
    from bedrock_key_audit.emulator import scenarios  # noqa: F401 -- the emulator builds the account

    arn = "arn:aws:cloudtrail:us-east-1:123456789012:trail/bedrock-key-audit-trail"
    _waive(monkeypatch, f"cloudtrail.kms[commercial]@{arn}")
    result, _ = run(pytester, "--remediate", scenario="empty", setup=_no_trail)
    text = result.stdout.str()
    assert "cloudtrail.kms[commercial] (fail → waived)" in text, text[-3000:]
