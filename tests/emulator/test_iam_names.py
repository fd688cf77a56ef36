"""IAM user, group, role and policy names are unique regardless of case (IAM API Reference, Create*)."""
from __future__ import annotations

import json

import botocore.exceptions
import pytest

DOC = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]})
TRUST = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]})


def _create(iam, kind: str, name: str, path: str = "/"):
    if kind == "user":
        return iam.create_user(UserName=name, Path=path)
    if kind == "group":
        return iam.create_group(GroupName=name, Path=path)
    if kind == "role":
        return iam.create_role(RoleName=name, AssumeRolePolicyDocument=TRUST, Path=path)
    return iam.create_policy(PolicyName=name, PolicyDocument=DOC, Path=path)


@pytest.mark.parametrize("kind", ["user", "group", "role", "policy"])
@pytest.mark.parametrize("second", ["Bedrock-Ops", "BEDROCK-OPS", "bedrock-ops"])
def test_a_name_differing_only_in_case_already_exists(emu, kind, second):
    iam = emu.client("iam")
    _create(iam, kind, "bedrock-ops")
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        _create(iam, kind, second, path="/other/")  # another path does not make it another name
    err = exc.value.response
    assert err["Error"]["Code"] == "EntityAlreadyExists"
    assert err["ResponseMetadata"]["HTTPStatusCode"] == 409


@pytest.mark.parametrize("kind", ["user", "group", "role", "policy"])
def test_other_names_and_the_other_partition_are_free(emu, kind):
    _create(emu.client("iam"), kind, "bedrock-ops")
    _create(emu.client("iam"), kind, "bedrock-ops2")
    _create(emu.client("iam", "govcloud"), kind, "BEDROCK-OPS")  # another account


def test_an_aws_managed_policy_name_is_free_in_the_account(emu):
    arn = emu.client("iam").create_policy(PolicyName="amazonbedrockfullaccess", PolicyDocument=DOC)["Policy"]["Arn"]
    assert arn == "arn:aws:iam::123456789012:policy/amazonbedrockfullaccess"
