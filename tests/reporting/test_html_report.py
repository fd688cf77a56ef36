"""report.html leads with posture: what was audited, counts by severity, newly failing, controls;
a check that could not decide reads Error everywhere; no empty detail boxes; one duration format;
other threads' log lines stay out of rows; index.html marks remediated runs."""
from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Any

from bedrock_key_audit.reporting import controls as ctl
from bedrock_key_audit.reporting import history
from bedrock_key_audit.reporting import html_report as hr

MODULE = '''
import logging, threading
import pytest

log = logging.getLogger("bka.test")

@pytest.mark.check("cloudtrail.kms")
def test_undecided(check):
    check.resource = "arn:aws:cloudtrail:us-east-1:123456789012:trail/main"
    check.undecided("cloudtrail:GetTrailStatus was denied; grant it to the auditor")

@pytest.mark.check("secret.schema")
def test_fails_quietly(check):
    check.resource = ("arn:aws-us-gov:secretsmanager:us-gov-west-1:210987654321:secret:creds-AbCdEf -> "
                      "arn:aws:iam::123456789012:user/bob/credential/ACCAEXAMPLEKEY01")
    check.fail("the secret holds no api_key field")

@pytest.mark.check("iam.user_exists")
def test_passes_and_logs(check):
    check.resource = "arn:aws:iam::123456789012:user/bob"
    log.warning("from the test thread")
    logging.getLogger("botocore").setLevel(logging.INFO)  # as fixtures/aws.py holds it
    logging.getLogger("botocore.configprovider").info("Found endpoint for cloudtrail via: environment_global.")
    logging.getLogger("botocore.retryhandler").warning("a botocore warning stays")
    t = threading.Thread(target=lambda: log.warning("from a background thread"), name="inventory_0")
    t.start(); t.join()
    check.passed("IAM user bob exists")
'''


def _tests(report_html: str) -> dict[str, list[dict[str, Any]]]:
    blob = re.search(r'data-jsonblob="([^"]*)"', report_html).group(1)
    return json.loads(html.unescape(blob))["tests"]


def _one(tests: dict[str, list[dict[str, Any]]], name: str) -> dict[str, Any]:
    [entry] = [v for k, v in tests.items() if k.endswith(name)][0]
    return entry


def test_error_reads_error_everywhere_no_empty_boxes_one_duration_format(audit_dir):
    audit_dir.pytester.makepyfile(test_mod=MODULE)
    audit_dir.run()
    run = audit_dir.latest()
    page = (run / "report.html").read_text()
    tests = _tests(page)

    undecided = _one(tests, "test_undecided")
    assert undecided["result"] == "Error"  # what pytest-html's filters, sort and colours read
    assert undecided["resultsTableRow"][0] == '<td class="col-result check-error">Error</td>'
    assert _one(tests, "test_fails_quietly")["result"] == "Failed"
    # pytest-html's counts and filter labels
    assert '<span class="error">1 Error' in page and '<span class="failed">1 Failed' in page
    assert "Errors" not in page
    # our counts by severity: cloudtrail.kms is medium, secret.schema high
    counts = page[page.index("id='bka-counts'"):]
    counts = counts[:counts.index("</table>")]
    assert re.search(r"<th class='bka-sev'>medium</th><td class='n'>0</td><td class='n'>0</td>"
                     r"<td class='n bka-st-error'>1</td>", counts), counts
    # the control only cloudtrail.kms names, as this run's only CIS 3.5 check: not assessed
    assert re.search(r"data-framework='cis_aws_v3' data-control='3.5' data-status='not_assessed'", page)

    # no detail box: the verdict line (already in the Verdict column) and the placeholder are dropped
    assert _one(tests, "test_fails_quietly")["log"] == ""
    assert undecided["log"] == ""
    assert "#results-table .extras-row:not(:has(.log))" in page
    # a row with captured output keeps its box, without the line another thread logged meanwhile
    passing_log = _one(tests, "test_passes_and_logs")["log"]
    assert "from the test thread" in passing_log and "from a background thread" not in passing_log
    # other libraries' INFO lines are not the row's business; their warnings are
    assert "Found endpoint" not in passing_log and "a botocore warning stays" in passing_log

    durations = [re.search(r'<td class="col-duration">(.*?)</td>', "".join(t[0]["resultsTableRow"])).group(1)
                 for t in tests.values()]
    assert durations and all(re.fullmatch(r"\d+ ms", d) for d in durations), durations

    # what was audited, from the rows' resources
    posture = page[page.index("id='bka-posture'"):page.index("id='bka-controls'")]
    for text in ("arn:aws:iam::123456789012:user/bob", "ACCAEXAMPLEKEY01",
                 "arn:aws-us-gov:secretsmanager:us-gov-west-1:210987654321:secret:creds-AbCdEf"):
        assert text in posture
    # the control view links to row anchors that the table carries
    anchors = set(re.findall(r"href='#(check-[^']+)'", page))
    row_ids = {m for t in tests.values() for m in re.findall(r'id="(check-[^"]+)"', "".join(t[0]["resultsTableRow"]))}
    assert anchors and anchors <= row_ids


