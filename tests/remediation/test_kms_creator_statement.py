"""The key policy the remediator writes names its creator (IAM's ARN) for kms:PutKeyPolicy: a role session as its
role, with the role's path (KMS Developer Guide, "Key policies in AWS KMS"; CreateKey's lockout safety check)."""
from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from bedrock_key_audit.access import Principal, principal_of_caller
from bedrock_key_audit.remediation.fixers import kms

ACCT = "210987654321"
ROLE = f"arn:aws-us-gov:iam::{ACCT}:role/ops/bka-remediator"


def _ctx(monkeypatch, caller_arn: str) -> Any:
    from bedrock_key_audit.inventory import access as inv_access

    role = Principal(ROLE, "role", "bka-remediator", ACCT, "AROAEXAMPLE", ())
    monkeypatch.setattr(inv_access, "account_authorization", lambda inv, part: SimpleNamespace(
        caller_principal=lambda: principal_of_caller(caller_arn, [role])))
    return SimpleNamespace(inv=None, identity=lambda part: {"Arn": caller_arn})


def test_a_role_session_is_named_as_its_role_with_its_path(monkeypatch) -> None:
    ctx = _ctx(monkeypatch, f"arn:aws-us-gov:sts::{ACCT}:assumed-role/bka-remediator/run-1")
    assert kms._creator_statements(ctx, "govcloud") == [{
        "Sid": kms.CREATOR_SID, "Effect": "Allow", "Principal": {"AWS": ROLE}, "Action": "kms:PutKeyPolicy",
        "Resource": "*"}]


def test_the_account_root_needs_no_statement_of_its_own(monkeypatch) -> None:
    # the delegation statement already gives the account kms:*
    assert kms._creator_statements(_ctx(monkeypatch, f"arn:aws-us-gov:iam::{ACCT}:root"), "govcloud") == []
