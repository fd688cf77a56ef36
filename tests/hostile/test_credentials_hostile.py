"""Key lifetimes at their edges, with the emulator clock frozen to the second.

IAM derives ``Expired`` from the clock (fixtures/emulator/iam_ssc.py, ExpirationDate <= now);
under --emulate the audit's ``now`` is the same clock, so freezing ``clock.now`` puts both at
an exact instant.  ``credential.unexpired`` fails at ``days_left <= rotate_before_days``: a key
with exactly 30 days left (the default window) fails, one with 30 days and one second passes.

The arithmetic at the edges (exactly 30 days left, 30 days and 1 s, one minute before expiry) is
judged on hand-built credentials in tests/unit/test_credential.py::test_unexpired_at_its_edges;
the runs here are the ones that need the emulator's IAM and Bedrock to agree with the clock.

Already covered elsewhere: two Active keys (tests/audit/test_scenarios.py two_active_keys),
a never-expiring key (never_expiring_key), an expired or inactive key (expired_key,
inactive_key), a key expiring in 10 days (key_expiring_soon).
"""
from __future__ import annotations

import datetime as dt
import threading

from bedrock_key_audit.emulator import clock
from tests.hostile.helpers import BEDROCK, USER, audit, expect

SECOND = dt.timedelta(seconds=1)
MINUTE = dt.timedelta(minutes=1)


def _expiry(emu) -> dt.datetime:
    creds = emu.client("iam").list_service_specific_credentials(UserName=USER, ServiceName=BEDROCK)
    (only,) = creds["ServiceSpecificCredentials"]
    return only["ExpirationDate"]


def _freeze(monkeypatch, audit_at, iam_at=None):
    """Freeze the clock at ``audit_at(expiry)``; with ``iam_at``, the emulator's threads (IAM,
    Bedrock) see ``iam_at(expiry)`` while the audit (the main thread) sees ``audit_at``."""
    def setup(emu):
        exp = _expiry(emu)
        a = audit_at(exp)
        i = iam_at(exp) if iam_at else a
        main = threading.main_thread()
        monkeypatch.setattr(clock, "now", lambda: a if threading.current_thread() is main else i)
    return setup


def test_one_second_after_expiry(pytester, monkeypatch):
    rows = audit(pytester, _freeze(monkeypatch, lambda exp: exp + SECOND))
    expect(rows, {"credential.active": ("fail", "Expired"),
                  "credential.unexpired": ("fail", "expired 0 day(s) ago"),
                  "secret.key_matches_credential": ("fail", "Expired; rotate it"),
                  "endpoint.list_models": ("fail", "the key was refused"),
                  "endpoint.invoke": ("fail", "the key was refused")})


def test_audit_clock_past_expiry_while_iam_still_says_active(pytester, monkeypatch):
    # clock skew: IAM (and Bedrock) one minute behind the auditor's clock at the expiry instant
    rows = audit(pytester, _freeze(monkeypatch, lambda exp: exp + SECOND, lambda exp: exp - MINUTE))
    got = rows["credential.active"]["evidence"][0]["data"][0]["Status"]
    assert got == "Active"  # what IAM said
    expect(rows, {"credential.active": ("fail", "Expired"),
                  "credential.unexpired": ("fail", "expired 0 day(s) ago"),
                  "secret.key_matches_credential": ("fail", "Expired; rotate it")})


def test_iam_past_expiry_while_audit_clock_is_behind(pytester, monkeypatch):
    rows = audit(pytester, _freeze(monkeypatch, lambda exp: exp - MINUTE, lambda exp: exp + SECOND))
    expect(rows, {"credential.active": ("fail", "Expired"),
                  "credential.unexpired": ("fail", "expires in 0 day(s)"),
                  "secret.key_matches_credential": ("fail", "Expired; rotate it"),
                  "endpoint.list_models": ("fail", "the key was refused"),
                  "endpoint.invoke": ("fail", "the key was refused")})


def test_one_active_and_one_expired_key(pytester):
    def setup(emu):
        clock.advance(days=-2)
        try:
            emu.client("iam").create_service_specific_credential(UserName=USER, ServiceName=BEDROCK, CredentialAgeDays=1)
        finally:
            clock.advance(days=2)
    rows = audit(pytester, setup)
    # the expired leftover is still a finding (the fixer deletes it); the live key is fine
    expect(rows, {"credential.unexpired": ("fail", "expired 1 day(s) ago")})
