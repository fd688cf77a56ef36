"""A plan that says what will happen: a rewrite that cannot change anything is never reported applied,
and nothing is created for a step that does not run."""
from __future__ import annotations

import json

from tests.remediation.test_guard import _rec_ct, ctx_for  # noqa: F401 -- fixtures

SECRET = "cross-partition-commercial-creds"


def _set_region(emu, region: str) -> None:
    sm = emu.client("secretsmanager", "govcloud")
    value = json.loads(sm.get_secret_value(SecretId=SECRET)["SecretString"])
    value["region"] = region
    sm.put_secret_value(SecretId=SECRET, SecretString=json.dumps(value))
    del value


def _region(emu) -> str:
    sm = emu.client("secretsmanager", "govcloud")
    region: str = json.loads(sm.get_secret_value(SecretId=SECRET)["SecretString"])["region"]
    return region


def test_a_well_formed_name_that_is_no_region_is_rewritten_not_reported_applied_unchanged(emu, ctx_for):  # noqa: F811
    """``us-east-9`` matches the schema's pattern but is no Region where Bedrock is offered (botocore's
    endpoint data): the rewrite writes the configured region, so the row it serves passes afterwards."""
    from bedrock_key_audit.inventory.keys import secret_region_problem
    from bedrock_key_audit.remediation.core import apply_plan
    from bedrock_key_audit.remediation.fixers.secret import fix_secret_schema
    from bedrock_key_audit.remediation.rotation import valid_region

    assert not valid_region("us-east-9") and valid_region("us-east-1")
    emu.apply("compliant")
    _set_region(emu, "us-east-9")
    ctx = ctx_for(destructive=False)
    steps = fix_secret_schema(ctx, _rec_ct("secret.schema"))
    assert [s.key for s in steps] == ["secret.rewrite"], [(s.key, s.action) for s in steps]
    apply_plan(ctx, steps, lambda st, e: None)
    assert steps[0].status == "applied", steps[0].message
    assert _region(emu) == ctx.cfg.region("commercial") and secret_region_problem(_region(emu)) is None


def test_a_rewrite_that_would_change_nothing_is_manual_not_applied(emu, ctx_for, monkeypatch):  # noqa: F811
    """Were the rewrite to produce the document it read (a region the schema refuses and the fixer keeps),
    it ends manual with one line and writes no version."""
    from bedrock_key_audit.remediation import rotation
    from bedrock_key_audit.remediation.core import apply_plan

    emu.apply("compliant")
    _set_region(emu, "us-east-9")
    ctx = ctx_for(destructive=False)
    step = rotation.rewrite_secret_step(ctx, 50)
    sm = emu.client("secretsmanager", "govcloud")
    versions = len(sm.list_secret_version_ids(SecretId=SECRET)["Versions"])
    monkeypatch.setattr(rotation, "valid_region", lambda value: True)  # the fixer keeps the region as it is
    apply_plan(ctx, [step], lambda st, e: None)
    assert step.status == "manual" and "would change nothing" in step.message, (step.status, step.message)
    assert len(sm.list_secret_version_ids(SecretId=SECRET)["Versions"]) == versions


def test_no_kms_key_is_created_for_a_secret_move_that_is_skipped(emu, ctx_for):  # noqa: F811
    """secret.kms is destructive: without --allow-destructive it is skipped, and so is the key made only
    for it -- no KMS key is left behind that nothing uses."""
    from bedrock_key_audit.remediation.core import apply_plan
    from bedrock_key_audit.remediation.fixers.secret import fix_secret_cmk

    emu.apply("secret_default_kms")
    kms = emu.client("kms", "govcloud")
    keys = {k["KeyId"] for k in kms.list_keys()["Keys"]}
    ctx = ctx_for(destructive=False)
    steps = fix_secret_cmk(ctx, _rec_ct("secret.encrypted_with_cmk"))
    assert [s.key for s in steps] == ["kms.create:govcloud", "secret.kms"]
    apply_plan(ctx, steps, lambda st, e: None)
    assert [s.status for s in steps] == ["skipped", "skipped"], [(s.key, s.message) for s in steps]
    assert "nothing is created" in steps[0].message
    assert {k["KeyId"] for k in kms.list_keys()["Keys"]} == keys
