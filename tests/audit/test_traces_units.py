"""bedrock.invocation_logging and cloudtrail.bucket_protected verdicts on hand-built inventory objects."""
from __future__ import annotations

import pytest

from bedrock_key_audit.fixtures.checks import CouldNotDecide
from bedrock_key_audit.verdicts.traces import (
    PAB_SETTINGS, BucketProtection, InvocationLogging, bucket_protection_verdict, effective_pab,
    invocation_logging_verdict,
)

ACCT = "123456789012"
ALL_ON = {s: True for s in PAB_SETTINGS}


def _log(config, **kw):
    return InvocationLogging(account_id=ACCT, region="us-east-1", config=config, **kw)


def test_logging_off_fails():
    status, why = invocation_logging_verdict(_log({}))
    assert status == "fail" and "model-invocation logging is off in us-east-1" in why


def test_s3_bucket_the_account_owns_passes():
    status, why = invocation_logging_verdict(_log({"s3Config": {"bucketName": "logs"}, "textDataDeliveryEnabled": True},
                                                  owned_buckets=frozenset({"logs"})))
    assert (status, why.endswith("S3 bucket logs")) == ("pass", True)


def test_s3_bucket_of_another_account_fails():
    status, why = invocation_logging_verdict(_log({"s3Config": {"bucketName": "central"}, "textDataDeliveryEnabled": True},
                                                  owned_buckets=frozenset({"logs"})))
    assert status == "fail" and "central is not owned by account 123456789012" in why


def test_text_delivery_off_fails_even_with_an_owned_bucket():
    status, why = invocation_logging_verdict(_log({"s3Config": {"bucketName": "logs"}, "textDataDeliveryEnabled": False},
                                                  owned_buckets=frozenset({"logs"})))
    assert status == "fail" and "textDataDeliveryEnabled" in why


def test_unreadable_bucket_list_is_undecided_not_pass():
    with pytest.raises(CouldNotDecide, match="whether bucket logs is the account's"):
        invocation_logging_verdict(_log({"s3Config": {"bucketName": "logs"}, "textDataDeliveryEnabled": True},
                                        owned_buckets_error="s3:ListAllMyBuckets was denied"))


def test_cloudwatch_group_of_the_account_passes_and_a_foreign_role_fails():
    cw = {"cloudWatchConfig": {"logGroupName": "g", "roleArn": f"arn:aws:iam::{ACCT}:role/r"}, "textDataDeliveryEnabled": True}
    assert invocation_logging_verdict(_log(cw, log_group_found=True))[0] == "pass"
    assert invocation_logging_verdict(_log(cw, log_group_found=False))[0] == "fail"
    foreign = {**cw, "cloudWatchConfig": {"logGroupName": "g", "roleArn": "arn:aws:iam::999999999999:role/r"}}
    status, why = invocation_logging_verdict(_log(foreign, log_group_found=True))
    assert status == "fail" and "not the account's" in why


def test_one_owned_destination_is_enough():
    both = {"s3Config": {"bucketName": "central"}, "textDataDeliveryEnabled": True,
            "cloudWatchConfig": {"logGroupName": "g", "roleArn": f"arn:aws:iam::{ACCT}:role/r"}}
    status, why = invocation_logging_verdict(_log(both, owned_buckets=frozenset(), log_group_found=True))
    assert status == "pass" and "CloudWatch Logs group g" in why


def _prot(**kw):
    base = {"partition": "commercial", "bucket": "trail-logs", "account_id": ACCT,
            "bucket_pab": {}, "account_pab": {}, "logging": {"TargetBucket": "access-logs"}}
    return BucketProtection(**{**base, **kw})


def test_bucket_with_every_setting_and_logging_passes():
    status, why = bucket_protection_verdict(_prot(bucket_pab=ALL_ON))
    assert status == "pass" and "access-logs" in why


def test_account_level_settings_count():
    """S3 applies the most restrictive combination of bucket and account settings."""
    mixed_bucket = {**ALL_ON, "RestrictPublicBuckets": False}
    assert bucket_protection_verdict(_prot(bucket_pab=mixed_bucket, account_pab={"RestrictPublicBuckets": True}))[0] == "pass"


def test_a_setting_off_at_both_levels_fails_naming_it():
    status, why = bucket_protection_verdict(_prot(bucket_pab={**ALL_ON, "BlockPublicPolicy": False}))
    assert status == "fail" and "BlockPublicPolicy" in why and "IgnorePublicAcls" not in why


def test_no_configuration_anywhere_fails():
    assert bucket_protection_verdict(_prot())[0] == "fail"


def test_access_logging_off_fails():
    status, why = bucket_protection_verdict(_prot(bucket_pab=ALL_ON, logging={}))
    assert status == "fail" and "server access logging is off" in why


def test_unreadable_account_level_is_undecided_unless_the_bucket_level_settles_it():
    unknown_account = dict(account_pab=None, account_pab_error="s3:GetAccountPublicAccessBlock was denied")
    assert bucket_protection_verdict(_prot(bucket_pab=ALL_ON, **unknown_account))[0] == "pass"
    with pytest.raises(CouldNotDecide, match="GetAccountPublicAccessBlock was denied"):
        bucket_protection_verdict(_prot(bucket_pab={"BlockPublicAcls": True}, **unknown_account))
    assert effective_pab(_prot(bucket_pab={"BlockPublicAcls": True}, **unknown_account))[1] == [
        "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"]


def test_unreadable_logging_is_undecided():
    with pytest.raises(CouldNotDecide, match="logs access"):
        bucket_protection_verdict(_prot(bucket_pab=ALL_ON, logging=None, logging_error="denied"))


def test_a_known_gap_fails_even_when_something_else_is_unreadable():
    """A fail needs only one proven gap; unreadable parts do not turn it into an error."""
    status, _ = bucket_protection_verdict(_prot(bucket_pab=ALL_ON, logging={}, account_pab=None, account_pab_error="x"))
    assert status == "fail"


def test_a_deleted_trail_bucket_fails():
    """Bucket names are global: a deleted trail bucket's name can be taken by anyone."""
    status, why = bucket_protection_verdict(_prot(missing=True, bucket_pab=None, account_pab=None, logging=None))
    assert status == "fail" and "does not exist" in why


def test_unknown_account_leaves_a_cloudwatch_role_undecided():
    cw = {"cloudWatchConfig": {"logGroupName": "g", "roleArn": f"arn:aws:iam::{ACCT}:role/r"}, "textDataDeliveryEnabled": True}
    with pytest.raises(CouldNotDecide, match="GetCallerIdentity"):
        invocation_logging_verdict(InvocationLogging(account_id="", region="us-east-1", config=cw, log_group_found=True))
