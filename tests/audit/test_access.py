"""bedrock_key_audit.access: who can read the secret, who can mint a Bedrock key (hand-built policy sets)."""
from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from bedrock_key_audit.access import (
    AccessError,
    KeyAccess,
    key_minters,
    outside,
    principal_of_caller,
    principals_from_gaad,
    secret_readers,
)
from tests.policy_docs import allow, deny, doc

ACCT = "210987654321"
P = "aws-us-gov"
SECRET = f"arn:{P}:secretsmanager:us-gov-west-1:{ACCT}:secret:cross-partition-commercial-creds-AbCdEf"
KEY = f"arn:{P}:kms:us-gov-west-1:{ACCT}:key/1111-2222"
NOW = dt.datetime(2026, 11, 30, tzinfo=dt.timezone.utc)
ROOT_DELEGATION: dict[str, Any] = {"Version": "2012-10-17", "Statement": [
    {"Sid": "Enable IAM User Permissions", "Effect": "Allow", "Principal": {"AWS": f"arn:{P}:iam::{ACCT}:root"},
     "Action": "kms:*", "Resource": "*"}]}



def role(name: str, *policies: dict[str, Any], boundary: str | None = None, path: str = "/") -> dict[str, Any]:
    r: dict[str, Any] = {"RoleName": name, "RoleId": f"AROA{name.upper()}", "Arn": f"arn:{P}:iam::{ACCT}:role{path}{name}",
                         "RolePolicyList": [{"PolicyName": f"p{i}", "PolicyDocument": d} for i, d in enumerate(policies)],
                         "AttachedManagedPolicies": []}
    if boundary:
        r["PermissionsBoundary"] = {"PermissionsBoundaryArn": boundary}
    return r


def user(name: str, *policies: dict[str, Any], groups: tuple[str, ...] = (), boundary: str | None = None,
         managed: tuple[str, ...] = ()) -> dict[str, Any]:
    u: dict[str, Any] = {"UserName": name, "UserId": f"AIDA{name.upper()}", "Arn": f"arn:{P}:iam::{ACCT}:user/{name}",
                         "UserPolicyList": [{"PolicyName": f"p{i}", "PolicyDocument": d} for i, d in enumerate(policies)],
                         "GroupList": list(groups),
                         "AttachedManagedPolicies": [{"PolicyName": a.rsplit("/", 1)[1], "PolicyArn": a} for a in managed]}
    if boundary:
        u["PermissionsBoundary"] = {"PermissionsBoundaryArn": boundary}
    return u


def gaad(users=(), roles=(), groups=(), policies=()) -> dict[str, Any]:
    return {"UserDetailList": list(users), "RoleDetailList": list(roles), "GroupDetailList": list(groups),
            "Policies": list(policies)}


def readers(g: dict[str, Any], *, resource_policy: Any = None, key_policy: Any = ROOT_DELEGATION,
            managed_key: bool = False, managed: dict[str, Any] | None = None, grants=()) -> dict[str, Any]:
    key = None if managed_key else KeyAccess(KEY, key_policy, tuple(grants))
    got = secret_readers(principals_from_gaad(g, managed), secret_arn=SECRET, region="us-gov-west-1", account=ACCT,
                         resource_policy=resource_policy, key=key, now=NOW)
    return {a.principal: a for a in got}


READ = allow("secretsmanager:GetSecretValue", SECRET)
DECRYPT = allow("kms:Decrypt", KEY)


# --------------------------------------------------------------------------- identity policies alone
def test_role_reads_through_its_identity_policy_alone():
    got = readers(gaad(roles=[role("app", doc(READ, DECRYPT))]))
    arn = f"arn:{P}:iam::{ACCT}:role/app"
    assert set(got) == {arn} and got[arn].certain
    assert any("inline policy p0 of role app" in g for g in got[arn].grants)
    assert any(g.startswith("decrypts via") and "Enable IAM User Permissions" in g for g in got[arn].grants)


def test_without_kms_decrypt_a_cmk_secret_cannot_be_read():
    assert readers(gaad(roles=[role("app", doc(READ))])) == {}


