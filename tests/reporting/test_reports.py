"""The run directory: report.html, results.json, junit.xml, latest, index.html, changes, pruning, --fail-on."""
from __future__ import annotations

import json
import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest

from bedrock_key_audit.reporting import results as results_mod

MIXED = '''
import pytest

@pytest.mark.check("iam.user_exists")
@pytest.mark.parametrize("partition", ["commercial", "govcloud"])
def test_user(check, partition):
    check.resource = f"arn:aws:iam::123456789012:user/bob-{partition}"
    check.evidence("iam:GetUser", {"User": {"UserName": "bob", "Partition": partition}})
    check.require(partition == "commercial", f"IAM user bob does not exist in {partition}")
    check.passed("IAM user bob exists")

@pytest.fixture
def denied():
    from bedrock_key_audit.checkcore import CouldNotDecide
    raise CouldNotDecide("iam:ListServiceSpecificCredentials was denied; grant it to the auditor")

@pytest.mark.check("credential.active")
def test_active(check, denied):
    check.passed("never reached")

@pytest.mark.check("credential.unexpired")
def test_unexpired(check):
    pytest.skip("no key to audit in this scenario")

@pytest.mark.check("cloudtrail.kms")
def test_kms(check):
    check.resource = "arn:aws:cloudtrail:us-east-1:123456789012:trail/main"
    check.passed("trail main is encrypted with a customer-managed key")

def test_not_a_check():
    assert 1 + 1 == 2
'''


def test_run_writes_html_results_junit_latest_and_index(audit_dir, schema):
    audit_dir.pytester.makepyfile(test_mixed=MIXED)
    res = audit_dir.run()
    assert res.ret == pytest.ExitCode.TESTS_FAILED
    run = audit_dir.latest()
    assert {"report.html", "results.json", "junit.xml"} <= {p.name for p in run.iterdir()}
    assert re.fullmatch(r"\d{8}T\d{6}Z(-\d+)?", run.name)

    doc = audit_dir.results()
    jsonschema.validate(doc, schema("results.schema.json"))
    rows = audit_dir.rows()
    assert {k: r["status"] for k, r in rows.items()} == {
        "iam.user_exists[partition=commercial]": "pass",
        "iam.user_exists[partition=govcloud]": "fail",
        "credential.active": "error",
        "credential.unexpired": "skip",
        "cloudtrail.kms": "pass",
    }
    gov = rows["iam.user_exists[partition=govcloud]"]
    assert gov["detail"] == "IAM user bob does not exist in govcloud"
    assert gov["severity"] == "high" and gov["partition"] == "govcloud"
    assert gov["resource"] == "arn:aws:iam::123456789012:user/bob-govcloud"
    assert "AC-2" in gov["controls"]["nist_800_53_rev5"]
    assert gov["nodeid"] == "test_mixed.py::test_user[govcloud]"
    assert "denied" in rows["credential.active"]["detail"]
    assert doc["summary"] == {"total": 5, "pass": 2, "fail": 1, "error": 1, "skip": 1, "waived": 0}
    assert doc["run"]["id"] == run.name and doc["run"]["exit_status"] == 1
    assert doc["run"]["mode"] == "real" and doc["other_failures"] == []
    assert doc["changes"]["previous_run"] is None

    # junit: pytest's own, with every test
    suite = ET.parse(run / "junit.xml").getroot()
    assert len(suite.findall(".//testcase")) == 6

    # html: self-contained, with our columns and the evidence extra
    html = (run / "report.html").read_text()
    assert not (run / "assets").exists()
    assert 'data-column-type="check"' in html and 'data-column-type="controls"' in html
    assert "iam:GetUser" in html  # the evidence link's name
    assert "Change since the previous run" in html and "<svg" in html

    # latest and index
    latest = audit_dir.reports / "latest"
    assert latest.is_symlink() and latest.resolve() == run.resolve()
    index = (audit_dir.reports / "index.html").read_text()
    assert f'href="{run.name}/report.html"' in index and "<svg" in index and "<script" not in index
    out = res.stdout.str()
    assert "checks: 5" in out and f"reports: {run}" in out


def test_results_schema_rejects_a_bad_row(audit_dir):
    audit_dir.pytester.makepyfile(test_mixed=MIXED)
    audit_dir.run()
    doc = audit_dir.results()
    results_mod.validate(doc)
    doc["checks"][0]["status"] = "passed"
    with pytest.raises(jsonschema.ValidationError):
        results_mod.validate(doc)


