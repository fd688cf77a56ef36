"""bedrock_key_audit.escalation_resource: principals that give themselves the read with one call on the
secret or its key (hand-built policy sets), and aws:PrincipalOrgID of the audited organization."""
from __future__ import annotations

import dataclasses
from typing import Any

from bedrock_key_audit.access import KeyAccess, principals_from_gaad, secret_readers
from bedrock_key_audit.escalation_resource import Target, resource_escalations
from tests.audit.test_access import ACCT, KEY, NOW, P, ROOT_DELEGATION, SECRET, gaad, user
from tests.policy_docs import allow, deny, doc

INTERN = f"arn:{P}:iam::{ACCT}:user/intern"
READ = allow("secretsmanager:GetSecretValue", SECRET)
DECRYPT = allow("kms:Decrypt", KEY)


def escalations(*policies: dict[str, Any], resource_policy: Any = None, key_policy: Any = ROOT_DELEGATION,
                grants: tuple[dict[str, Any], ...] = ()) -> dict[str, Any]:
    principals = principals_from_gaad(gaad(users=[user("intern", *policies)]))
    key = KeyAccess(KEY, key_policy, grants)
    readers = secret_readers(principals, secret_arn=SECRET, region="us-gov-west-1", account=ACCT,
                             resource_policy=resource_policy, key=key, now=NOW)
    assert not any(a.certain for a in readers), "the principal must not read before the call"
    got = resource_escalations(principals, readers, targets=[Target(SECRET, "us-gov-west-1", key)], account=ACCT,
                               resource_policy=resource_policy, now=NOW)
    return {a.principal: a for a in got}


def test_create_grant_to_itself_gives_the_missing_decrypt():
    got = escalations(doc(READ, allow("kms:CreateGrant", KEY)))[INTERN]
    assert got.certain and "kms:CreateGrant on key" in got.note and "naming itself grantee" in got.note


def test_create_grant_limited_to_other_operations_is_no_path():
    ops = {"ForAllValues:StringEquals": {"kms:GrantOperations": ["Encrypt", "GenerateDataKey"]}}
    assert INTERN not in escalations(doc(READ, allow("kms:CreateGrant", KEY, Condition=ops)))


def test_create_grant_limited_to_another_grantee_is_no_path():
    other = {"StringEquals": {"kms:GranteePrincipal": f"arn:{P}:iam::{ACCT}:role/app"}}
    assert INTERN not in escalations(doc(READ, allow("kms:CreateGrant", KEY, Condition=other)))


def test_create_grant_requiring_an_aws_resource_is_no_path():
    cond = {"Bool": {"kms:GrantIsForAWSResource": "true"}}
    assert INTERN not in escalations(doc(READ, allow("kms:CreateGrant", KEY, Condition=cond)))


def test_create_grant_wanting_decrypt_with_another_operation():
    cond = {"ForAnyValue:StringEquals": {"kms:GrantOperations": "Sign"},
            "ForAllValues:StringEquals": {"kms:GrantOperations": ["Sign", "Decrypt"]}}
    assert escalations(doc(READ, allow("kms:CreateGrant", KEY, Condition=cond)))[INTERN].certain


def test_create_grant_on_a_condition_the_requests_tried_miss_stays_undecided_naming_the_key():
    cond = {"ForAnyValue:StringEquals": {"kms:GrantOperations": "Sign"},
            "ForAnyValue:StringLike": {"kms:GrantOperations": "Verify"},
            "ForAllValues:StringEquals": {"kms:GrantOperations": ["Sign", "Verify", "Decrypt"]}}
    got = escalations(doc(READ, allow("kms:CreateGrant", KEY, Condition=cond)))[INTERN]
    assert not got.certain and "kms:GrantOperations" in got.unknown


def test_create_grant_needs_the_key_policy_to_delegate():
    kp = doc({"Effect": "Allow", "Principal": {"AWS": f"arn:{P}:iam::{ACCT}:role/admin"}, "Action": "kms:*",
              "Resource": "*"})
    assert INTERN not in escalations(doc(READ, allow("kms:CreateGrant", KEY)), key_policy=kp)


def test_create_grant_by_the_key_policy_alone():
    kp = doc(*ROOT_DELEGATION["Statement"], {"Effect": "Allow", "Principal": {"AWS": INTERN},
                                              "Action": "kms:CreateGrant", "Resource": "*"})
    assert escalations(doc(READ), key_policy=kp)[INTERN].certain


def test_key_policy_deny_of_decrypt_survives_a_grant():
    kp = doc(*ROOT_DELEGATION["Statement"], {"Effect": "Deny", "Principal": {"AWS": INTERN},
                                              "Action": "kms:Decrypt", "Resource": "*"})
    assert INTERN not in escalations(doc(READ, allow("kms:CreateGrant", KEY)), key_policy=kp)


def test_put_key_policy_allowing_itself():
    got = escalations(doc(READ, allow("kms:PutKeyPolicy", KEY)))[INTERN]
    assert got.certain and "kms:PutKeyPolicy on key" in got.note


