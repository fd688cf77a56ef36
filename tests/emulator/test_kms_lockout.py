"""The emulator's CreateKey key policy lockout safety check (kms_extras.py), as KMS documents it:
unless ``BypassPolicyLockoutSafetyCheck`` is true, "the key policy must allow the principal that is
making the request to make a subsequent PutKeyPolicy request on the KMS key" (KMS API Reference,
"CreateKey", https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateKey.html; "Default key
policy", https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html).  A
statement naming the account delegates to IAM, so then the caller's IAM policy must allow
``kms:PutKeyPolicy``.  The remediator's CreateKey passes it without that grant: its key policy names the
creating principal (bedrock_key_audit/remediation/fixers/kms.py ``kms_key_policy``), so the generated remediator
policy holds no ``kms:PutKeyPolicy``.
"""
from __future__ import annotations

import json
from typing import Any

import botocore.exceptions
import pytest

from tests.emulator.test_kms_grants import ACCT, ROOT_ONLY, principal

CREATE_ONLY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "kms:CreateKey", "Resource": "*"}]}
PUT_POLICY = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "kms:PutKeyPolicy", "Resource": f"arn:aws-us-gov:kms:*:{ACCT}:key/*"}]}


def _keys(emu: Any) -> set[str]:
    return {k["KeyId"] for k in emu.client("kms", "govcloud").list_keys()["Keys"]}


def test_a_root_delegating_key_policy_needs_put_key_policy_in_iam(emu: Any) -> None:
    _, kms = principal(emu, "creator", CREATE_ONLY)
    before = _keys(emu)
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        kms.create_key(Policy=json.dumps(ROOT_ONLY))
    assert exc.value.response["Error"]["Code"] == "MalformedPolicyDocumentException"
    assert "will not allow you to update the key policy in the future" in exc.value.response["Error"]["Message"]
    assert _keys(emu) == before  # refused: no key was made
    # the default key policy (no Policy) delegates to the account too
    with pytest.raises(botocore.exceptions.ClientError):
        kms.create_key()
    _, allowed = principal(emu, "creator-with-put", CREATE_ONLY, PUT_POLICY)
    assert allowed.create_key(Policy=json.dumps(ROOT_ONLY))["KeyMetadata"]["KeyId"] not in before


def test_a_key_policy_naming_the_caller_or_the_bypass_flag_passes(emu: Any) -> None:
    arn, kms = principal(emu, "named-admin", CREATE_ONLY)
    names_caller = {"Version": "2012-10-17", "Statement": [
        *ROOT_ONLY["Statement"],
        {"Sid": "Admin", "Effect": "Allow", "Principal": {"AWS": arn}, "Action": "kms:PutKeyPolicy", "Resource": "*"}]}
    assert kms.create_key(Policy=json.dumps(names_caller))["KeyMetadata"]["KeyId"]
    assert kms.create_key(Policy=json.dumps(ROOT_ONLY), BypassPolicyLockoutSafetyCheck=True)["KeyMetadata"]["KeyId"]


def test_an_iam_deny_of_put_key_policy_refuses_even_a_naming_key_policy(emu: Any) -> None:
    deny = {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "kms:PutKeyPolicy", "Resource": "*"}]}
    arn, kms = principal(emu, "denied-admin", CREATE_ONLY, deny)
    names_caller = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": arn}, "Action": "kms:*", "Resource": "*"}]}
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        kms.create_key(Policy=json.dumps(names_caller))
    assert exc.value.response["Error"]["Code"] == "MalformedPolicyDocumentException"