def test_posture_blocks_come_in_order_before_the_table(audit_dir):
    audit_dir.pytester.makepyfile(test_mod=MODULE)
    audit_dir.run()
    page = (audit_dir.latest() / "report.html").read_text()
    order = [page.index(s) for s in ("id='bka-posture'", "What was audited", "id='bka-counts'", "id='bka-newly'",
                                     "id='bka-controls'", "id='bka-after'", "id='bka-pytest'", 'id="results-table"')]
    assert order == sorted(order)
    # pytest-html's template puts the Environment first and our postfix before its table: the
    # script moves them (test_screenshot.py checks the order in Chromium's DOM)
    assert page.index('id="environment"') < order[0]
    assert hr.SCRIPT in page


def _row(cid, status, severity="high", resource=None, **params):
    return {"id": cid, "params": params, "status": status, "severity": severity, "resource": resource,
            "detail": f"{cid} ended {status}", "controls": {"nist_800_53_rev5": ["AC-2"], "cis_aws_v3": [],
                                                             "fedramp": []}}


def test_counts_by_severity_leave_room_for_new_statuses():
    rows = [_row("a", "pass"), _row("b", "fail"), _row("c", "error", "medium"), _row("d", "waived", "low")]
    statuses, severities, table = hr.severity_counts(rows)
    assert statuses == ["pass", "fail", "error", "skip", "waived"]
    assert severities == ["high", "medium", "low"]
    assert table["high"] == {"pass": 1, "fail": 1, "error": 0, "skip": 0, "waived": 0}
    assert table["low"]["waived"] == 1
    out = hr.counts_html(rows)
    assert ">Waived</th>" in out and ">Error</th>" in out


def test_audited_finds_user_key_id_and_secret_never_a_key():
    rows = [_row("a", "pass", resource="arn:aws:iam::123456789012:user/team/bob/credential/ACCAABCDEFGH1234"),
            _row("b", "pass", resource="arn:aws-us-gov:secretsmanager:us-gov-west-1:210987654321:secret:s-AbCdEf"
                                       " -> arn:aws:iam::123456789012:user/team/bob/credential/ACCAABCDEFGH1234"),
            _row("c", "pass", resource="http://127.0.0.1:1/foundation-models")]
    assert hr.audited(rows) == {
        "users": ["arn:aws:iam::123456789012:user/team/bob"],
        "keys": ["ACCAABCDEFGH1234"],
        "secrets": ["arn:aws-us-gov:secretsmanager:us-gov-west-1:210987654321:secret:s-AbCdEf"]}
    key = "ABSK" + "QmVkcm9ja0FQSUtleS1hYmMtYXQtMTIzNDU2Nzg5MDEyOnNlY3JldHNlY3JldHNlY3JldA=="
    out = hr.audited_html({"mode": "real"}, rows + [_row("d", "pass", resource="secret value " + key)],
                          {"user": {"name": "bob"}})
    assert "ACCAABCDEFGH1234" in out and key not in out and key[4:30] not in out


