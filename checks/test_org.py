"""The organization's guardrails for Bedrock API keys, per partition: service control policies
that cap a key's lifetime and confine long-term keys to the sanctioned users.

The SCPs and RCPs are read once per partition (bedrock_key_audit/inventory/org.py) or taken from
``--org-policies``; the verdicts live in :mod:`bedrock_key_audit.verdicts.org`.
"""
from __future__ import annotations

import pytest

from bedrock_key_audit import registry
from bedrock_key_audit.checkcore import CouldNotDecide
from bedrock_key_audit.verdicts import org as verdicts


@pytest.fixture(scope="session")
def org_by_partition(inventory):
    """``{partition: OrgPolicies | CouldNotDecide}`` -- read once per partition."""
    out = {}
    for p in registry.PARTITIONS:
        try:
            out[p] = inventory.org_policies(p)
        except CouldNotDecide as exc:
            out[p] = exc
    return out


@pytest.fixture(scope="session")
def key_users(inventory, audit_config):
    """``credential.allowed_key_users``; unset, the configured key user of the commercial account."""
    if audit_config.allowed_key_users is not None:
        return audit_config.allowed_key_users
    try:
        # IAM's own ARN of the user (its spelling, its path): aws:PrincipalArn is compared case-sensitively
        user = inventory.user(audit_config.user_name)
        if user.exists and user.arn:
            return [user.arn]
    except CouldNotDecide:
        pass
    try:
        account = inventory.identity("commercial").get("Account")
    except CouldNotDecide:
        return []
    return [f"arn:aws:iam::{account}:user/{audit_config.user_name}"] if account else []


@pytest.mark.check("org.key_lifetime_capped")
@pytest.mark.parametrize("partition", registry.params("org.key_lifetime_capped")["partition"])
def test_org_key_lifetime_capped(check, org_by_partition, partition, audit_config, key_users):
    verdicts.key_lifetime_capped(check, org_by_partition, partition, audit_config.max_key_age_days, key_users)


@pytest.mark.check("org.long_term_keys_confined")
@pytest.mark.parametrize("partition", registry.params("org.long_term_keys_confined")["partition"])
def test_org_long_term_keys_confined(check, org_by_partition, partition, audit_config, key_users):
    verdicts.long_term_keys_confined(check, org_by_partition, partition, key_users, audit_config.allowed_minters)
