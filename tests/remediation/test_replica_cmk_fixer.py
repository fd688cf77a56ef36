"""secret.encrypted_with_cmk failed by a replica: the fixer leaves the primary's customer key alone and names the
replica Region in a manual step (a replica's key changes only by removing and re-adding the replica: "Replicate AWS
Secrets Manager secrets across Regions"); with the primary on aws/secretsmanager too, both are planned."""
from __future__ import annotations

from tests.remediation.test_guard import _rec_ct, ctx_for  # noqa: F401 -- fixtures

SECRET = "cross-partition-commercial-creds"
EAST = "us-gov-east-1"


def _replicate(emu) -> None:
    emu.client("secretsmanager", "govcloud").replicate_secret_to_regions(SecretId=SECRET,
                                                                        AddReplicaRegions=[{"Region": EAST}])


def test_a_replica_on_the_default_key_is_a_manual_step_and_the_primary_stays(emu, ctx_for):  # noqa: F811
    from bedrock_key_audit.remediation.fixers.secret import fix_secret_cmk

    emu.apply("compliant")  # the primary on a customer-managed key
    _replicate(emu)
    steps = fix_secret_cmk(ctx_for(), _rec_ct("secret.encrypted_with_cmk"))
    assert [s.key for s in steps] == [f"manual:secret-replica-cmk:{EAST}"], [(s.key, s.action) for s in steps]
    assert steps[0].manual and f"replica of secret {SECRET} in {EAST}" in steps[0].action
    assert "remove-regions-from-replication" in steps[0].action


def test_with_the_primary_on_the_default_key_both_are_planned(emu, ctx_for):  # noqa: F811
    from bedrock_key_audit.remediation.fixers.secret import fix_secret_cmk

    emu.apply("secret_default_kms")
    _replicate(emu)
    keys = [s.key for s in fix_secret_cmk(ctx_for(), _rec_ct("secret.encrypted_with_cmk"))]
    assert "secret.kms" in keys and f"manual:secret-replica-cmk:{EAST}" in keys, keys


def test_no_replica_no_replica_step(emu, ctx_for):  # noqa: F811
    from bedrock_key_audit.remediation.fixers.secret import fix_secret_cmk

    emu.apply("secret_default_kms")
    keys = [s.key for s in fix_secret_cmk(ctx_for(), _rec_ct("secret.encrypted_with_cmk"))]
    assert "secret.kms" in keys and not [k for k in keys if "replica" in k], keys
