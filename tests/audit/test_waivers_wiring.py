"""Waivers, wired end to end: a live waiver is shown and ignored by
``--fail-on``; once the emulator's clock passes its ``expires`` the row is fail again and the
report says the waiver lapsed.  The rules themselves are unit-tested in tests/reporting/test_waivers.py."""
from __future__ import annotations

import datetime as dt
import json

import pytest

from tests.audit.helpers import CHECKS, ROOT, _AfterScenario

EXPIRES = dt.datetime.now(dt.timezone.utc).date() + dt.timedelta(days=10)


def _audit(pytester, tmp_path, setup=None):
    tmp_path.mkdir()
    cfg = tmp_path / "audit.toml"
    cfg.write_text(f'''
[[waivers]]
check = "secret.encrypted_with_cmk"
justification = "aws/secretsmanager key accepted until the CMK rollout"
approved_by = "ciso@example.com"
expires = {EXPIRES.isoformat()}

[[waivers]]
check = "secret.exists"
justification = "stale: this row passes"
approved_by = "ciso@example.com"
expires = {EXPIRES.isoformat()}
''')
    reports = tmp_path / "reports"
    result = pytester.runpytest_inprocess(
        str(CHECKS), "--emulate=guide", f"--audit-config={cfg}", f"--reports-dir={reports}", "--fail-on=low",
        "-k", "secret.encrypted_with_cmk or secret.exists", "-p", "no:cacheprovider", "--evidence",
        f"--rootdir={ROOT}", "-c", str(ROOT / "pyproject.toml"),
        plugins=[_AfterScenario(setup)] if setup else [])
    doc = json.loads((reports / "latest" / "results.json").read_text())
    rows = {r["id"]: r for r in doc["checks"]}
    html = (reports / "latest" / "report.html").read_text()
    return result, doc, rows, html


def test_live_waiver_is_shown_and_ignored_then_lapses_when_the_clock_passes_it(pytester, tmp_path, emulator):
    result, doc, rows, html = _audit(pytester, tmp_path / "live")
    assert result.ret == pytest.ExitCode.OK  # the only failing row (medium, under --fail-on low) is waived
    cmk = rows["secret.encrypted_with_cmk"]
    assert cmk["status"] == "waived" and cmk["waiver"]["state"] == "live"
    assert doc["summary"]["waived"] == 1 and doc["summary"]["fail"] == 0
    states = {w["check"]: w["state"] for w in doc["waivers"]}
    assert states == {"secret.encrypted_with_cmk": "live", "secret.exists": "stale"}
    result.stdout.fnmatch_lines([
        "checks: 2 — 1 pass, 0 fail, 0 error, 0 skip, 1 waived",
        (f"*WAIVED secret.encrypted_with_cmk (medium): waived until {EXPIRES}, approved by ciso@example.com: "
        "aws/secretsmanager key accepted until the CMK rollout"),
        "*waiver secret.exists (stale): secret.exists passed*",
        "*1 waived row(s) ignored -> exit status 0",
    ])
    assert "aws/secretsmanager key accepted until the CMK rollout" in html and "bka-waivers" in html
    ev = tmp_path / "live" / "reports" / "latest" / "evidence"
    assert [w["state"] for w in json.loads((ev / "waivers.json").read_text())["waivers"]] == ["live", "stale"]
    assert json.loads((ev / "checks" / "secret.encrypted_with_cmk.json").read_text())["status"] == "waived"
    ocsf = json.loads((tmp_path / "live" / "reports" / "latest" / "findings.ocsf.json").read_text())
    assert [f["status"] for f in ocsf if f["metadata"]["event_code"] == "secret.encrypted_with_cmk"] == ["Suppressed"]

    def past_expiry(emu):
        from bedrock_key_audit.emulator import clock

        clock.advance(days=11)

    result, doc, rows, html = _audit(pytester, tmp_path / "lapsed", setup=past_expiry)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    cmk = rows["secret.encrypted_with_cmk"]
    assert cmk["status"] == "fail" and cmk["waiver"]["state"] == "lapsed"
    assert doc["summary"]["waived"] == 0 and doc["summary"]["fail"] == 1
    assert {w["check"]: w["state"] for w in doc["waivers"]}["secret.encrypted_with_cmk"] == "lapsed"
    result.stdout.fnmatch_lines([(f"*WAIVER LAPSED secret.encrypted_with_cmk (medium): waiver lapsed: it expired "
                                 f"at the end of {EXPIRES}*")])
    assert f"waiver lapsed: it expired at the end of {EXPIRES}" in html
