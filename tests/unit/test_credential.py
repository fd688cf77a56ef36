"""credential.* verdicts on hand-built credentials (bedrock_key_audit.verdicts.credential): pass, fail, error."""
from __future__ import annotations

import datetime as dt
import json

import pytest

from bedrock_key_audit.inventory.models import SecretText
from bedrock_key_audit.verdicts import credential as v
from tests.unit.helpers import NOW, USER, FakeInventory, ReadError, config, cred, raw_key, run, secret

CFG = config()
OLD, NEW = "ACCAOLDOLDOLDOLD0001", "ACCANEWNEWNEWNEW0002"


# --------------------------------------------------------------------------- credential.active
def test_active_passes_with_an_active_key() -> None:
    status, text, rec = run(v.active, USER, [cred(OLD)], NOW)
    assert status == "pass" and "has an Active Bedrock API key (ACCAOLDO…)" in text
    assert rec.resource == f"{USER.arn}/credential/{OLD}"
    assert rec.evidence[0]["source"] == "iam:ListServiceSpecificCredentials"


@pytest.mark.parametrize("creds, phrase", [
    ([], "key-user has no Bedrock API key (bedrock.amazonaws.com credential)"),
    ([cred(OLD, status="Inactive")], "has no Active Bedrock API key (ACCAOLDO… Inactive) — create or rotate one"),
    # IAM still says Active, but the expiry has passed by the audit's clock
    ([cred(OLD, age_days=200, lifetime_days=180)], "(ACCAOLDO… Expired)"),
])
def test_active_fails_without_an_active_key(creds: list, phrase: str) -> None:
    status, text, _ = run(v.active, USER, creds, NOW)
    assert status == "fail" and phrase in text


# --------------------------------------------------------------------------- credential.unexpired
def test_unexpired_passes_outside_the_rotation_window() -> None:
    assert run(v.unexpired, USER, [cred(OLD, age_days=10)], NOW, CFG)[:2] == ("pass", "ACCAOLDO… expires in 170 days")


@pytest.mark.parametrize("age, phrase", [
    (150, "expires in 30 day(s)"),  # exactly rotate_before_days left fails
    (181, "expired 1 day(s) ago"),
])
def test_unexpired_fails_inside_the_window_or_past_expiry(age: float, phrase: str) -> None:
    status, text, rec = run(v.unexpired, USER, [cred(OLD, age_days=age)], NOW, CFG)
    assert status == "fail" and phrase in text and rec.resource.endswith(f"/credential/{OLD}")


# the edges (moved here from tests/hostile/test_credentials_hostile.py, which ran a whole audit for each):
# credential.unexpired fails at days_left <= rotate_before_days (30 days left fails, 30 days + 1 s passes)
@pytest.mark.parametrize("left, status, phrase", [
    (dt.timedelta(days=30), "fail", "expires in 30 day(s)"),
    (dt.timedelta(days=30, seconds=1), "pass", "expires in 30 days"),
    (dt.timedelta(minutes=1), "fail", "expires in 0 day(s)"),
    (-dt.timedelta(seconds=1), "fail", "expired 0 day(s) ago"),
], ids=["exactly-30-days-left", "30-days-and-1s-left", "one-minute-before-expiry", "one-second-after-expiry"])
def test_unexpired_at_its_edges(left: dt.timedelta, status: str, phrase: str) -> None:
    c = cred(OLD)
    assert c.expiration_date is not None
    got = run(v.unexpired, USER, [c], c.expiration_date - left, CFG)
    assert got[0] == status and phrase in got[1], got[:2]


def test_unexpired_errors_without_a_live_key() -> None:
    status, text, _ = run(v.unexpired, USER, [cred(OLD, status="Inactive")], NOW, CFG)
    assert (status, text) == ("error", "key-user has no Active Bedrock API key to judge (see credential.active)")


# --------------------------------------------------------------------------- credential.bounded_lifetime
def test_bounded_lifetime_passes_within_max_age() -> None:
    status, text, _ = run(v.bounded_lifetime, USER, [cred(OLD)], NOW, CFG)
    assert status == "pass" and "every active key has an expiry within 180 days: ACCAOLDO… lives 180 days" in text


@pytest.mark.parametrize("lifetime, phrase", [
    (None, "never expires (created without --credential-age-days); rotate to a key of at most 180 days"),
    (365, "lives 365 days (more than max_key_age_days 180)"),
])
def test_bounded_lifetime_fails_unbounded_or_too_long(lifetime: float | None, phrase: str) -> None:
    status, text, _ = run(v.bounded_lifetime, USER, [cred(OLD, lifetime_days=lifetime)], NOW, CFG)
    assert status == "fail" and phrase in text


def test_bounded_lifetime_errors_without_a_live_key() -> None:
    assert run(v.bounded_lifetime, USER, [], NOW, CFG)[0] == "error"


# --------------------------------------------------------------------------- credential.single_active
def stages(**labels: list[str]) -> FakeInventory:
    """An inventory whose secret has ``VersionIdsToStages`` = labels, current key OLD's, pending key NEW's."""
    sec = secret(json.dumps({"bedrock_api_key": raw_key(f"{OLD}-alias"), "region": "us-east-1"}),
                 describe={"VersionIdsToStages": labels})
    pending = json.dumps({"bedrock_api_key": raw_key(f"{NEW}-alias"), "region": "us-east-1"})
    return FakeInventory(secret=sec, key=raw_key(f"{OLD}-alias"),
                         versions={"AWSPENDING": ("v-new", SecretText(pending))})


TWO = [cred(OLD, alias=f"{OLD}-alias"), cred(NEW, alias=f"{NEW}-alias")]


def test_single_active_passes_with_one_key_and_reads_no_secret() -> None:
    inv = FakeInventory(secret=ReadError("must not be read"))
    assert run(v.single_active, USER, [cred(OLD)], NOW, inv)[:2] == ("pass", "key-user has 1 Active Bedrock API key(s)")


def test_single_active_passes_during_a_proven_rotation() -> None:
    status, text, _ = run(v.single_active, USER, TWO, NOW, stages(**{"v-cur": ["AWSCURRENT"], "v-new": ["AWSPENDING"]}))
    assert status == "pass" and "during a rotation in progress" in text


@pytest.mark.parametrize("creds, inv, phrase", [
    (TWO, stages(**{"v-cur": ["AWSCURRENT"]}), "no AWSPENDING version, so no rotation is in progress"),
    (TWO + [cred("ACCATHIRDTHIRD000003")], stages(), "no rotation explains more than two"),
])
def test_single_active_fails_two_keys_without_a_rotation(creds: list, inv: FakeInventory, phrase: str) -> None:
    status, text, _ = run(v.single_active, USER, creds, NOW, inv)
    assert status == "fail" and phrase in text


def test_single_active_errors_when_the_current_version_cannot_be_read() -> None:
    inv = stages(**{"v-cur": ["AWSCURRENT"], "v-new": ["AWSPENDING"]})
    inv.answers["secret"].value_error = "kms:Decrypt was denied"
    status, text, _ = run(v.single_active, USER, TWO, NOW, inv)
    assert status == "error" and "cannot read the secret's AWSCURRENT version" in text and "kms:Decrypt" in text


def test_single_active_errors_when_the_pending_version_read_fails() -> None:
    inv = stages(**{"v-cur": ["AWSCURRENT"], "v-new": ["AWSPENDING"]})
    inv.answers["versions"] = ReadError("secretsmanager:GetSecretValue was denied")
    assert run(v.single_active, USER, TWO, NOW, inv)[:2] == ("error", "secretsmanager:GetSecretValue was denied")
