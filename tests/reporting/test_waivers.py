"""Waivers (bedrock_key_audit/reporting/waivers.py and the outputs that show them), on hand-built rows:
matching, expiry, stale detection, the exit status, the control view, the schemas."""
from __future__ import annotations

import datetime as dt
import types
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from bedrock_key_audit.reporting import controls as ctl
from bedrock_key_audit.reporting import evidence, results
from bedrock_key_audit.fixtures.reporting.exit_status import apply_fail_on
from bedrock_key_audit.fixtures.reporting.rundir import RunState
from bedrock_key_audit.reporting.waivers import (
    LAPSED,
    LIVE,
    NOT_RUN,
    STALE,
    UNDECIDED,
    Waiver,
    apply_to_record,
    parse_selector,
    parse_waivers,
    waiver_for,
    waiver_states,
    weighed_by_plan,
)

TODAY = dt.date(2026, 11, 30)
NOW = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.timezone.utc)
KNOWN = {"cloudtrail.kms", "secret.encrypted_with_cmk", "secret.exists", "iam.policy_least_privilege"}
USER = "arn:aws:iam::111122223333:user/bedrock-cross-partition-user"


def waiver(check: str, expires: str = "2026-12-31", **kw: str) -> Waiver:
    entry = {"check": check, "justification": kw.get("justification", "accepted"),
             "approved_by": kw.get("approved_by", "ciso@example.com"), "expires": expires}
    return parse_waivers([entry], TODAY)[0]


def record(check_id: str, status: str = "fail", resource: str | None = None, **params: str) -> dict[str, Any]:
    return {"check_id": check_id, "status": status, "params": params, "resource": resource,
            "detail": f"{check_id} verdict", "title": check_id, "family": check_id.split(".")[0],
            "severity": "medium", "controls": {"nist_800_53_rev5": ["SC-28"], "cis_aws_v3": [], "fedramp": []},
            "nodeid": f"checks/x.py::{check_id}[{','.join(params.values())}]"}


def row(check_id: str, status: str = "fail", **params: str) -> dict[str, Any]:
    return results.check_row(record(check_id, status, **params))


# --------------------------------------------------------------------------- selectors
@pytest.mark.parametrize("text, expected", [
    ("cloudtrail.kms", ("cloudtrail.kms", (), None)),
    ("cloudtrail.kms[govcloud]", ("cloudtrail.kms", ((None, "govcloud"),), None)),
    ("cloudtrail.kms[partition=govcloud]", ("cloudtrail.kms", (("partition", "govcloud"),), None)),
    ("iam.user_exists[account=prod,commercial]", ("iam.user_exists", (("account", "prod"), (None, "commercial")), None)),
    (f"iam.policy_least_privilege@{USER}", ("iam.policy_least_privilege", (), USER)),
    ("cloudtrail.kms[govcloud]@arn:aws-us-gov:cloudtrail:*", ("cloudtrail.kms", ((None, "govcloud"),),
                                                            "arn:aws-us-gov:cloudtrail:*")),
])
def test_selector_syntax(text, expected):
    assert parse_selector(text) == expected


@pytest.mark.parametrize("text", ["cloudtrail", "CloudTrail.KMS", "cloudtrail.kms[]", "cloudtrail.kms[a=b=c]",
                                  "cloudtrail.kms govcloud", "cloudtrail.kms[govcloud"])
def test_bad_selector_is_one_line(text):
    with pytest.raises(ValueError) as exc:
        parse_selector(text)
    assert "\n" not in str(exc.value) and repr(text) in str(exc.value)


