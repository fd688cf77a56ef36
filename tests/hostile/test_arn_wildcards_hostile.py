"""ARN patterns whose trailing ``*`` spans the colons after it, end to end.

IAM User Guide, "IAM JSON policy elements: Resource": "If the * wildcard is the last character of
a resource ARN segment, it can expand to match beyond the colon boundaries".  So
``arn:aws:bedrock:*`` and ``arn:aws-us-gov:secretsmanager:*`` name every Bedrock resource and
every secret of their partition: a Deny on one must be seen (no false pass in
``iam.policy_grants_required``), an Allow on one must be counted (no reader missed).
"""
from __future__ import annotations

import json
from typing import Any

from tests.hostile.helpers import USER, audit, expect

GR = "iam.policy_grants_required"
READERS = "secret.readers_restricted"
GOV = "govcloud"


def doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def test_a_deny_of_invoke_on_a_short_bedrock_arn_is_seen(pytester: Any) -> None:
    def setup(emu: Any) -> None:
        emu.client("iam").put_user_policy(UserName=USER, PolicyName="no-invoke", PolicyDocument=doc(
            {"Effect": "Deny", "Action": "bedrock:InvokeModel", "Resource": "arn:aws:bedrock:*"}))
    rows = audit(pytester, setup)
    # the emulator's own matcher denies the call too
    expect(rows, {GR: ("fail", "bedrock:InvokeModel (denied by inline policy no-invoke)"),
                  "endpoint.invoke": ("fail", "explicit deny")})


def _reader(emu: Any, *statements: dict[str, Any]) -> None:
    iam = emu.client("iam", GOV)
    iam.create_role(RoleName="wide-reader", AssumeRolePolicyDocument=doc(
        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}))
    iam.put_role_policy(RoleName="wide-reader", PolicyName="read-any-secret", PolicyDocument=doc(
        {"Effect": "Allow", "Action": ["secretsmanager:GetSecretValue", "kms:Decrypt"],
         "Resource": ["arn:aws-us-gov:secretsmanager:*", "arn:aws-us-gov:kms:*"]}, *statements))


def test_an_allow_on_a_short_secret_arn_makes_a_reader(pytester: Any) -> None:
    rows = audit(pytester, _reader)
    expect(rows, {READERS: ("fail", "role/wide-reader")})


def test_a_deny_on_a_short_secret_arn_removes_the_reader(pytester: Any) -> None:
    rows = audit(pytester, lambda emu: _reader(emu, {"Effect": "Deny", "Action": "secretsmanager:GetSecretValue",
                                                     "Resource": "arn:aws-us-gov:secretsmanager:us-gov-*"}))
    expect(rows, {})
    assert "wide-reader" not in rows[READERS]["detail"]