def test_key_policy_without_root_delegation_ignores_identity_kms_grants():
    kp = doc({"Sid": "OnlyAdmin", "Effect": "Allow", "Principal": {"AWS": f"arn:{P}:iam::{ACCT}:role/admin"},
              "Action": "kms:*", "Resource": "*"})
    assert readers(gaad(roles=[role("app", doc(READ, DECRYPT))]), key_policy=kp) == {}


def test_key_policy_naming_the_role_needs_no_identity_kms_grant():
    kp = doc({"Sid": "App", "Effect": "Allow", "Principal": {"AWS": f"arn:{P}:iam::{ACCT}:role/app"},
              "Action": "kms:Decrypt", "Resource": "*"})
    got = readers(gaad(roles=[role("app", doc(READ))]), key_policy=kp)
    assert list(got) == [f"arn:{P}:iam::{ACCT}:role/app"] and got[f"arn:{P}:iam::{ACCT}:role/app"].certain


def test_managed_key_lets_any_identity_reader_decrypt():
    got = readers(gaad(roles=[role("app", doc(READ))]), managed_key=True)
    assert list(got) == [f"arn:{P}:iam::{ACCT}:role/app"]


def test_group_member_reads_through_the_group():
    g = {"GroupName": "ops", "Arn": f"arn:{P}:iam::{ACCT}:group/ops",
         "GroupPolicyList": [{"PolicyName": "read", "PolicyDocument": doc(allow(["secretsmanager:Get*", "kms:Decrypt"]))}],
         "AttachedManagedPolicies": []}
    got = readers(gaad(users=[user("alice", groups=("ops",)), user("bob")], groups=[g]))
    assert list(got) == [f"arn:{P}:iam::{ACCT}:user/alice"]
    assert any("inline policy read of group ops" in x for x in got[f"arn:{P}:iam::{ACCT}:user/alice"].grants)


def test_managed_policy_documents_and_missing_ones():
    arn = f"arn:{P}:iam::aws:policy/SecretsManagerReadWrite"
    g = gaad(users=[user("carol", managed=(arn,))])
    with pytest.raises(AccessError, match="SecretsManagerReadWrite"):
        principals_from_gaad(g)
    got = readers(g, managed={arn: doc(allow(["secretsmanager:*", "kms:Decrypt"]))})
    assert list(got) == [f"arn:{P}:iam::{ACCT}:user/carol"]
    assert any(f"managed policy {arn}" in x for x in got[f"arn:{P}:iam::{ACCT}:user/carol"].grants)


def test_local_managed_policy_default_version_is_used():
    arn = f"arn:{P}:iam::{ACCT}:policy/read"
    pol = {"Arn": arn, "DefaultVersionId": "v2", "PolicyVersionList": [
        {"VersionId": "v1", "IsDefaultVersion": False, "Document": doc(allow("*"))},
        {"VersionId": "v2", "IsDefaultVersion": True, "Document": doc(allow("s3:GetObject"))}]}
    assert readers(gaad(users=[user("dan", managed=(arn,))], policies=[pol])) == {}


# --------------------------------------------------------------------------- denies, conditions, boundaries
def test_explicit_deny_in_the_resource_policy_wins():
    allowed = f"arn:{P}:iam::{ACCT}:role/workload"
    rp = doc({"Sid": "DenyOthers", "Effect": "Deny", "Principal": "*", "Action": "secretsmanager:GetSecretValue",
              "Resource": "*", "Condition": {"StringNotEquals": {"aws:PrincipalArn": [allowed]}}})
    got = readers(gaad(roles=[role("app", doc(READ, DECRYPT)), role("workload", doc(READ, DECRYPT))]), resource_policy=rp)
    assert list(got) == [allowed]