def test_put_key_policy_replaces_a_key_policy_deny_but_not_an_identity_deny():
    kp = doc(*ROOT_DELEGATION["Statement"], {"Effect": "Deny", "Principal": {"AWS": INTERN},
                                              "Action": "kms:Decrypt", "Resource": "*"})
    assert escalations(doc(READ, allow("kms:PutKeyPolicy", KEY)), key_policy=kp)[INTERN].certain
    assert INTERN not in escalations(doc(READ, allow("kms:PutKeyPolicy", KEY), deny("kms:Decrypt")))


def test_put_resource_policy_allowing_itself_gives_the_missing_read():
    got = escalations(doc(DECRYPT, allow("secretsmanager:PutResourcePolicy", SECRET)))[INTERN]
    assert got.certain and "secretsmanager:PutResourcePolicy on the secret" in got.note
    assert got.principal == INTERN and got.caller_arn == INTERN


def test_put_resource_policy_without_decrypt_is_no_path():
    assert INTERN not in escalations(doc(allow("secretsmanager:PutResourcePolicy", SECRET)))


def test_put_resource_policy_denied_by_the_resource_policy():
    rp = doc({"Effect": "Deny", "Principal": "*", "Action": "secretsmanager:PutResourcePolicy", "Resource": "*"})
    assert INTERN not in escalations(doc(DECRYPT, allow("secretsmanager:PutResourcePolicy", SECRET)),
                                     resource_policy=rp)


def test_delete_resource_policy_removes_the_deny_that_stops_it():
    rp = doc({"Effect": "Deny", "Principal": "*", "Action": "secretsmanager:GetSecretValue", "Resource": "*"})
    got = escalations(doc(READ, DECRYPT, allow("secretsmanager:DeleteResourcePolicy", SECRET)),
                      resource_policy=rp)[INTERN]
    assert got.certain and "secretsmanager:DeleteResourcePolicy" in got.note


def test_unrelated_rights_give_no_path():
    assert escalations(doc(READ, allow("kms:DescribeKey", KEY), allow("secretsmanager:DescribeSecret"))) == {}


# --------------------------------------------------------------------------- aws:PrincipalOrgID
ORG = "o-gov1234567"


def _org_readers(org_id: str | None) -> dict[str, Any]:
    rp = doc({"Effect": "Allow", "Principal": "*", "Action": "secretsmanager:GetSecretValue", "Resource": "*",
              "Condition": {"StringEquals": {"aws:PrincipalOrgID": ORG}}})
    kp = doc(*ROOT_DELEGATION["Statement"], {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "kms:Decrypt",
                                              "Resource": "*", "Condition": {"StringEquals": {"aws:PrincipalOrgID": ORG}}})
    principals = [dataclasses.replace(p, org_id=org_id) for p in principals_from_gaad(gaad(users=[user("intern")]))]
    got = secret_readers(principals, secret_arn=SECRET, region="us-gov-west-1", account=ACCT, resource_policy=rp,
                         key=KeyAccess(KEY, kp), now=NOW)
    return {a.principal: a for a in got}


def test_principal_org_id_of_the_audited_organization_decides():
    assert _org_readers(ORG)[INTERN].certain
    assert INTERN not in _org_readers("o-other99999")
    assert INTERN not in _org_readers("")  # in no organization: the key is absent
    got = _org_readers(None)[INTERN]
    assert not got.certain and any("principalorgid" in k.lower() for k in got.unknown)


def test_the_resource_policy_is_written_on_the_primary_not_on_a_replica():
    replica = SECRET.replace("us-gov-west-1", "us-gov-east-1")
    rkey = KEY.replace("us-gov-west-1", "us-gov-east-1")

    def run(where: str) -> dict[str, Any]:
        principals = principals_from_gaad(gaad(users=[user("intern", doc(
            allow("kms:Decrypt", rkey), allow("secretsmanager:PutResourcePolicy", where)))]))
        targets = [Target(SECRET, "us-gov-west-1", KeyAccess(KEY, ROOT_DELEGATION)),
                   Target(replica, "us-gov-east-1", KeyAccess(rkey, ROOT_DELEGATION))]
        got = resource_escalations(principals, [], targets=targets, account=ACCT, resource_policy=None, now=NOW)
        return {a.principal: a for a in got}
    assert INTERN not in run(replica)
    got = run(SECRET)[INTERN]
    assert got.certain and got.region == "us-gov-east-1"


EQUALS_ONLY = {"StringEquals": {"kms:GrantConstraintType": "EncryptionContextEquals"}}


def test_create_grant_with_equals_constraint_and_the_version_id_known():
    describe = allow("secretsmanager:DescribeSecret", SECRET)
    got = escalations(doc(READ, describe, allow("kms:CreateGrant", KEY, Condition=EQUALS_ONLY)))[INTERN]
    assert got.certain and "kms:CreateGrant" in got.note


def test_create_grant_with_equals_constraint_without_the_version_id_is_possible():
    got = escalations(doc(READ, allow("kms:CreateGrant", KEY, Condition=EQUALS_ONLY)))[INTERN]
    assert not got.certain and any("SecretVersionId" in u for u in got.unknown)


