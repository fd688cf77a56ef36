"""Key rotation driven directly, with a fault at every step.

After every fault: the key in the secret's AWSCURRENT still answers 200 at the emulator, at
most two credentials exist, no AWSPENDING label is left behind, and before the commit point
nothing is left of the attempt (same credentials, same AWSCURRENT version).
"""
from __future__ import annotations

import json
import logging
from typing import Any

import botocore.exceptions
import pytest

from bedrock_key_audit.aws import Aws, CallLog
from bedrock_key_audit.config import load_config
from bedrock_key_audit.emulator import clock, faults
from bedrock_key_audit.inventory.reader import Inventory
from bedrock_key_audit.remediation import rotation
from bedrock_key_audit.remediation.core import Context, apply_plan
from tests.remediation.helpers import SECRET, USER, credential_count, current_key_answers, point_env_at
from tests.keyscan import holds_key_head


@pytest.fixture
def make_ctx(emu, monkeypatch):
    point_env_at(monkeypatch, emu)
    monkeypatch.setattr(rotation, "EMULATED_DELAY", 0.0)
    made = []

    def make() -> Context:
        cfg = load_config(None)
        aws = Aws(cfg, CallLog(), emulated=True)
        ctx = Context(aws, cfg, Inventory(aws, cfg), clock.now(), allow_destructive=False)
        made.append(ctx)
        return ctx
    yield make
    for c in made:
        c.inv.g.close()


def _state(emu):
    iam = emu.client("iam")
    creds = sorted((c["ServiceSpecificCredentialId"], c["Status"]) for c in
                   iam.list_service_specific_credentials(UserName=USER)["ServiceSpecificCredentials"])
    stages = emu.client("secretsmanager", "govcloud").describe_secret(SecretId=SECRET)["VersionIdsToStages"]
    current = next(v for v, s in stages.items() if "AWSCURRENT" in s)
    pending = [v for v, s in stages.items() if "AWSPENDING" in s]
    return creds, current, pending


def _rotate(ctx, destructive=True):
    """The rotation's planned steps (free a slot, rotate, retire the old key) applied in order; returns the
    first step that did not apply (else the rotation) and its action entry."""
    from bedrock_key_audit.remediation.fixers import keys

    ctx.allow_destructive = destructive
    steps = rotation.plan_rotation(ctx, "test", keys.key_diagnosis(ctx).get("held"))
    entries: dict[str, Any] = {}
    apply_plan(ctx, steps, lambda s, e: entries.__setitem__(s.key, e))
    assert not holds_key_head(json.dumps([s.message for s in steps])) and not holds_key_head(json.dumps(entries))
    st = next((s for s in steps if s.status not in ("applied",)), None) or \
        next(s for s in steps if s.key == "credential.rotate")
    return st, entries.get(st.key)


def _aws_error(ctx, service, partition, operation, when=lambda params: True):
    """Make the next matching ``operation`` fail as AWS would (botocore's own event hook, no HTTP)."""
    def boom(params, **_):
        if when(params):
            raise botocore.exceptions.ClientError(
                {"Error": {"Code": "ServiceUnavailable", "Message": "injected"}}, operation)
    ctx.client(service, partition).meta.events.register(f"before-parameter-build.{service}.{operation}", boom)


def _assert_untouched(emu, before):
    creds, current, pending = _state(emu)
    assert creds == before[0], "the new credential was not deleted"
    assert current == before[1], "AWSCURRENT moved"
    assert pending == []
    assert current_key_answers(emu) == 200
    assert credential_count(emu) <= 2


def test_rotation_succeeds(emu, make_ctx):
    emu.apply("key_expiring_soon")
    before = _state(emu)
    st, entry = _rotate(make_ctx())
    assert st.status == "applied", st.message
    creds, current, pending = _state(emu)
    assert current != before[1] and pending == []
    assert len(creds) == 2 and sorted(s for _, s in creds) == ["Active", "Inactive"]
    assert dict(creds)[before[0][0][0]] == "Inactive"  # the old key
    assert current_key_answers(emu) == 200
    assert entry["before"]["credentials"] and entry["after"]["new_credential"]