def test_params_and_resource_narrow_the_match():
    gov, com = record("cloudtrail.kms", partition="govcloud"), record("cloudtrail.kms", partition="commercial")
    assert waiver("cloudtrail.kms").matches(gov) and waiver("cloudtrail.kms").matches(com)
    assert waiver("cloudtrail.kms[govcloud]").matches(gov) and not waiver("cloudtrail.kms[govcloud]").matches(com)
    assert not waiver("cloudtrail.kms[region=govcloud]").matches(gov)  # a named param must be that param
    assert not waiver("secret.exists").matches(gov)
    mine = record("iam.policy_least_privilege", resource=USER)
    other = record("iam.policy_least_privilege", resource=USER.replace("bedrock-cross-partition-user", "bob"))
    exact, pattern = waiver(f"iam.policy_least_privilege@{USER}"), waiver("iam.policy_least_privilege@*:user/bedrock-*")
    assert exact.matches(mine) and not exact.matches(other)
    assert pattern.matches(mine) and not pattern.matches(other)
    assert not exact.matches(record("iam.policy_least_privilege"))  # no resource: a resource waiver cannot apply
    # results.json rows (``id``) match like records (``check_id``)
    assert waiver("cloudtrail.kms[govcloud]").matches(results.check_row(gov))


# --------------------------------------------------------------------------- expiry
def test_expires_is_required_to_be_a_date_at_most_365_days_ahead():
    assert waiver("secret.exists", (TODAY + dt.timedelta(days=365)).isoformat()).expires == dt.date(2027, 11, 30)
    with pytest.raises(ValueError, match=r"waivers\.0\.expires: 2027-12-01 is more than 365 days after the run's date"):
        waiver("secret.exists", "2027-12-01")
    with pytest.raises(ValueError, match="is not a date"):
        waiver("secret.exists", "2027-02-30")
    with pytest.raises(ValueError, match="date-time"):
        parse_waivers([{"check": "secret.exists", "justification": "j", "approved_by": "a",
                        "expires": dt.datetime(2027, 1, 1)}], TODAY)
    # an already expired waiver is not bad input: it lapsed, and the report says so
    assert waiver("secret.exists", "2026-01-01").expires == dt.date(2026, 1, 1)


def test_a_waiver_holds_through_its_expiry_day_utc():
    w = waiver("secret.exists", "2026-12-31")
    assert w.live_at(dt.datetime(2026, 12, 31, 23, 59, 59, tzinfo=dt.timezone.utc))
    assert not w.live_at(dt.datetime(2027, 1, 1, 0, 0, 0, tzinfo=dt.timezone.utc))
    # 2027-01-01 00:30 in UTC+1 is still 2026-12-31 in UTC
    plus_one = dt.timezone(dt.timedelta(hours=1))
    assert w.live_at(dt.datetime(2027, 1, 1, 0, 30, tzinfo=plus_one))


# --------------------------------------------------------------------------- rows
def test_a_failing_row_under_a_live_waiver_is_waived_with_its_justification():
    rec = record("secret.encrypted_with_cmk")
    w = waiver("secret.encrypted_with_cmk", justification="CMK project in Q1", approved_by="ciso")
    assert apply_to_record(rec, [w], NOW) is True
    assert rec["status"] == "waived"
    assert rec["waiver"] == {"check": "secret.encrypted_with_cmk", "check_id": "secret.encrypted_with_cmk",
                             "justification": "CMK project in Q1", "approved_by": "ciso", "expires": "2026-12-31",
                             "state": LIVE}
    assert results.check_row(rec)["waiver"]["state"] == LIVE


def test_a_lapsed_waiver_leaves_the_row_failing_and_says_so():
    rec = record("secret.encrypted_with_cmk")
    assert apply_to_record(rec, [waiver("secret.encrypted_with_cmk", "2026-12-31")],
                           dt.datetime(2027, 1, 1, tzinfo=dt.timezone.utc)) is False
    assert rec["status"] == "fail"
    assert rec["waiver"]["state"] == LAPSED and rec["waiver"]["expires"] == "2026-12-31"


@pytest.mark.parametrize("status", ["pass", "error", "skip"])
def test_only_fail_rows_are_waived(status):
    rec = record("secret.encrypted_with_cmk", status)
    assert apply_to_record(rec, [waiver("secret.encrypted_with_cmk")], NOW) is False
    assert rec["status"] == status and "waiver" not in rec


