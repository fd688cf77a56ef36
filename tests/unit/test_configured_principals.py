"""Configured readers are matched to IAM's ARNs (with their paths) by one rule, in the check and the fixers."""
from __future__ import annotations

from bedrock_key_audit.access import Principal
from bedrock_key_audit.configured_principals import real_arn, resolve_against
from bedrock_key_audit.inventory.models import AccountAuthorization
from bedrock_key_audit.remediation import principals
from bedrock_key_audit.verdicts.access import _allowed

ACCT = "210987654321"
ROLE = f"arn:aws-us-gov:iam::{ACCT}:role/apps/bedrock-workload"
USER = f"arn:aws-us-gov:iam::{ACCT}:user/ops/ops-analyst"


def _auth() -> AccountAuthorization:
    ps = [Principal(ROLE, "role", "bedrock-workload", ACCT, "AROA1", ()),
          Principal(USER, "user", "ops-analyst", ACCT, "AIDA1", ())]
    return AccountAuthorization("govcloud", ps, [(USER, {})], {}, {})


def test_a_configured_principal_without_its_path_is_iams_arn_with_it() -> None:
    known = [ROLE, USER]
    assert real_arn(f"arn:aws-us-gov:iam::{ACCT}:role/bedrock-workload", known) == ROLE
    assert real_arn(f"arn:aws-us-gov:iam::{ACCT}:user/OPS-ANALYST", known) == USER
    assert real_arn(f"arn:aws-us-gov:iam::{ACCT}:user/bedrock-workload", known) is None  # a role, not a user
    assert real_arn(f"arn:aws:iam::{ACCT}:role/bedrock-workload", known) is None  # another partition
    out, missing = resolve_against([f"arn:aws-us-gov:iam::{ACCT}:role/gone", f"arn:aws-us-gov:iam::{ACCT}:root",
                                    "arn:aws-us-gov:iam::111122223333:role/x"], known, ACCT)
    assert missing == [f"arn:aws-us-gov:iam::{ACCT}:role/gone"] and len(out) == 3


def test_the_check_allows_path_less_configured_readers_and_names_an_unresolvable_one() -> None:
    allowed = _allowed([f"arn:aws-us-gov:iam::{ACCT}:role/bedrock-workload",
                        f"arn:aws-us-gov:iam::{ACCT}:user/ops-analyst",
                        f"arn:aws-us-gov:iam::{ACCT}:role/not-there"], _auth())
    assert allowed[ROLE] == "configured" and allowed[USER] == "configured"
    assert "no user or role" in allowed[f"arn:aws-us-gov:iam::{ACCT}:role/not-there"]


def test_the_fixers_use_the_same_matching_rule() -> None:
    from bedrock_key_audit import configured_principals

    assert principals._ARN is configured_principals.ARN
