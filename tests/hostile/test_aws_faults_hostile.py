"""AWS-side faults not covered by tests/audit/test_read_errors.py (which denies every read, throttles
one call past its retries, absorbs a two-call throttling burst on iam:GetUser and 503s
DescribeTrails): a 500 on the secret's value, retried a bounded number of times.
"""
from __future__ import annotations

from bedrock_key_audit.emulator import aws_faults
from tests.hostile.helpers import audit, expect


def test_secret_value_500_past_retries_errors(pytester):
    rows = audit(pytester, lambda emu: aws_faults.fail("secretsmanager:GetSecretValue", status=500))
    text = "secretsmanager:GetSecretValue in govcloud (us-gov-west-1) failed with InternalServerError"
    expect(rows, {"secret.schema": ("error", text), "secret.key_matches_credential": ("error", text),
                  "endpoint.list_models": ("error", text), "endpoint.invoke": ("error", text),
                  "endpoint.unused_surfaces_closed": ("error", text), "bedrock.invocation_logging": ("error", text)})
    # bounded: botocore's standard mode makes 4 attempts per read
    assert 4 <= sum(h["operation"] == "GetSecretValue" for h in aws_faults.hits()) <= 8
