"""OSCAL Assessment Results: built with trestle's models, valid against NIST's OSCAL 1.2.1 JSON schema."""
from __future__ import annotations

import copy
import json

import jsonschema
import pytest

from bedrock_key_audit.reporting import oscal

RUN = {"run_id": "20261130T000000Z", "started": "2026-11-30T00:00:00+00:00", "finished": "2026-11-30T00:01:00+00:00",
       "tool": {"version": "0.1.0", "git_commit": "abc123"}, "mode": "emulate", "scenario": "guide",
       "config": {"path": "audit.toml", "sha256": "0" * 64},
       "partitions": {"commercial": {"region": "us-east-1", "account": "123456789012"}}}
USER = "arn:aws:iam::123456789012:user/bedrock-user"
SECRET = "arn:aws-us-gov:secretsmanager:us-gov-west-1:210987654321:secret:s-AbCdEf"


def _row(cid, status, controls, resource=USER, params=None, remediation=None, detail="verdict"):
    return {"id": cid, "title": f"title of {cid}", "family": cid.split(".")[0], "status": status,
            "severity": "high", "controls": {"nist_800_53_rev5": controls, "cis_aws_v3": ["1.12"], "fedramp": []},
            "resource": resource, "partition": (params or {}).get("partition"), "params": params or {},
            "detail": detail, "remediation": remediation or [], "nodeid": f"checks/t.py::{cid}{params or ''}",
            "started": "2026-11-30T00:00:30+00:00", "duration_s": 0.1}


def rows():
    return [
        _row("iam.policy_least_privilege", "fail", ["AC-6", "AC-6(10)"], remediation=[
            {"action": "detach AdministratorAccess from bedrock-user", "status": "planned", "target": USER,
             "calls": ["iam:DetachUserPolicy"], "destructive": True},
            {"action": "attach the least-privilege policy", "status": "applied", "target": USER}]),
        _row("secret.schema", "pass", ["SC-28"], resource=f"{SECRET} -> {USER}/credential/ACCA1"),
        _row("secret.exists", "error", ["SC-28", "IA-5(1)"], resource=SECRET, detail="could not decide"),
        _row("cloudtrail.kms", "fail", ["SC-28(1)"], params={"partition": "govcloud"}),
        _row("credential.active", "waived", ["IA-5"], detail="accepted by the AO until 2027-01-01"),
        _row("cloudtrail.multi_region", "pass", ["AU-2"], params={"partition": "commercial"}, remediation=[
            {"action": "make trail main multi-region", "status": "applied"}], detail="trail main is multi-region"),
        _row("cloudtrail.logging", "pass", ["AU-12"], remediation=[{"action": "never needed", "status": "planned"}]),
    ]


@pytest.fixture(scope="module")
def doc():
    files = {r["nodeid"]: (f"../checks/{r['id']}.json", "a" * 64) for r in rows()}
    return oscal.document(RUN, rows(), evidence_files=files, run_files={"../run.json": "b" * 64},
                          metadata={}, check_meta=oscal.load_check_meta(r["id"] for r in rows()))


def test_document_validates_against_nists_oscal_schema(doc):
    oscal.validate(doc)
    ar = doc["assessment-results"]
    from trestle.oscal import OSCAL_VERSION

    assert ar["metadata"]["oscal-version"] == OSCAL_VERSION
    assert f"/{OSCAL_VERSION}/" in json.loads(oscal.OSCAL_SCHEMA.read_text())["$id"]


def test_each_row_is_a_test_observation_with_subjects_and_hashed_evidence(doc):
    ar = doc["assessment-results"]
    res = ar["results"][0]
    back = {r["uuid"]: r for r in ar["back-matter"]["resources"]}
    assert len(res["observations"]) == len(rows())
    obs = {o["title"].split(":")[0]: o for o in res["observations"]}
    o = obs["secret.schema"]
    assert o["methods"] == ["TEST"]
    assert [back[s["subject-uuid"]]["title"] for s in o["subjects"]] == [SECRET, f"{USER}/credential/ACCA1"]
    assert all(s["type"] == "resource" for s in o["subjects"])
    ev = o["relevant-evidence"][0]
    rlink = back[ev["href"].lstrip("#")]["rlinks"][0]
    assert rlink == {"href": "../checks/secret.schema.json", "media-type": "application/json",
                     "hashes": [{"algorithm": "SHA-256", "value": "a" * 64}]}
    assert {p["name"]: p["value"] for p in obs["cloudtrail.kms[partition=govcloud]"]["props"]}["partition"] == "govcloud"


