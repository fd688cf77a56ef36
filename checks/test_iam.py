"""IAM: the key's user exists, holds no other credentials, and has exactly the permissions it needs.

The verdicts live in :mod:`bedrock_key_audit.verdicts.iam` (one function per check id).
"""
from __future__ import annotations

import pytest

from bedrock_key_audit.fixtures.inventory import fleet_mode
from bedrock_key_audit.verdicts import iam as verdicts


@pytest.mark.check("iam.user_exists")
def test_user_exists(check, iam_user):
    verdicts.user_exists(check, iam_user)


@pytest.mark.check("iam.user_no_other_credentials")
def test_user_no_other_credentials(check, existing_user, other_credentials):
    verdicts.user_no_other_credentials(check, existing_user, other_credentials)


@pytest.mark.check("iam.policy_least_privilege")
def test_policy_least_privilege(check, existing_user, user_policies, audit_config, inventory):
    verdicts.policy_least_privilege(check, existing_user, user_policies, audit_config, inventory)


@pytest.mark.check("iam.policy_grants_required")
def test_policy_grants_required(check, existing_user, user_policies, audit_config, inventory, pytestconfig, now):
    verdicts.policy_grants_required(check, existing_user, user_policies, audit_config, inventory, fleet_mode(pytestconfig),
                               now)
