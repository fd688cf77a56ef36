"""A read the auditor may not make ends the checks that need it in ``error`` — never ``pass`` —
naming the missing permission; every other check still runs and passes.

Faults are injected at the emulator's door (fixtures/emulator/aws_faults.py): AWS's own
error, in the service's own protocol, so botocore parses (and retries) it as a real one.
"""
from __future__ import annotations

import pytest

from bedrock_key_audit.emulator import aws_faults
from tests.audit.helpers import ALL_ROWS, run_audit, statuses

IAM_POLICY = ("iam.policy_least_privilege", "iam.policy_grants_required")
# a refused probe proves an unused surface closed only with the key user's policies read (every Region)
CLOSURE = ("endpoint.unused_surfaces_closed",)
CREDENTIAL = ("credential.active", "credential.unexpired", "credential.bounded_lifetime", "credential.single_active",
              "credential.recently_used")
ENDPOINT = ("endpoint.list_models", "endpoint.invoke", "endpoint.unused_surfaces_closed")
CT = ("logging", "multi_region", "log_file_validation", "management_events", "kms")

DEPENDENTS = {
    "iam:GetUser": ("iam.user_exists", "iam.user_no_other_credentials", *IAM_POLICY, *CLOSURE, *CREDENTIAL,
                    "secret.key_matches_credential", "bedrock.invocation_logging"),
    "iam:ListAttachedUserPolicies": (*IAM_POLICY, *CLOSURE),
    "iam:ListUserPolicies": (*IAM_POLICY, *CLOSURE),
    "iam:ListGroupsForUser": (*IAM_POLICY, *CLOSURE),
    "iam:GetPolicy": (*IAM_POLICY, *CLOSURE),
    "iam:GetPolicyVersion": (*IAM_POLICY, *CLOSURE),
    "iam:GetLoginProfile": ("iam.user_no_other_credentials",),
    "iam:ListAccessKeys": ("iam.user_no_other_credentials",),
    "iam:ListSigningCertificates": ("iam.user_no_other_credentials",),
    "iam:ListSSHPublicKeys": ("iam.user_no_other_credentials",),
    "iam:ListServiceSpecificCredentials": (*CREDENTIAL, "secret.key_matches_credential", "iam.user_no_other_credentials"),
    "secretsmanager:DescribeSecret": ("secret.exists", "secret.schema", "secret.key_matches_credential",
                                      "secret.encrypted_with_cmk", *ENDPOINT, "secret.readers_restricted",
                                      "bedrock.invocation_logging", "secret.replicas_in_sync"),
    "secretsmanager:GetSecretValue": ("secret.schema", "secret.key_matches_credential", *ENDPOINT,
                                      "bedrock.invocation_logging"),
    "kms:DescribeKey": ("secret.encrypted_with_cmk", "cloudtrail.kms[commercial]", "cloudtrail.kms[govcloud]",
                        "secret.readers_restricted"),
    "iam:GetAccountAuthorizationDetails": ("secret.readers_restricted", "iam.key_minting_restricted"),
    "secretsmanager:GetResourcePolicy": ("secret.readers_restricted",),
    "kms:GetKeyPolicy": ("secret.readers_restricted",),
    "kms:ListGrants": ("secret.readers_restricted",),
    "cloudtrail:DescribeTrails": tuple(f"cloudtrail.{c}[{p}]" for c in (*CT, "bucket_protected")
                                       for p in ("commercial", "govcloud")),
    "cloudtrail:GetTrailStatus": ("cloudtrail.logging[commercial]", "cloudtrail.logging[govcloud]"),
    "cloudtrail:GetEventSelectors": ("cloudtrail.management_events[commercial]", "cloudtrail.management_events[govcloud]"),
    # the Regions the key was used in decide where invocation logging is judged
    "cloudtrail:LookupEvents": ("credential.recently_used", "bedrock.invocation_logging"),
    # the organization's policies are read for the caller's account: without its id they are not read
    "sts:GetCallerIdentity": ("iam.policy_grants_required", *(f"org.{c}[{p}]" for c in (
        "key_lifetime_capped", "long_term_keys_confined") for p in ("commercial", "govcloud"))),
}


@pytest.fixture
def no_backoff(monkeypatch):
    """botocore's standard retry mode waits rand(0, 1) x 2**i seconds before throttled attempt i+1
    (about 3.5 s per read on average over its 4 attempts): the retries are what these tests
    prove, not the waits, so the waits are zero here.  The attempts still happen."""
    from botocore.retries import standard

    monkeypatch.setattr(standard.ExponentialBackoff, "delay_amount", lambda self, context: 0)


@pytest.mark.parametrize("action", list(DEPENDENTS))
def test_denied_read_errors_its_dependents_only(pytester, action):
    rows = run_audit(pytester, "compliant", setup=lambda emu: aws_faults.deny(action))
    got = statuses(rows)
    expected_error = set(DEPENDENTS[action])
    assert {r for r, s in got.items() if s == "error"} == expected_error
    assert {r for r, s in got.items() if s not in ("pass", "error")} == set()
    for row in expected_error:
        assert action in rows[row]["detail"] or "see " in rows[row]["detail"], (row, rows[row]["detail"])
    assert sorted(got) == sorted(ALL_ROWS)


def test_throttled_past_retries_is_an_error_not_a_pass(pytester, no_backoff):
    rows = run_audit(pytester, "compliant", rows=CREDENTIAL,
                     setup=lambda emu: aws_faults.throttle("iam:ListServiceSpecificCredentials"))
    got = statuses(rows)
    for row in CREDENTIAL:
        assert got[row] == "error"
        assert "throttled after retries" in rows[row]["detail"]
    # botocore's standard mode: 4 attempts (the backoff between them is zero here, the attempts are not)
    assert sum(h["operation"] == "ListServiceSpecificCredentials" for h in aws_faults.hits()) >= 4


def test_a_throttling_burst_is_absorbed_by_retries(pytester, no_backoff):
    got = statuses(run_audit(pytester, "compliant", setup=lambda emu: aws_faults.throttle("iam:GetUser", n=2)))
    assert set(got.values()) == {"pass"}


def test_server_errors_past_retries_are_errors(pytester, no_backoff):
    rows = run_audit(pytester, "compliant", setup=lambda emu: aws_faults.fail("cloudtrail:DescribeTrails", status=503))
    got = statuses(rows)
    assert {r for r, s in got.items() if s == "error"} == set(DEPENDENTS["cloudtrail:DescribeTrails"])


def test_kms_decrypt_denied_on_the_secret(pytester):
    # GetSecretValue fails when the auditor may not use the secret's KMS key
    rows = run_audit(pytester, "compliant", rows=["secret.schema", "secret.exists"], setup=lambda emu: aws_faults.deny(
        "secretsmanager:GetSecretValue", code="AccessDeniedException",
        message="Access to KMS is not allowed"))
    got = statuses(rows)
    assert got["secret.schema"] == "error" and got["secret.exists"] == "pass"
    # Secrets Manager decrypts with the caller's permissions: the refused action is kms:Decrypt on the secret's key
    assert "kms:Decrypt on the secret's KMS key was denied" in rows["secret.schema"]["detail"]
    assert "grant secretsmanager:GetSecretValue" not in rows["secret.schema"]["detail"]
