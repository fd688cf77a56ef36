"""Pure functions: rows, changes, control matrix."""
from __future__ import annotations

import json
from typing import Any

from bedrock_key_audit.reporting import evidence, results

CONTROLS = {"nist_800_53_rev5": ["IA-5(1)", "AC-2"], "cis_aws_v3": ["1.14"], "fedramp": ["FedRAMP High IA-5(1)"]}


def record(check_id="credential.unexpired", status="pass", partition=None, **kw):
    params = {"partition": partition} if partition else {}
    return {"check_id": check_id, "title": "t", "family": check_id.split(".")[0], "severity": "high",
            "controls": CONTROLS, "nodeid": f"checks/x.py::test[{partition}]", "params": params,
            "partition": partition, "resource": None, "status": status, "detail": "d", "evidence": [],
            "remediation": [], "started": None, "duration_s": 0.1, **kw}


def test_row_takes_remediation_from_actions_naming_it():
    acts: list[dict[str, Any]] = [{"action": "rotate", "check_ids": ["credential.unexpired", "secret.key_matches_credential"],
             "partition": "commercial", "status": "applied"},
            {"action": "rotate-gov", "check_ids": ["credential.unexpired"], "partition": "govcloud"},
            {"action": "other", "check_id": "iam.user_exists"}]
    row = results.check_row(record(partition="commercial"), acts)
    assert [a["action"] for a in row["remediation"]] == ["rotate"]
    own = results.check_row(record(remediation=[{"action": "mine"}]), acts)
    assert [a["action"] for a in own["remediation"]] == ["mine"]


def test_changes_classify_by_id_and_params():
    prev = {"checks": [results.check_row(r) for r in (
        record(status="fail", partition="commercial"), record(status="pass", partition="govcloud"),
        record("iam.user_exists", status="error"), record("secret.exists", status="fail"))]}
    now = [results.check_row(r) for r in (
        record(status="pass", partition="commercial"),       # fixed
        record(status="fail", partition="govcloud"),         # newly failing
        record("iam.user_exists", status="fail"),            # still failing (error -> fail)
        record("secret.exists", status="skip"),              # not verified: neither
        record("secret.schema", status="error"))]            # absent before: not compared
    ch = results.compute_changes(now, prev, "20260101T000000Z")
    label = lambda lst: sorted(e["id"] + str(e["params"]) for e in lst)  # noqa: E731
    assert label(ch["newly_fixed"]) == ["credential.unexpired{'partition': 'commercial'}"]
    assert label(ch["newly_failing"]) == ["credential.unexpired{'partition': 'govcloud'}"]
    assert label(ch["still_failing"]) == ["iam.user_exists{}"]
    assert [e["previous_status"] for e in ch["newly_failing"]] == ["pass"]
    assert results.compute_changes(now, None, None)["newly_failing"] == []


def test_control_matrix_aggregates_worst_first_and_sorts_naturally():
    rows = [results.check_row(r) for r in (
        record(status="pass", partition="commercial"), record(status="error", partition="govcloud"),
        record("secret.exists", status="skip", controls={"nist_800_53_rev5": ["AC-10"], "cis_aws_v3": [], "fedramp": []}))]
    m = evidence.control_matrix(rows)
    nist = m["frameworks"]["nist_800_53_rev5"]["controls"]
    assert [c["control"] for c in nist] == ["AC-2", "AC-10", "IA-5(1)"]
    assert {c["control"]: c["status"] for c in nist} == {"AC-2": "error", "AC-10": "not_assessed", "IA-5(1)": "error"}
    rows[1]["status"] = "fail"
    assert evidence.control_matrix(rows)["frameworks"]["cis_aws_v3"]["controls"][0]["status"] == "fail"
    # a skipped row was not assessed: a pass next to it proves only part of the control
    assert evidence._aggregate(["pass", "skip"]) == "not_assessed"


def _run_with(base, name, **run):
    d = base / name
    d.mkdir()
    meta = {"exit_status": 1, "mode": "emulate", "scenario": "guide", "config": {"sha256": "a" * 64}, "args": []}
    meta.update(run)
    (d / "results.json").write_text(json.dumps({"run": meta, "checks": []}))
    return d


def test_changes_compare_only_runs_of_the_same_kind(tmp_path):
    """Switching scenario, configuration or --all-keys must not make the other kind's run the baseline."""
    from bedrock_key_audit.reporting.history import previous_run, run_kind

    guide = _run_with(tmp_path, "20261101T000000Z")
    _run_with(tmp_path, "20261102T000000Z", scenario="compliant")
    _run_with(tmp_path, "20261103T000000Z", config={"sha256": "b" * 64})
    _run_with(tmp_path, "20261104T000000Z", args=["--all-keys"])
    kind = {"mode": "emulate", "scenario": "guide", "config_sha256": "a" * 64, "all_keys": False}
    assert previous_run(tmp_path, None, kind) == guide
    assert previous_run(tmp_path, None, dict(kind, all_keys=True)).name == "20261104T000000Z"
    assert previous_run(tmp_path, None, dict(kind, scenario="empty")) is None
    # without a kind (old callers) the newest complete run still counts
    assert previous_run(tmp_path, None).name == "20261104T000000Z"
    # a run written with an explicit kind is matched by it, not by derived fields
    explicit = _run_with(tmp_path, "20261105T000000Z", kind=dict(kind, scenario="other"))
    assert run_kind(json.loads((explicit / "results.json").read_text())["run"])["scenario"] == "other"
    assert previous_run(tmp_path, None, kind) == guide


def test_control_matrix_passes_a_control_only_when_every_check_passed():
    """A pass next to a skipped row proves only part of a control: not assessed, as in the report."""
    from bedrock_key_audit.reporting.evidence import control_matrix

    def row(cid, status):
        return {"id": cid, "params": {}, "status": status, "severity": "high", "resource": None,
                "controls": {"nist_800_53_rev5": ["AC-6"]}}

    def status_of(*rows):
        return control_matrix(list(rows))["frameworks"]["nist_800_53_rev5"]["controls"][0]["status"]

    assert status_of(row("a", "pass"), row("b", "pass")) == "pass"
    assert status_of(row("a", "pass"), row("b", "skip")) == "not_assessed"
    assert status_of(row("a", "pass"), row("b", "error")) == "error"
    assert status_of(row("a", "error"), row("b", "fail")) == "fail"