def test_posture_lists_newly_failing_and_failing_rows_with_links():
    rows = [_row("a", "fail", partition="govcloud"), _row("b", "error", "critical"), _row("c", "pass")]
    changes = {"previous_run": "20261125T201500Z", "newly_fixed": [], "still_failing": [],
               "newly_failing": [{"id": "a", "params": {"partition": "govcloud"}, "severity": "high",
                                  "status": "fail", "previous_status": "pass", "detail": "it broke"}]}
    out = hr.posture_html({"mode": "emulate", "scenario": "guide"}, rows, changes)
    newly = out[out.index("id='bka-newly'"):out.index("id='bka-failing'")]
    assert "Newly failing since 20261125T201500Z: 1" in newly and "href=\"#check-a--partition_govcloud\"" in newly
    failing = out[out.index("id='bka-failing'"):]
    assert "Failing or undecided now: 2" in failing
    assert failing.index("#check-b") < failing.index("#check-a--partition_govcloud")  # critical first
    assert "not evidence about real AWS accounts" in out
    assert "No earlier run" in hr.newly_failing_html({"previous_run": None})


def test_controls_html_shows_each_status_with_reason_and_links():
    view = ctl.control_view([_row("a", "pass"), _row("b", "error")]
                            + [dict(_row("c", "fail"), controls={"cis_aws_v3": ["3.5"]})])
    out = hr.controls_html(view)
    assert "data-control='AC-2' data-status='not_assessed'" in out and "b ended in error" in out
    assert "data-control='3.5' data-status='not_satisfied'" in out
    assert "href='#check-a'" in out and "href='#check-b'" in out


def test_index_marks_remediated_runs(tmp_path: Path):
    for name, remediate in (("20261125T010000Z", None), ("20261125T020000Z", "plan"),
                            ("20261125T030000Z", "apply")):
        run = tmp_path / name
        run.mkdir()
        (run / "results.json").write_text(json.dumps({
            "run": {"started": name, "mode": "emulate", "remediate": remediate, "exit_status": 0},
            "summary": {"pass": 1, "fail": 0, "error": 0, "skip": 0}}))
    page = history.write_index(tmp_path).read_text()
    rows = {m.group(1): m.group(0) for m in re.finditer(r"<tr[^>]*>.*?(2026\d{4}T\d{6}Z).*?</tr>", page)}
    assert "remediated" not in rows["20261125T010000Z"]
    assert "class='remediated' data-remediate='plan'" in rows["20261125T020000Z"]
    assert "class='remediated' data-remediate='apply'" in rows["20261125T030000Z"]
    assert "results after the fixes" in rows["20261125T030000Z"]
    assert page.count('class="remediated"') == 2  # the chart's markers above the two bars


def test_fleet_sized_runs_keep_the_first_screen_short():
    rows = [_row("a", "pass", resource=f"arn:aws:iam::123456789012:user/u{i}/credential/ACCA{i:012d}", user=f"u{i}")
            for i in range(30)] + [_row("b", "fail", user="u7")]
    out = hr.audited_html({"mode": "real"}, rows)
    assert "ACCA000000000003" in out and "ACCA000000000004" not in out and "and 26 more" in out
    controls = hr.controls_html(ctl.control_view(rows))
    ac2 = controls[controls.index("data-control='AC-2'"):controls.index("</tr>", controls.index("data-control='AC-2'"))]
    assert ac2.count("class='bka-chip") == hr.CHIP_LIMIT + 1 and f"+{31 - hr.CHIP_LIMIT} more" in ac2
    assert ac2.index("href='#check-b--user_u7'") < ac2.index("href='#check-a--user_u0'")  # the failing row first


def test_audited_falls_back_to_the_configured_names():
    out = hr.audited_html({"mode": "real"}, [_row("a", "error")],
                          {"user": {"name": "bob"}, "secret": {"id": "creds"}})
    assert "<dt>IAM user</dt><dd><code>bob</code> <span class='bka-small'>(from the configuration" in out
    assert "<dt>Secret</dt><dd><code>creds</code>" in out and "<dt>API key id</dt><dd>none found" in out


