"""bedrock.invocation_logging end to end: destinations built through the emulator's own APIs.

A CloudWatch Logs destination is read (``logs:DescribeLogGroups`` in the configuration's Region, which
used to get an invalid parameter and always end ``error``), with its delivery role (``iam:GetRole``) and
its KMS key; an S3 destination's default encryption and bucket policy are read.  The verdict's classes
are unit-tested in test_traces_units.py.
"""
from __future__ import annotations

import json

from tests.audit.helpers import run_audit

ROW = "bedrock.invocation_logging"
ACCOUNT = "123456789012"
GROUP = "/aws/bedrock/model-invocations"


def _cloudwatch(*, kms: bool = True, trusted: bool = True, role: bool = True):
    def setup(emu):
        iam, logs = emu.client("iam", "commercial"), emu.client("logs", "commercial")
        service = "bedrock.amazonaws.com" if trusted else "lambda.amazonaws.com"
        arn = f"arn:aws:iam::{ACCOUNT}:role/BedrockInvocationLogging"
        if role:
            arn = iam.create_role(RoleName="BedrockInvocationLogging", AssumeRolePolicyDocument=json.dumps({
                "Version": "2012-10-17", "Statement": [{
                    "Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole",
                    "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}}}]}))["Role"]["Arn"]
        kwargs = {}
        if kms:
            kwargs["kmsKeyId"] = emu.client("kms", "commercial").create_key(
                Description="Bedrock invocation logs")["KeyMetadata"]["Arn"]
        logs.create_log_group(logGroupName=GROUP, **kwargs)
        emu.client("bedrock", "commercial").put_model_invocation_logging_configuration(loggingConfig={
            "cloudWatchConfig": {"logGroupName": GROUP, "roleArn": arn}, "textDataDeliveryEnabled": True})
    return setup


def test_cloudwatch_destination_encrypted_and_written_by_a_trusted_role_passes(pytester):
    rows = run_audit(pytester, "compliant", rows=[ROW], setup=_cloudwatch())
    assert rows[ROW]["status"] == "pass", rows[ROW]["detail"]
    assert f"CloudWatch Logs group {GROUP}, KMS-encrypted" in rows[ROW]["detail"]


def test_cloudwatch_destination_without_kms_or_with_an_untrusting_role_fails(pytester):
    rows = run_audit(pytester, "compliant", rows=[ROW], setup=_cloudwatch(kms=False, trusted=False))
    detail = rows[ROW]["detail"]
    assert rows[ROW]["status"] == "fail", detail
    assert "does not trust bedrock.amazonaws.com" in detail and f"log group {GROUP} is not encrypted" in detail
    rows = run_audit(pytester, "compliant", rows=[ROW], setup=_cloudwatch(role=False))
    assert rows[ROW]["status"] == "fail" and "BedrockInvocationLogging of log group" in rows[ROW]["detail"]
    assert "does not exist" in rows[ROW]["detail"]


def test_s3_destination_readable_by_another_account_or_without_kms_fails(pytester):
    def open_to_another_account(emu):
        s3 = emu.client("s3", "commercial")
        bucket = f"bedrock-invocation-logs-{ACCOUNT}-us-east-1"
        policy = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
        policy["Statement"].append({"Sid": "PartnerReads", "Effect": "Allow",
                                    "Principal": {"AWS": "arn:aws:iam::999999999999:root"},
                                    "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*"})
        s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))
        s3.delete_bucket_encryption(Bucket=bucket)  # back to SSE-S3, as AWS answers then

    rows = run_audit(pytester, "compliant", rows=[ROW], setup=open_to_another_account)
    detail = rows[ROW]["detail"]
    assert rows[ROW]["status"] == "fail", detail
    assert "arn:aws:iam::999999999999:root (statement PartnerReads)" in detail
    assert "not encrypted with a KMS key by default (AES256" in detail


# --------------------------------------------------------------------------- cloudtrail.bucket_protected
TRAIL_ROW = "cloudtrail.bucket_protected[commercial]"
PAB_ALL = {"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True}


def test_access_logs_into_a_deleted_bucket_fail(pytester):
    def drop_target(emu):
        s3, target = emu.client("s3", "commercial"), f"s3-access-logs-{ACCOUNT}-us-east-1"
        for obj in s3.list_objects_v2(Bucket=target).get("Contents", []):  # logs S3 delivered already
            s3.delete_object(Bucket=target, Key=obj["Key"])
        s3.delete_bucket(Bucket=target)

    rows = run_audit(pytester, "compliant", rows=[TRAIL_ROW], setup=drop_target)
    assert rows[TRAIL_ROW]["status"] == "fail", rows[TRAIL_ROW]["detail"]
    assert f"points at bucket s3-access-logs-{ACCOUNT}-us-east-1, which does not exist" in rows[TRAIL_ROW]["detail"]


def _log_archive(*, bucket_level_pab: bool):
    """The commercial trail delivers to a bucket of a log-archive account of the organization; the audited
    account has every account-level Block Public Access setting on (which must not count for that bucket)."""
    def setup(emu):
        from bedrock_key_audit.emulator.org_builder import AccountView

        org = emu.client("organizations", "commercial")
        org.create_organization(FeatureSet="ALL")
        request = org.create_account(Email="archive@example.com", AccountName="log-archive")["CreateAccountStatus"]
        archive = org.describe_create_account_status(
            CreateAccountRequestId=request["Id"])["CreateAccountStatus"]["AccountId"]
        s3 = AccountView(emu.url, {"commercial": archive, "govcloud": "210987654321"}).client("s3")
        bucket, target = f"org-trail-{archive}", f"org-trail-access-{archive}"
        for name in (bucket, target):
            s3.create_bucket(Bucket=name)
        s3.put_bucket_policy(Bucket=target, Policy=json.dumps({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Service": "logging.s3.amazonaws.com"}, "Action": "s3:PutObject",
            "Resource": f"arn:aws:s3:::{target}/*", "Condition": {"StringEquals": {"aws:SourceAccount": archive}}}]}))
        s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "s3:PutObject",
            "Resource": f"arn:aws:s3:::{bucket}/*"}]}))
        s3.put_bucket_logging(Bucket=bucket, BucketLoggingStatus={
            "LoggingEnabled": {"TargetBucket": target, "TargetPrefix": "trail/"}})
        if bucket_level_pab:
            s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration=PAB_ALL)
        from bedrock_key_audit.aws import _loopback_s3control

        s3control = emu.client("s3control", "commercial")
        s3control.meta.events.register_first("request-created", _loopback_s3control)  # <account>.127.0.0.1
        s3control.put_public_access_block(AccountId=ACCOUNT, PublicAccessBlockConfiguration=PAB_ALL)
        ct = emu.client("cloudtrail", "commercial")
        ct.update_trail(Name=ct.describe_trails()["trailList"][0]["Name"], S3BucketName=bucket)
    return setup


