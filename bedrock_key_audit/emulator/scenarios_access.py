"""Fault scenarios of the access checks (secret.readers_restricted, iam.key_minting_restricted).

Each is ``compliant`` plus one change, built with ordinary IAM calls (see scenarios.py): a principal
outside the allowed set that can read the secret or mint a Bedrock key.  Imported at the end of
scenarios.py, which registers them.
"""
from __future__ import annotations

import json
from typing import Any

from bedrock_key_audit.emulator.scenario_base import (
    BEDROCK,
    SECRET_NAME,
    SECRET_PARTITION,
    _compliant,
    scenario,
)

READER_ROLE = "reporting-app"
READER_GROUP = "secret-readers"
READER_USER = "ops-analyst"
MINTER_ROLE = "key-minting-automation"


def _reader_policy(emu: Any) -> str:
    """GetSecretValue on the secret and kms:Decrypt on its key (whose key policy delegates to the account)."""
    desc = emu.client("secretsmanager", SECRET_PARTITION).describe_secret(SecretId=SECRET_NAME)
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "ReadTheKey", "Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": desc["ARN"]},
        {"Sid": "DecryptIt", "Effect": "Allow", "Action": "kms:Decrypt", "Resource": desc["KmsKeyId"]},
    ]})


def _trust(service: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}]})


@scenario
def secret_reader_role(emu: Any) -> None:
    """``compliant`` plus a GovCloud role (``reporting-app``) whose inline policy alone lets it read the secret.

    No resource policy on the secret: within one account an identity policy that allows
    ``secretsmanager:GetSecretValue`` (and ``kms:Decrypt`` on a key whose policy delegates to the
    account) is enough.
    """
    _compliant(emu)
    iam = emu.client("iam", SECRET_PARTITION)
    iam.create_role(RoleName=READER_ROLE, AssumeRolePolicyDocument=_trust("ec2.amazonaws.com"))
    iam.put_role_policy(RoleName=READER_ROLE, PolicyName="read-bedrock-key", PolicyDocument=_reader_policy(emu))


@scenario
def secret_reader_group(emu: Any) -> None:
    """``compliant`` plus a GovCloud group (``secret-readers``) allowed to read the secret, with user ``ops-analyst`` in it."""
    _compliant(emu)
    iam = emu.client("iam", SECRET_PARTITION)
    iam.create_group(GroupName=READER_GROUP)
    iam.put_group_policy(GroupName=READER_GROUP, PolicyName="read-bedrock-key", PolicyDocument=_reader_policy(emu))
    iam.create_user(UserName=READER_USER)
    iam.add_user_to_group(GroupName=READER_GROUP, UserName=READER_USER)


@scenario
def extra_minter(emu: Any) -> None:
    """``compliant`` plus a commercial role (``key-minting-automation``) that may create and reset Bedrock API keys for any user."""
    _compliant(emu)
    iam = emu.client("iam")
    iam.create_role(RoleName=MINTER_ROLE, AssumeRolePolicyDocument=_trust("lambda.amazonaws.com"))
    iam.put_role_policy(RoleName=MINTER_ROLE, PolicyName="mint-bedrock-keys", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Sid": "MintBedrockKeys", "Effect": "Allow",
            "Action": ["iam:CreateServiceSpecificCredential", "iam:ResetServiceSpecificCredential"],
            "Resource": "*",
            "Condition": {"StringEquals": {"iam:ServiceSpecificCredentialServiceName": BEDROCK}}}]}))
