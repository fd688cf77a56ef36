"""Secrets Manager's "Access to KMS is not allowed" names no cause: when the audit has the key policy, a Deny of it
that applies to the caller is named (AWS KMS Developer Guide, "Key policies in AWS KMS": never denied)."""
from __future__ import annotations

import datetime as dt
import json
from types import SimpleNamespace
from typing import Any

import pytest

from bedrock_key_audit.access import Principal
from bedrock_key_audit.checkcore import CouldNotDecide
from bedrock_key_audit.inventory.models import Secret
from bedrock_key_audit.verdicts import secret as verdicts

ACCT = "210987654321"
REGION = "us-gov-west-1"
ME = f"arn:aws-us-gov:iam::{ACCT}:user/bka-auditor"
KEY = f"arn:aws-us-gov:kms:{REGION}:{ACCT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
SECRET = f"arn:aws-us-gov:secretsmanager:{REGION}:{ACCT}:secret:cross-partition-commercial-creds-AbCdEf"
NOW = dt.datetime(2026, 12, 1, tzinfo=dt.timezone.utc)
DELEGATE = {"Sid": "EnableIamPolicies", "Effect": "Allow", "Principal": {"AWS": f"arn:aws-us-gov:iam::{ACCT}:root"},
            "Action": "kms:*", "Resource": "*"}
REFUSED = ("kms:Decrypt on the secret's KMS key was denied to the auditor in govcloud: Secrets Manager answered "
           "secretsmanager:GetSecretValue with \"Access to KMS is not allowed\"")


def _inventory(statements: list[dict[str, Any]], monkeypatch) -> Any:
    """An inventory handing the verdict its data: the caller, the key's metadata and its policy."""
    me = Principal(ME, "user", "bka-auditor", ACCT, "AIDAEXAMPLE", ())
    return SimpleNamespace(kms_key=lambda part, key_id: {"Arn": KEY, "KeyManager": "CUSTOMER"},
                           account_authorization=lambda part: SimpleNamespace(caller_principal=lambda: me),
                           key_policy=lambda arn: json.dumps({"Version": "2012-10-17", "Statement": statements}))


def _secret() -> Secret:
    return Secret(secret_id="cross-partition-commercial-creds", exists=True, arn=SECRET, kms_key_id=KEY,
                  value_error=REFUSED)


def _detail(statements, monkeypatch) -> str:
    check = SimpleNamespace(resource=None)
    with pytest.raises(CouldNotDecide) as exc:
        verdicts.schema(check, _secret(), _inventory(statements, monkeypatch), NOW)  # type: ignore[arg-type]
    return str(exc.value)


def test_a_key_policy_deny_of_the_caller_is_named(monkeypatch) -> None:
    deny = {"Sid": "NoAuditorDecrypt", "Effect": "Deny", "Principal": {"AWS": ME}, "Action": "kms:Decrypt",
            "Resource": "*"}
    detail = _detail([DELEGATE, deny], monkeypatch)
    assert f"the key policy of {KEY} denies kms:Decrypt to {ME} explicitly" in detail and "NoAuditorDecrypt" in detail
    assert "prints" not in detail, detail


def test_a_deny_of_someone_else_or_outside_secrets_manager_is_not_named(monkeypatch) -> None:
    other = {"Sid": "NoOtherDecrypt", "Effect": "Deny", "Principal": {"AWS": f"arn:aws-us-gov:iam::{ACCT}:user/x"},
             "Action": "kms:Decrypt", "Resource": "*"}
    direct = {"Sid": "OnlyViaSecretsManager", "Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "kms:Decrypt",
              "Resource": "*", "Condition": {"StringNotEquals": {
                  "kms:ViaService": f"secretsmanager.{REGION}.amazonaws.com"}}}
    detail = _detail([DELEGATE, other, direct], monkeypatch)
    # no Deny applies: the refusal's own sentence (key policy, grant or IAM) stands
    assert detail == f"cannot read secret cross-partition-commercial-creds: {REFUSED}", detail


def test_a_deny_that_depends_on_an_unknown_key_says_so(monkeypatch) -> None:
    maybe = {"Sid": "NoUntagged", "Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "kms:Decrypt",
             "Resource": "*", "Condition": {"StringEquals": {"aws:SourceVpc": "vpc-1"}}}
    detail = _detail([DELEGATE, maybe], monkeypatch)
    assert f"may deny kms:Decrypt to {ME}" in detail and "NoUntagged" in detail, detail
