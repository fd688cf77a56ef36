"""A failing row under a live waiver is an accepted risk: remediation plans no fix for it."""
from __future__ import annotations

import datetime as dt

from bedrock_key_audit.checkcore import CheckRecord
from bedrock_key_audit.fixtures.remediation import plugin
from bedrock_key_audit.fixtures.reporting import sources
from bedrock_key_audit.reporting.waivers import parse_waivers

NOW = dt.datetime(2026, 11, 30, 12, tzinfo=dt.timezone.utc)


def _rec(cid: str, status: str, partition: str | None = None) -> CheckRecord:
    return CheckRecord(check_id=cid, title=cid, family=cid.split(".")[0], severity="medium", controls={},
                       nodeid=f"checks/x.py::{cid}", params={"partition": partition} if partition else {},
                       partition=partition, status=status)


def test_live_waiver_keeps_the_row_out_of_the_plan_and_says_so(monkeypatch):
    waivers = parse_waivers([
        {"check": "secret.encrypted_with_cmk", "justification": "CMK rollout in Q1", "approved_by": "ciso",
         "expires": "2026-12-31"},
        {"check": "cloudtrail.kms[govcloud]", "justification": "old", "approved_by": "ciso", "expires": "2026-11-01"},
    ], None)
    monkeypatch.setattr(sources, "waivers", lambda config: waivers)
    recs = [_rec("secret.encrypted_with_cmk", "fail"), _rec("cloudtrail.kms", "fail", "govcloud"),
            _rec("cloudtrail.kms", "fail", "commercial"), _rec("iam.user_exists", "error")]
    kept, steps = plugin._without_waived(None, recs, NOW)
    # live waiver: out of the plan; lapsed waiver and unwaived rows: planned as usual
    assert [(r.check_id, r.partition) for r in kept] == [
        ("cloudtrail.kms", "govcloud"), ("cloudtrail.kms", "commercial"), ("iam.user_exists", None)]
    assert len(steps) == 1 and steps[0].manual and steps[0].check_ids == ["secret.encrypted_with_cmk"]
    assert "waived until 2026-12-31 (approved by ciso)" in steps[0].action


def test_no_waivers_changes_nothing(monkeypatch):
    monkeypatch.setattr(sources, "waivers", lambda config: [])
    recs = [_rec("secret.encrypted_with_cmk", "fail")]
    assert plugin._without_waived(None, recs, NOW) == (recs, [])