def test_controls_html_shows_fedramp_as_a_tag_in_the_nist_column_not_a_duplicate_column():
    both = {"nist_800_53_rev5": ["AC-2", "SC-28"], "cis_aws_v3": ["3.5"],
            "fedramp": ["FedRAMP High AC-2", "FedRAMP High SC-28"]}
    view = ctl.control_view([dict(_row("a", "pass"), controls=both), dict(_row("b", "fail"), controls=both)])
    out = hr.controls_html(view)
    columns = re.findall(r"<div class='bka-fw' data-framework='([^']+)'><h3>([^<]*)</h3>", out)
    assert columns == [("nist_800_53_rev5", "NIST SP 800-53 rev. 5 · FedRAMP High"),
                       ("cis_aws_v3", "CIS AWS Foundations Benchmark v3.0.0")]
    assert out.count("data-control='AC-2'") == 1
    assert "data-control='AC-2' data-status='not_satisfied' data-fedramp='not_satisfied'" in out
    assert out.count("class='bka-fr'") == 2 and "FedRAMP: " not in out  # same status: no second badge
    assert "2 of these controls are in the FedRAMP High baseline" in out


def test_controls_html_names_what_fedramp_adds_or_judges_differently():
    rows = [dict(_row("a", "pass"), controls={"nist_800_53_rev5": ["AC-2"], "fedramp": ["FedRAMP High AC-2"]}),
            dict(_row("b", "fail"), controls={"nist_800_53_rev5": [], "fedramp": ["FedRAMP High AC-2", "FedRAMP High CP-9"]})]
    out = hr.controls_html(ctl.control_view(rows))
    # NIST AC-2 rests on a alone (passed); FedRAMP's AC-2 also on b (failed): its status is shown beside
    ac2 = out[out.index("data-control='AC-2'"):]
    ac2 = ac2[:ac2.index("</tr>")]
    assert "data-status='satisfied'" in ac2 and "FedRAMP: not satisfied" in ac2
    assert "data-framework='fedramp' data-control='FedRAMP High CP-9'" in out and "FedRAMP High only" in out
    assert "data-framework='fedramp'><h3>" not in out  # no FedRAMP column


def test_change_section_lists_only_changes_not_the_top_sections_rows():
    def entry(cid, status, previous, detail):
        return {"id": cid, "params": {}, "severity": "high", "status": status, "previous_status": previous,
                "detail": detail}
    changes = {"previous_run": "20261125T201500Z",
               "newly_failing": [entry("a", "fail", "pass", "a broke")],
               "newly_fixed": [entry("b", "pass", "fail", "b fixed")],
               "still_failing": [entry("c", "fail", "fail", "c as before"), entry("d", "error", "fail", "d undecided")]}
    top = hr.newly_failing_html(changes)
    after = hr.changes_html(changes)
    assert "a broke" in top and "a broke" not in after and "href='#bka-newly'>1 newly failing</a>" in after
    assert "b fixed" in after and "d undecided" in after and "was Fail" in after
    assert "c as before" not in after and "1 failing as before" in after
    assert "href='#bka-changes'" in top
    quiet = hr.changes_html({"previous_run": "x", "newly_failing": [], "newly_fixed": [],
                             "still_failing": [entry("c", "fail", "fail", "c")]})
    assert "No row changed status." in quiet and "<li" not in quiet


UNREAD = '''
import pytest

@pytest.fixture
def trail(partition):
    raise RuntimeError("cloudtrail:DescribeTrails was throttled past its retries")

@pytest.fixture(params=["govcloud"])
def partition(request):
    return request.param

@pytest.mark.check("secret.exists")
def test_denied(check):
    check.undecided("secretsmanager:DescribeSecret was denied; grant it to the auditor")

@pytest.mark.check("cloudtrail.logging")
def test_setup_failed(check, trail):
    check.passed("never")
'''


