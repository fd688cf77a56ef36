"""The Bedrock service-specific credential (the API key): active, unexpired, bounded, single."""
from __future__ import annotations

import datetime as dt

import pytest

from fixtures.checks import CouldNotDecide

MINUTE = dt.timedelta(minutes=1)


def _evidence(check, creds):
    check.evidence("iam:ListServiceSpecificCredentials", [
        {"ServiceSpecificCredentialId": c.id, "UserName": c.user_name, "Status": c.status,
         "CreateDate": c.create_date.isoformat(), "ExpirationDate": c.expiration_date.isoformat() if c.expiration_date else None,
         "ServiceCredentialAlias": c.alias}
        for c in creds
    ])


def _live(existing_user, creds, now):
    """Credentials not deliberately switched off: Active, or Active by status but past their
    expiry.  None of them: nothing to judge (``error``; credential.active says why)."""
    live = [c for c in creds if c.effective_status(now) in ("Active", "Expired") and c.status != "Inactive"]
    if not live:
        raise CouldNotDecide(f"{existing_user.name} has no Active Bedrock API key to judge (see credential.active)")
    return live


@pytest.mark.check("credential.active")
def test_credential_active(check, existing_user, bedrock_credentials, now):
    check.resource = existing_user.arn
    _evidence(check, bedrock_credentials)
    check.require(bedrock_credentials, f"{existing_user.name} has no Bedrock API key (bedrock.amazonaws.com credential)")
    active = [c for c in bedrock_credentials if c.effective_status(now) == "Active"]
    states = ", ".join(f"{c.short_id} {c.effective_status(now)}" for c in bedrock_credentials)
    check.require(active, f"{existing_user.name} has no Active Bedrock API key ({states}) — create or rotate one")
    check.resource = f"{existing_user.arn}/credential/{active[0].id}"
    check.passed(f"{existing_user.name} has an Active Bedrock API key ({', '.join(c.short_id for c in active)})")


@pytest.mark.check("credential.unexpired")
def test_credential_unexpired(check, existing_user, bedrock_credentials, now, audit_config):
    check.resource = existing_user.arn
    _evidence(check, bedrock_credentials)
    live = _live(existing_user, bedrock_credentials, now)
    window = audit_config.rotate_before_days
    problems, fine = [], []
    for c in live:
        left = c.days_left(now)
        if left is None:
            fine.append(f"{c.short_id} never expires (see credential.bounded_lifetime)")
        elif left <= 0:
            problems.append(f"key {c.short_id} of {existing_user.name} expired {abs(int(left))} day(s) ago "
                            f"({c.expiration_date:%Y-%m-%d}); rotate it")
        elif left <= window:
            problems.append(f"key {c.short_id} of {existing_user.name} expires in {int(left)} day(s) "
                            f"({c.expiration_date:%Y-%m-%d}; rotate before {window})")
        else:
            fine.append(f"{c.short_id} expires in {int(left)} days")
    if problems:
        check.resource = f"{existing_user.arn}/credential/{live[0].id}"
    check.require(not problems, "; ".join(problems))
    check.passed("; ".join(fine))


@pytest.mark.check("credential.bounded_lifetime")
def test_credential_bounded_lifetime(check, existing_user, bedrock_credentials, now, audit_config):
    check.resource = existing_user.arn
    _evidence(check, bedrock_credentials)
    live = _live(existing_user, bedrock_credentials, now)
    limit = audit_config.max_key_age_days
    problems, fine = [], []
    for c in live:
        if c.expiration_date is None:
            problems.append(f"key {c.short_id} of {existing_user.name} never expires (created without "
                            f"--credential-age-days); rotate to a key of at most {limit} days")
            continue
        lifetime = c.expiration_date - c.create_date
        if lifetime > dt.timedelta(days=limit) + MINUTE:
            problems.append(f"key {c.short_id} of {existing_user.name} lives {lifetime.days} days "
                            f"(more than max_key_age_days {limit})")
        else:
            fine.append(f"{c.short_id} lives {round(lifetime.total_seconds() / 86400)} days")
    check.require(not problems, "; ".join(problems))
    check.passed(f"every active key has an expiry within {limit} days: " + ", ".join(fine))


@pytest.mark.check("credential.single_active")
def test_credential_single_active(check, existing_user, bedrock_credentials, now, inventory):
    check.resource = existing_user.arn
    _evidence(check, bedrock_credentials)
    active = [c for c in bedrock_credentials if c.effective_status(now) == "Active"]
    if len(active) <= 1:
        check.passed(f"{existing_user.name} has {len(active)} Active Bedrock API key(s)")
        return
    # Two keys are expected only mid-rotation, which this tool marks with an AWSPENDING version.
    secret = inventory.secret()  # read only now: one key needs no secret to be judged
    stages = (secret.describe or {}).get("VersionIdsToStages", {}) if secret.exists else {}
    rotating = any("AWSPENDING" in v for v in stages.values())
    ids = ", ".join(f"{c.short_id} (created {c.create_date:%Y-%m-%d})" for c in active)
    check.require(rotating, f"{existing_user.name} has {len(active)} Active Bedrock API keys: {ids}; "
                            "deactivate the one the secret does not hold")
    check.passed(f"{len(active)} Active keys during a rotation in progress (secret has AWSPENDING): {ids}")