@pytest.mark.parametrize("step", [s for s in rotation.STEPS if s not in ("retire_old",)])
def test_crash_before_commit_rolls_back(emu, make_ctx, monkeypatch, step):
    emu.apply("key_expiring_soon")
    before = _state(emu)

    def crash(name):
        if name == step:
            raise RuntimeError(f"crash injected at {name}")
    monkeypatch.setattr(rotation, "checkpoint", crash)
    st, entry = _rotate(make_ctx())
    assert st.status == "failed" and f"crash injected at {step}" in st.message
    if step not in ("free_slot", "create_key"):  # a credential existed to undo
        assert "rolled back" in st.message
    _assert_untouched(emu, before)


def test_crash_after_commit_rolls_forward(emu, make_ctx, monkeypatch):
    emu.apply("key_expiring_soon")
    before = _state(emu)
    monkeypatch.setattr(rotation, "checkpoint", lambda n: (_ for _ in ()).throw(RuntimeError("late crash"))
                        if n == "retire_old" else None)
    st, _ = _rotate(make_ctx())
    assert st.status == "failed" and "retiring the old key failed" in st.message
    creds, current, pending = _state(emu)
    assert current != before[1] and pending == []  # the proven key stays current
    assert current_key_answers(emu) == 200 and len(creds) == 2


@pytest.mark.parametrize("operation,when", [
    ("CreateServiceSpecificCredential", None),
    ("PutSecretValue", None),
    ("UpdateSecretVersionStage", lambda p: p.get("VersionStage") == "AWSCURRENT"),
])
def test_aws_error_rolls_back(emu, make_ctx, operation, when):
    emu.apply("key_expiring_soon")
    before = _state(emu)
    ctx = make_ctx()
    service = "iam" if operation.endswith("Credential") else "secretsmanager"
    _aws_error(ctx, service, "commercial" if service == "iam" else "govcloud", operation, when or (lambda p: True))
    st, _ = _rotate(ctx)
    assert st.status == "failed" and "ServiceUnavailable" in st.message, st.message
    _assert_untouched(emu, before)


def test_aws_error_freeing_the_slot_changes_nothing(emu, make_ctx):
    emu.apply("key_expiring_soon")
    iam = emu.client("iam")
    extra = iam.create_service_specific_credential(UserName=USER, ServiceName="bedrock.amazonaws.com",
                                                   CredentialAgeDays=180)["ServiceSpecificCredential"]
    iam.update_service_specific_credential(UserName=USER, ServiceSpecificCredentialId=extra["ServiceSpecificCredentialId"],
                                           Status="Inactive")
    before = _state(emu)
    ctx = make_ctx()
    _aws_error(ctx, "iam", "commercial", "DeleteServiceSpecificCredential")
    st, _ = _rotate(ctx)
    assert st.status == "failed"
    _assert_untouched(emu, before)
    # and without the fault the Inactive key makes room for the new one
    st, _ = _rotate(make_ctx())
    assert st.status == "applied", st.message
    ids = [c for c, _ in _state(emu)[0]]
    assert extra["ServiceSpecificCredentialId"] not in ids and len(ids) == 2


def test_aws_error_retiring_the_old_key_keeps_the_new_one(emu, make_ctx):
    emu.apply("key_expiring_soon")
    before = _state(emu)
    ctx = make_ctx()
    _aws_error(ctx, "iam", "commercial", "UpdateServiceSpecificCredential")
    st, _ = _rotate(ctx)
    assert st.status == "failed" and "retiring the old key failed" in st.message
    creds, current, pending = _state(emu)
    assert current != before[1] and pending == [] and len(creds) == 2
    assert current_key_answers(emu) == 200


def test_endpoint_refusing_the_new_key_rolls_back(emu, make_ctx):
    emu.apply("key_expiring_soon")
    before = _state(emu)
    faults.fail(status=503, n=None, path_prefix="/foundation-models")
    st, _ = _rotate(make_ctx())
    assert st.status == "failed" and "not accepted by GET /foundation-models" in st.message
    assert "rolled back" in st.message
    faults.reset()
    _assert_untouched(emu, before)


def test_new_key_refused_by_authorization_rolls_back(emu, make_ctx):
    """The user lost bedrock:CallWithBearerToken: the new key authenticates but answers 403."""
    emu.apply("key_expiring_soon")
    iam = emu.client("iam")
    pol = next(p for p in iam.list_attached_user_policies(UserName=USER)["AttachedPolicies"])
    before = _state(emu)
    iam.detach_user_policy(UserName=USER, PolicyArn=pol["PolicyArn"])
    st, _ = _rotate(make_ctx())
    assert st.status == "failed" and "HTTP403" in st.message and "rolled back" in st.message
    iam.attach_user_policy(UserName=USER, PolicyArn=pol["PolicyArn"])
    _assert_untouched(emu, before)