def test_error_rows_name_what_they_looked_at_and_link_the_checks_metadata(audit_dir):
    audit_dir.pytester.makepyfile(test_unread=UNREAD)
    audit_dir.run()
    page = (audit_dir.latest() / "report.html").read_text()
    tests = _tests(page)
    for name, resource in (("test_denied", "AWS::SecretsManager::Secret (the row ended before naming it)"),
                           ("test_setup_failed[govcloud]", "AWS::CloudTrail::Trail in govcloud (the row ended before naming it)")):
        row = "".join(_one(tests, name)["resultsTableRow"])
        assert f'<td class="col-resource">{resource}</td>' in row, row
        links = re.search(r'<td class="col-links">(.*?)</td>', row).group(1)
        assert "check metadata" in links, row
    # results.json keeps the truth: the check never named its resource
    assert all(r["resource"] is None for r in audit_dir.results()["checks"])


def test_every_extra_action_of_least_privilege_is_written_into_the_report():
    """The verdict names a few; the JSON extra is a data: link browsers will not open as a page; so the
    whole list goes into the row's detail box as an HTML extra."""
    from bedrock_key_audit.fixtures.reporting import html_columns as hc

    extras = [{"action": f"bedrock:Action{i:03d}", "access_level": "Write", "granted_by": ["AmazonBedrockFullAccess"],
               "conditional": i == 7, "undecided_keys": ["aws:CalledVia"] if i == 7 else []} for i in range(274)]
    extras.append({"action": "bedrock:<script>", "access_level": "Read", "granted_by": [], "conditional": False})
    rec = {"check_id": "iam.policy_least_privilege", "status": "fail",
           "evidence": [{"source": "effective-permissions", "data": {"extra_actions": extras}}]}
    out = hc.evidence_extras(rec)
    assert [e["format_type"] for e in out] == ["html", "json"]
    listed = out[0]["content"]
    assert "All 275 actions beyond required_actions (effective-permissions)" in listed
    assert all(f"<code>bedrock:Action{i:03d}</code>" in listed for i in range(274))
    assert "<td>yes (aws:CalledVia)</td>" in listed and "bedrock:&lt;script&gt;" in listed
    # rows without such a list get no box
    assert [e["format_type"] for e in hc.evidence_extras({"evidence": [{"source": "x", "data": {"a": 1}}]})] == ["json"]


def test_long_verdict_cells_wrap_inside_their_column():
    """An inline SCP is one long run of JSON with no spaces: the Verdict column breaks it anywhere rather
    than letting it run into the Duration and Links columns."""
    rule = re.search(r"#results-table td\.col-detail\{([^}]*)\}", hr.CSS)
    assert rule is not None and "max-width:420px" in rule.group(1) and "overflow-wrap:anywhere" in rule.group(1)


def test_a_selected_run_says_so_at_the_top_escaped(audit_dir):
    """results.json ``run.selection`` is repeated in report.html above the posture, each filter escaped."""
    odd = audit_dir.path / "r&d<x>"
    odd.mkdir()
    (odd / "test_mod.py").write_text(MODULE)
    audit_dir.run("-m", "credential or secret", "r&d<x>/test_mod.py")
    run = audit_dir.latest()
    assert audit_dir.results(run)["run"]["selection"]["filters"] == ["-m credential or secret",
                                                                     "r&d<x>/test_mod.py"]
    page = (run / "report.html").read_text()
    notice = page[page.index("id='bka-selection'"):]
    notice = notice[:notice.index("</p>")]
    assert ("This run audited a selection: -m credential or secret; r&amp;d&lt;x&gt;/test_mod.py; "
            "rows outside it were not run.") in notice
    assert "r&d<x>" not in page
    assert page.index("id='bka-selection'") < page.index("What was audited")


def test_the_selection_notice_only_for_a_selection():
    assert hr.selection_html({"selection": {"filtered": False, "filters": []}}) == ""
    assert hr.selection_html({}) == ""
    out = hr.posture_html({"mode": "real", "selection": {"filtered": True, "filters": ["-m credential"]}}, [], None)
    assert "This run audited a selection: -m credential; rows outside it were not run." in out
