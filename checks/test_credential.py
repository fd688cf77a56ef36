"""The Bedrock service-specific credential (the API key): active, unexpired, bounded, single.

The verdicts live in :mod:`bedrock_key_audit.verdicts.credential` (one function per check id).
"""
from __future__ import annotations

import pytest

from bedrock_key_audit.verdicts import credential as verdicts



@pytest.mark.check("credential.active")
def test_credential_active(check, existing_user, bedrock_credentials, now):
    verdicts.active(check, existing_user, bedrock_credentials, now)


@pytest.mark.check("credential.unexpired")
def test_credential_unexpired(check, existing_user, bedrock_credentials, now, audit_config):
    verdicts.unexpired(check, existing_user, bedrock_credentials, now, audit_config)


@pytest.mark.check("credential.bounded_lifetime")
def test_credential_bounded_lifetime(check, existing_user, bedrock_credentials, now, audit_config):
    verdicts.bounded_lifetime(check, existing_user, bedrock_credentials, now, audit_config)


@pytest.mark.check("credential.single_active")
def test_credential_single_active(check, existing_user, bedrock_credentials, now, inventory):
    verdicts.single_active(check, existing_user, bedrock_credentials, now, inventory)


@pytest.mark.check("credential.recently_used")
def test_credential_recently_used(check, existing_user, bedrock_credentials, usage_history, now, audit_config):
    verdicts.recently_used(check, existing_user, bedrock_credentials, usage_history, now, audit_config)
