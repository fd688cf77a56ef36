"""The verdicts of the org.* checks (called by the marked checks in checks/test_org.py).

Both judge the SCPs that apply to the partition's audited account
(:mod:`bedrock_key_audit.org_policies`, which cites AWS's pages): ``key_lifetime_capped`` --
an SCP denies creating a Bedrock API key that lives longer than ``credential.max_key_age_days``
(or never expires); ``long_term_keys_confined`` -- an SCP denies creating Bedrock API keys and
``LONG_TERM`` bearer calls to every principal but ``credential.allowed_key_users`` (creation also to
``credential.allowed_minters``, the principals that rotate the key).  An account in
no organization, or the management account (SCPs do not affect it), fails: nothing at the
organization level caps the key.  SCPs that were not read end ``error`` with what to grant.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from bedrock_key_audit.checkcore import CouldNotDecide
from bedrock_key_audit.checkcore import verdict
from bedrock_key_audit.org_policies import Judgment, probe_principal
from bedrock_key_audit.org_policies import key_lifetime_capped as _lifetime
from bedrock_key_audit.org_policies import long_term_keys_confined as _confined

if TYPE_CHECKING:
    from bedrock_key_audit.checkcore import Check
    from bedrock_key_audit.org_policies import OrgPolicies

# what the org rows read: each partition's organization policies, or why they could not be read
OrgByPartition = dict[str, "OrgPolicies | CouldNotDecide"]
ARN_PARTITION = {"commercial": "aws", "govcloud": "aws-us-gov"}


def _org(check: Check, org_by_partition: OrgByPartition, partition: str) -> OrgPolicies:
    got = org_by_partition[partition]
    if isinstance(got, Exception):
        raise got
    check.evidence("organizations:DescribeOrganization+ListParents+ListPoliciesForTarget+DescribePolicy", got.evidence())
    check.resource = f"account {got.account_id} ({partition})"
    return got


def _record(check: Check, judged: Judgment) -> None:
    if judged.status == "error":
        raise CouldNotDecide(judged.detail)
    if judged.status == "fail":
        check.fail(judged.detail)
    check.passed(judged.detail)


def sanctioned(allowed_key_users: list[str], partition: str) -> list[str]:
    """The allowed key users whose ARN is in ``partition``."""
    prefix = f"arn:{ARN_PARTITION[partition]}:"
    return [a for a in allowed_key_users if a.startswith(prefix)]


@verdict("org.key_lifetime_capped", max_days=lambda audit_config: audit_config.max_key_age_days,
         allowed_key_users=lambda key_users: key_users)
def key_lifetime_capped(check: Check, org_by_partition: OrgByPartition, partition: str, max_days: int,
                        allowed_key_users: list[str]) -> None:
    org = _org(check, org_by_partition, partition)
    outsider = probe_principal(org.account_id, ARN_PARTITION[partition])
    _record(check, _lifetime(org, max_days, [outsider, *sanctioned(allowed_key_users, partition)]))


@verdict("org.long_term_keys_confined", allowed_key_users=lambda key_users: key_users,
         allowed_minters=lambda audit_config: audit_config.allowed_minters)
def long_term_keys_confined(check: Check, org_by_partition: OrgByPartition, partition: str,
                            allowed_key_users: list[str], allowed_minters: list[str] | None = None) -> None:
    """Key use confined to ``allowed_key_users``; key creation to them and ``allowed_minters`` (the
    principals that rotate the key: creation denied to them too would make rotation impossible)."""
    org = _org(check, org_by_partition, partition)
    outsider = probe_principal(org.account_id, ARN_PARTITION[partition])
    _record(check, _confined(org, sanctioned(allowed_key_users, partition), outsider,
                             sanctioned(allowed_minters or [], partition)))

