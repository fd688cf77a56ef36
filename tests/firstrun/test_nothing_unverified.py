"""Nothing ``init`` writes or ``doctor`` approves is unverified: with the generated auditor policy there is
no ``secretsmanager:ListSecrets``, so init may not fall back to the setup guide's secret name without
finding it (``DescribeSecret`` in every GovCloud Region), and doctor checks that the configured user and
secret exist."""
from __future__ import annotations

import pytest

from bedrock_key_audit import cli, init
from bedrock_key_audit.config import load_config
from tests.firstrun.helpers import audit_toml, aws_files, two_profiles


@pytest.fixture
def no_list_secrets():
    from bedrock_key_audit.emulator import aws_faults

    aws_faults.deny("secretsmanager:ListSecrets")
    yield
    aws_faults.reset()


def _move_secret(emu, new: str = "team-a/bedrock-key") -> None:
    sm = emu.client("secretsmanager", "govcloud")
    value = sm.get_secret_value(SecretId="cross-partition-commercial-creds")["SecretString"]
    sm.create_secret(Name=new, SecretString=value)
    sm.delete_secret(SecretId="cross-partition-commercial-creds", ForceDeleteWithoutRecovery=True)


def test_init_without_list_secrets_refuses_to_write_a_guessed_secret(emu, tmp_path, monkeypatch, capsys,
                                                                     no_list_secrets):
    emu.apply("compliant")
    _move_secret(emu)
    aws_files(monkeypatch, tmp_path, emu, credentials=two_profiles())
    monkeypatch.chdir(tmp_path)
    code = cli.main(["init"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.strip() == ("error: GovCloud secret: cannot list secrets to propose and the default secret "
                           "cross-partition-commercial-creds is in no GovCloud Region; pass --secret NAME_OR_ARN")
    assert not (tmp_path / "audit.toml").exists()


def test_init_without_list_secrets_verifies_the_default_with_describe_secret(emu, tmp_path, monkeypatch, capsys,
                                                                             no_list_secrets):
    emu.apply("compliant")
    aws_files(monkeypatch, tmp_path, emu, credentials=two_profiles())
    code = cli.main(["init", "-o", str(tmp_path / "a.toml")])
    assert code == 0, capsys.readouterr().err
    assert load_config(tmp_path / "a.toml").secret_id == "cross-partition-commercial-creds"


def test_init_without_list_secrets_asks_on_a_terminal_and_verifies_the_answer(emu, tmp_path, monkeypatch,
                                                                              no_list_secrets):
    emu.apply("compliant")
    _move_secret(emu)
    aws_files(monkeypatch, tmp_path, emu, credentials=two_profiles())
    prompts: list[str] = []
    answers = iter(["", "", "", "team-a/bedrock-key", ""])

    def answer(prompt: str) -> str:
        prompts.append(prompt)
        return next(answers)

    monkeypatch.setattr("builtins.input", answer)
    said: list[str] = []
    assert init.main(["-o", str(tmp_path / "a.toml")], interactive=True, say=said.append) == 0, (prompts, said)
    assert any(p.startswith("GovCloud secret holding the key (required)") for p in prompts), prompts
    assert load_config(tmp_path / "a.toml").secret_id == "team-a/bedrock-key"
    # a typo typed at the prompt is looked up like --secret, and stops init
    answers = iter(["", "", "", "team-a/bedrock-kye", ""])
    assert init.main(["-o", str(tmp_path / "b.toml")], interactive=True, say=said.append) == 2
    assert not (tmp_path / "b.toml").exists()


def test_init_without_listable_keys_refuses_a_guessed_user(emu, tmp_path, monkeypatch, capsys):
    emu.apply("compliant")
    emu.client("iam").create_user(UserName="svc-llm")  # the key's owner under another name: not listable below
    from bedrock_key_audit.emulator import aws_faults

    aws_faults.deny("iam:ListServiceSpecificCredentials")
    aws_faults.deny("iam:GetUser")
    try:
        aws_files(monkeypatch, tmp_path, emu, credentials=two_profiles())
        code = cli.main(["init", "-o", str(tmp_path / "a.toml")])
    finally:
        aws_faults.reset()
    err = capsys.readouterr().err
    assert code == 2 and err.strip() == (
        "error: IAM user: cannot list Bedrock API keys in the commercial account and the default user "
        "bedrock-cross-partition-user could not be checked (iam:GetUser: AccessDenied); pass --user NAME")


def test_doctor_says_the_configured_secret_and_user_do_not_exist(emu, tmp_path, monkeypatch, capsys):
    emu.apply("compliant")
    aws_files(monkeypatch, tmp_path, emu, credentials=two_profiles())
    cfg = audit_toml(tmp_path, extra='\n[secret]\nid = "team-a/no-such"\n\n[user]\nname = "nobody"\n')
    code = cli.main(["doctor", "--audit-config", str(cfg)])
    out = capsys.readouterr().out.splitlines()
    problems = [line for line in out if line.startswith("problem")]
    assert problems == [
        "problem: commercial: IAM user nobody does not exist (iam:GetUser): set user.name to the key's owner",
        "problem: govcloud: secret team-a/no-such is in no GovCloud Region (us-gov-west-1, us-gov-east-1; "
        "secretsmanager:DescribeSecret): set secret.id to the secret holding the key"], out
    assert code == 1 and out[-1].startswith("not ready")


def test_init_names_the_region_flag_not_a_file_it_never_wrote(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    code = cli.main(["init", "--commercial-region", "us-esat-1", "--commercial-profile", "", "--govcloud-profile", ""])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.startswith("error: --commercial-region us-esat-1: not a Region of the commercial "
                                        "partition; valid Regions: "), err
    assert "us-east-1" in err and "audit.toml" not in err
    assert not (tmp_path / "audit.toml").exists()
