"""The reads of secret.readers_restricted and iam.key_minting_restricted, as the emulator answers them:
GetAccountAuthorizationDetails paged in both partitions with botocore's fields, secret resource
policies and KMS key policies round-tripping."""
from __future__ import annotations

import json

import botocore.exceptions
import botocore.session
import pytest

SECRET = "cross-partition-commercial-creds"


def _shape_fields(list_key: str) -> set[str]:
    model = botocore.session.get_session().get_service_model("iam")
    out = model.operation_model("GetAccountAuthorizationDetails").output_shape.members[list_key]
    return set(out.member.members)


@pytest.mark.parametrize("partition", ["commercial", "govcloud"])
def test_gaad_pages_and_carries_the_fields_the_audit_reads(emu, partition):
    iam = emu.client("iam", partition)
    arn_p = "aws" if partition == "commercial" else "aws-us-gov"
    boundary = iam.create_policy(PolicyName="b", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))["Policy"]["Arn"]
    iam.create_group(GroupName="readers")
    iam.put_group_policy(GroupName="readers", PolicyName="gp", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "secretsmanager:*", "Resource": "*"}]}))
    for i in range(5):
        iam.create_user(UserName=f"u{i}", Tags=[{"Key": "team", "Value": "x"}])
        iam.add_user_to_group(GroupName="readers", UserName=f"u{i}")
    iam.put_user_permissions_boundary(UserName="u0", PermissionsBoundary=boundary)
    iam.attach_user_policy(UserName="u1", PolicyArn=f"arn:{arn_p}:iam::aws:policy/ReadOnlyAccess")
    iam.create_role(RoleName="app", Path="/svc/", PermissionsBoundary=boundary, AssumeRolePolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
                                                "Action": "sts:AssumeRole"}]}))
    filt = ["User", "Role", "Group", "LocalManagedPolicy"]
    pages = list(iam.get_paginator("get_account_authorization_details").paginate(
        Filter=filt, PaginationConfig={"PageSize": 2}))
    assert len(pages) == 4  # 5 users + 1 group + 1 role + 1 policy, two per page
    merged = {k: [e for p in pages for e in p.get(k, [])] for k in
              ("UserDetailList", "GroupDetailList", "RoleDetailList", "Policies")}
    assert [u["UserName"] for u in merged["UserDetailList"]] == [f"u{i}" for i in range(5)]
    u0 = merged["UserDetailList"][0]
    assert u0["PermissionsBoundary"]["PermissionsBoundaryArn"] == boundary
    assert u0["GroupList"] == ["readers"] and u0["Arn"].startswith(f"arn:{arn_p}:iam::")
    assert merged["UserDetailList"][1]["AttachedManagedPolicies"][0]["PolicyArn"].endswith("policy/ReadOnlyAccess")
    role = merged["RoleDetailList"][0]
    assert role["Arn"].endswith(":role/svc/app") and role["PermissionsBoundary"]["PermissionsBoundaryArn"] == boundary
    assert merged["GroupDetailList"][0]["GroupPolicyList"][0]["PolicyName"] == "gp"
    pol = merged["Policies"][0]
    assert pol["PolicyName"] == "b" and pol["PolicyId"] and pol["PolicyVersionList"][0]["IsDefaultVersion"]
    for key, entries in merged.items():
        for entry in entries:
            assert set(entry) <= _shape_fields(key)
    with pytest.raises(botocore.exceptions.ClientError, match="ValidationError"):
        iam.get_account_authorization_details(Marker="not-a-marker")


def test_secret_resource_policy_and_key_policy_round_trip(emu):
    emu.apply("compliant")
    sm = emu.client("secretsmanager", "govcloud")
    assert "ResourcePolicy" not in sm.get_resource_policy(SecretId=SECRET)
    policy = {"Version": "2012-10-17", "Statement": [{"Sid": "x", "Effect": "Deny", "Principal": "*",
                                                      "Action": "secretsmanager:GetSecretValue", "Resource": "*"}]}
    sm.put_resource_policy(SecretId=SECRET, ResourcePolicy=json.dumps(policy))
    assert json.loads(sm.get_resource_policy(SecretId=SECRET)["ResourcePolicy"]) == policy
    kms = emu.client("kms", "govcloud")
    key = sm.describe_secret(SecretId=SECRET)["KmsKeyId"]
    doc = json.loads(kms.get_key_policy(KeyId=key, PolicyName="default")["Policy"])
    assert doc["Statement"][0]["Principal"]["AWS"] == "arn:aws-us-gov:iam::210987654321:root"
    assert kms.list_grants(KeyId=key)["Grants"] == []
