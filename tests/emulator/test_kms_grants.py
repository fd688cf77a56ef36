"""The emulator's KMS ``Decrypt`` for IAM principals (kms_extras.py): key policy, IAM policies and
grants with their encryption-context constraints, as AWS KMS documents them ("Key policies in AWS
KMS"; KMS API Reference, "GrantConstraints").  Each principal calls with its own access key.

The encryption context is the one Secrets Manager sends ("Secret encryption and decryption in AWS
Secrets Manager"): ``{"SecretARN": <ARN>, "SecretVersionId": <version id>}``.
"""
from __future__ import annotations

import json
from typing import Any

import botocore.exceptions
import pytest

from bedrock_key_audit.emulator.kms_extras import grant_constraints_admit

GOV = "govcloud"
ACCT = "210987654321"
SECRET = f"arn:aws-us-gov:secretsmanager:us-gov-west-1:{ACCT}:secret:bedrock-key-AbCdEf"
V1 = {"SecretARN": SECRET, "SecretVersionId": "v1"}
V2 = {"SecretARN": SECRET, "SecretVersionId": "v2"}
ROOT_ONLY = {"Version": "2012-10-17", "Statement": [
    {"Sid": "Root", "Effect": "Allow", "Principal": {"AWS": f"arn:aws-us-gov:iam::{ACCT}:root"}, "Action": "kms:*",
     "Resource": "*"}]}


def _code(exc: Any) -> str:
    return str(exc.value.response["Error"]["Code"])


def principal(emu: Any, name: str, *policies: dict[str, Any]) -> tuple[str, Any]:
    """A GovCloud IAM user with inline ``policies`` and a KMS client signed with its own access key."""
    iam = emu.client("iam", GOV)
    arn = iam.create_user(UserName=name)["User"]["Arn"]
    for i, doc in enumerate(policies):
        iam.put_user_policy(UserName=name, PolicyName=f"p{i}", PolicyDocument=json.dumps(doc))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return arn, emu.client("kms", GOV, aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])


@pytest.fixture
def key(emu: Any) -> dict[str, Any]:
    kms = emu.client("kms", GOV)
    meta = kms.create_key(Policy=json.dumps(ROOT_ONLY))["KeyMetadata"]
    blobs = {v: kms.encrypt(KeyId=meta["Arn"], Plaintext=b"the key", EncryptionContext=ctx)["CiphertextBlob"]
             for v, ctx in (("v1", V1), ("v2", V2))}
    return {"arn": meta["Arn"], "v1": blobs["v1"], "v2": blobs["v2"]}


def decrypts(client: Any, key: dict[str, Any], version: str) -> bool:
    try:
        got = client.decrypt(CiphertextBlob=key[version], EncryptionContext=V1 if version == "v1" else V2)
    except botocore.exceptions.ClientError as exc:
        assert exc.response["Error"]["Code"] == "AccessDeniedException", exc.response
        return False
    assert got["Plaintext"] == b"the key"
    return True


def test_a_grant_constrained_to_one_version_decrypts_that_version_only(emu: Any, key: dict[str, Any]) -> None:
    arn, client = principal(emu, "grantee")
    assert not decrypts(client, key, "v1")  # nothing allows it yet (no identity policy, no grant)
    emu.client("kms", GOV).create_grant(KeyId=key["arn"], GranteePrincipal=arn, Operations=["Decrypt"],
                                        Constraints={"EncryptionContextEquals": V1})
    assert decrypts(client, key, "v1")
    assert not decrypts(client, key, "v2")


def test_a_subset_constraint_on_the_secret_arn_decrypts_every_version(emu: Any, key: dict[str, Any]) -> None:
    arn, client = principal(emu, "reader")
    kms = emu.client("kms", GOV)
    kms.create_grant(KeyId=key["arn"], GranteePrincipal=arn, Operations=["Decrypt"],
                     Constraints={"EncryptionContextSubset": {"secretarn": SECRET}})  # keys compare without case
    assert decrypts(client, key, "v1") and decrypts(client, key, "v2")
    arn2, client2 = principal(emu, "other-reader")
    kms.create_grant(KeyId=key["arn"], GranteePrincipal=arn2, Operations=["Decrypt"],
                     Constraints={"EncryptionContextSubset": {"SecretARN": SECRET.upper()}})  # values with case
    assert not decrypts(client2, key, "v1")
    # an Equals constraint naming only the ARN never meets Secrets Manager's two-pair context
    arn3, client3 = principal(emu, "equals-arn-only")
    kms.create_grant(KeyId=key["arn"], GranteePrincipal=arn3, Operations=["Decrypt"],
                     Constraints={"EncryptionContextEquals": {"SecretARN": SECRET}})
    assert not decrypts(client3, key, "v1") and not decrypts(client3, key, "v2")