def test_a_live_waiver_wins_over_a_lapsed_one_and_the_later_expiry_wins():
    old, live_short, live_long = (waiver("cloudtrail.kms", "2026-06-01"), waiver("cloudtrail.kms", "2026-12-05"),
                                  waiver("cloudtrail.kms[govcloud]", "2027-01-31"))
    gov = record("cloudtrail.kms", partition="govcloud")
    assert waiver_for(gov, [old, live_short, live_long], NOW) == (live_long, True)
    assert waiver_for(gov, [old, live_short], NOW) == (live_short, True)
    assert waiver_for(gov, [old], NOW) == (old, False)
    assert waiver_for(record("secret.exists"), [old], NOW) is None


# --------------------------------------------------------------------------- waiver states
def test_waiver_states_live_lapsed_stale_undecided_not_run():
    rows = [row("cloudtrail.kms", "waived", partition="govcloud"), row("cloudtrail.kms", "pass", partition="commercial"),
            row("secret.exists", "pass"), row("secret.encrypted_with_cmk", "error")]
    rows[0]["waiver"] = dict(waiver("cloudtrail.kms[govcloud]").as_dict(), state=LIVE)
    ws = [waiver("cloudtrail.kms[govcloud]"), waiver("secret.exists"), waiver("nope.unknown"),
          waiver("cloudtrail.kms[govcloud]", "2026-11-01"), waiver("secret.encrypted_with_cmk"),
          waiver("iam.policy_least_privilege"), waiver("cloudtrail.kms[eu]")]
    states = waiver_states(ws, rows, KNOWN, NOW)
    assert [s["state"] for s in states] == [LIVE, STALE, STALE, LIVE, UNDECIDED, NOT_RUN, STALE]
    assert states[0]["rows"] == ["cloudtrail.kms[partition=govcloud]"]
    assert "passed" in states[1]["reason"]
    assert "not a check id" in states[2]["reason"]
    assert "matches no row" in states[6]["reason"]
    # in a run that audited a selection, the row a waiver covers may have been left out: it did not run
    selected = waiver_states([waiver("cloudtrail.kms[govcloud]")], rows[1:2], KNOWN, NOW,
                             ["checks/test_cloudtrail.py::test_cloudtrail_kms[commercial]"])
    assert selected[0]["state"] == NOT_RUN and "that this selection ran" in selected[0]["reason"]
    # the same expired waiver, with no row it waived, has lapsed
    expired = waiver_states([waiver("secret.exists", "2026-11-01")], rows, KNOWN, NOW)
    assert expired[0]["state"] == LAPSED and "2026-11-01" in expired[0]["reason"]


def test_a_waiver_on_what_remediation_creates_is_not_stale_when_the_plan_weighed_it():
    """cloudtrail.kms[commercial]@<the trail this tool creates>: the row fails for the missing trail under the
    partition's name, so the waiver matches no row; when the plan weighed it against trail.create it is not stale."""
    arn = "arn:aws:cloudtrail:us-east-1:111122223333:trail/bedrock-key-audit-trail"
    w = waiver(f"cloudtrail.kms[commercial]@{arn}")
    rows = [dict(row("cloudtrail.kms", "fail", partition="commercial"), resource="cloudtrail commercial")]
    alone = waiver_states([w], rows, KNOWN, NOW)
    assert alone[0]["state"] == STALE
    weighed = waiver_states([w], rows, KNOWN, NOW)
    weighed_by_plan(weighed, {f"{w.check}, until {w.expires.isoformat()}, approved by ciso@example.com": arn})
    assert weighed[0]["state"] == UNDECIDED and arn in weighed[0]["reason"] and "remediation step" in weighed[0]["reason"]
    # another waiver's weighing leaves this one stale
    other = waiver_states([w], rows, KNOWN, NOW)
    weighed_by_plan(other, {"secret.exists, until 2026-12-31, approved by x": "y"})
    assert other[0]["state"] == STALE