def test_create_grant_with_equals_constraint_and_the_version_id_from_list_secrets():
    """ListSecrets returns SecretVersionsToStages in each SecretListEntry (Secrets Manager API Reference): its
    Resource is "*"; one limited to another secret's ARN does not allow it."""
    got = escalations(doc(READ, allow("secretsmanager:ListSecrets"), allow("kms:CreateGrant", KEY, Condition=EQUALS_ONLY)))
    assert got[INTERN].certain
    got = escalations(doc(READ, allow("secretsmanager:ListSecrets", SECRET + "-other"),
                          allow("kms:CreateGrant", KEY, Condition=EQUALS_ONLY)))
    assert not got[INTERN].certain


def _with_reader_role(intern_policy: dict[str, Any], trusted: str = INTERN) -> dict[str, Any]:
    import json

    from tests.audit.test_access import gaad as _gaad
    from tests.audit.test_access import role
    x = role("x-reader", doc(READ))
    x["AssumeRolePolicyDocument"] = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": trusted}, "Action": "sts:AssumeRole"}]})
    principals = principals_from_gaad(_gaad(users=[user("intern", intern_policy)], roles=[x]))
    key = KeyAccess(KEY, ROOT_DELEGATION, ())
    readers = secret_readers(principals, secret_arn=SECRET, region="us-gov-west-1", account=ACCT,
                             resource_policy=None, key=key, now=NOW)
    got = resource_escalations(principals, readers, targets=[Target(SECRET, "us-gov-west-1", key)], account=ACCT,
                               resource_policy=None, now=NOW)
    return {a.principal: a for a in got}


X_READER = f"arn:{P}:iam::{ACCT}:role/x-reader"
ASSUME_X = allow("sts:AssumeRole", X_READER)


def test_create_grant_to_an_assumable_role_holding_the_read():
    grantee = {"StringEquals": {"kms:GranteePrincipal": X_READER}}
    got = _with_reader_role(doc(ASSUME_X, allow("kms:CreateGrant", KEY, Condition=grantee)))[INTERN]
    assert got.certain and "naming role x-reader grantee" in got.note and "assumes role x-reader" in got.note


def test_create_grant_unconditioned_to_an_assumable_role():
    assert _with_reader_role(doc(ASSUME_X, allow("kms:CreateGrant", KEY)))[INTERN].certain


def test_create_grant_to_a_role_it_cannot_assume_is_no_path():
    other = f"arn:{P}:iam::{ACCT}:user/someone-else"
    assert INTERN not in _with_reader_role(doc(ASSUME_X, allow("kms:CreateGrant", KEY)), trusted=other)


OUTSIDE_ROLE = f"arn:{P}:iam::999988887777:role/partner"


def _outsider(key_policy: dict[str, Any], resource_policy: dict[str, Any]) -> dict[str, Any]:
    principals = principals_from_gaad(gaad(users=[user("intern")]))
    key = KeyAccess(KEY, key_policy, ())
    readers = secret_readers(principals, secret_arn=SECRET, region="us-gov-west-1", account=ACCT,
                             resource_policy=resource_policy, key=key, now=NOW)
    assert not any(a.certain for a in readers)
    got = resource_escalations(principals, readers, targets=[Target(SECRET, "us-gov-west-1", key)], account=ACCT,
                               resource_policy=resource_policy, now=NOW)
    return {a.principal: a for a in got}


def _rp(principal: Any) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": principal,
                                                    "Action": "secretsmanager:GetSecretValue", "Resource": "*"}]}


def _kp(principal: Any, **extra: Any) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": [
        ROOT_DELEGATION["Statement"][0],
        {"Effect": "Allow", "Principal": principal, "Action": "kms:CreateGrant", "Resource": "*", **extra}]}


def test_another_accounts_role_with_create_grant_in_the_key_policy_reads():
    got = _outsider(_kp({"AWS": OUTSIDE_ROLE}), _rp({"AWS": OUTSIDE_ROLE}))
    assert got[OUTSIDE_ROLE].certain and "kms:CreateGrant" in got[OUTSIDE_ROLE].note


def test_another_accounts_create_grant_without_the_secret_is_no_path():
    assert OUTSIDE_ROLE not in _outsider(_kp({"AWS": OUTSIDE_ROLE}), _rp({"AWS": f"arn:{P}:iam::{ACCT}:user/intern"}))


def test_another_accounts_create_grant_for_another_grantee_is_no_path():
    cond = {"Condition": {"StringEquals": {"kms:GranteePrincipal": f"arn:{P}:iam::{ACCT}:user/intern"}}}
    assert OUTSIDE_ROLE not in _outsider(_kp({"AWS": OUTSIDE_ROLE}, **cond), _rp({"AWS": OUTSIDE_ROLE}))


def test_any_other_account_with_create_grant_and_the_secret_reads():
    got = _outsider(_kp("*"), _rp("*"))
    assert any(a.principal == "*" and a.certain for a in got.values()), got
