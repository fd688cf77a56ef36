"""Waivers hold across fixers, and keys and policy versions are labelled and logged honestly.

* A live waiver applies to the reason the fixers share (the key diagnosis), not only to its row: a
  waived "key expires soon" is not rotated through secret.schema's, credential.single_active's or an
  endpoint row's fixer.  The plan says which waiver accepted it, and the applied plan is the plan.
* Every step that deactivates or deletes a Bedrock API key the secret does not hold is destructive.
* A deleted policy version's document stays in the action log even when the step fails after deleting it.
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

BEDROCK = "bedrock.amazonaws.com"


def _rec(cid: str, status: str = "fail") -> CheckRecord:
    return CheckRecord(cid, cid, cid.split(".")[0], "high", {}, f"checks/x::{cid}", status=status, detail="x")


def _waive(monkeypatch, *checks: str) -> None:
    ws = parse_waivers([{"check": c, "justification": "rotation handled by the platform team",
                         "approved_by": "ciso@example.com", "expires": "2099-01-01"} for c in checks], None)
    monkeypatch.setattr(sources, "waivers", lambda config: ws)


def _plan(ctx, monkeypatch, recs: list[CheckRecord]):
    """What the plugin's _plan does: waived rows out, their acceptance into the context, one list of steps."""
    kept, waived = plugin._without_waived(None, recs, ctx.now)
    ctx.waived = plugin.waived_reasons(waived)
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
