"""Keys AWS puts in every request context are known to the audit, never "undecided".

IAM User Guide, "AWS global condition context keys"
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html):
``aws:ViaAWSService``, ``aws:SecureTransport``, ``aws:CurrentTime``, ``aws:RequestedRegion`` and
``aws:PrincipalArn`` are "always included in the request context".  Each takes the value of the
request being judged: the workload's bearer call and a principal's own ``GetSecretValue`` /
``CreateServiceSpecificCredential`` are direct (``aws:ViaAWSService`` false); the ``kms:Decrypt``
Secrets Manager makes on the caller's behalf is a forward access session (``aws:ViaAWSService``
true, ``kms:ViaService`` ``secretsmanager.<Region>.amazonaws.com``: Secrets Manager User Guide,
"Secret encryption and decryption in AWS Secrets Manager"); ``aws:SecureTransport`` is the
caller's choice, so every value is tried (some request allowed when one value allows it).
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from bedrock_key_audit import iam_verdicts
from bedrock_key_audit.access import KeyAccess, key_minters, principals_from_gaad, secret_readers
from bedrock_key_audit.checkcore import CouldNotDecide
from bedrock_key_audit.config import ConfigError, load_config
from bedrock_key_audit.inventory.models import IamUser, PolicyDoc, UserPolicies
from tests.policy_docs import allow, deny, doc

NOW = dt.datetime(2026, 11, 29, 12, 0, tzinfo=dt.timezone.utc)
ACCT = "210987654321"
P = "aws-us-gov"
SECRET = f"arn:{P}:secretsmanager:us-gov-west-1:{ACCT}:secret:bedrock-key-AbCdEf"
KEY = f"arn:{P}:kms:us-gov-west-1:{ACCT}:key/1111-2222"
ROOT = {"Sid": "Root", "Effect": "Allow", "Principal": {"AWS": f"arn:{P}:iam::{ACCT}:root"}, "Action": "kms:*",
        "Resource": "*"}



def readers(*docs: dict[str, Any], key_policy: dict[str, Any] | None = None,
            resource_policy: dict[str, Any] | None = None) -> dict[str, Any]:
    """The readers among one role ``app`` holding ``docs``: principal -> Access."""
    g = {"UserDetailList": [], "GroupDetailList": [], "Policies": [],
         "RoleDetailList": [{"RoleName": "app", "RoleId": "AROAAPP", "Arn": f"arn:{P}:iam::{ACCT}:role/app",
                             "RolePolicyList": [{"PolicyName": f"p{i}", "PolicyDocument": d} for i, d in enumerate(docs)],
                             "AttachedManagedPolicies": []}]}
    got = secret_readers(principals_from_gaad(g), secret_arn=SECRET, region="us-gov-west-1", account=ACCT,
                         resource_policy=resource_policy, key=KeyAccess(KEY, key_policy or doc(ROOT)), now=NOW)
    return {a.principal.rsplit("/", 1)[-1]: a for a in got}


def certain(got: dict[str, Any]) -> bool:
    return "app" in got and got["app"].certain


READ = "secretsmanager:GetSecretValue"
DECRYPT = allow("kms:Decrypt", KEY)


# --------------------------------------------------------------------------- aws:ViaAWSService
def test_via_aws_service_is_false_for_the_read_and_true_for_the_decrypt_secrets_manager_makes() -> None:
    direct_only = allow(READ, SECRET, Condition={"Bool": {"aws:ViaAWSService": "false"}})
    decrypt_via_service = allow("kms:Decrypt", KEY, Condition={"Bool": {"aws:ViaAWSService": "true"},
                                                              "StringEquals": {"kms:ViaService": "secretsmanager.us-gov-west-1.amazonaws.com"}})
    assert certain(readers(doc(direct_only, decrypt_via_service)))
    # the common guard "no direct KMS use" does not stop the read through Secrets Manager
    no_direct_kms = deny("kms:Decrypt", Condition={"Bool": {"aws:ViaAWSService": "false"}})
    assert certain(readers(doc(allow(READ, SECRET), DECRYPT, no_direct_kms)))
    # a Deny of reads made through a service does not touch the caller's own GetSecretValue ...
    assert certain(readers(doc(allow(READ, SECRET), DECRYPT, deny(READ, Condition={"Bool": {"aws:ViaAWSService": "true"}}))))
    # ... but one of direct reads does, and one of service-made decrypts too
    assert readers(doc(allow(READ, SECRET), DECRYPT, deny(READ, Condition={"Bool": {"aws:ViaAWSService": "false"}}))) == {}
    assert readers(doc(allow(READ, SECRET), DECRYPT, deny("kms:Decrypt", Condition={"Bool": {"aws:ViaAWSService": "true"}}))) == {}


# --------------------------------------------------------------------------- aws:SecureTransport
def test_secure_transport_is_always_true_at_secrets_manager_and_kms() -> None:
    """Secrets Manager and KMS endpoints accept only HTTPS (AWS General Reference, "AWS Secrets
    Manager endpoints and quotas" / "AWS Key Management Service endpoints and quotas"): every read
    and Decrypt carries ``aws:SecureTransport`` = true, so it is decided, never the caller's choice."""
    tls_only = {"Sid": "TlsOnly", "Effect": "Deny", "Principal": "*", "Action": "secretsmanager:*", "Resource": "*",
                "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
    got = readers(doc(allow(READ, SECRET), DECRYPT), resource_policy=doc(tls_only))
    assert certain(got), got  # the caller uses TLS: a certain reader, not "depends on aws:SecureTransport"
    # an Allow only over plain HTTP never applies: no request reaches the service without TLS
    plain = allow(READ, SECRET, Condition={"Bool": {"aws:SecureTransport": "false"}})
    assert readers(doc(plain, DECRYPT)) == {}
    assert readers(doc(plain, DECRYPT), resource_policy=doc(tls_only)) == {}
    # an Allow only over TLS always applies, on either leg
    tls = allow(READ, SECRET, Condition={"Bool": {"aws:SecureTransport": "true"}})
    tls_decrypt = allow("kms:Decrypt", KEY, Condition={"Bool": {"aws:SecureTransport": "true"}})
    assert certain(readers(doc(tls, tls_decrypt)))
    kp = doc(ROOT, {"Effect": "Deny", "Principal": "*", "Action": "kms:*", "Resource": "*",
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}}})
    assert certain(readers(doc(allow(READ, SECRET), DECRYPT), key_policy=kp))


