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
    assert printed == json.loads((ROOT / "docs" / f"{role}-policy.json").read_text()) == policies.generate(
        role, regions={"commercial": "us-east-1", "govcloud": "us-gov-west-1"})
    # the template differs only where the defaults name a Region: the secret's
    assert _resources(policies.template(role)) == [r.replace(":us-gov-west-1:", ":*:") for r in _resources(printed)]


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
    assert "arn:aws-us-gov:secretsmanager:us-gov-west-1:*:secret:prod/bedrock-key-??????" in _resources(doc)
    assert "arn:aws:iam::*:policy/BedrockApiKeyLeastPrivilege-svc-bedrock" in _resources(doc)


def test_a_secret_arn_is_used_as_given():
    arn = "arn:aws-us-gov:secretsmanager:us-gov-west-1:210987654321:secret:k-AbCdEf"
    doc = policies.generate("auditor", secret=arn)
    # the replicas' DescribeSecret names the same secret in any Region (a replica is read in its own)
    replicas = arn.replace(":us-gov-west-1:", ":*:")
    assert arn in _resources(doc) and not any(":secret:" in r and r not in (arn, replicas) for r in _resources(doc))


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
    assert by_sid["ListTheOrganizationsAccounts"]["Action"] == policies.organization_actions()
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
    assert called == set(policies.organization_actions())


# ---- accounts and Regions

GOV_ACCOUNT, COM_ACCOUNT = "210987654321", "123456789012"


def _by_sid(doc: dict) -> dict:
    return {st.get("Sid"): st for st in doc["Statement"]}


