"""``bedrock-key-audit init``: audit.toml from the user's AWS profiles, identified against the emulator
(named profiles, credential_process, role_arn + source_profile, an SSO profile without a token)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bedrock_key_audit import cli, init
from bedrock_key_audit.config import load_config
from bedrock_key_audit.emulator.partitions import PARTITION_KEYS
from tests.firstrun.helpers import (COMMERCIAL, GOV, assume_role_setup, aws_files, credential_process_profile,
                                    key_profile, sso_profile, two_profiles)


def _init(capsys, *args: str) -> tuple[int, str, str]:
    code = cli.main(["init", *args])
    cap = capsys.readouterr()
    return code, cap.out, cap.err


def test_every_credential_shape_is_identified(emu, tmp_path, monkeypatch, capsys):
    emu.apply("compliant")  # the user and the secret init looks up exist
    role = assume_role_setup(emu, "govcloud")
    config = (credential_process_profile(tmp_path, "proc", "commercial")
              + f"[profile gov-role]\nrole_arn = {role}\nsource_profile = gov-keys\nregion = us-gov-west-1\n"
              + sso_profile("sso-dev"))
    aws_files(monkeypatch, tmp_path, emu, config=config, credentials=key_profile("gov-keys", "govcloud"))
    monkeypatch.chdir(tmp_path)
    code, out, err = _init(capsys, "--govcloud-profile", "gov-role")
    # gov-role and gov-keys are both GovCloud; the flag chose; proc is the only commercial profile
    assert f"  proc: commercial, account {COMMERCIAL}, arn:aws:iam::{COMMERCIAL}:root" in out.splitlines()
    assert f"  gov-keys: govcloud, account {GOV}, arn:aws-us-gov:iam::{GOV}:root" in out.splitlines()
    assert any(line.startswith(f"  gov-role: govcloud, account {GOV}, arn:aws-us-gov:sts::{GOV}:assumed-role/auditor-role/")
               for line in out.splitlines()), out
    assert ("  sso-dev: the SSO token is missing or expired: run `aws sso login --profile sso-dev`"
            in out.splitlines())
    assert code == 0, err
    cfg = load_config(tmp_path / "audit.toml")
    assert (cfg.profile("commercial"), cfg.profile("govcloud")) == ("proc", "gov-role")
    assert (cfg.region("commercial"), cfg.region("govcloud")) == ("us-east-1", "us-gov-west-1")


def test_finds_the_user_and_the_secret(emu, tmp_path, monkeypatch, capsys):
    emu.apply("compliant")
    aws_files(monkeypatch, tmp_path, emu, credentials=two_profiles())
    monkeypatch.chdir(tmp_path)
    code, out, err = _init(capsys)
    assert code == 0, err
    cfg = load_config(tmp_path / "audit.toml")
    assert cfg.user_name == "bedrock-cross-partition-user" and cfg.secret_id == "cross-partition-commercial-creds"
    assert (cfg.profile("commercial"), cfg.profile("govcloud")) == ("commercial", "govcloud")
    text = (tmp_path / "audit.toml").read_text()
    assert f'profile = "commercial"    # account {COMMERCIAL}, arn:aws:iam::{COMMERCIAL}:root' in text
    # the identified accounts, for `bedrock-key-audit policy` and doctor
    assert (cfg.partition_account("commercial"), cfg.partition_account("govcloud")) == (COMMERCIAL, GOV)
    assert out.splitlines()[-1].startswith("wrote audit.toml: user bedrock-cross-partition-user")


def test_a_renamed_user_and_secret_are_found(emu, tmp_path, monkeypatch, capsys):
    iam = emu.client("iam")
    iam.create_user(UserName="svc-llm")
    iam.create_service_specific_credential(UserName="svc-llm", ServiceName="bedrock.amazonaws.com", CredentialAgeDays=30)
    emu.client("secretsmanager", "govcloud").create_secret(Name="prod/Bedrock-Key", SecretString="{}")
    emu.client("secretsmanager", "govcloud").create_secret(Name="unrelated", SecretString="{}")
    aws_files(monkeypatch, tmp_path, emu, credentials=two_profiles())
    code, out, err = _init(capsys, "-o", str(tmp_path / "a.toml"))
    assert code == 0, err
    cfg = load_config(tmp_path / "a.toml")
    assert (cfg.user_name, cfg.secret_id) == ("svc-llm", "prod/Bedrock-Key")


def test_several_candidates_without_a_terminal_name_the_flag(emu, tmp_path, monkeypatch, capsys):
    aws_files(monkeypatch, tmp_path, emu,
              credentials=two_profiles() + key_profile("other-commercial", "commercial"))
    code, out, err = _init(capsys, "-o", str(tmp_path / "a.toml"))
    assert code == 2
    assert err.strip() == ("error: commercial profile: several candidates (commercial, other-commercial); "
                           "pass --commercial-profile")
    assert not (tmp_path / "a.toml").exists()


def test_interactive_answers(emu, tmp_path, monkeypatch):
    emu.apply("compliant")
    emu.client("iam").create_user(UserName="my-user")  # a typed answer is looked up (iam:GetUser)
    aws_files(monkeypatch, tmp_path, emu,
              credentials=two_profiles() + key_profile("other-commercial", "commercial"))
    answers = iter(["other-commercial", "", "my-user", "", "my-model"])  # "": the proposal
    monkeypatch.setattr("builtins.input", lambda prompt: next(answers))
    said: list[str] = []
    assert init.main(["-o", str(tmp_path / "a.toml")], interactive=True, say=said.append) == 0
    cfg = load_config(tmp_path / "a.toml")
    assert (cfg.profile("commercial"), cfg.user_name, cfg.secret_id, cfg.model_id) == (
        "other-commercial", "my-user", "cross-partition-commercial-creds", "my-model")


def test_never_overwrites_without_force(emu, tmp_path, monkeypatch, capsys):
    aws_files(monkeypatch, tmp_path, emu, credentials=two_profiles())
    target = tmp_path / "audit.toml"
    target.write_text("# mine\n")
    code, _, err = _init(capsys, "-o", str(target))
    assert code == 2 and err.strip() == f"error: {target} exists; pass --force to overwrite it"
    assert target.read_text() == "# mine\n"
    code, _, err = _init(capsys, "-o", str(target), "--force", "--user", "u", "--secret", "s", "--model", "m",
                         "--no-verify")
    assert code == 0, err and load_config(target).user_name == "u"


def test_a_profile_of_the_wrong_partition_is_refused(emu, tmp_path, monkeypatch, capsys):
    aws_files(monkeypatch, tmp_path, emu, credentials=two_profiles())
    code, _, err = _init(capsys, "-o", str(tmp_path / "a.toml"), "--govcloud-profile", "commercial")
    assert code == 2 and err.strip() == "error: --govcloud-profile commercial: not a govcloud profile (it is commercial)"


def test_no_govcloud_profile(emu, tmp_path, monkeypatch, capsys):
    aws_files(monkeypatch, tmp_path, emu, credentials=key_profile("commercial", "commercial"))
    code, _, err = _init(capsys, "-o", str(tmp_path / "a.toml"))
    assert code == 2 and "no profile identifies as govcloud" in err and "--govcloud-profile" in err


def test_against_the_standalone_emulator(tmp_path):
    """The installed console script and the standalone emulator, as a user runs them (two processes)."""
    bindir = Path(sys.executable).parent
    server = subprocess.Popen([sys.executable, "-m", "bedrock_key_audit.emulator", "--port", "0", "--scenario",
                               "compliant"], stdout=subprocess.PIPE, text=True)
    try:
        url = server.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        (tmp_path / "credentials").write_text(two_profiles())
        (tmp_path / "config").write_text("")
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env |= {"AWS_CONFIG_FILE": str(tmp_path / "config"), "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "credentials"),
                "AWS_ENDPOINT_URL": url, "HOME": str(tmp_path), "AWS_EC2_METADATA_DISABLED": "true"}
        run = subprocess.run([str(bindir / "bedrock-key-audit"), "init"], cwd=tmp_path, env=env, capture_output=True,
                             text=True, timeout=120, stdin=subprocess.DEVNULL)
        assert run.returncode == 0, run.stderr
        doctor = subprocess.run([str(bindir / "bedrock-key-audit"), "doctor"], cwd=tmp_path, env=env,
                                capture_output=True, text=True, timeout=120)
        assert doctor.returncode == 0, doctor.stdout + doctor.stderr
        assert doctor.stdout.splitlines()[-1] == "ok: ready to audit"
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.mark.parametrize("partition", ["commercial", "govcloud"])
def test_identify_a_profile_without_a_region(emu, tmp_path, monkeypatch, partition):
    aws_files(monkeypatch, tmp_path, emu, credentials=key_profile("p", partition))
    prof = init.identify("p")
    assert (prof.partition, prof.account, prof.problem) == (partition, emu.accounts[partition], None)
    assert PARTITION_KEYS[partition]