# --------------------------------------------------------------------------- aws:CurrentTime, aws:RequestedRegion, aws:PrincipalArn
@pytest.mark.parametrize(("condition", "reads"), [
    ({"DateLessThan": {"aws:CurrentTime": "2027-01-01T00:00:00Z"}}, True),
    ({"DateLessThan": {"aws:CurrentTime": "2026-01-01T00:00:00Z"}}, False),
    ({"StringEquals": {"aws:RequestedRegion": "us-gov-west-1"}}, True),
    ({"StringEquals": {"aws:RequestedRegion": "us-east-1"}}, False),
    ({"ArnLike": {"aws:PrincipalArn": f"arn:{P}:iam::{ACCT}:role/ap*"}}, True),
    ({"ArnLike": {"aws:PrincipalArn": f"arn:{P}:iam::{ACCT}:role/other"}}, False),
    ({"Bool": {"aws:PrincipalIsAWSService": "false"}}, True),
])
def test_time_region_and_principal_arn_are_known(condition: dict[str, Any], reads: bool) -> None:
    got = readers(doc(allow(READ, SECRET, Condition=condition), DECRYPT))
    assert (certain(got) if reads else got == {}), got


def test_kms_encryption_context_keys_of_secrets_manager_are_known() -> None:
    kp = doc({"Effect": "Allow", "Principal": {"AWS": f"arn:{P}:iam::{ACCT}:role/app"}, "Action": "kms:Decrypt",
              "Resource": "*", "Condition": {"ForAllValues:StringEquals": {
                  "kms:EncryptionContextKeys": ["SecretARN", "SecretVersionId"]}}})
    assert certain(readers(doc(allow(READ, SECRET)), key_policy=kp))


# --------------------------------------------------------------------------- minters
def minters(*docs: dict[str, Any]) -> list[Any]:
    c = "arn:aws:iam::123456789012"
    g: dict[str, Any] = {"UserDetailList": [
        {"UserName": "admin", "UserId": "AIDAADMIN", "Arn": f"{c}:user/admin",
         "UserPolicyList": [{"PolicyName": f"p{i}", "PolicyDocument": d} for i, d in enumerate(docs)]},
        {"UserName": "key-user", "UserId": "AIDAKEY", "Arn": f"{c}:user/key-user"}]}
    users: list[tuple[str, dict[str, str] | None]] = [(u["Arn"], {}) for u in g["UserDetailList"]]
    return key_minters(principals_from_gaad(g), users=users, audited_user_arn=f"{c}:user/key-user",
                       arn_partition="aws", now=NOW)


def test_minters_see_direct_calls_and_choose_tls() -> None:
    mint = "iam:CreateServiceSpecificCredential"
    got = minters(doc(allow(mint, Condition={"Bool": {"aws:ViaAWSService": "false", "aws:SecureTransport": "true"}})))
    assert [a.certain for a in got] == [True]
    assert minters(doc(allow(mint, Condition={"Bool": {"aws:ViaAWSService": "true"}}))) == []
    got = minters(doc(allow(mint), deny(mint, Condition={"Bool": {"aws:SecureTransport": "false"}})))
    assert [a.certain for a in got] == [True]