TOGGLE = '''
import pathlib, pytest

@pytest.mark.check("credential.unexpired")
def test_unexpired(check):
    ok = pathlib.Path("state.txt").read_text().strip() == "ok"
    check.require(ok, "key ACCA1 expires in 12 days (rotate before 30)")
    check.passed("key ACCA1 expires in 170 days")

@pytest.mark.check("cloudtrail.logging")
@pytest.mark.parametrize("partition", ["commercial", "govcloud"])
def test_logging(check, partition):
    check.require(partition == "commercial", f"trail in {partition} is not logging")
    check.passed("trail is logging")
'''


def test_change_since_previous_run_fail_fixed_fail(audit_dir):
    audit_dir.pytester.makepyfile(test_toggle=TOGGLE)
    state = audit_dir.path / "state.txt"
    key = "credential.unexpired"

    state.write_text("bad")
    r1 = audit_dir.run()
    c1 = audit_dir.results()["changes"]
    assert c1["previous_run"] is None and not (c1["newly_failing"] or c1["newly_fixed"] or c1["still_failing"])
    first = audit_dir.latest()
    assert "no previous run" in r1.stdout.str()

    state.write_text("ok")
    r2 = audit_dir.run()
    second = audit_dir.latest()
    assert second != first and (audit_dir.reports / "latest").resolve() == second.resolve()
    c2 = audit_dir.results()["changes"]
    assert c2["previous_run"] == first.name
    assert [e["id"] for e in c2["newly_fixed"]] == [key]
    assert c2["newly_fixed"][0]["previous_status"] == "fail"
    assert c2["newly_failing"] == []
    assert [(e["id"], e["params"]) for e in c2["still_failing"]] == [("cloudtrail.logging", {"partition": "govcloud"})]
    out2 = r2.stdout.str()
    assert f"since {first.name}: 0 newly failing, 1 newly fixed, 1 still failing" in out2
    assert f"NEWLY FIXED {key}" in out2
    assert "Newly fixed" in (second / "report.html").read_text()

    state.write_text("bad")
    r3 = audit_dir.run()
    third = audit_dir.latest()
    c3 = audit_dir.results()["changes"]
    assert c3["previous_run"] == second.name
    assert [e["id"] for e in c3["newly_failing"]] == [key] and c3["newly_failing"][0]["previous_status"] == "pass"
    assert c3["newly_fixed"] == []
    assert [e["id"] for e in c3["still_failing"]] == ["cloudtrail.logging"]
    assert f"NEWLY FAILING {key}" in r3.stdout.str()
    assert (audit_dir.reports / "latest").resolve() == third.resolve()
    assert "Newly failing" in (third / "report.html").read_text()
    # the commercial row passed all along: in no list
    assert all(e["params"] != {"partition": "commercial"} for lst in c3.values() if isinstance(lst, list) for e in lst)
    index = (audit_dir.reports / "index.html").read_text()
    assert all(f'href="{r.name}/report.html"' in index for r in (first, second, third))
    assert index.count('class="bar-fail"') == 3


def _fake_run(base: Path, name: str, counts=(1, 0)) -> Path:
    run = base / name
    run.mkdir(parents=True)
    (run / "results.json").write_text(json.dumps({
        # the same kind of run as audit_dir's (real mode, no scenario, no config): comparable
        "run": {"id": name, "started": "2026-01-01T00:00:00Z", "mode": "real", "scenario": None,
                "config": {"path": None, "sha256": None}, "args": []},
        "summary": {"total": sum(counts), "pass": counts[0], "fail": counts[1], "error": 0, "skip": 0},
        "checks": [], "changes": {},
    }))
    return run


