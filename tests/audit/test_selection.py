"""Selecting part of the audit: by family (-m), by check id or by control (-k)."""
from __future__ import annotations

import pytest

from bedrock_key_audit import registry

from tests.audit.helpers import run_audit


@pytest.mark.parametrize("args, rows", [
    (("-m", "credential"), set(registry.ids_of("credential"))),
    (("-k", "iam.user_exists"), {"iam.user_exists"}),
    (("-k", "AC-6"), {"iam.policy_least_privilege", "iam.policy_grants_required", "secret.readers_restricted",
                      "iam.key_minting_restricted", "endpoint.unused_surfaces_closed",
                      # the organization's guardrails limit who may hold and use a long-term key
                      *(f"org.{c}[{p}]" for c in ("key_lifetime_capped", "long_term_keys_confined")
                        for p in ("commercial", "govcloud"))}),
    (("-k", "CIS-3.2"), {"cloudtrail.log_file_validation[commercial]", "cloudtrail.log_file_validation[govcloud]"}),
    (("-m", "secret and not endpoint", "-k", "SC-28"), {"secret.encrypted_with_cmk"}),
])
def test_selection(pytester, args, rows):
    got = run_audit(pytester, "guide", *args)
    assert {r for r in got if not r.startswith("__")} == rows
