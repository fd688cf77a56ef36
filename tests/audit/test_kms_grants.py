"""KMS grants on the secret's key: who they let read the secret (``access._grant_outcome``).

Secrets Manager decrypts a secret version with the encryption context
``{"SecretARN": <ARN>, "SecretVersionId": <version id>}`` (Secrets Manager User Guide, "Secret
encryption and decryption in AWS Secrets Manager"); a grant's ``EncryptionContextEquals`` /
``EncryptionContextSubset`` constraint admits a request by the rules of the KMS API Reference,
"GrantConstraints"; only the grantee uses a grant, for the operations it lists ("Grants in AWS
KMS"); an explicit Deny in the key policy or an IAM policy still wins ("Key policies in AWS KMS").

The last test builds each grant in the emulator and checks the audit's answer against what the
emulator's ``Decrypt`` (written apart, ``emulator/kms_extras.py``) does with Secrets Manager's
context for each version the secret holds.
"""
from __future__ import annotations

import datetime as dt
import json
from typing import Any

import botocore.exceptions
import pytest

from bedrock_key_audit.access import KeyAccess, principals_from_gaad, secret_readers

NOW = dt.datetime(2026, 11, 29, 12, 0, tzinfo=dt.timezone.utc)
ACCT = "210987654321"
P = "aws-us-gov"
SECRET = f"arn:{P}:secretsmanager:us-gov-west-1:{ACCT}:secret:bedrock-key-AbCdEf"
KEY = f"arn:{P}:kms:us-gov-west-1:{ACCT}:key/1111-2222"
APP = f"arn:{P}:iam::{ACCT}:role/app"
ADMIN_ONLY = {"Version": "2012-10-17", "Statement": [
    {"Sid": "Admin", "Effect": "Allow", "Principal": {"AWS": f"arn:{P}:iam::{ACCT}:role/admin"}, "Action": "kms:*",
     "Resource": "*"}]}
READ = {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": SECRET}
VERSIONS = {"v-current": ["AWSCURRENT"], "v-previous": ["AWSPREVIOUS"]}


def grant(constraints: Any = None, grantee: str = APP, operations: tuple[str, ...] = ("Decrypt",), **extra: Any) -> dict[str, Any]:
    g: dict[str, Any] = {"GrantId": "g-1", "GranteePrincipal": grantee, "Operations": list(operations), **extra}
    if constraints is not None:
        g["Constraints"] = constraints
    return g


def reader(g: dict[str, Any], *, versions: Any = VERSIONS, extra_policy: dict[str, Any] | None = None) -> Any:
    """The Access of role ``app`` (identity: GetSecretValue only, plus ``extra_policy``) under an
    admin-only key policy and the one grant ``g``; None when it is no reader."""
    docs = [{"Version": "2012-10-17", "Statement": [READ]}] + ([extra_policy] if extra_policy else [])
    gaad = {"UserDetailList": [], "GroupDetailList": [], "Policies": [],
            "RoleDetailList": [{"RoleName": "app", "RoleId": "AROAAPP", "Arn": APP, "AttachedManagedPolicies": [],
                                "RolePolicyList": [{"PolicyName": f"p{i}", "PolicyDocument": d} for i, d in enumerate(docs)]}]}
    got = secret_readers(principals_from_gaad(gaad), secret_arn=SECRET, region="us-gov-west-1", account=ACCT,
                         resource_policy=None, key=KeyAccess(KEY, ADMIN_ONLY, (g,), versions), now=NOW)
    return next((a for a in got if a.principal == APP), None)


def test_an_unconstrained_decrypt_grant_reads() -> None:
    a = reader(grant())
    assert a is not None and a.certain and any("KMS grant g-1" in x for x in a.grants)


@pytest.mark.parametrize(("constraints", "reads"), [
    ({"EncryptionContextSubset": {"SecretARN": SECRET}}, True),  # every version of this secret
    ({"EncryptionContextSubset": {"secretarn": SECRET}}, True),  # constraint keys compare without case
    ({"EncryptionContextSubset": {"SecretARN": SECRET.lower()}}, False),  # values with case
    ({"EncryptionContextSubset": {"SecretARN": SECRET.replace("AbCdEf", "XyZxYz")}}, False),  # another secret
    ({"EncryptionContextEquals": {"SecretARN": SECRET}}, False),  # Secrets Manager always sends two pairs
    ({"EncryptionContextEquals": {"SecretARN": SECRET, "SecretVersionId": "v-current"}}, True),
    ({"EncryptionContextSubset": {"SecretVersionId": "v-previous"}}, True),  # the previous value is readable
    ({"EncryptionContextSubset": {"SecretARN": SECRET, "Purpose": "x"}}, False),  # a pair it never sends
    ({"EncryptionContextSubset": {}}, True),
])
def test_constraints_decided_against_secrets_managers_context(constraints: dict[str, Any], reads: bool) -> None:
    a = reader(grant(constraints))
    assert (a is not None and a.certain) if reads else a is None, a


def test_a_version_the_secret_does_not_list_or_unread_versions_stay_open() -> None:
    one = {"EncryptionContextEquals": {"SecretARN": SECRET, "SecretVersionId": "v-gone"}}
    a = reader(grant(one))
    assert a is not None and not a.certain and any("v-gone" in u and "labelled" in u for u in a.unknown)
    a = reader(grant({"EncryptionContextSubset": {"SecretVersionId": "v-current"}}), versions=None)
    assert a is not None and not a.certain and any("the secret's versions" in u for u in a.unknown)


def test_only_the_grantee_and_only_decrypt() -> None:
    other = f"arn:{P}:iam::{ACCT}:role/other"
    assert reader(grant(grantee=other, RetiringPrincipal=APP)) is None  # the retiring principal may only retire
    assert reader(grant(operations=("Encrypt", "GenerateDataKey", "RetireGrant"))) is None
    assert reader(grant(grantee=f"arn:{P}:iam::111122223333:role/app")) is None  # another account's role
    session = f"arn:{P}:sts::{ACCT}:assumed-role/app/s1"
    assert reader(grant(grantee=session)) is not None  # a session of the role is the role's


def test_a_grant_to_the_account_itself_is_undecided_for_principals_iam_lets_decrypt() -> None:
    to_account = grant(grantee=f"arn:{P}:iam::{ACCT}:root", GrantId="g-acct")
    assert reader(to_account) is None  # the role's identity policies give it no kms:Decrypt
    decrypt = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "kms:Decrypt", "Resource": KEY}]}
    a = reader(to_account, extra_policy=decrypt)
    assert a is not None and not a.certain and any("g-acct" in u and "does not document" in u for u in a.unknown)
    # a constraint that admits no read of this secret settles it
    other = grant({"EncryptionContextSubset": {"SecretARN": "other"}}, grantee=ACCT)
    assert reader(other, extra_policy=decrypt) is None


