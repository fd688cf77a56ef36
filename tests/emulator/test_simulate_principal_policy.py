"""The emulator's iam:SimulatePrincipalPolicy (moto 5.2.5 has none): a user's or role's identity policies and
boundary, per action and per resource, as AWS words the decisions; the caller needs the permission."""
from __future__ import annotations

import json

import botocore.exceptions
import pytest


def doc(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _decisions(out):
    return {e["EvalActionName"]: (e["EvalDecision"], {r["EvalResourceName"]: r["EvalResourceDecision"]
                                                      for r in e.get("ResourceSpecificResults") or []})
            for e in out["EvaluationResults"]}


def test_user_allowed_implicit_and_explicit_deny_per_resource(emu):
    iam = emu.client("iam")
    arn = iam.create_user(UserName="u")["User"]["Arn"]
    mine, other = f"{arn}", arn.replace(":user/u", ":user/other")
    iam.put_user_policy(UserName="u", PolicyName="p", PolicyDocument=doc(
        {"Effect": "Allow", "Action": ["iam:GetUser", "iam:ListAccessKeys"], "Resource": mine},
        {"Effect": "Allow", "Action": "cloudtrail:DescribeTrails", "Resource": "*"},
        {"Effect": "Deny", "Action": "iam:ListAccessKeys", "Resource": "*"}))
    out = iam.simulate_principal_policy(PolicySourceArn=arn, ActionNames=[
        "iam:GetUser", "iam:ListAccessKeys", "cloudtrail:DescribeTrails", "s3:ListAllMyBuckets"],
        ResourceArns=[mine, other])
    got = _decisions(out)
    assert got["iam:GetUser"] == ("implicitDeny", {mine: "allowed", other: "implicitDeny"})
    assert got["iam:ListAccessKeys"][0] == "explicitDeny"
    assert got["cloudtrail:DescribeTrails"] == ("allowed", {mine: "allowed", other: "allowed"})
    assert got["s3:ListAllMyBuckets"][0] == "implicitDeny"
    one = iam.simulate_principal_policy(PolicySourceArn=arn, ActionNames=["iam:GetUser"], ResourceArns=[mine])
    assert one["EvaluationResults"][0]["EvalDecision"] == "allowed"
    assert one["EvaluationResults"][0]["EvalResourceName"] == mine


def test_boundary_and_role_and_unknown_principal(emu):
    iam = emu.client("iam")
    boundary = iam.create_policy(PolicyName="b", PolicyDocument=doc(
        {"Effect": "Allow", "Action": "iam:GetUser", "Resource": "*"}))["Policy"]["Arn"]
    role = iam.create_role(RoleName="r", AssumeRolePolicyDocument=doc(
        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}),
        PermissionsBoundary=boundary)["Role"]["Arn"]
    iam.put_role_policy(RoleName="r", PolicyName="p", PolicyDocument=doc(
        {"Effect": "Allow", "Action": ["iam:GetUser", "iam:ListUsers"], "Resource": "*"}))
    got = _decisions(iam.simulate_principal_policy(PolicySourceArn=role, ActionNames=["iam:GetUser", "iam:ListUsers"]))
    assert got["iam:GetUser"][0] == "allowed" and got["iam:ListUsers"][0] == "implicitDeny"  # outside the boundary
    with pytest.raises(botocore.exceptions.ClientError) as e:
        iam.simulate_principal_policy(PolicySourceArn=role.replace(":role/r", ":role/none"), ActionNames=["iam:GetUser"])
    assert e.value.response["Error"]["Code"] == "NoSuchEntity"


def test_the_caller_needs_the_permission_on_the_simulated_principal(emu):
    iam = emu.client("iam")
    arn = iam.create_user(UserName="u")["User"]["Arn"]
    iam.put_user_policy(UserName="u", PolicyName="p", PolicyDocument=doc(
        {"Effect": "Allow", "Action": "iam:GetUser", "Resource": "*"}))
    key = iam.create_access_key(UserName="u")["AccessKey"]
    as_u = emu.client("iam", aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])
    with pytest.raises(botocore.exceptions.ClientError) as e:
        as_u.simulate_principal_policy(PolicySourceArn=arn, ActionNames=["iam:GetUser"])
    assert e.value.response["Error"]["Code"] == "AccessDenied"
    iam.put_user_policy(UserName="u", PolicyName="sim", PolicyDocument=doc(
        {"Effect": "Allow", "Action": "iam:SimulatePrincipalPolicy", "Resource": arn}))
    assert as_u.simulate_principal_policy(PolicySourceArn=arn, ActionNames=["iam:GetUser"])[
        "EvaluationResults"][0]["EvalDecision"] == "allowed"