def test_an_account_names_the_accounts_own_resources_and_nothing_else(tmp_path, capsys):
    cfg = tmp_path / "audit.toml"
    cfg.write_text('[partitions.govcloud]\nregion = "us-gov-east-1"\n')
    assert cli.main(["policy", "auditor", "--partition", "govcloud", "--account", GOV_ACCOUNT,
                     "--audit-config", str(cfg)]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    by_sid = _by_sid(json.loads(captured.out))
    assert by_sid["ReadTheKeyUserAndItsCredentials"]["Resource"] == [f"arn:aws-us-gov:iam::{GOV_ACCOUNT}:user/*"]
    # the account's own and AWS managed policies
    assert by_sid["ReadManagedPolicyDocuments"]["Resource"] == [
        f"arn:aws-us-gov:iam::{GOV_ACCOUNT}:policy/*", "arn:aws-us-gov:iam::aws:policy/*"]
    assert by_sid["ReadTheGovCloudSecret"]["Resource"] == (
        f"arn:aws-us-gov:secretsmanager:us-gov-east-1:{GOV_ACCOUNT}:secret:cross-partition-commercial-creds-??????")
    # a replica is read in its own Region, which only the primary's ReplicationStatus names
    assert by_sid["DescribeTheSecretsReplicasInTheirOwnRegions"]["Resource"] == (
        f"arn:aws-us-gov:secretsmanager:*:{GOV_ACCOUNT}:secret:cross-partition-commercial-creds-??????")
    assert by_sid["ReadWhoMayUseTheSecretsKey"]["Resource"] == f"arn:aws-us-gov:kms:*:{GOV_ACCOUNT}:key/*"
    # an organization trail (and its key) may be another account's, a multi-Region trail's home any Region
    assert by_sid["ReadTrailStatusAndSelectors"]["Resource"] == ["arn:aws-us-gov:cloudtrail:*:*:trail/*"]
    assert by_sid["DescribeKmsKeys"]["Resource"] == ["arn:aws-us-gov:kms:*:*:key/*"]
    # no Region condition: IAM, STS and Organizations are global
    assert "aws:RequestedRegion" not in json.dumps(by_sid)


def test_the_remediators_attach_condition_names_the_account():
    doc = policies.generate("remediator", partition="commercial", accounts={"commercial": COM_ACCOUNT})
    attach = _by_sid(doc)["AttachOnlyTheLeastPrivilegePolicyToTheKeyUser"]
    # the user at the root path and under any IAM path (a user's ARN carries its path)
    assert attach["Resource"] == [f"arn:aws:iam::{COM_ACCOUNT}:user/bedrock-cross-partition-user",
                                  f"arn:aws:iam::{COM_ACCOUNT}:user/*/bedrock-cross-partition-user"]
    assert attach["Condition"]["ArnLike"]["iam:PolicyARN"] == [
        f"arn:aws:iam::{COM_ACCOUNT}:policy/BedrockApiKeyLeastPrivilege",
        f"arn:aws:iam::{COM_ACCOUNT}:policy/BedrockApiKeyLeastPrivilege-bedrock-cross-partition-user"]
    assert not [r for r in _resources(doc) if ":iam::*:" in r]


def test_the_configured_accounts_name_each_partitions_arns(tmp_path, capsys):
    cfg = tmp_path / "audit.toml"
    cfg.write_text(f'[partitions.commercial]\nregion = "us-east-1"\naccount = "{COM_ACCOUNT}"\n'
                   f'[partitions.govcloud]\nregion = "us-gov-west-1"\naccount = "{GOV_ACCOUNT}"\n')
    assert cli.main(["policy", "auditor", "--audit-config", str(cfg)]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    res = _resources(json.loads(captured.out))
    assert f"arn:aws:iam::{COM_ACCOUNT}:user/*" in res and f"arn:aws-us-gov:iam::{GOV_ACCOUNT}:user/*" in res
    assert not [r for r in res if r.startswith("arn:aws:iam::*:") or r.startswith("arn:aws-us-gov:iam::*:")]
    # --account wins over the configuration for its partition
    assert cli.main(["policy", "auditor", "--partition", "commercial", "--account", "111122223333",
                     "--audit-config", str(cfg)]) == 0
    assert "arn:aws:iam::111122223333:user/*" in _resources(json.loads(capsys.readouterr().out))


@pytest.mark.parametrize("argv, err", [
    (["--partition", "commercial", "--account", "12345"], "error: --account '12345' is not a 12-digit AWS account ID"),
    (["--partition", "commercial", "--account", "1234567890123"],
     "error: --account '1234567890123' is not a 12-digit AWS account ID"),
    (["--partition", "govcloud", "--account", "abcdefghijkl"],
     "error: --account 'abcdefghijkl' is not a 12-digit AWS account ID"),
    (["--account", COM_ACCOUNT], "error: --account needs --partition commercial|govcloud (an account is in one partition)"),
])
def test_a_bad_account_is_one_line_and_exit_2(argv, err, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert cli.main(["policy", "auditor", *argv]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == err + "\n"


def test_a_bad_configured_account_is_a_config_error(tmp_path, capsys):
    cfg = tmp_path / "audit.toml"
    cfg.write_text('[partitions.commercial]\nregion = "us-east-1"\naccount = "1234"\n')
    assert cli.main(["policy", "auditor", "--audit-config", str(cfg)]) == 4
    captured = capsys.readouterr()
    assert captured.out == "" and "partitions.commercial.account" in captured.err and len(captured.err.splitlines()) == 1


def test_an_unknown_account_is_said_on_stderr_in_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert cli.main(["policy", "auditor", "--partition", "govcloud"]) == 0
    captured = capsys.readouterr()
    assert captured.err == ("account not known: ARNs use * for the account; give --account or set "
                            "partitions.govcloud.account\n")
    assert "arn:aws-us-gov:iam::*:user/*" in _resources(json.loads(captured.out))
    assert cli.main(["policy", "auditor"]) == 0
    assert capsys.readouterr().err == ("account not known: ARNs use * for the account; give --account or set "
                                       "partitions.commercial.account and partitions.govcloud.account\n")
    cfg = tmp_path / "audit.toml"
    cfg.write_text(f'[partitions.commercial]\nregion = "us-east-1"\naccount = "{COM_ACCOUNT}"\n')
    assert cli.main(["policy", "auditor"]) == 0
    assert capsys.readouterr().err == ("account not known: ARNs use * for the account; give --account or set "
                                       "partitions.govcloud.account\n")


@pytest.mark.parametrize("role", policies.ROLES)
@pytest.mark.parametrize("partition", tuple(policies.ARN_PARTITION))
def test_every_arn_of_the_accounts_own_resources_names_it(role, partition):
    """A statement added to a template later is scoped too, or is one of the documented exceptions."""
    doc = policies.generate(role, partition=partition, accounts={partition: GOV_ACCOUNT},
                            regions={"commercial": "us-east-1", "govcloud": "us-gov-west-1"})
    exceptions = {"ReadTrailStatusAndSelectors", "DescribeKmsKeys"}  # other accounts' trails and trail keys
    for st in doc["Statement"]:
        for arn in _resources({"Statement": [st]}):
            if arn == "*" or ":s3:::" in arn:  # S3 ARNs name no account
                continue
            account, region = arn.split(":")[4], arn.split(":")[3]
            if st["Sid"] in exceptions:
                assert account == "*", (st["Sid"], arn)
                continue
            assert account in (GOV_ACCOUNT, "aws"), (st["Sid"], arn)
            assert account != "aws" or ":policy/*" in arn
            if ":secretsmanager:" in arn:
                assert region == ("*" if st["Sid"] in policies.REPLICA_SIDS else "us-gov-west-1"), (st["Sid"], arn)


def test_organization_mode_keeps_the_account_a_wildcard_unless_given(tmp_path, capsys):
    """The member accounts' role shares one policy: a configured account is not every member's."""
    cfg = tmp_path / "audit.toml"
    cfg.write_text(f'[partitions.commercial]\nregion = "us-east-1"\naccount = "{COM_ACCOUNT}"\n'
                   '[organization]\nrole_name = "BedrockKeyAudit"\n')
    assert cli.main(["policy", "auditor", "--organization", "--partition", "commercial", "--audit-config", str(cfg)]) == 0
    captured = capsys.readouterr()
    assert captured.err.startswith("organization mode: every member account shares this policy")
    res = _resources(json.loads(captured.out))
    assert "arn:aws:iam::*:user/*" in res and not [r for r in res if COM_ACCOUNT in r]
    assert cli.main(["policy", "auditor", "--organization", "--partition", "commercial", "--account", "444455556666",
                     "--audit-config", str(cfg)]) == 0
    by_sid = _by_sid(json.loads(capsys.readouterr().out))
    assert by_sid["ReadTheKeyUserAndItsCredentials"]["Resource"] == ["arn:aws:iam::444455556666:user/*"]
    # the members' role: in every member account
    assert by_sid["AssumeTheAuditRoleInEachMemberAccount"]["Resource"] == ["arn:aws:iam::*:role/BedrockKeyAudit"]


def test_a_secret_arn_keeps_its_region_and_its_replicas_any():
    arn = "arn:aws-us-gov:secretsmanager:us-gov-east-1:210987654321:secret:k-AbCdEf"
    by_sid = _by_sid(policies.generate("auditor", secret=arn, regions={"govcloud": "us-gov-west-1"}))
    assert by_sid["ReadTheGovCloudSecret"]["Resource"] == arn
    assert by_sid["DescribeTheSecretsReplicasInTheirOwnRegions"]["Resource"] == arn.replace(":us-gov-east-1:", ":*:")


@pytest.mark.parametrize("argv, words", [
    (["policy", "auditor", "--partition", "mars"], "argument --partition: invalid choice: 'mars'"),
    (["policy", "root"], "argument role: invalid choice: 'root'"),
])
def test_a_bad_argument_is_one_line_and_exit_2(argv, words, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert cli.main(argv) == 2
    out, err = capsys.readouterr()
    assert out == "" and len(err.splitlines()) == 1 and words in err and err.startswith("error: "), err


def test_the_same_account_in_both_partitions_is_one_warning_line(tmp_path, capsys):
    cfg = tmp_path / "audit.toml"
    cfg.write_text('[partitions.commercial]\naccount = "123456789012"\n[partitions.govcloud]\naccount = "123456789012"\n')
    assert cli.main(["policy", "auditor", "--audit-config", str(cfg)]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["Statement"]
    warnings = [line for line in err.splitlines() if line.startswith("warning:")]
    assert warnings == ["warning: partitions.commercial.account and partitions.govcloud.account are both "
                        "123456789012: a GovCloud account is never the commercial one; correct the account of one "
                        "partition"]
    cfg.write_text('[partitions.commercial]\naccount = "123456789012"\n[partitions.govcloud]\naccount = "210987654321"\n')
    assert cli.main(["policy", "auditor", "--audit-config", str(cfg)]) == 0
    assert "warning:" not in capsys.readouterr().err
