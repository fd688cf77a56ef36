"""Who keeps reading the secret through remediation: the CMK move names everyone it cuts off, and the
principals that run the audit keep their reads."""
from __future__ import annotations

from tests.remediation.test_guard import (  # noqa: F401 -- fixtures
    GOV,
    WORKLOAD,
    WORKLOAD_REAL,
    _rec_ct,
    _workload_role,
    ctx_for,
    readers_ctx,
)


def test_moving_the_secret_to_our_key_names_every_reader_it_cuts_off_and_only_runs_destructive(emu, ctx_for):
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


def test_a_move_that_cuts_nobody_off_says_so(emu, ctx_for):
    """The workload also holds kms:Decrypt in IAM, and our key delegates to IAM: nobody loses read access."""
    from bedrock_key_audit.remediation.fixers.secret import fix_secret_cmk

    emu.apply("secret_default_kms")
    _workload_role(emu, decrypt=True)
    steps = fix_secret_cmk(ctx_for(), _rec_ct("secret.encrypted_with_cmk"))
    move = next(s for s in steps if s.key == "secret.kms")
    assert "no principal that reads it now loses read access" in move.action, move.action
    assert WORKLOAD_REAL not in move.action


def test_a_configured_reader_keeps_reading_after_the_move(emu, readers_ctx):
    """Configured without its path: the key the plan creates names the real ARN, the move names no loser."""
    from bedrock_key_audit.remediation.core import apply_plan
    from bedrock_key_audit.remediation.fixers.secret import _readers_cut_off, fix_secret_cmk

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
