"""The generated policies per partition, on the documents alone (no run): what GovCloud never calls is left
out, the key user is matched under any IAM path and no other user, and the remediator's additions (iam:GetRole
in GovCloud, no kms:PutKeyPolicy: the new key's policy names its creator) are where the code needs them.  The enforced runs that
prove the narrowed documents suffice are in tests/remediation/test_policies_enforced.py."""
from __future__ import annotations

from typing import Any

import pytest

from bedrock_key_audit import policies
from bedrock_key_audit.emulator import iam_eval
from bedrock_key_audit.emulator.partitions import ACCOUNTS


def _actions(doc: dict[str, Any]) -> list[str]:
    return [a for st in doc["Statement"] if st["Effect"] == "Allow" for a in policies._as_list(st["Action"])]


def _allows(doc: dict[str, Any], action: str, arn: str) -> bool:
    return iam_eval.evaluate([doc], action, arn, {}) == iam_eval.ALLOW


@pytest.mark.parametrize("role", policies.ROLES)
def test_govcloud_documents_leave_out_what_only_commercial_calls(role: str) -> None:
    gov = set(_actions(policies.generate(role, partition="govcloud")))
    com = set(_actions(policies.generate(role, partition="commercial")))
    assert not gov & policies.COMMERCIAL_ONLY[role]
    assert policies.COMMERCIAL_ONLY[role] <= com  # each one is still granted where it is called
    # called in GovCloud too (the secret's readers, their AWS managed policies, trail buckets)
    assert {"iam:GetLoginProfile", "iam:ListAccessKeys", "iam:GetPolicy", "iam:GetPolicyVersion",
            "iam:GetAccountAuthorizationDetails", "secretsmanager:DescribeSecret", "s3:ListAllMyBuckets"} <= gov


def test_the_remediators_commercial_only_reads_are_among_what_the_reads_declare_commercial_only() -> None:
    """The remediator runs the audit's reads too: of the auditor's actions, it leaves out of a GovCloud document
    only those the audit calls in the commercial partition only -- and the least-privilege policy's name checks and
    the invocation-log bucket's encryption, which the remediation calls in the commercial partition only."""
    auditor = {a for st in policies.generate("auditor")["Statement"] for a in policies._as_list(st["Action"])}
    assert policies.COMMERCIAL_ONLY["remediator"] & auditor <= policies.COMMERCIAL_ONLY["auditor"]
    assert {"iam:ListPolicies", "iam:ListEntitiesForPolicy", "s3:PutEncryptionConfiguration",
            "bedrock:PutModelInvocationLoggingConfiguration"} <= policies.COMMERCIAL_ONLY["remediator"]


def test_govcloud_auditor_has_no_bedrock_or_key_use_reads_and_remediator_no_logging_write() -> None:
    aud = set(_actions(policies.generate("auditor", partition="govcloud")))
    rem = set(_actions(policies.generate("remediator", partition="govcloud")))
    assert not {"cloudtrail:LookupEvents", "ec2:DescribeRegions", "iam:GetCredentialReport", "iam:ListUsers",
                "bedrock:GetModelInvocationLoggingConfiguration"} & aud
    assert "bedrock:PutModelInvocationLoggingConfiguration" not in rem
    assert "iam:GetUser" in rem  # a user among secret.allowed_readers is resolved with it


@pytest.mark.parametrize("role", policies.ROLES)
def test_each_action_is_granted_once_per_document(role: str) -> None:
    for part in (None, "commercial", "govcloud"):
        doc = policies.generate(role, partition=part)
        allowed = [a for st in doc["Statement"] if st["Effect"] == "Allow" and "Condition" not in st
                   for a in policies._as_list(st["Action"])]
        assert "iam:GetAccountAuthorizationDetails" in allowed and allowed.count("iam:GetAccountAuthorizationDetails") == 1


