"""The organization's guardrails for Bedrock API keys, per partition: service control policies
that cap a key's lifetime and confine long-term keys to the sanctioned users.

The SCPs and RCPs are read once per partition (bedrock_key_audit/inventory/org.py) or taken from
``--org-policies``; the verdicts live in :mod:`bedrock_key_audit.verdicts.org`.
"""
from __future__ import annotations

import pytest

from bedrock_key_audit import registry
from bedrock_key_audit.checkcore import CouldNotDecide
from bedrock_key_audit.fixtures.checkgen import check_tests
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


globals().update(check_tests(verdicts))