def test_keep_runs_prunes_only_the_oldest_run_directories(audit_dir):
    audit_dir.pytester.makepyfile(test_toggle=TOGGLE)
    (audit_dir.path / "state.txt").write_text("ok")
    base = audit_dir.reports
    old = [_fake_run(base, n) for n in ("20240101T000000Z", "20240102T000000Z", "20240103T000000Z-2")]
    lookalike = base / "20230101T000000Z"  # a run-shaped name holding someone else's files
    lookalike.mkdir()
    (lookalike / "notes.txt").write_text("not a run")
    other = base / "archive"
    other.mkdir()
    res = audit_dir.run("--keep-runs=2")
    assert res.ret == pytest.ExitCode.TESTS_FAILED
    kept = [p.name for p in audit_dir.run_dirs()]
    assert kept == [old[2].name, audit_dir.latest().name]
    assert not old[0].exists() and not old[1].exists()
    assert lookalike.is_dir() and other.is_dir()
    assert "pruned 2 old run(s)" in res.stdout.str()
    index = (base / "index.html").read_text()
    assert old[0].name not in index and old[2].name in index
    # the previous run for the comparison was the newest kept one
    assert audit_dir.results()["changes"]["previous_run"] == old[2].name


def test_keep_runs_zero_is_a_usage_error(audit_dir):
    audit_dir.pytester.makepyfile(test_toggle=TOGGLE)
    res = audit_dir.run("--keep-runs=0")
    assert res.ret == pytest.ExitCode.USAGE_ERROR
    assert "--keep-runs must be at least 1" in res.stderr.str()
    assert not audit_dir.run_dirs()


SEVERITIES = '''
import os, pytest

@pytest.mark.check("cloudtrail.kms")  # medium in its metadata
def test_medium(check):
    check.require(os.environ.get("FAIL_MEDIUM") != "1", "trail main is not encrypted with a customer-managed key")

@pytest.mark.check("credential.single_active")
def test_low(check):
    check.severity = "low"  # a check may grade its own finding
    check.require(os.environ.get("FAIL_LOW") != "1", "two keys are active (the rotation slot is in use)")

@pytest.mark.check("credential.unexpired")  # high
def test_high(check):
    check.require(os.environ.get("FAIL_HIGH") != "1", "key ACCA1 expired 3 days ago")

def test_helper():
    assert os.environ.get("FAIL_HELPER") != "1", "a test that is not a check failed"
'''


@pytest.mark.parametrize(
    ("env", "fail_on", "expected"),
    [
        ({"FAIL_LOW": "1"}, "high", 0),
        ({"FAIL_LOW": "1"}, "low", 1),
        ({"FAIL_MEDIUM": "1"}, "high", 0),
        ({"FAIL_MEDIUM": "1"}, "medium", 1),
        ({"FAIL_HIGH": "1"}, "high", 1),
        ({"FAIL_HIGH": "1"}, "critical", 0),
        ({"FAIL_HIGH": "1"}, "none", 0),
        ({"FAIL_HIGH": "1", "FAIL_HELPER": "1"}, "none", 1),
        ({"FAIL_LOW": "1"}, None, 1),
        ({}, "info", 0),
    ],
)
def test_fail_on_sets_the_exit_status_from_severity(audit_dir, monkeypatch, env, fail_on, expected):
    audit_dir.pytester.makepyfile(test_sev=SEVERITIES)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    args = ["--no-reports"] + ([f"--fail-on={fail_on}"] if fail_on else [])
    res = audit_dir.run(*args)
    assert int(res.ret) == expected, res.stdout.str()
    if fail_on and not env.get("FAIL_HELPER"):
        assert f"--fail-on {fail_on}:" in res.stdout.str()


def test_fail_on_keeps_usage_errors(audit_dir):
    audit_dir.pytester.makepyfile(test_bad='''
import pytest

@pytest.mark.check("no.such_check")
def test_x(check):
    pass
''')
    res = audit_dir.run("--fail-on=none")
    assert res.ret == pytest.ExitCode.USAGE_ERROR
    assert not audit_dir.run_dirs()


def test_fail_on_recorded_in_results(audit_dir, monkeypatch):
    audit_dir.pytester.makepyfile(test_sev=SEVERITIES)
    monkeypatch.setenv("FAIL_LOW", "1")
    res = audit_dir.run("--fail-on=medium")
    assert res.ret == 0
    doc = audit_dir.results()
    assert doc["run"]["fail_on"] == "medium" and doc["run"]["exit_status"] == 0
    assert audit_dir.rows()["credential.single_active"]["severity"] == "low"


def test_no_reports_writes_nothing(audit_dir):
    audit_dir.pytester.makepyfile(test_mixed=MIXED)
    res = audit_dir.run("--no-reports")
    assert res.ret == pytest.ExitCode.TESTS_FAILED
    assert not audit_dir.reports.exists()
    assert "checks: 5" in res.stdout.str()