def test_transient_throttling_is_retried(emu, make_ctx):
    emu.apply("key_expiring_soon")
    faults.throttle(n=2, path_prefix="/foundation-models")
    st, _ = _rotate(make_ctx())
    assert st.status == "applied", st.message
    assert current_key_answers(emu) == 200


def test_two_active_keys_stop_the_rotation_clearly(emu, make_ctx):
    """Planned: one manual step naming the Active key the secret does not hold (id and alias); run directly:
    the rotation itself refuses, naming both keys, and changes nothing."""
    emu.apply("two_active_keys")
    before = _state(emu)
    st, _ = _rotate(make_ctx())
    assert st.status == "manual" and st.key == "manual:key-slot", (st.key, st.action)
    assert "no free Bedrock API key slot" in st.action and "a person must decide" in st.action
    assert sum(cid in st.action for cid, _ in before[0]) >= 1 and "alias " in st.action
    st2 = rotation.rotation_step(make_ctx(), "test")
    apply_plan(make_ctx(), [st2], lambda s, e: None)
    assert st2.status == "failed" and "two Active Bedrock API keys" in st2.message
    assert all(cid in st2.message for cid, _ in before[0])
    _assert_untouched(emu, before)


def test_the_key_slot_step_names_a_waiver_that_accepts_the_second_key(emu, make_ctx):
    """Two Active keys under a live credential.single_active waiver, and the rotation needs a slot: the manual
    step says the waiver accepts the second key, so the person deciding sees that decision too."""
    emu.apply("two_active_keys")
    ctx = make_ctx()
    ctx.waived = {"credential.single_active": "credential.single_active, until 2099-01-01, approved by ciso@x"}
    st, _ = _rotate(ctx)
    assert st.key == "manual:key-slot" and "a live waiver accepts the second Active key" in st.action, st.action
    assert "approved by ciso@x" in st.action


def test_a_second_active_key_in_awsprevious_is_named_as_the_secrets_previous_value(emu, make_ctx):
    """No free slot because the secret's AWSPREVIOUS value is a second Active key: the manual step says the
    secret's previous version holds it (a reader not yet on AWSCURRENT), not that the secret does not hold it."""
    emu.apply("key_expiring_soon")
    iam, sm = emu.client("iam"), emu.client("secretsmanager", "govcloud")
    made = iam.create_service_specific_credential(UserName=USER, ServiceName="bedrock.amazonaws.com",
                                                  CredentialAgeDays=90)["ServiceSpecificCredential"]
    stages = sm.describe_secret(SecretId=SECRET)["VersionIdsToStages"]
    current = next(v for v, st in stages.items() if "AWSCURRENT" in st)
    doc = json.loads(sm.get_secret_value(SecretId=SECRET)["SecretString"])
    doc["bedrock_api_key"] = made.pop("ServiceCredentialSecret", None) or made.pop("ServicePassword")
    second = sm.put_secret_value(SecretId=SECRET, SecretString=json.dumps(doc))["VersionId"]
    del doc
    sm.update_secret_version_stage(SecretId=SECRET, VersionStage="AWSCURRENT", MoveToVersionId=current,
                                   RemoveFromVersionId=second)
    before = _state(emu)
    st, _ = _rotate(make_ctx())
    assert st.status == "manual" and st.key == "manual:key-slot", (st.key, st.action)
    assert made["ServiceSpecificCredentialId"] in st.action
    assert "AWSPREVIOUS version holds it" in st.action and "the secret does not hold it" not in st.action
    _assert_untouched(emu, before)


def test_rotation_is_idempotent_in_its_secret_write(emu, make_ctx, monkeypatch):
    """A retried PutSecretValue with the same ClientRequestToken makes no second version."""
    emu.apply("key_expiring_soon")
    ctx = make_ctx()
    sm = ctx.client("secretsmanager", "govcloud")
    original = sm.put_secret_value

    def twice(**kw):
        original(**kw)
        return original(**kw)
    monkeypatch.setattr(sm, "put_secret_value", twice)
    st, _ = _rotate(ctx)
    assert st.status == "applied", st.message
    versions = emu.client("secretsmanager", "govcloud").list_secret_version_ids(SecretId=SECRET)["Versions"]
    assert len(versions) == 2  # the original and exactly one new one