def test_findings_per_nist_control_in_catalog_id_form(doc):
    res = doc["assessment-results"]["results"][0]
    f = {x["target"]["target-id"]: x for x in res["findings"]}
    assert set(f) == {"ac-6_smt", "ac-6.10_smt", "sc-28_smt", "sc-28.1_smt", "ia-5.1_smt", "ia-5_smt",
                      "au-2_smt", "au-12_smt"}
    assert f["au-2_smt"]["target"]["status"] == {"state": "satisfied", "reason": "pass"}
    assert f["ac-6.10_smt"]["target"]["status"] == {"state": "not-satisfied", "reason": "fail"}
    # secret.schema passed but secret.exists could not decide: SC-28 is not proven
    sc28 = f["sc-28_smt"]
    assert sc28["target"]["status"]["state"] == "not-satisfied" and sc28["target"]["status"]["reason"] == "other"
    assert {p["value"] for p in sc28["props"] if p["name"] == "control-status"} == {"not-assessed"}
    assert len(sc28["related-observations"]) == 2
    selected = [c["control-id"] for c in res["reviewed-controls"]["control-selections"][0]["include-controls"]]
    assert "ac-6.10" in selected and "sc-28.1" in selected


def test_satisfied_only_when_every_check_passed():
    ok = oscal.document(RUN, [_row("secret.schema", "pass", ["SC-28"])], metadata={})
    (f,) = ok["assessment-results"]["results"][0]["findings"]
    assert f["target"]["status"] == {"state": "satisfied", "reason": "pass"}
    oscal.validate(ok)


def test_remediation_actions_become_risk_remediations_and_waivers_a_risk_log(doc):
    res = doc["assessment-results"]["results"][0]
    risks = {r["title"].split(":")[0]: r for r in res["risks"]}
    assert "secret.schema" not in risks  # passed: no risk
    lp = risks["iam.policy_least_privilege"]
    assert [(x["lifecycle"], x["title"]) for x in lp["remediations"]] == [
        ("planned", "detach AdministratorAccess from bedrock-user"), ("completed", "attach the least-privilege policy")]
    assert "(destructive)" in lp["remediations"][0]["description"]
    assert lp["status"] == "remediating"
    kms = risks["cloudtrail.kms[partition=govcloud]"]
    assert kms["status"] == "open"
    assert kms["remediations"][0]["lifecycle"] == "recommendation"  # the check's own fix text
    assert "kms" in kms["remediations"][0]["description"].lower()
    assert risks["secret.exists"]["status"] == "investigating"
    waived = risks["credential.active"]
    assert waived["status"] == "deviation-approved"
    assert waived["risk-log"]["entries"][0]["status-change"] == "deviation-approved"
    fixed = risks["cloudtrail.multi_region[partition=commercial]"]  # --remediate: fixed, and the re-run passed
    assert fixed["status"] == "closed" and fixed["remediations"][0]["lifecycle"] == "completed"
    assert fixed["description"].startswith("fixed in this run")
    assert "cloudtrail.logging" not in risks  # passed, nothing applied
    f = {x["target"]["target-id"]: x for x in res["findings"]}
    assert f["ac-6_smt"]["related-risks"][0]["risk-uuid"] == lp["uuid"]


@pytest.mark.parametrize("control,expected", [("AC-6", "ac-6"), ("AC-6(10)", "ac-6.10"), ("SC-28(1)", "sc-28.1"),
                                              ("AU-12", "au-12"), ("IA-5(1)", "ia-5.1")])
def test_control_ids_follow_the_nist_catalog(control, expected):
    assert oscal.catalog_id(control) == expected


def test_catalog_id_rejects_what_is_not_an_800_53_control():
    with pytest.raises(ValueError):
        oscal.catalog_id("3.1")


def test_schema_validation_fails_on_a_broken_document(doc):
    bad = copy.deepcopy(doc)
    bad["assessment-results"]["results"][0]["findings"][0]["target"]["status"]["state"] = "probably"
    with pytest.raises(jsonschema.ValidationError):
        oscal.validate(bad)
    bad = copy.deepcopy(doc)
    del bad["assessment-results"]["import-ap"]
    with pytest.raises(jsonschema.ValidationError):
        oscal.validate(bad)


def test_token_patterns_use_unicode_classes_via_the_regex_module(doc):
    """OSCAL's token pattern is ``^(\\p{L}|_)(\\p{L}|\\p{N}|[.\\-_])*$``: a letter of any script
    passes, a leading digit or a space fails (Python's ``re`` could not even compile it)."""
    good = copy.deepcopy(doc)
    good["assessment-results"]["results"][0]["observations"][0]["props"][0]["name"] = "prüfung"
    oscal.validate(good)
    for name in ("1check", "check id"):
        bad = copy.deepcopy(doc)
        bad["assessment-results"]["results"][0]["observations"][0]["props"][0]["name"] = name
        with pytest.raises(jsonschema.ValidationError, match="does not match"):
            oscal.validate(bad)