def test_only_the_grantee_and_only_the_listed_operations(emu: Any, key: dict[str, Any]) -> None:
    kms = emu.client("kms", GOV)
    grantee, _ = principal(emu, "the-grantee")
    retiring, retiring_client = principal(emu, "the-retirer")
    kms.create_grant(KeyId=key["arn"], GranteePrincipal=grantee, RetiringPrincipal=retiring, Operations=["Decrypt"])
    assert not decrypts(retiring_client, key, "v1")
    enc, enc_client = principal(emu, "encrypt-only")
    kms.create_grant(KeyId=key["arn"], GranteePrincipal=enc, Operations=["Encrypt", "GenerateDataKey"])
    assert not decrypts(enc_client, key, "v1")


def test_key_policy_iam_policy_and_denies(emu: Any, key: dict[str, Any]) -> None:
    decrypt_doc = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": key["arn"]}]}
    _, by_iam = principal(emu, "iam-reader", decrypt_doc)
    assert decrypts(by_iam, key, "v1")  # the key policy delegates to the account
    deny = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Deny", "Action": "kms:*", "Resource": "arn:aws-us-gov:kms:*"}]}  # a short ARN pattern
    arn, denied = principal(emu, "denied-grantee", deny)
    emu.client("kms", GOV).create_grant(KeyId=key["arn"], GranteePrincipal=arn, Operations=["Decrypt"])
    assert not decrypts(denied, key, "v1")  # an explicit deny wins over the grant
    # the emulator's own account credentials stay unrestricted
    assert emu.client("kms", GOV).decrypt(CiphertextBlob=key["v1"], EncryptionContext=V1)["Plaintext"] == b"the key"


def test_key_policy_naming_the_principal_needs_no_iam_policy(emu: Any) -> None:
    arn, client = principal(emu, "named")
    kms = emu.client("kms", GOV)
    policy = {"Version": "2012-10-17", "Statement": [*ROOT_ONLY["Statement"], {
        "Sid": "Named", "Effect": "Allow", "Principal": {"AWS": arn}, "Action": "kms:Decrypt", "Resource": "*",
        "Condition": {"StringEquals": {"kms:EncryptionContext:SecretARN": SECRET}}}]}
    k = kms.create_key(Policy=json.dumps(policy))["KeyMetadata"]["Arn"]
    blob = kms.encrypt(KeyId=k, Plaintext=b"x", EncryptionContext=V1)["CiphertextBlob"]
    assert client.decrypt(CiphertextBlob=blob, EncryptionContext=V1)["Plaintext"] == b"x"
    other = kms.encrypt(KeyId=k, Plaintext=b"x", EncryptionContext={"SecretARN": "other"})["CiphertextBlob"]
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        client.decrypt(CiphertextBlob=other, EncryptionContext={"SecretARN": "other"})
    assert _code(exc) == "AccessDeniedException" and arn in str(exc.value)


@pytest.mark.parametrize(("constraints", "context", "admitted"), [
    (None, V1, True),
    ({"EncryptionContextEquals": V1}, V1, True),
    ({"EncryptionContextEquals": {"secretarn": SECRET, "SECRETVERSIONID": "v1"}}, V1, True),
    ({"EncryptionContextEquals": V1}, {**V1, "Extra": "x"}, False),
    ({"EncryptionContextEquals": {"SecretARN": SECRET}}, V1, False),
    ({"EncryptionContextSubset": {"SecretARN": SECRET}}, V2, True),
    ({"EncryptionContextSubset": {"SecretVersionId": "V1"}}, V1, False),
    ({"EncryptionContextSubset": {}}, V1, True),
])
def test_grant_constraints_admit(constraints: Any, context: dict[str, str], admitted: bool) -> None:
    assert grant_constraints_admit(constraints, context) is admitted
