"""KMS key state and resource existence where Secrets Manager and CloudTrail use them (kms_extras.py)."""
from __future__ import annotations

import json

import botocore.exceptions
import pytest

from .test_partitions import _bucket, cloudtrail_bucket, cloudtrail_key

GOV = "govcloud"


def _code(exc) -> str:
    return exc.value.response["Error"]["Code"]


# --------------------------------------------------------------------------- KMS by ARN
@pytest.mark.parametrize("form", ["KeyId", "Arn"])
def test_disable_and_schedule_deletion_accept_a_key_arn(emu, form):
    kms = emu.client("kms")
    key = kms.create_key()["KeyMetadata"]
    kms.disable_key(KeyId=key[form])
    assert kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["KeyState"] == "Disabled"
    kms.enable_key(KeyId=key[form])
    kms.schedule_key_deletion(KeyId=key[form], PendingWindowInDays=7)
    assert kms.describe_key(KeyId=key["Arn"])["KeyMetadata"]["KeyState"] == "PendingDeletion"
    kms.cancel_key_deletion(KeyId=key[form])
    assert kms.describe_key(KeyId=key["Arn"])["KeyMetadata"]["KeyState"] == "Disabled"


# --------------------------------------------------------------------------- Secrets Manager
@pytest.mark.parametrize("break_key, kms_error", [
    (lambda kms, arn: kms.disable_key(KeyId=arn), "DisabledException"),
    (lambda kms, arn: kms.schedule_key_deletion(KeyId=arn, PendingWindowInDays=7), "KMSInvalidStateException"),
])
def test_get_secret_value_with_an_unusable_cmk_is_a_decryption_failure(emu, break_key, kms_error):
    kms, sm = emu.client("kms", GOV), emu.client("secretsmanager", GOV)
    arn = kms.create_key()["KeyMetadata"]["Arn"]
    sm.create_secret(Name="s", SecretString="v", KmsKeyId=arn)
    assert sm.get_secret_value(SecretId="s")["SecretString"] == "v"
    break_key(kms, arn)
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        sm.get_secret_value(SecretId="s")
    assert _code(exc) == "DecryptionFailure" and exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert kms_error in str(exc.value) and "v" != exc.value.response["Error"]["Message"]
    assert sm.describe_secret(SecretId="s")["KmsKeyId"] == arn  # metadata stays readable
    if kms_error == "DisabledException":
        kms.enable_key(KeyId=arn)
        assert sm.get_secret_value(SecretId="s")["SecretString"] == "v"


def test_default_key_and_alias_named_cmk(emu):
    kms, sm = emu.client("kms", GOV), emu.client("secretsmanager", GOV)
    sm.create_secret(Name="default", SecretString="d")
    key = kms.create_key()["KeyMetadata"]
    kms.create_alias(AliasName="alias/mine", TargetKeyId=key["KeyId"])
    sm.create_secret(Name="aliased", SecretString="a", KmsKeyId="alias/mine")
    kms.disable_key(KeyId=key["Arn"])
    assert sm.get_secret_value(SecretId="default")["SecretString"] == "d"
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        sm.get_secret_value(SecretId="aliased")
    assert _code(exc) == "DecryptionFailure"


# --------------------------------------------------------------------------- CloudTrail
def _create(emu, bucket, **kw):
    emu.client("cloudtrail").create_trail(Name="trail-1", S3BucketName=bucket, **kw)


def test_create_trail_refuses_missing_bucket_and_bucket_without_cloudtrail_policy(emu):
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        _create(emu, "no-such-bucket")
    assert _code(exc) == "S3BucketDoesNotExistException"
    bare = _bucket(emu, "commercial", "bare-bucket")
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        _create(emu, bare)
    assert _code(exc) == "InsufficientS3BucketPolicyException"
    emu.client("s3").put_bucket_policy(Bucket=bare, Policy=json.dumps({"Statement": [
        {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "s3:GetObject", "Resource": "*"}]}))
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        _create(emu, bare)
    assert _code(exc) == "InsufficientS3BucketPolicyException"
    assert emu.client("cloudtrail").describe_trails()["trailList"] == []


