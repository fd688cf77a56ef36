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


def test_a_waiver_expiring_between_the_audit_and_the_re_audit_is_judged_on_the_re_audits_clock(
        pytester, tmp_path, emu, monkeypatch):
    """``--remediate``: the waiver is live at the first audit (so the row is not fixed) and expired by the
    re-audit after the fix, whose rows are the run's: the final row is a lapsed fail, the run's waiver
    state says lapsed, and ``rejudge`` of the bundle (judged at the snapshot's clock, the re-audit's)
    reproduces every row."""
    import json

    from bedrock_key_audit.emulator import clock
    from bedrock_key_audit.rejudge import main as rejudge
    from tests.audit.helpers import CHECKS, ROOT

    expires = clock.now().date() + dt.timedelta(days=10)
    cfg = tmp_path / "audit.toml"
    cfg.write_text(f'''
[[waivers]]
check = "secret.encrypted_with_cmk"
justification = "aws/secretsmanager key accepted until the CMK rollout"
approved_by = "ciso@example.com"
expires = {expires.isoformat()}
''')
    real_plan = plugin._plan
    seen: list[dt.datetime] = []

    def plan_then_age(config, records, apply):
        steps = real_plan(config, records, apply)
        seen.append(clock.now())
        clock.advance(days=11)  # the fix took long: the re-audit runs after the waiver's last day
        return steps

    monkeypatch.setattr(plugin, "_plan", plan_then_age)
    reports = tmp_path / "reports"
    pytester.runpytest_inprocess(
        str(CHECKS), "--emulate=guide", "--remediate", f"--audit-config={cfg}", f"--reports-dir={reports}",
        "--evidence", "-k", "secret.encrypted_with_cmk or secret.exists", "-p", "no:cacheprovider",
        f"--rootdir={ROOT}", "-c", str(ROOT / "pyproject.toml"))
    assert seen, "the remediation did not run"
    doc = json.loads((reports / "latest" / "results.json").read_text())
    cmk = {r["id"]: r for r in doc["checks"]}["secret.encrypted_with_cmk"]
    assert cmk["status"] == "fail" and cmk["waiver"]["state"] == "lapsed", cmk
    assert {w["check"]: w["state"] for w in doc["waivers"]} == {"secret.encrypted_with_cmk": "lapsed"}
    run_dir = (reports / "latest").resolve()
    assert rejudge([str(run_dir)]) == 0
