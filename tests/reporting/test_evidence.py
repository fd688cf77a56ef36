"""--evidence: per-check responses, run.json, control matrix, manifest, archive, and the verify command."""
from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import jsonschema
import pytest

from bedrock_key_audit.reporting import verify as verify_mod

ROOT = Path(__file__).resolve().parents[2]

AUDIT = '''
import pytest

@pytest.mark.check("credential.unexpired")
@pytest.mark.parametrize("partition", ["commercial", "govcloud"])
def test_unexpired(check, partition):
    check.resource = f"ACCA{partition.upper()}"
    check.evidence("iam:ListServiceSpecificCredentials", {
        "ServiceSpecificCredentials": [{"ServiceSpecificCredentialId": f"ACCA{partition.upper()}",
                                        "Status": "Active", "ExpirationDate": "2026-12-07T00:00:00Z"}]})
    check.require(partition == "commercial", f"key ACCA{partition.upper()} expires in 12 days (rotate before 30)")
    check.passed("key expires in 170 days")

@pytest.mark.check("cloudtrail.log_file_validation")
def test_validation(check):
    check.evidence("cloudtrail:DescribeTrails", {"trailList": [{"Name": "main", "LogFileValidationEnabled": True}]})
    check.passed("trail main validates its log files")

@pytest.mark.check("secret.exists")
def test_secret(check):
    from bedrock_key_audit.checkcore import CouldNotDecide
    raise CouldNotDecide("secretsmanager:DescribeSecret was denied")
'''


@pytest.fixture
def bundle(audit_dir):
    audit_dir.pytester.makepyfile(test_audit=AUDIT)
    res = audit_dir.run("--evidence")
    assert res.ret == pytest.ExitCode.TESTS_FAILED
    run = audit_dir.latest()
    return audit_dir, run, res


def _verify(path: Path, capsys) -> tuple[int, str]:
    code = verify_mod.main([str(path)])
    return code, capsys.readouterr().out


def test_bundle_files_validate_against_their_schemas(bundle, schema):
    audit_dir, run, res = bundle
    ev = run / "evidence"
    archive = run / f"evidence-{run.name}.tar.gz"
    assert archive.is_file()
    digest = (run / f"{archive.name}.sha256").read_text().split()[0]
    assert f"sha256 {digest}" in res.stdout.str()

    manifest = json.loads((ev / "manifest.json").read_text())
    jsonschema.validate(manifest, schema("evidence-manifest.schema.json"))
    listed = {f["path"] for f in manifest["files"]}
    on_disk = {p.relative_to(ev).as_posix() for p in ev.rglob("*") if p.is_file()} - {"manifest.json"}
    assert listed == on_disk
    assert {"run.json", "control-matrix.json", "control-matrix.csv", "control-matrix.md", "results.json",
            "junit.xml", "report.html"} <= listed

    checks = sorted((ev / "checks").glob("*.json"))
    assert [p.name for p in checks] == [
        "cloudtrail.log_file_validation.json",
        "credential.unexpired--partition=commercial.json",
        "credential.unexpired--partition=govcloud.json",
        "secret.exists.json",
    ]
    for p in checks:
        jsonschema.validate(json.loads(p.read_text()), schema("evidence-check.schema.json"))
    gov = json.loads((ev / "checks" / "credential.unexpired--partition=govcloud.json").read_text())
    assert gov["status"] == "fail" and gov["resource"] == "ACCAGOVCLOUD"
    assert gov["evidence"][0]["source"] == "iam:ListServiceSpecificCredentials"
    assert gov["evidence"][0]["data"]["ServiceSpecificCredentials"][0]["ServiceSpecificCredentialId"] == "ACCAGOVCLOUD"

    run_doc = json.loads((ev / "run.json").read_text())
    jsonschema.validate(run_doc, schema("evidence-run.schema.json"))
    assert run_doc["run_id"] == run.name and run_doc["calls"] == [] and run_doc["call_counts"] == {"aws": 0, "http": 0}

    matrix = json.loads((ev / "control-matrix.json").read_text())
    jsonschema.validate(matrix, schema("control-matrix.schema.json"))
    nist = {c["control"]: c for c in matrix["frameworks"]["nist_800_53_rev5"]["controls"]}
    assert nist["IA-5(1)"]["status"] == "fail"  # credential.unexpired fails in govcloud
    assert nist["SI-7"]["status"] == "pass"  # log-file validation
    assert {c["id"] for c in nist["AU-9"]["checks"]} == {"cloudtrail.log_file_validation"}
    cis = {c["control"] for c in matrix["frameworks"]["cis_aws_v3"]["controls"]}
    assert {"1.12", "3.2"} <= cis
    assert matrix["frameworks"]["fedramp"]["controls"]
    rows = list(csv.DictReader(io.StringIO((ev / "control-matrix.csv").read_text())))
    assert {"framework": "nist_800_53_rev5", "control": "IA-5(1)", "check_id": "credential.unexpired",
            "params": "partition=govcloud", "check_status": "fail"}.items() <= next(
        r for r in rows if r["control"] == "IA-5(1)" and r["params"] == "partition=govcloud").items()

    with tarfile.open(archive) as tar:
        names = {m.name for m in tar.getmembers()}
    assert names == {f"evidence/{p}" for p in listed} | {"evidence/manifest.json"}