def test_create_trail_kms_checks(emu):
    bucket = cloudtrail_bucket(emu, "commercial", "ok-bucket")
    kms = emu.client("kms")
    for key_id, code in [
        ("arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000000", "KmsKeyNotFoundException"),
        (cloudtrail_key(emu, region_name="us-west-2")["Arn"], "KmsKeyNotFoundException"),   # another region
        (kms.create_key()["KeyMetadata"]["Arn"], "InsufficientEncryptionPolicyException"),  # default key policy
    ]:
        with pytest.raises(botocore.exceptions.ClientError) as exc:
            _create(emu, bucket, KmsKeyId=key_id)
        assert _code(exc) == code, key_id
    disabled = cloudtrail_key(emu)["Arn"]
    kms.disable_key(KeyId=disabled)
    pending = cloudtrail_key(emu)["Arn"]
    kms.schedule_key_deletion(KeyId=pending, PendingWindowInDays=7)
    for key_id in (disabled, pending):
        with pytest.raises(botocore.exceptions.ClientError) as exc:
            _create(emu, bucket, KmsKeyId=key_id)
        assert _code(exc) == "KmsException"
    good = cloudtrail_key(emu)
    _create(emu, bucket, KmsKeyId=good["KeyId"])
    assert emu.client("cloudtrail").describe_trails()["trailList"][0]["KmsKeyId"] == good["Arn"]


def test_update_trail_checks_and_kms_removal(emu):
    bucket = cloudtrail_bucket(emu, "commercial", "ok-bucket")
    ct, kms = emu.client("cloudtrail"), emu.client("kms")
    key = cloudtrail_key(emu)["Arn"]
    _create(emu, bucket, KmsKeyId=key)
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        ct.update_trail(Name="trail-1", S3BucketName="gone-bucket")
    assert _code(exc) == "S3BucketDoesNotExistException"
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        ct.update_trail(Name="trail-1", S3BucketName=_bucket(emu, "commercial", "policyless"))
    assert _code(exc) == "InsufficientS3BucketPolicyException"
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        ct.update_trail(Name="trail-1", KmsKeyId=kms.create_key()["KeyMetadata"]["Arn"])
    assert _code(exc) == "InsufficientEncryptionPolicyException"
    trail = ct.describe_trails()["trailList"][0]
    assert trail["S3BucketName"] == bucket and trail["KmsKeyId"] == key  # refused updates changed nothing
    ct.update_trail(Name="trail-1", KmsKeyId="")
    assert "KmsKeyId" not in ct.describe_trails()["trailList"][0]
    ct.update_trail(Name="trail-1", KmsKeyId=key, IsMultiRegionTrail=True)
    assert ct.describe_trails()["trailList"][0]["KmsKeyId"] == key


@pytest.mark.parametrize("break_key, expected", [
    (lambda kms, arn: kms.disable_key(KeyId=arn), "KMS.DisabledException"),
    (lambda kms, arn: kms.schedule_key_deletion(KeyId=arn, PendingWindowInDays=7), "KMS.KMSInvalidStateException"),
])
def test_latest_delivery_error_reflects_the_trail_key(emu, break_key, expected):
    bucket = cloudtrail_bucket(emu, "commercial", "ok-bucket")
    ct, kms = emu.client("cloudtrail"), emu.client("kms")
    key = cloudtrail_key(emu)["Arn"]
    _create(emu, bucket, KmsKeyId=key)
    ct.start_logging(Name="trail-1")
    assert "LatestDeliveryError" not in ct.get_trail_status(Name="trail-1")
    break_key(kms, key)
    assert ct.get_trail_status(Name="trail-1")["LatestDeliveryError"] == expected
    ct.stop_logging(Name="trail-1")
    assert "LatestDeliveryError" not in ct.get_trail_status(Name="trail-1")