# --------------------------------------------------------------------------- counts, exit status
def test_waived_rows_are_counted_apart():
    s = results.summarize([row("a.b", "pass"), row("a.c", "waived"), row("a.d", "fail")])
    assert (s["pass"], s["fail"], s["waived"], s["total"]) == (1, 1, 1, 3)
    assert "waived" not in results.FAILING


def _exit(rows: list[dict[str, Any]], fail_on: str | None, other: list[str] | None = None) -> tuple[int, str | None]:
    st = RunState(started=NOW, run_id="r", base=Path("."), controller=True, write=False, rows=rows,
                  other_failures=other or [])
    session = types.SimpleNamespace(exitstatus=pytest.ExitCode.TESTS_FAILED)
    apply_fail_on(session, st, fail_on)  # type: ignore[arg-type]
    return int(session.exitstatus), st.exit_note


def test_exit_status_ignores_waived_rows_with_and_without_fail_on():
    waived = row("secret.encrypted_with_cmk", "waived")
    waived["severity"] = "critical"
    assert _exit([waived, row("secret.exists", "pass")], "low")[0] == 0
    code, note = _exit([waived], None)
    assert code == 0 and note is not None and "1 waived row(s) ignored" in note
    failing = row("cloudtrail.kms", "fail")
    assert _exit([waived, failing], None)[0] == 1
    assert _exit([waived, failing], "high")[0] == 0  # medium fail under --fail-on high
    assert _exit([waived], None, other=["tests/x.py::t"])[0] == 1  # a non-check failure is never masked
    # no waived row and no --fail-on: pytest's own exit status stands
    assert _exit([failing], None) == (1, None)


# --------------------------------------------------------------------------- control view, evidence, schema
def test_a_control_with_a_waived_row_is_waived_not_pass_or_fail():
    rows = [row("secret.encrypted_with_cmk", "waived"), row("cloudtrail.kms", "pass", partition="govcloud")]
    (c,) = ctl.control_view(rows)
    assert (c.control, c.status) == ("SC-28", ctl.WAIVED) and "waiver" in c.reason
    assert ctl.tally([c])["nist_800_53_rev5"][ctl.WAIVED] == 1
    (c,) = ctl.control_view(rows + [row("cloudtrail.kms", "fail", partition="commercial")])
    assert c.status == ctl.NOT_SATISFIED
    (c,) = ctl.control_view(rows + [row("cloudtrail.kms", "error", partition="commercial")])
    assert c.status == ctl.WAIVED and "error" in c.reason  # the undecided row is named, not hidden
    matrix = evidence.control_matrix(rows)
    (entry,) = matrix["frameworks"]["nist_800_53_rev5"]["controls"]
    assert entry["status"] == "waived"


def test_schemas_take_waived_rows_and_waiver_states():
    rec = record("secret.encrypted_with_cmk")
    apply_to_record(rec, [waiver("secret.encrypted_with_cmk")], NOW)
    rows = [results.check_row(rec)]
    run = {"id": "20261130T120000Z", "started": "2026-11-30T12:00:00Z", "finished": "2026-11-30T12:00:01Z",
           "duration_s": 1.0, "tool": {"name": "t", "version": "0", "git_commit": None, "git_dirty": None,
                                        "python": "3", "pytest": "9"},
           "config": {"path": None, "sha256": None}, "mode": "emulate", "scenario": "guide", "partitions": {},
           "args": [], "exit_status": 0, "fail_on": None}
    doc: dict[str, Any] = {"schema_version": 1, "run": run, "summary": results.summarize(rows), "checks": rows,
           "changes": results.compute_changes(rows, None, None), "other_failures": [],
           "waivers": waiver_states([waiver("secret.encrypted_with_cmk")], rows, KNOWN, NOW)}
    results.validate(doc)
    doc["checks"][0]["waiver"]["state"] = "maybe"
    with pytest.raises(jsonschema.ValidationError):
        results.validate(doc)