def test_verify_accepts_the_bundle_as_written(bundle, capsys):
    _, run, _ = bundle
    for target in (run / f"evidence-{run.name}.tar.gz", run / "evidence", run):
        code, out = _verify(target, capsys)
        assert code == 0, out
        assert "OK:" in out


def test_verify_names_changed_added_and_missing_files_in_a_directory(bundle, capsys):
    _, run, _ = bundle
    ev = run / "evidence"
    target = ev / "checks" / "credential.unexpired--partition=govcloud.json"
    doc = json.loads(target.read_text())
    doc["status"] = "pass"  # an auditee "fixing" the evidence
    target.write_text(json.dumps(doc))
    (ev / "checks" / "extra.json").write_text("{}")
    (ev / "control-matrix.md").unlink()
    code, out = _verify(ev, capsys)
    assert code == 1
    assert "changed: checks/credential.unexpired--partition=govcloud.json" in out
    assert "added: checks/extra.json" in out
    assert "missing: control-matrix.md" in out
    assert "FAILED: 1 changed, 1 missing, 1 added" in out


def _rewrite_archive(src: Path, dst: Path) -> None:
    """Copy ``src`` with one member changed, one dropped and one added."""
    with tarfile.open(src) as tin, tarfile.open(dst, "w:gz") as tout:
        for m in tin.getmembers():
            data = tin.extractfile(m).read() if m.isfile() else None
            if m.name == "evidence/run.json":
                data = data.replace(b'"mode": "real"', b'"mode": "emulate"')
                assert b"emulate" in data
            if m.name == "evidence/control-matrix.csv":
                continue
            info = tarfile.TarInfo(m.name)
            info.size = len(data)
            tout.addfile(info, io.BytesIO(data))
        info = tarfile.TarInfo("evidence/checks/planted.json")
        info.size = 2
        tout.addfile(info, io.BytesIO(b"{}"))


def test_verify_command_names_tampering_in_an_archive(bundle, tmp_path):
    _, run, _ = bundle
    archive = run / f"evidence-{run.name}.tar.gz"
    tampered = tmp_path / "tampered.tar.gz"
    _rewrite_archive(archive, tampered)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    cmd = [sys.executable, "-m", "bedrock_key_audit.reporting.verify"]
    ok = subprocess.run(cmd + [str(archive)], capture_output=True, text=True, env=env, cwd=ROOT, timeout=60)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    bad = subprocess.run(cmd + [str(tampered)], capture_output=True, text=True, env=env, cwd=ROOT, timeout=60)
    assert bad.returncode == 1
    assert bad.stdout.splitlines()[:3] == [
        "changed: run.json", "missing: control-matrix.csv", "added: checks/planted.json"]


def test_verify_refuses_what_is_not_a_bundle(tmp_path, capsys):
    assert verify_mod.main([str(tmp_path / "nope")]) == 2
    assert "no such file or directory" in capsys.readouterr().err
    (tmp_path / "manifest.json").write_text('{"files": "all fine"}')
    assert verify_mod.main([str(tmp_path)]) == 2
    assert "does not match its schema" in capsys.readouterr().err
    evil = tmp_path / "evil.tar.gz"
    with tarfile.open(evil, "w:gz") as tar:
        info = tarfile.TarInfo("../escape.txt")
        info.size = 1
        tar.addfile(info, io.BytesIO(b"x"))
    assert verify_mod.main([str(evil)]) == 2
    assert "unsafe member" in capsys.readouterr().err


def test_archive_is_reproducible_from_the_same_files(bundle, tmp_path):
    from bedrock_key_audit.reporting.evidence import pack

    _, run, _ = bundle
    a, b = tmp_path / "a.tar.gz", tmp_path / "b.tar.gz"
    assert pack(run / "evidence", a) == pack(run / "evidence", b)
    assert pack(run / "evidence", a) == (run / f"evidence-{run.name}.tar.gz.sha256").read_text().split()[0]