def test_an_explicit_identity_deny_beats_the_grant() -> None:
    deny = {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "kms:Decrypt", "Resource": "*"}]}
    assert reader(grant(), extra_policy=deny) is None
    deny_direct = {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "kms:Decrypt", "Resource": "*",
                                                           "Condition": {"Bool": {"aws:ViaAWSService": "false"}}}]}
    assert reader(grant(), extra_policy=deny_direct) is not None  # Secrets Manager's decrypt is a forward request


# --------------------------------------------------------------------------- against the emulator's Decrypt
VARIANTS = [
    None,
    {"EncryptionContextSubset": {"SecretARN": "@arn"}},
    {"EncryptionContextEquals": {"SecretARN": "@arn"}},
    {"EncryptionContextEquals": {"SecretARN": "@arn", "SecretVersionId": "@current"}},
    {"EncryptionContextSubset": {"SecretVersionId": "@current"}},
    {"EncryptionContextSubset": {"SecretARN": "@other"}},
    {"EncryptionContextSubset": {"secretARN": "@arn", "Extra": "x"}},
]


@pytest.mark.parametrize("variant", range(len(VARIANTS)))
def test_audit_readers_match_what_the_emulators_decrypt_allows(emu: Any, variant: int) -> None:
    gov = "govcloud"
    kms, sm, iam = emu.client("kms", gov), emu.client("secretsmanager", gov), emu.client("iam", gov)
    account = emu.client("sts", gov).get_caller_identity()["Account"]
    root_only = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:{P}:iam::{account}:root"}, "Action": "kms:*", "Resource": "*"}]}
    key_arn = kms.create_key(Policy=json.dumps(root_only))["KeyMetadata"]["Arn"]
    secret = sm.create_secret(Name="bedrock-key", SecretString="x", KmsKeyId=key_arn)
    versions = sm.describe_secret(SecretId=secret["ARN"])["VersionIdsToStages"]
    current = next(v for v, stages in versions.items() if "AWSCURRENT" in stages)
    user_arn = iam.create_user(UserName="grantee")["User"]["Arn"]
    iam.put_user_policy(UserName="grantee", PolicyName="read", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
                                                 "Resource": secret["ARN"]}]}))
    access = iam.create_access_key(UserName="grantee")["AccessKey"]
    subst = {"@arn": secret["ARN"], "@current": current, "@other": secret["ARN"] + "x"}
    raw = VARIANTS[variant]
    constraints = None if raw is None else {kind: {k: subst.get(v, v) for k, v in pairs.items()}
                                            for kind, pairs in raw.items()}
    kms.create_grant(KeyId=key_arn, GranteePrincipal=user_arn, Operations=["Decrypt"],
                     **({"Constraints": constraints} if constraints else {}))

    gaad = iam.get_account_authorization_details()
    grants = tuple(kms.list_grants(KeyId=key_arn)["Grants"])
    got = secret_readers(principals_from_gaad(gaad), secret_arn=secret["ARN"], region="us-gov-west-1",
                         account=account, resource_policy=None,
                         key=KeyAccess(key_arn, json.dumps(root_only), grants, versions), now=NOW)
    audit = next((a.certain for a in got if a.principal == user_arn), False)

    grantee_kms = emu.client("kms", gov, aws_access_key_id=access["AccessKeyId"],
                             aws_secret_access_key=access["SecretAccessKey"])
    decrypted = False
    for version in versions:
        context = {"SecretARN": secret["ARN"], "SecretVersionId": version}
        blob = kms.encrypt(KeyId=key_arn, Plaintext=b"data key", EncryptionContext=context)["CiphertextBlob"]
        try:
            decrypted |= grantee_kms.decrypt(CiphertextBlob=blob, EncryptionContext=context)["Plaintext"] == b"data key"
        except botocore.exceptions.ClientError as exc:
            assert exc.response["Error"]["Code"] == "AccessDeniedException"
    assert audit is decrypted, (constraints, audit, decrypted)
