"""The GovCloud Secrets Manager secret holding the key: exists, well-formed, current, CMK-encrypted.

The verdicts live in :mod:`bedrock_key_audit.verdicts.secret` (one function per check id).
"""
from __future__ import annotations

import pytest

from bedrock_key_audit.verdicts import secret as verdicts


@pytest.mark.check("secret.exists")
def test_secret_exists(check, secret):
    verdicts.exists(check, secret)


@pytest.mark.check("secret.schema")
def test_secret_schema(check, secret, inventory, now):
    verdicts.schema(check, secret, inventory, now)


@pytest.mark.check("secret.key_matches_credential")
def test_secret_key_matches_credential(check, secret, existing_user, bedrock_credentials, now, inventory):
    verdicts.key_matches_credential(check, secret, existing_user, bedrock_credentials, now, inventory)


@pytest.mark.check("secret.encrypted_with_cmk")
def test_secret_encrypted_with_cmk(check, secret, inventory):
    verdicts.encrypted_with_cmk(check, secret, inventory)