def test_a_log_archive_accounts_bucket_is_judged_by_its_own_settings(pytester):
    rows = run_audit(pytester, "compliant", rows=[TRAIL_ROW], setup=_log_archive(bucket_level_pab=True))
    detail = rows[TRAIL_ROW]["detail"]
    assert rows[TRAIL_ROW]["status"] == "pass", detail
    assert "(owned by another account) blocks all public access (at bucket level)" in detail
    # off at bucket level: the audited account's account-level settings do not cover another account's bucket
    rows = run_audit(pytester, "compliant", rows=[TRAIL_ROW], setup=_log_archive(bucket_level_pab=False))
    detail = rows[TRAIL_ROW]["detail"]
    assert rows[TRAIL_ROW]["status"] == "error", detail
    assert "belongs to another account, whose account-level Block Public Access only that account can read" in detail


def test_logging_is_judged_in_a_region_where_the_key_use_read_found_use(pytester):
    from bedrock_key_audit.emulator import scenarios

    def use_in_eu_west_1(emu):
        key = json.loads(emu.client("secretsmanager", "govcloud").get_secret_value(
            SecretId=scenarios.SECRET_NAME)["SecretString"])["bedrock_api_key"]
        scenarios._bearer_call(emu, key, scenarios.WORKLOAD_SOURCE_IP, region="eu-west-1")

    rows = run_audit(pytester, "compliant", rows=[ROW])
    assert rows[ROW]["status"] == "pass", rows[ROW]["detail"]
    rows = run_audit(pytester, "compliant", rows=[ROW], setup=use_in_eu_west_1)
    assert rows[ROW]["status"] == "fail", rows[ROW]["detail"]
    assert "model-invocation logging is off in eu-west-1" in rows[ROW]["detail"]
