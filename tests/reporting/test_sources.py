"""What the plugin reads from the other plugins' stash keys, in one process and under xdist."""
from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

ROOT = Path(__file__).resolve().parents[2]

# Fills the stash keys the audit's own plugins fill (bedrock_key_audit.fixtures.config / bedrock_key_audit.fixtures.aws /
# bedrock_key_audit.remediation), with the shapes they document, plus a key in a call record.
STASH_CONFTEST = '''
import os, types
import pytest
from bedrock_key_audit.fixtures.reporting import sources

KEY = "ABSK" + "Y2FuYXJ5LWF0LTEyMzQ1Njc4OTAxMjpzZWNyZXQ="


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config):
    role = config.workerinput["workerid"] if hasattr(config, "workerinput") else "controller"
    cfg_key = sources._stash_key("bedrock_key_audit.fixtures.config", "CONFIG_KEY")
    calls_key = sources._stash_key("bedrock_key_audit.fixtures.aws", "CALL_LOG_KEY")
    ids_key = sources._stash_key("bedrock_key_audit.fixtures.aws", "IDENTITY_KEY")
    config.stash[cfg_key] = types.SimpleNamespace(
        path="/etc/audit.toml", sha256="ab" * 32,
        data={"partitions": {"commercial": {"region": "us-east-1"}, "govcloud": {"region": "us-gov-west-1"}},
              "secret": {"bedrock_api_key": KEY}})
    config.stash[calls_key] = [
        {"kind": "aws", "service": "sts", "operation": "GetCallerIdentity", "region": "us-gov-west-1",
         "partition": "govcloud", "outcome": "ok", "duration_ms": 3.5, "note": role},
        {"kind": "http", "service": "bedrock", "operation": "ListFoundationModels", "region": "us-east-1",
         "partition": "commercial", "outcome": "ok", "duration_ms": 9.0, "note": "sent " + KEY},
    ]
    config.stash[ids_key] = {
        "commercial": {"Account": "111111111111", "Arn": "arn:aws:iam::111111111111:user/auditor", "UserId": "AIDA1"},
        "govcloud": {"Account": "222222222222", "Arn": "arn:aws-us-gov:iam::222222222222:user/auditor",
                     "UserId": "AIDA2"},
    }
'''

CHECKS = '''
import pytest

@pytest.mark.check("cloudtrail.logging")
@pytest.mark.parametrize("partition", ["commercial", "govcloud"])
def test_logging(check, partition):
    check.require(partition == "commercial", f"trail in {partition} is not logging")
    check.passed("trail is logging")

@pytest.mark.check("cloudtrail.multi_region")
@pytest.mark.parametrize("partition", ["commercial", "govcloud"])
def test_multi(check, partition):
    check.passed("trail is multi-region")
'''


@pytest.fixture
def stash_dir(audit_dir):
    for module in ("bedrock_key_audit.fixtures.config", "bedrock_key_audit.fixtures.aws"):
        pytest.importorskip(module)
    (audit_dir.path / "conftest.py").write_text(
        (audit_dir.path / "conftest.py").read_text() + "\n" + STASH_CONFTEST)
    audit_dir.pytester.makepyfile(test_checks=CHECKS)
    return audit_dir


def test_run_metadata_comes_from_the_audit_stash_keys(stash_dir, schema):
    res = stash_dir.run("--evidence")
    assert res.ret == pytest.ExitCode.TESTS_FAILED
    run = stash_dir.latest()
    doc = stash_dir.results()
    jsonschema.validate(doc, schema("results.schema.json"))
    assert doc["run"]["config"] == {"path": "/etc/audit.toml", "sha256": "ab" * 32}
    assert doc["run"]["partitions"] == {
        "commercial": {"region": "us-east-1", "account": "111111111111",
                       "arn": "arn:aws:iam::111111111111:user/auditor", "user_id": "AIDA1"},
        "govcloud": {"region": "us-gov-west-1", "account": "222222222222",
                     "arn": "arn:aws-us-gov:iam::222222222222:user/auditor", "user_id": "AIDA2"},
    }
    run_doc = json.loads((run / "evidence" / "run.json").read_text())
    assert run_doc["accounts"] == ["111111111111", "222222222222"]
    assert run_doc["regions"] == ["us-east-1", "us-gov-west-1"]
    assert run_doc["call_counts"] == {"aws": 1, "http": 1}
    assert [c["operation"] for c in run_doc["calls"]] == ["GetCallerIdentity", "ListFoundationModels"]
    assert run_doc["calls"][1]["note"] == "sent ***REDACTED***"
    assert run_doc["identities"]["govcloud"]["Account"] == "222222222222"
    for path in run.rglob("*.json"):
        assert "Y2FuYXJ5" not in path.read_text(), path


@pytest.mark.skipif(not __import__("importlib").util.find_spec("xdist"), reason="pytest-xdist not installed")
def test_under_xdist_only_the_controller_writes_and_gets_the_workers_calls(stash_dir, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    res = stash_dir.pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "-p", "no:hypothesispytest", f"--reports-dir={stash_dir.reports}",
        "-n", "2", "--evidence", timeout=120)
    assert res.ret == pytest.ExitCode.TESTS_FAILED, res.stdout.str()
    runs = stash_dir.run_dirs()
    assert len(runs) == 1
    rows = stash_dir.rows()
    assert {k: r["status"] for k, r in rows.items()} == {
        "cloudtrail.logging[partition=commercial]": "pass",
        "cloudtrail.logging[partition=govcloud]": "fail",
        "cloudtrail.multi_region[partition=commercial]": "pass",
        "cloudtrail.multi_region[partition=govcloud]": "pass",
    }
    run_doc = json.loads((runs[0] / "evidence" / "run.json").read_text())
    roles = sorted(c["note"] for c in run_doc["calls"] if c["operation"] == "GetCallerIdentity")
    assert roles == ["controller", "gw0", "gw1"]
    assert stash_dir.results()["run"]["workers"] == 2
    assert "checks: 4" in res.stdout.str()
