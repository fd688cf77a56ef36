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
    rows = run_audit(pytester, "compliant", setup=_cloudwatch())
    assert rows[ROW]["status"] == "pass", rows[ROW]["detail"]
    assert f"CloudWatch Logs group {GROUP}, KMS-encrypted" in rows[ROW]["detail"]


def test_cloudwatch_destination_without_kms_or_with_an_untrusting_role_fails(pytester):
    rows = run_audit(pytester, "compliant", setup=_cloudwatch(kms=False, trusted=False))
    detail = rows[ROW]["detail"]
    assert rows[ROW]["status"] == "fail", detail
    assert "does not trust bedrock.amazonaws.com" in detail and f"log group {GROUP} is not encrypted" in detail
    rows = run_audit(pytester, "compliant", setup=_cloudwatch(role=False))
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

    rows = run_audit(pytester, "compliant", setup=open_to_another_account)
    detail = rows[ROW]["detail"]
    assert rows[ROW]["status"] == "fail", detail
    assert "arn:aws:iam::999999999999:root (statement PartnerReads)" in detail
    assert "not encrypted with a KMS key by default (AES256" in detail
