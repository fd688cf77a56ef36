"""secret.replicas_in_sync on hand-built DescribeSecret answers: pass, fail, error."""
from __future__ import annotations

from typing import Any

import pytest

from bedrock_key_audit.verdicts import secret as v
from tests.unit.helpers import run, secret

WEST, EAST = "us-gov-west-1", "us-gov-east-1"


def described(*replicas: dict[str, Any], primary: str | None = WEST, region: str = WEST) -> Any:
    desc: dict[str, Any] = {"Name": "bedrock/api-key"}
    if primary:
        desc["PrimaryRegion"] = primary
    if replicas:
        desc["ReplicationStatus"] = list(replicas)
    return secret(describe=desc, region=region)


def replica(status: str, region: str = EAST, message: str = "Replication succeeded") -> dict[str, Any]:
    return {"Region": region, "KmsKeyId": "alias/aws/secretsmanager", "Status": status, "StatusMessage": message}


def test_not_replicated_passes() -> None:
    status, text, _ = run(v.replicas_in_sync, described(primary=None))
    assert status == "pass" and text == "secret bedrock/api-key is not replicated to another Region"


def test_every_replica_in_sync_passes_naming_them() -> None:
    status, text, rec = run(v.replicas_in_sync, described(replica("InSync"), replica("InSync", "us-gov-west-2")))
    assert status == "pass" and "replicas in us-gov-east-1, us-gov-west-2 are InSync" in text
    assert rec.evidence[0]["data"][0] == {"Region": EAST, "Status": "InSync", "StatusMessage": "Replication succeeded",
                                          "KmsKeyId": "alias/aws/secretsmanager"}


def test_failed_replica_fails_naming_region_and_aws_message() -> None:
    msg = "Replication failed: Secret name bedrock/api-key already exists in region us-gov-east-1."
    status, text, _ = run(v.replicas_in_sync, described(replica("Failed", message=msg)))
    assert status == "fail"
    assert f"replica in {EAST} failed ({msg})" in text and "another secret of that name" in text
    assert "\n" not in text


def test_failed_wins_over_in_progress() -> None:
    status, text, _ = run(v.replicas_in_sync, described(replica("InProgress", "us-gov-west-2"),
                                                        replica("Failed", message="x")))
    assert status == "fail" and EAST in text and "us-gov-west-2" not in text


@pytest.mark.parametrize("state", ["InProgress", "", "Paused"])
def test_not_in_sync_yet_or_undocumented_is_error(state: str) -> None:
    status, text, _ = run(v.replicas_in_sync, described(replica(state)))
    assert status == "error" and f"replica in {EAST}" in text and "not known" in text
    # only InProgress ends by itself; an undocumented status is looked at, not waited for
    assert ("rerun once replication ends" in text) == (state == "InProgress")


def test_a_replica_audited_as_the_secret_is_error() -> None:
    status, text, _ = run(v.replicas_in_sync, described(primary=WEST, region=EAST))
    assert status == "error" and f"is a replica of the secret in {WEST}" in text
    assert f"partitions.govcloud.region to {WEST}" in text


def test_missing_secret_or_unread_description_is_error() -> None:
    assert run(v.replicas_in_sync, secret(exists=False, arn=None))[0] == "error"
    assert run(v.replicas_in_sync, secret(describe=None))[0] == "error"


def test_a_failed_replica_names_both_causes_and_the_older_copy() -> None:
    msg = "Access to KMS is not allowed"
    status, text, _ = run(v.replicas_in_sync, described(replica("Failed", message=msg)))
    assert status == "fail" and "KMS:" in text and "recovery window" in text and "older copy" in text


@pytest.mark.parametrize("region", [None, "", "us-east-1", 12345])
def test_an_entry_naming_no_region_of_the_partition_is_error(region: Any) -> None:
    status, text, _ = run(v.replicas_in_sync, described(replica("InSync", region=region)))
    assert status == "error" and "no Region of the secret's partition" in text


def test_a_secret_pending_deletion_defers_to_secret_exists() -> None:
    import datetime as dt

    s = described(replica("InSync"))
    s.deleted_date = dt.datetime(2026, 12, 1, tzinfo=dt.timezone.utc)
    status, text, _ = run(v.replicas_in_sync, s)
    assert status == "error" and "see secret.exists" in text


def test_a_secret_arn_of_another_region_is_a_configuration_error(tmp_path: Any) -> None:
    from bedrock_key_audit.config import ConfigError, load_config

    cfg = tmp_path / "audit.toml"
    cfg.write_text('[secret]\nid = "arn:aws-us-gov:secretsmanager:us-gov-east-1:123456789012:secret:k-AbCdEf"\n')
    with pytest.raises(ConfigError, match="partitions.govcloud.region us-gov-west-1"):
        load_config(cfg)
    cfg.write_text('[secret]\nid = "arn:aws-us-gov:secretsmanager:us-gov-west-1:123456789012:secret:k-AbCdEf"\n')
    assert load_config(cfg).secret_id.endswith("k-AbCdEf")