# --------------------------------------------------------------------------- the bearer call (iam.policy_grants_required)
USER = IamUser(name="key-user", exists=True, arn="arn:aws:iam::123456789012:user/key-user", account_id="123456789012",
               raw={"UserId": "AIDAEXAMPLEEXAMPLE01", "UserName": "key-user"})
REQUIRED = ["bedrock:CallWithBearerToken", "bedrock:InvokeModel", "bedrock:ListFoundationModels"]


def grants(tmp_path: Path, *docs: dict[str, Any]) -> Any:
    path = tmp_path / "audit.toml"
    path.write_text('[policy]\nrequired_actions = ["bedrock:CallWithBearerToken", "bedrock:InvokeModel", '
                    '"bedrock:ListFoundationModels"]\n')
    up = UserPolicies(USER.name, [PolicyDoc("inline", f"p{i}", None, None, d) for i, d in enumerate(docs)], None, [])
    return iam_verdicts.grants_required(USER, up, load_config(path), NOW, lambda: "us-east-1", "make the secret readable")


def test_the_bearer_call_is_a_direct_call(tmp_path: Path) -> None:
    assert grants(tmp_path, doc(allow(REQUIRED)), doc(deny("*", Condition={"Bool": {"aws:ViaAWSService": "true"}}))).passed
    v = grants(tmp_path, doc(allow(REQUIRED)), doc(deny("bedrock:*", Condition={"Bool": {"aws:ViaAWSService": "false"}})))
    assert not v.passed and "denied by inline policy p1" in v.message
    assert grants(tmp_path, doc(allow(REQUIRED, Condition={"Bool": {"aws:PrincipalIsAWSService": "false"}}))).passed


def test_a_derived_key_cannot_be_set_in_the_config(tmp_path: Path) -> None:
    path = tmp_path / "audit.toml"
    path.write_text('[policy.context]\n"aws:ViaAWSService" = "true"\n')
    with pytest.raises(ConfigError, match="derived by the audit"):
        load_config(path)


def test_called_via_is_absent_from_a_direct_call(tmp_path: Path) -> None:
    """"aws:CalledVia ... is present in the request when a service that supports aws:CalledVia uses
    the credentials of an IAM principal to make a request to another service"."""
    only_via_cfn = doc(deny("*", Condition={"ForAnyValue:StringEquals": {"aws:CalledVia": "cloudformation.amazonaws.com"}}))
    assert grants(tmp_path, doc(allow(REQUIRED)), only_via_cfn).passed
    assert certain(readers(doc(allow(READ, SECRET), DECRYPT, deny(READ, Condition={"Null": {"aws:CalledVia": "false"}}))))
    # a key no request is documented to carry or lack stays undecided
    with pytest.raises(CouldNotDecide, match="aws:SourceVpc"):
        grants(tmp_path, doc(allow(REQUIRED)), doc(deny("*", Condition={"StringNotEquals": {"aws:SourceVpc": "vpc-1"}})))


def test_least_privilege_counts_an_allow_that_asks_for_tls_as_a_plain_grant(tmp_path: Path) -> None:
    path = tmp_path / "audit.toml"
    path.write_text('[policy]\nrequired_actions = ["bedrock:CallWithBearerToken", "bedrock:InvokeModel", '
                    '"bedrock:ListFoundationModels"]\n')
    tls = {"Bool": {"aws:SecureTransport": "true"}}
    up = UserPolicies(USER.name, [PolicyDoc("inline", "p0", None, None, doc(allow(REQUIRED), allow("s3:GetObject", Condition=tls)))],
                      None, [])
    v = iam_verdicts.least_privilege(USER, up, load_config(path))
    row = v.evidence["effective-permissions"]["extra_actions"][0]
    assert not v.passed and row["action"] == "s3:GetObject" and not row["conditional"] and row["undecided_keys"] == []
    # a Deny on the caller's pick still only "may" remove it (some request escapes it)
    up = UserPolicies(USER.name, [PolicyDoc("inline", "p0", None, None, doc(
        allow(REQUIRED), allow("s3:GetObject"), deny("s3:GetObject", Condition={"Bool": {"aws:SecureTransport": "false"}})))],
        None, [])
    v = iam_verdicts.least_privilege(USER, up, load_config(path))
    assert not v.passed and "s3:GetObject" in v.message


def test_a_none_value_in_a_context_means_absent() -> None:
    from bedrock_key_audit.policy import RequestContext

    ctx = RequestContext({"aws:CalledVia": None, "aws:ViaAWSService": "false"})
    assert ctx.lookup("aws:calledvia") == ("absent", ())
    # the outside principals' read context (access._external_readers) is built from the same base
    rp = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", "Action": READ,
                                                  "Resource": "*", "Condition": {"Null": {"aws:CalledVia": "true"}}}]}
    kp = doc(ROOT, {"Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*"})
    got = readers(doc(), key_policy=kp, resource_policy=rp)
    assert "*" in got and got["*"].certain, got
