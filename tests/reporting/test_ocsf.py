"""findings.ocsf.json: OCSF 1.5.0 Detection Findings (py-ocsf-models), checked two ways.

1. py-ocsf-models round trip: each finding parses back into ``DetectionFinding`` and dumps to
   the same JSON.
2. Against the OCSF 1.5.0 schema *source* (schemas/ocsf-1.5.0, copied from ocsf/ocsf-schema at
   the v1.5.0 release; OCSF publishes no JSON-schema export in that repository): attribute
   names, required attributes, enum ids, class_uid / type_uid rules.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bedrock_key_audit.reporting import ocsf, oscal

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "schemas" / "ocsf-1.5.0"
RUN = {"run_id": "20261130T000000Z", "started": "2026-11-30T00:00:00+00:00", "finished": "2026-11-30T00:01:00+00:00",
       "tool": {"version": "0.1.0"},
       "partitions": {"commercial": {"region": "us-east-1", "account": "123456789012"},
                      "govcloud": {"region": "us-gov-west-1", "account": "210987654321"}}}
TRAIL = "arn:aws-us-gov:cloudtrail:us-gov-west-1:210987654321:trail/main"
SECRET = "arn:aws-us-gov:secretsmanager:us-gov-west-1:210987654321:secret:s-AbCdEf"
KEY = "arn:aws:iam::123456789012:user/u/credential/ACCA1"


def _row(cid, status, severity, resource, partition=None):
    return {"id": cid, "title": f"title of {cid}", "family": cid.split(".")[0], "status": status,
            "severity": severity, "controls": {"nist_800_53_rev5": ["SC-28", "SC-28(1)"], "cis_aws_v3": ["3.5"],
                                               "fedramp": ["FedRAMP High SC-28"]},
            "resource": resource, "partition": partition, "params": {"partition": partition} if partition else {},
            "detail": f"{cid} verdict", "nodeid": f"t.py::{cid}", "started": "2026-11-30T00:00:30+00:00",
            "remediation": [{"action": "enable KMS on trail main", "status": "planned"}]}


ROWS = [_row("cloudtrail.kms", "fail", "medium", TRAIL, "govcloud"),
        _row("secret.key_matches_live_key", "pass", "high", f"{SECRET} -> {KEY}"),
        _row("endpoint.invoke", "error", "critical", "http://127.0.0.1:1/model/x/converse"),
        _row("credential.active", "skip", "info", None, "commercial")]


@pytest.fixture(scope="module")
def findings() -> list[dict[str, Any]]:
    return ocsf.document(RUN, ROWS, oscal.load_check_meta(r["id"] for r in ROWS))


# ----------------------------------------------------------------------------- OCSF 1.5.0 source
def _load(rel: str) -> dict[str, Any]:
    return json.loads((SRC / rel).read_text())


def _attrs(rel: str) -> dict[str, dict[str, Any]]:
    """Attributes of a class/object file with its ``extends`` chain and ``$include``d profiles."""
    d = _load(rel)
    out: dict[str, dict[str, Any]] = {}
    if d.get("extends"):
        parent = d["extends"]
        prel = next(p for p in (f"objects/{parent}.json", f"events/{parent}.json", f"events/findings/{parent}.json")
                    if (SRC / p).is_file())
        out.update(_attrs(prel))
    for inc in d["attributes"].get("$include", []):
        if (SRC / inc).is_file():
            out.update({k: v for k, v in _load(inc)["attributes"].items() if k != "$include"})
    for k, v in d["attributes"].items():
        if k != "$include":
            out[k] = {**out.get(k, {}), **{kk: vv for kk, vv in v.items() if vv is not None}}
    return out


DICTIONARY = _load("dictionary.json")["attributes"]
OBJECTS = {"metadata": "objects/metadata.json", "product": "objects/product.json",
           "finding_info": "objects/finding_info.json", "resources": "objects/resource_details.json",
           "cloud": "objects/cloud.json", "account": "objects/account.json", "remediation": "objects/remediation.json"}


def _chain(rel: str) -> list[dict[str, Any]]:
    d = _load(rel)
    if not d.get("extends"):
        return [d]
    parent = d["extends"]
    prel = next(p for p in (f"objects/{parent}.json", f"events/{parent}.json", f"events/findings/{parent}.json")
                if (SRC / p).is_file())
    return _chain(prel) + [d]


def _problems(obj: dict[str, Any], rel: str, where: str, profiles: set[str]) -> list[str]:
    attrs = _attrs(rel)
    out = []
    for k in [k for k, v in attrs.items() if v.get("requirement") == "required"]:
        if k not in obj:
            out.append(f"{where}: required attribute {k} missing")
    for k, v in obj.items():
        base = k[:-3] if k.endswith("_dt") else None
        if k not in attrs and not (base in attrs and "datetime" in profiles
                                   and DICTIONARY.get(base, {}).get("type") == "timestamp_t"):
            out.append(f"{where}: {k} is not an attribute of {rel}")
            continue
        allowed = set(attrs.get(k, {}).get("enum") or {}) | set(DICTIONARY.get(k, {}).get("enum") or {})
        if allowed and k.endswith("_id") and str(v) not in allowed:
            out.append(f"{where}: {k}={v} is not in the schema's enum")
        if k in OBJECTS:
            for i, item in enumerate(v if isinstance(v, list) else [v]):
                out += _problems(item, OBJECTS[k], f"{where}.{k}[{i}]", profiles)
    for d in _chain(rel):
        req = (d.get("constraints") or {}).get("at_least_one")
        if req and not any(a in obj for a in req):
            out.append(f"{where}: needs at least one of {req}")
    return out


def check_against_ocsf_source(finding: dict[str, Any]) -> list[str]:
    detection = _load("events/findings/detection_finding.json")
    category_uid = 2  # categories.json: findings
    problems = []
    if finding.get("class_uid") != category_uid * 1000 + detection["uid"]:
        problems.append(f"class_uid {finding.get('class_uid')} is not Detection Finding's {category_uid * 1000 + 4}")
    if finding.get("type_uid") != finding.get("class_uid", 0) * 100 + finding.get("activity_id", -1):
        problems.append("type_uid is not class_uid * 100 + activity_id")
    profiles = set((finding.get("metadata") or {}).get("profiles") or [])
    if "cloud" in finding and "cloud" not in profiles:
        problems.append("cloud attribute without the cloud profile in metadata.profiles")
    return problems + _problems(finding, "events/findings/detection_finding.json", "finding", profiles)


# ----------------------------------------------------------------------------- tests
def test_the_vendored_source_is_ocsf_1_5_0_the_models_version():
    from py_ocsf_models import OCSF_VERSION

    assert _load("version.json")["version"] == OCSF_VERSION == "1.5.0"


def test_findings_round_trip_through_py_ocsf_models(findings):
    from py_ocsf_models.events.findings.detection_finding import DetectionFinding

    assert len(findings) == len(ROWS)
    for f in findings:
        assert json.loads(DetectionFinding.model_validate(f).model_dump_json(exclude_none=True)) == f


def test_findings_match_the_ocsf_1_5_0_detection_finding_class(findings):
    for f in findings:
        assert check_against_ocsf_source(f) == []


def test_the_source_check_can_fail(findings):
    bad = json.loads(json.dumps(findings[0]))
    del bad["finding_info"]["uid"]
    bad["severity_id"] = 7
    bad["compliance"] = {}
    bad["type_uid"] = 200402
    problems = check_against_ocsf_source(bad)
    assert any("finding_info" in p and "uid missing" in p for p in problems)
    assert any("severity_id=7" in p for p in problems)
    assert any("compliance is not an attribute" in p for p in problems)
    assert any("type_uid" in p for p in problems)


def test_each_row_maps_status_severity_resources_remediation_and_controls(findings):
    kms, secret, endpoint, skipped = findings
    assert [f["class_uid"] for f in findings] == [2004] * 4
    assert [f["status_code"] for f in findings] == ["FAIL", "PASS", "ERROR", "SKIP"]
    assert [f["severity_id"] for f in findings] == [3, 4, 5, 1]
    assert kms["resources"] == [{"uid": TRAIL, "name": "main", "type": "AWS::CloudTrail::Trail",
                                 "region": "us-gov-west-1", "cloud_partition": "aws-us-gov"}]
    assert kms["cloud"]["account"]["uid"] == "210987654321" and kms["cloud"]["region"] == "us-gov-west-1"
    assert [r["uid"] for r in secret["resources"]] == [SECRET, KEY]
    meta = json.loads((ROOT / "checks" / "metadata" / "cloudtrail.kms.json").read_text())
    assert kms["remediation"]["desc"] == meta["remediation"]["text"]
    assert kms["risk_details"] == meta["risk"]
    assert kms["unmapped"]["compliance"]["NIST-800-53-Revision-5"] == ["SC-28", "SC-28(1)"]
    assert kms["unmapped"]["compliance"]["CIS-3.0"] == ["3.5"]
    assert kms["unmapped"]["remediation_actions"] == ["enable KMS on trail main"]
    assert kms["finding_info"]["uid"] == "bedrock-key-audit:20261130T000000Z:cloudtrail.kms[partition=govcloud]"
    assert "resources" not in skipped and skipped["cloud"]["account"]["uid"] == "123456789012"
    assert endpoint["resources"][0]["type"] == meta_type("endpoint.invoke")


def meta_type(cid: str) -> str:
    return json.loads((ROOT / "checks" / "metadata" / f"{cid}.json").read_text()).get("resource_type") or "URL"


def test_a_waived_row_is_a_suppressed_finding():
    (f,) = ocsf.document(RUN, [_row("credential.active", "waived", "low", KEY)])
    assert (f["status_id"], f["status"], f["status_code"]) == (3, "Suppressed", "WAIVED")


AUDIT = '''
import pytest

@pytest.mark.check("cloudtrail.log_file_validation")
def test_validation(check):
    check.resource = "arn:aws:cloudtrail:us-east-1:123456789012:trail/main"
    check.passed("trail main validates its log files")
'''


def test_every_run_writes_findings_and_the_bundle_carries_them(audit_dir):
    audit_dir.pytester.makepyfile(test_audit=AUDIT)
    assert audit_dir.run().ret == pytest.ExitCode.OK
    run = audit_dir.latest()
    (f,) = json.loads((run / ocsf.FINDINGS_NAME).read_text())
    assert f["metadata"]["event_code"] == "cloudtrail.log_file_validation" and f["status_code"] == "PASS"
    assert check_against_ocsf_source(f) == []
    assert not (run / "evidence").exists()

    assert audit_dir.run("--evidence").ret == pytest.ExitCode.OK
    run = audit_dir.latest()
    ev = run / "evidence"
    assert (ev / ocsf.FINDINGS_NAME).read_bytes() == (run / ocsf.FINDINGS_NAME).read_bytes()
    manifest = json.loads((ev / "manifest.json").read_text())
    listed = {x["path"] for x in manifest["files"]}
    assert {ocsf.FINDINGS_NAME, "oscal/assessment-results.json"} <= listed
    ar = json.loads((ev / "oscal" / "assessment-results.json").read_text())
    oscal.validate(ar)
    back = {r["rlinks"][0]["href"]: r["rlinks"][0]["hashes"][0]["value"]
            for r in ar["assessment-results"]["back-matter"]["resources"] if r.get("rlinks")}
    by_path = {x["path"]: x["sha256"] for x in manifest["files"]}
    # every file the OSCAL document links to is the file the manifest hashed
    assert back and all(by_path[href.removeprefix("../")] == sha for href, sha in back.items())
    assert "../findings.ocsf.json" in back and "../checks/cloudtrail.log_file_validation.json" in back
