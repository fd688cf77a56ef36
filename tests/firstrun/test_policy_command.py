"""``bedrock-key-audit policy``: the proven policies (tests/remediation/test_policies.py) for this
configuration: the user and secret names, one partition's ARNs, organization mode."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from bedrock_key_audit import cli, policies

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("role", policies.ROLES)
def test_the_docs_policies_are_the_templates_for_the_defaults(role, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # no audit.toml: the built-in defaults
    assert cli.main(["policy", role]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == json.loads((ROOT / "docs" / f"{role}-policy.json").read_text()) == policies.template(role)


def _resources(doc: dict) -> list[str]:
    return [r for st in doc["Statement"] for r in ([st["Resource"]] if isinstance(st["Resource"], str) else st["Resource"])]


def test_names_come_from_the_configuration(tmp_path, capsys):
    cfg = tmp_path / "audit.toml"
    cfg.write_text('[user]\nname = "svc-bedrock"\n[secret]\nid = "prod/bedrock-key"\n')
    assert cli.main(["policy", "remediator", "--audit-config", str(cfg)]) == 0
    doc = json.loads(capsys.readouterr().out)
    text = json.dumps(doc)
    assert "bedrock-cross-partition-user" not in text and "cross-partition-commercial-creds" not in text
    assert "arn:aws:iam::*:user/svc-bedrock" in _resources(doc)
    assert "arn:aws-us-gov:secretsmanager:*:*:secret:prod/bedrock-key-??????" in _resources(doc)
    assert "arn:aws:iam::*:policy/BedrockApiKeyLeastPrivilege-svc-bedrock" in _resources(doc)


def test_a_secret_arn_is_used_as_given():
    arn = "arn:aws-us-gov:secretsmanager:us-gov-west-1:210987654321:secret:k-AbCdEf"
    doc = policies.generate("auditor", secret=arn)
    assert arn in _resources(doc) and not any(":secret:" in r and r != arn for r in _resources(doc))


@pytest.mark.parametrize("partition, arn_p, other", [("commercial", "aws", "aws-us-gov"), ("govcloud", "aws-us-gov", "aws")])
def test_one_partition(partition, arn_p, other):
    doc = policies.generate("auditor", partition=partition)
    res = _resources(doc)
    assert not [r for r in res if r.startswith(f"arn:{other}:")]
    assert any(r.startswith(f"arn:{arn_p}:") for r in res)
    secret_statements = [st for st in doc["Statement"] if any(":secretsmanager:" in r for r in _resources({"Statement": [st]}))]
    assert bool(secret_statements) == (partition == "govcloud")  # the secret lives in GovCloud


def test_organization_adds_the_management_principals_reads_and_assume_role(tmp_path, capsys):
    cfg = tmp_path / "audit.toml"
    cfg.write_text('[organization]\nrole_name = "BedrockKeyAudit"\n')
    assert cli.main(["policy", "auditor", "--organization", "--audit-config", str(cfg)]) == 2
    assert capsys.readouterr().err.strip() == (
        "error: --organization needs --partition commercial|govcloud (each partition's management principal "
        "gets its own policy)")
    assert cli.main(["policy", "auditor", "--organization", "--partition", "commercial", "--audit-config", str(cfg)]) == 0
    doc = json.loads(capsys.readouterr().out)
    by_sid = {st.get("Sid"): st for st in doc["Statement"]}
    assert by_sid["ListTheOrganizationsAccounts"]["Action"] == policies.ORGANIZATION_ACTIONS
    assert by_sid["AssumeTheAuditRoleInEachMemberAccount"]["Resource"] == ["arn:aws:iam::*:role/BedrockKeyAudit"]
    assert not [r for r in _resources(doc) if r.startswith("arn:aws-us-gov:")]
    gov = policies.generate("auditor", partition="govcloud", organization={"role_name": "R"})
    assert "ListTheOrganizationsAccounts" not in {st.get("Sid") for st in gov["Statement"]}


def test_the_organization_actions_are_what_discovery_calls():
    """Every Organizations operation bedrock_key_audit/organization.py calls, and nothing else."""
    import re

    source = (ROOT / "bedrock_key_audit" / "organization.py").read_text()
    called = {"organizations:" + "".join(w.title() for w in m.split("_"))
              for m in re.findall(r'"(list_[a-z_]+)"', source)}
    assert called == set(policies.ORGANIZATION_ACTIONS)