def test_no_key_reaches_the_logs_even_at_debug(emu, make_ctx, caplog):
    emu.apply("key_expiring_soon")
    caplog.set_level(logging.DEBUG)
    st, entry = _rotate(make_ctx())
    assert st.status == "applied", st.message
    logged = caplog.text
    assert "botocore" in logged or caplog.records  # logging was live around the rotation
    assert not holds_key_head(logged) and "ServiceCredentialSecret" not in logged


def test_a_fixer_that_crashes_is_reported_not_fatal(emu, make_ctx, monkeypatch):
    from bedrock_key_audit.checkcore import CheckRecord
    from bedrock_key_audit.remediation import core

    emu.apply("guide")
    ctx = make_ctx()
    monkeypatch.setitem(core.FIXERS, "iam.user_exists", lambda c, r: 1 / 0)
    recs = [CheckRecord("iam.user_exists", "t", "iam", "high", {}, "n", status="fail", detail="x"),
            CheckRecord("cloudtrail.log_file_validation", "t", "cloudtrail", "high", {}, "n", partition="commercial",
                        status="fail", detail="y")]
    steps = core.build_plan(ctx, recs)
    assert [s.status for s in steps if s.key.startswith("unplannable:iam.user_exists")] == ["manual"]
    assert any(s.key == "trail.log-file-validation:commercial" for s in steps)


@pytest.mark.parametrize("step", ["verify", "promote"])
def test_crash_while_creating_a_missing_secret_leaves_no_secret_and_no_new_key(emu, make_ctx, monkeypatch, step):
    emu.apply("secret_missing")
    iam = emu.client("iam")
    before = sorted(c["ServiceSpecificCredentialId"] for c in
                    iam.list_service_specific_credentials(UserName=USER)["ServiceSpecificCredentials"])
    monkeypatch.setattr(rotation, "checkpoint", lambda n: (_ for _ in ()).throw(RuntimeError("crash"))
                        if n == step else None)
    st, _ = _rotate(make_ctx())
    assert st.status == "failed" and "rolled back" in st.message
    after = sorted(c["ServiceSpecificCredentialId"] for c in
                   iam.list_service_specific_credentials(UserName=USER)["ServiceSpecificCredentials"])
    assert after == before
    assert emu.client("secretsmanager", "govcloud").list_secrets()["SecretList"] == []


def _label_current(emu, label: str) -> str:
    sm = emu.client("secretsmanager", "govcloud")
    stages = sm.describe_secret(SecretId=SECRET)["VersionIdsToStages"]
    cur = next(v for v, s in stages.items() if "AWSCURRENT" in s)
    sm.update_secret_version_stage(SecretId=SECRET, VersionStage=label, MoveToVersionId=cur)
    return cur


@pytest.mark.parametrize("when", ["before_plan", "after_plan"])
def test_a_custom_label_holding_the_old_key_keeps_it_active(emu, make_ctx, when):
    """A staging label of the secret's own (prod) on the version holding the old key: the rotation moves
    AWSCURRENT only, so the old key stays Active (a manual retire step naming the label), whether the label
    was there when the plan was made or was put on between plan and run."""
    from bedrock_key_audit.remediation.fixers import keys

    emu.apply("key_expiring_soon")
    old_id = _state(emu)[0][0][0]
    if when == "before_plan":
        old_version = _label_current(emu, "prod")
    ctx = make_ctx()
    ctx.allow_destructive = True
    steps = rotation.plan_rotation(ctx, "test", keys.key_diagnosis(ctx).get("held"))
    retire = next(s for s in steps if s.key.startswith("credential.retire"))
    if when == "before_plan":
        assert retire.manual and "prod" in retire.action
    else:
        assert not retire.manual
        old_version = _label_current(emu, "prod")
    apply_plan(ctx, steps, lambda s, e: None)
    assert retire.status == "manual" and "prod" in retire.action + (retire.message or ""), (retire.status, retire.message)
    creds, current, _ = _state(emu)
    assert dict(creds)[old_id] == "Active" and current != old_version
    stages = emu.client("secretsmanager", "govcloud").describe_secret(SecretId=SECRET)["VersionIdsToStages"]
    assert "prod" in stages[old_version]
