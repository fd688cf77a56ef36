"""Selecting part of the audit: by family (-m), by check id or by control (-k)."""
from __future__ import annotations

import re

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


def _calls(rows) -> set[str]:
    from bedrock_key_audit.fixtures.aws import CALL_LOG_KEY

    config = rows["__reprec__"].getcalls("pytest_sessionfinish")[0].session.config
    return {f"{c['service']}:{c['operation']}" for c in config.stash[CALL_LOG_KEY].as_dicts() if c["kind"] == "aws"}


def test_a_selection_reads_only_what_its_checks_need(pytester):
    """The read planner starts only the chains the selected checks need (their fixtures and declared reads): the
    credential rows read no organization policy, key policy, account authorization details or key history, which a
    whole run reads; the rows are those of a whole run."""
    whole = run_audit(pytester, "compliant")
    part = run_audit(pytester, "compliant", "-m", "credential and not endpoint", "-k", "not recently_used")
    rows = {r for r in part if not r.startswith("__")}
    assert rows and all(r.startswith("credential.") for r in rows)
    same = [(r, part[r]["status"], re.sub(r"ACCA\w+", "ACCA…", part[r]["detail"])) for r in sorted(rows)]
    assert same == [(r, whole[r]["status"], re.sub(r"ACCA\w+", "ACCA…", whole[r]["detail"])) for r in sorted(rows)]
    skipped = {"organizations:ListPoliciesForTarget", "kms:GetKeyPolicy", "iam:GetAccountAuthorizationDetails",
               "cloudtrail:LookupEvents", "bedrock:GetModelInvocationLoggingConfiguration"}
    assert skipped <= _calls(whole)
    assert not skipped & _calls(part), sorted(skipped & _calls(part))
