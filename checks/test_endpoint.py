"""Bedrock endpoints answer the key from the secret (httpx, ``Authorization: Bearer``).

The verdicts live in :mod:`bedrock_key_audit.verdicts.endpoint` (one function per check id).
"""
from __future__ import annotations

import pytest

from bedrock_key_audit.verdicts import endpoint as verdicts



@pytest.mark.check("endpoint.list_models")
def test_endpoint_list_models(check, inventory, audit_config, key_owner):
    verdicts.list_models(check, inventory, audit_config, key_owner)


@pytest.mark.check("endpoint.invoke")
def test_endpoint_invoke(check, inventory, audit_config, key_owner):
    verdicts.invoke(check, inventory, audit_config, key_owner)


@pytest.mark.check("endpoint.unused_surfaces_closed")
def test_endpoint_unused_surfaces_closed(check, inventory, audit_config, key_owner):
    verdicts.unused_surfaces_closed(check, inventory, audit_config, key_owner)