def test_unknown_condition_makes_a_possible_reader_not_a_pass():
    cond = allow("secretsmanager:GetSecretValue", SECRET, Condition={"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}})
    got = readers(gaad(roles=[role("app", doc(cond, DECRYPT))]))
    a = got[f"arn:{P}:iam::{ACCT}:role/app"]
    assert not a.certain and "aws:SourceIp" in a.unknown
    assert outside(got.values(), []) == [a]


def test_decided_condition_on_principal_keys():
    cond = allow("secretsmanager:GetSecretValue", SECRET, Condition={"StringEquals": {"aws:PrincipalType": "User"}})
    assert readers(gaad(roles=[role("app", doc(cond, DECRYPT))])) == {}


def test_resource_policy_naming_the_user_is_not_limited_by_its_boundary_but_a_role_arn_is():
    b_arn = f"arn:{P}:iam::{ACCT}:policy/boundary"
    boundary = doc(allow("kms:Decrypt"))
    pol = {"Arn": b_arn, "DefaultVersionId": "v1",
           "PolicyVersionList": [{"VersionId": "v1", "IsDefaultVersion": True, "Document": boundary}]}
    u_arn, r_arn = f"arn:{P}:iam::{ACCT}:user/erin", f"arn:{P}:iam::{ACCT}:role/app"
    rp = doc({"Sid": "Named", "Effect": "Allow", "Principal": {"AWS": [u_arn, r_arn]},
              "Action": "secretsmanager:GetSecretValue", "Resource": "*"})
    g = gaad(users=[user("erin", doc(READ, DECRYPT), boundary=b_arn)], roles=[role("app", doc(DECRYPT), boundary=b_arn)],
             policies=[pol])
    assert set(readers(g)) == set()  # the boundary blocks the identity grant of GetSecretValue
    got = readers(g, resource_policy=rp)
    assert set(got) == {u_arn} and any("secret resource policy statement 'Named'" in x for x in got[u_arn].grants)


def test_resource_policy_account_principal_delegates_and_grants_nothing_by_itself():
    rp = doc({"Effect": "Allow", "Principal": {"AWS": ACCT}, "Action": "secretsmanager:GetSecretValue", "Resource": "*"})
    assert readers(gaad(roles=[role("app", doc(DECRYPT))]), resource_policy=rp) == {}


def test_resource_policy_star_grants_same_account_roles_and_outsiders_under_a_cmk_only():
    rp = doc({"Sid": "Everyone", "Effect": "Allow", "Principal": "*", "Action": "secretsmanager:GetSecretValue",
              "Resource": "*"})
    kp = doc(*ROOT_DELEGATION["Statement"], {"Sid": "Anyone", "Effect": "Allow", "Principal": {"AWS": "*"},
                                              "Action": "kms:Decrypt", "Resource": "*"})
    got = readers(gaad(roles=[role("app", doc())]), resource_policy=rp, key_policy=kp)
    assert f"arn:{P}:iam::{ACCT}:role/app" in got and "*" in got
    assert got["*"].kind == "external"
    managed = readers(gaad(roles=[role("app", doc())]), resource_policy=rp, managed_key=True)
    assert "*" not in managed and f"arn:{P}:iam::{ACCT}:role/app" in managed


def test_kms_grant_gives_decrypt():
    grant = {"GrantId": "g-1", "GranteePrincipal": f"arn:{P}:iam::{ACCT}:role/app", "Operations": ["Decrypt"]}
    kp = doc({"Effect": "Allow", "Principal": {"AWS": f"arn:{P}:iam::{ACCT}:role/admin"}, "Action": "kms:*",
              "Resource": "*"})
    got = readers(gaad(roles=[role("app", doc(READ))]), key_policy=kp, grants=[grant])
    assert any("KMS grant g-1" in x for x in got[f"arn:{P}:iam::{ACCT}:role/app"].grants)


def test_principal_of_caller_maps_a_role_session_to_its_role():
    ps = principals_from_gaad(gaad(users=[user("auditor")], roles=[role("audit", path="/ops/")]))
    assert principal_of_caller(f"arn:{P}:sts::{ACCT}:assumed-role/audit/nightly", ps).arn.endswith(":role/ops/audit")
    assert principal_of_caller(f"arn:{P}:iam::{ACCT}:user/auditor", ps).kind == "user"
    assert principal_of_caller(f"arn:{P}:iam::{ACCT}:root", ps) is None


# --------------------------------------------------------------------------- minting
C = "arn:aws"
CACCT = "123456789012"
AUDITED = f"{C}:iam::{CACCT}:user/bedrock-cross-partition-user"
OTHER = f"{C}:iam::{CACCT}:user/someone"


def minters(*principal_docs: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    g: dict[str, Any] = {"UserDetailList": [{"UserName": n, "UserId": n, "Arn": f"{C}:iam::{CACCT}:user/{n}",
                             "UserPolicyList": [{"PolicyName": "p", "PolicyDocument": d}]} for n, d in principal_docs]
         + [{"UserName": n, "UserId": n, "Arn": f"{C}:iam::{CACCT}:user/{n}"}
            for n in ("bedrock-cross-partition-user", "someone") if n not in dict(principal_docs)]}
    ps = principals_from_gaad(g)
    users: list[tuple[str, dict[str, str] | None]] = [(u["Arn"], {}) for u in g["UserDetailList"]]
    return {a.principal: a for a in key_minters(ps, users=users, audited_user_arn=AUDITED, arn_partition="aws", now=NOW)}


def test_minter_on_any_user_including_the_audited_one():
    got = minters(("admin", doc(allow("iam:*"))))
    a = got[f"{C}:iam::{CACCT}:user/admin"]
    assert a.certain and "audited user" in a.note and "inline policy p of user admin statement #1" in a.grants


def test_service_name_condition_is_decided():
    codecommit = allow("iam:CreateServiceSpecificCredential", Condition={
        "StringEquals": {"iam:ServiceSpecificCredentialServiceName": "codecommit.amazonaws.com"}})
    bedrock = allow("iam:CreateServiceSpecificCredential", Condition={
        "StringEquals": {"iam:ServiceSpecificCredentialServiceName": "bedrock.amazonaws.com"}})
    assert minters(("cc", doc(codecommit))) == {}
    assert minters(("br", doc(bedrock)))[f"{C}:iam::{CACCT}:user/br"].certain


def test_caller_chosen_age_is_tried_with_real_requests():
    aged = allow("iam:CreateServiceSpecificCredential", Condition={
        "NumericLessThanEquals": {"iam:ServiceSpecificCredentialAgeDays": "90"}})
    assert minters(("ops", doc(aged)))[f"{C}:iam::{CACCT}:user/ops"].certain  # e.g. a 1-day key
    # the remediator's guardrails: keys must expire within 180 days -- a 180-day key is still mintable
    guarded = doc(allow("iam:CreateServiceSpecificCredential"),
                  deny("iam:CreateServiceSpecificCredential", Condition={"Null": {"iam:ServiceSpecificCredentialAgeDays": "true"}}),
                  deny("iam:CreateServiceSpecificCredential", Condition={
                      "NumericGreaterThan": {"iam:ServiceSpecificCredentialAgeDays": "180"}}))
    assert minters(("rot", guarded))[f"{C}:iam::{CACCT}:user/rot"].certain
    odd = allow("iam:CreateServiceSpecificCredential", Condition={
        "NumericEquals": {"iam:ServiceSpecificCredentialAgeDays": "45"}})
    a = minters(("odd", doc(odd)))[f"{C}:iam::{CACCT}:user/odd"]
    assert not a.certain and a.unknown == ("iam:ServiceSpecificCredentialAgeDays",)
    # Reset carries no age: a Reset grant conditioned on one never applies
    reset = allow("iam:ResetServiceSpecificCredential", Condition={
        "NumericLessThanEquals": {"iam:ServiceSpecificCredentialAgeDays": "90"}})
    assert minters(("rs", doc(reset))) == {}


def test_version_stage_is_the_callers_choice():
    current = allow("secretsmanager:GetSecretValue", SECRET, Condition={
        "StringEquals": {"secretsmanager:VersionStage": "AWSCURRENT"}})
    assert readers(gaad(roles=[role("app", doc(current, DECRYPT))]))[f"arn:{P}:iam::{ACCT}:role/app"].certain
    previous = allow("secretsmanager:GetSecretValue", SECRET, Condition={
        "StringEquals": {"secretsmanager:VersionStage": "AWSPREVIOUS"}})
    a = readers(gaad(roles=[role("app", doc(previous, DECRYPT))]))[f"arn:{P}:iam::{ACCT}:role/app"]
    assert not a.certain and "secretsmanager:VersionStage" in a.unknown
    by_id = allow("secretsmanager:GetSecretValue", SECRET, Condition={"StringEquals": {"secretsmanager:VersionId": "v-1"}})
    a = readers(gaad(roles=[role("app", doc(by_id, DECRYPT))]))[f"arn:{P}:iam::{ACCT}:role/app"]
    assert not a.certain and "secretsmanager:VersionId" in a.unknown  # the caller may pass that id


def test_minting_scoped_to_another_user_and_deny():
    scoped = allow("iam:ResetServiceSpecificCredential", OTHER)
    a = minters(("helper", doc(scoped)))[f"{C}:iam::{CACCT}:user/helper"]
    assert a.certain and "audited user" not in a.note and "Reset on user someone" in a.note
    denied = doc(allow("iam:*"), deny(["iam:CreateServiceSpecificCredential", "iam:ResetServiceSpecificCredential"]))
    assert minters(("admin", denied)) == {}


def test_outside_compares_arns_exactly():
    got = minters(("admin", doc(allow("iam:*"))), ("rotator", doc(allow("iam:CreateServiceSpecificCredential"))))
    left = outside(got.values(), [f"{C}:iam::{CACCT}:user/rotator"])
    assert [a.principal for a in left] == [f"{C}:iam::{CACCT}:user/admin"]
    assert json.dumps([a.as_dict() for a in left])


def test_deny_all_but_narrows_outside_readers_to_the_listed_arns():
    foreign = f"arn:{P}:iam::111122223333:role/partner"
    rp = doc({"Sid": "Everyone", "Effect": "Allow", "Principal": "*", "Action": "secretsmanager:GetSecretValue",
              "Resource": "*"},
             {"Sid": "BedrockKeyAuditDenyOtherReaders", "Effect": "Deny", "Principal": "*",
              "Action": "secretsmanager:GetSecretValue", "Resource": "*",
              "Condition": {"StringNotEquals": {"aws:PrincipalArn": [f"arn:{P}:iam::{ACCT}:role/app", foreign]}}})
    kp = doc(*ROOT_DELEGATION["Statement"], {"Sid": "Anyone", "Effect": "Allow", "Principal": {"AWS": "*"},
                                              "Action": "kms:Decrypt", "Resource": "*"})
    got = readers(gaad(roles=[role("app", doc()), role("other", doc(READ, DECRYPT))]), resource_policy=rp, key_policy=kp)
    assert set(got) == {f"arn:{P}:iam::{ACCT}:role/app", foreign}
    assert got[foreign].kind == "external" and got[foreign].certain


def test_outside_account_decrypting_through_a_kms_grant():
    other = "111122223333"
    rp = doc({"Sid": "Partner", "Effect": "Allow", "Principal": {"AWS": f"arn:{P}:iam::{other}:root"},
              "Action": "secretsmanager:GetSecretValue", "Resource": "*"})
    assert readers(gaad(), resource_policy=rp) == {}  # the key policy does not let that account decrypt
    grant = {"GrantId": "g-2", "GranteePrincipal": f"arn:{P}:iam::{other}:root", "Operations": ["Decrypt"]}
    got = readers(gaad(), resource_policy=rp, grants=[grant])
    a = got[f"arn:{P}:iam::{other}:root"]
    assert a.kind == "external" and a.certain and "decrypts via KMS grant g-2" in a.grants
    no_decrypt = {**grant, "Operations": ["Encrypt"]}
    assert readers(gaad(), resource_policy=rp, grants=[no_decrypt]) == {}