def test_the_remediator_matches_the_key_user_under_any_path_and_no_other_user() -> None:
    acct = ACCOUNTS["commercial"]
    doc = policies.generate("remediator", user="svc-key", partition="commercial",
                            accounts={"commercial": acct})
    for arn in (f"arn:aws:iam::{acct}:user/svc-key", f"arn:aws:iam::{acct}:user/svc/svc-key",
                f"arn:aws:iam::{acct}:user/a/b/svc-key"):
        assert _allows(doc, "iam:DeleteLoginProfile", arn), arn
    for arn in (f"arn:aws:iam::{acct}:user/other", f"arn:aws:iam::{acct}:user/svc/other-svc-key",
                f"arn:aws:iam::{acct}:user/svc-key-2", f"arn:aws:iam::{acct}:user/svc/svc-key/x",
                "arn:aws:iam::999988887777:user/svc/svc-key"):
        assert not _allows(doc, "iam:DeleteLoginProfile", arn), arn
    attach = next(st for st in doc["Statement"] if st["Sid"] == "AttachOnlyTheLeastPrivilegePolicyToTheKeyUser")
    assert attach["Resource"] == [f"arn:aws:iam::{acct}:user/svc-key", f"arn:aws:iam::{acct}:user/*/svc-key"]


def test_the_remediator_resolves_roles_in_govcloud_and_may_set_its_new_keys_policy() -> None:
    gov, acct = policies.generate("remediator", partition="govcloud", accounts={"govcloud": ACCOUNTS["govcloud"]}), \
        ACCOUNTS["govcloud"]
    assert _allows(gov, "iam:GetRole", f"arn:aws-us-gov:iam::{acct}:role/svc/bedrock-workload")
    key = f"arn:aws-us-gov:kms:us-gov-east-1:{acct}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    # no key policy of the account is the remediator's to rewrite: the key it creates names it in its own policy
    assert not _allows(gov, "kms:PutKeyPolicy", key)
    assert not _allows(policies.generate("auditor", partition="govcloud"), "kms:PutKeyPolicy", key)


def test_the_remediators_key_set_up_and_trail_writes_name_the_account() -> None:
    acct = ACCOUNTS["commercial"]
    doc = policies.generate("remediator", partition="commercial", accounts={"commercial": acct})
    own_trail, other_trail = (f"arn:aws:cloudtrail:us-east-1:{a}:trail/bedrock-audit-trail" for a in (acct, "999988887777"))
    for action in ("cloudtrail:UpdateTrail", "cloudtrail:StartLogging", "cloudtrail:PutEventSelectors"):
        assert _allows(doc, action, own_trail) and not _allows(doc, action, other_trail), action
    assert _allows(doc, "cloudtrail:GetTrailStatus", other_trail)  # reads still follow an organization trail
    key = f"arn:aws:kms:us-east-1:{acct}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    for action in ("kms:TagResource", "kms:EnableKeyRotation", "kms:CreateAlias"):
        assert _allows(doc, action, key) and not _allows(doc, action, key.replace(acct, "999988887777")), action
    assert _allows(doc, "kms:CreateAlias", f"arn:aws:kms:us-east-1:{acct}:alias/bedrock-key-audit")
    assert not _allows(doc, "kms:CreateAlias", f"arn:aws:kms:us-east-1:{acct}:alias/someone-elses")
    assert _allows(doc, "kms:CreateKey", "*")  # no resource type


def test_the_remediator_grants_every_read_the_audit_declares() -> None:
    """The remediator runs the audit first, so its (hand-kept) policy grants every action the reads declare
    (bedrock_key_audit/permissions.py): a new read fails here until the remediator template names it.  Left
    out: the credential report of fleet mode's bulk reads (``ReadIamAccountWideInFleetMode``), which the
    remediator policy does not grant; fleet mode falls back to per-user reads without it (inventory/bulk.py)."""
    from bedrock_key_audit import permissions

    declared = {a for r in permissions.declared() if r.on in permissions.SCOPES
                and r.on is not permissions.CREDENTIAL_REPORT for a in r.needs}
    assert declared - set(_actions(policies.generate("remediator"))) == set()