def test_a_run_without_checks_leaves_no_run_directory(audit_dir):
    audit_dir.pytester.makepyfile(test_plain="def test_ok():\n    assert True\n")
    res = audit_dir.run()
    assert res.ret == 0
    assert not audit_dir.run_dirs()


def test_user_given_junit_and_html_paths_are_respected(audit_dir):
    audit_dir.pytester.makepyfile(test_toggle=TOGGLE)
    (audit_dir.path / "state.txt").write_text("ok")
    audit_dir.run(f"--junitxml={audit_dir.path / 'mine.xml'}", f"--html={audit_dir.path / 'mine.html'}")
    assert (audit_dir.path / "mine.xml").is_file() and (audit_dir.path / "mine.html").is_file()
    run = audit_dir.latest()
    assert (run / "results.json").is_file() and not (run / "junit.xml").exists()


def test_latest_falls_back_to_a_text_file(audit_dir, monkeypatch):
    from bedrock_key_audit.reporting import history

    def no_symlinks(*a, **k):
        raise OSError("symlinks not supported here")

    base = audit_dir.reports
    run = _fake_run(base, "20240101T000000Z")
    monkeypatch.setattr(os, "symlink", no_symlinks)
    path = history.point_latest(base, run)
    assert path == base / "latest.txt" and path.read_text().strip() == run.name


def test_same_second_runs_get_distinct_ordered_directories(tmp_path):
    import datetime as dt

    from bedrock_key_audit.reporting import history

    when = dt.datetime(2026, 11, 25, 20, 15, 0, tzinfo=dt.timezone.utc)
    names = [history.allocate_run_dir(tmp_path, when).name for _ in range(11)]
    assert names[:3] == ["20261125T201500Z", "20261125T201500Z-2", "20261125T201500Z-3"]
    assert [p.name for p in history.run_dirs(tmp_path)] == names


def test_an_interrupted_run_is_not_the_baseline(audit_dir):
    audit_dir.pytester.makepyfile(test_toggle=TOGGLE)
    (audit_dir.path / "state.txt").write_text("bad")
    audit_dir.run()
    baseline = audit_dir.latest()
    broken = _fake_run(audit_dir.reports, "29990101T000000Z")  # newer, but interrupted
    doc = json.loads((broken / "results.json").read_text())
    doc["run"]["exit_status"] = 2
    (broken / "results.json").write_text(json.dumps(doc))
    from bedrock_key_audit.reporting.history import previous_run

    assert previous_run(audit_dir.reports, None) == baseline


def test_without_pytest_html_the_rest_is_still_written(audit_dir):
    audit_dir.pytester.makepyfile(test_toggle=TOGGLE)
    (audit_dir.path / "state.txt").write_text("ok")
    res = audit_dir.run("-p", "no:html", "--evidence")
    assert res.ret == pytest.ExitCode.TESTS_FAILED
    run = audit_dir.latest()
    names = {p.name for p in run.iterdir()}
    assert "report.html" not in names and {"results.json", "junit.xml", "evidence"} <= names


def test_a_run_records_its_probe_token_for_later_runs(audit_dir):
    """``<reports-dir>/probe-tokens.json``: each writing run adds its probe token with its start and
    end (credential.recently_used of a later run spares only those probes: bedrock_key_audit/usage.py)."""
    from bedrock_key_audit.usage import PROBE_TOKENS_FILE, load_probe_runs, run_token

    audit_dir.pytester.makepyfile(test_mixed=MIXED)
    audit_dir.run()
    audit_dir.run()
    runs = load_probe_runs(audit_dir.reports / PROBE_TOKENS_FILE)
    assert runs and runs[-1].token == run_token() and len(runs) == 1  # in-process runs share the token
    assert runs[-1].started <= runs[-1].ended
    assert (audit_dir.reports / PROBE_TOKENS_FILE).is_file() and len(audit_dir.run_dirs()) == 2


def test_a_run_without_checks_records_no_probe_token(audit_dir):
    from bedrock_key_audit.usage import PROBE_TOKENS_FILE

    audit_dir.pytester.makepyfile(test_plain="def test_x():\n    assert True\n")
    audit_dir.run()
    assert not (audit_dir.reports / PROBE_TOKENS_FILE).exists()
