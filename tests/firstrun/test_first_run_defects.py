"""First-run mistakes against the emulator: a GovCloud profile whose Region is not the secret's, a stale
``AWS_PROFILE``, a role profile without a Region, ``init -o`` into a missing directory, answers given by
flag that name nothing."""
from __future__ import annotations

import json

from bedrock_key_audit import cli
from bedrock_key_audit.config import load_config
from bedrock_key_audit.inventory.models import Secret, missing_secret
from tests.firstrun.helpers import COMMERCIAL, GOV, audit_toml, aws_files, key_profile, two_profiles

EAST = "[profile commercial]\nregion = us-east-1\n[profile govcloud]\nregion = us-gov-east-1\n"


def _run(capsys, *args: str) -> tuple[int, str, str]:
    code = cli.main(list(args))
    cap = capsys.readouterr()
    return code, cap.out, cap.err


# --------------------------------------------------------------------------- the secret's Region
def test_missing_secret_sentence_names_the_region() -> None:
    text = missing_secret(Secret(secret_id="bedrock/api-key", exists=False, region="us-gov-east-1"))
    assert text.startswith("secret bedrock/api-key does not exist in GovCloud Region us-gov-east-1")
    assert "partitions.govcloud.region" in text


def test_init_finds_the_secret_in_the_other_govcloud_region(emu, tmp_path, monkeypatch, capsys):
    emu.apply("compliant")
    aws_files(monkeypatch, tmp_path, emu, config=EAST, credentials=two_profiles())
    out_file = tmp_path / "a.toml"
    code, out, err = _run(capsys, "init", "-o", str(out_file), "--commercial-profile", "commercial",
                          "--govcloud-profile", "govcloud")
    assert code == 0, err
    cfg = load_config(out_file)
    assert cfg.region("govcloud") == "us-gov-west-1" and cfg.secret_id == "cross-partition-commercial-creds"
    assert "found in us-gov-west-1, not in us-gov-east-1: using region us-gov-west-1 for GovCloud" in out


def test_init_checks_a_given_secret_in_every_govcloud_region(emu, tmp_path, monkeypatch, capsys):
    emu.apply("compliant")
    aws_files(monkeypatch, tmp_path, emu, config=EAST, credentials=two_profiles())
    out_file = tmp_path / "a.toml"
    args = ["init", "-o", str(out_file), "--commercial-profile", "commercial", "--govcloud-profile", "govcloud"]
    code, out, err = _run(capsys, *args, "--secret", "cross-partition-commercial-creds")
    assert code == 0, err and load_config(out_file).region("govcloud") == "us-gov-west-1"
    code, out, err = _run(capsys, *args, "--force", "--secret", "no-such-secret")
    assert code == 2 and err.strip() == ("error: --secret no-such-secret: no such secret in any GovCloud Region "
                                         "(us-gov-east-1, us-gov-west-1); pass --no-verify to write it anyway")
    code, out, err = _run(capsys, *args, "--force", "--secret", "no-such-secret", "--no-verify")
    assert code == 0, err and load_config(out_file).secret_id == "no-such-secret"


def test_init_checks_a_given_user_and_model(emu, tmp_path, monkeypatch, capsys):
    emu.apply("compliant")
    aws_files(monkeypatch, tmp_path, emu, credentials=two_profiles())
    out_file = tmp_path / "a.toml"
    args = ["init", "-o", str(out_file), "--commercial-profile", "commercial", "--govcloud-profile", "govcloud"]
    code, _, err = _run(capsys, *args, "--user", "nobody-here")
    assert code == 2 and err.strip() == ("error: --user nobody-here: no such IAM user in the commercial account "
                                         "(iam:GetUser); pass --no-verify to write it anyway")
    # the emulator serves no Bedrock control plane to SigV4 clients: the model cannot be looked up, a warning
    code, out, err = _run(capsys, *args, "--model", "acme.no-such-model-v9")
    assert code == 0, err
    assert "  warning: --model acme.no-such-model-v9 not checked (bedrock:get_foundation_model: 500)" in out.splitlines()
    code, _, err = _run(capsys, *args, "--force", "--user", "bedrock-cross-partition-user")
    assert code == 0, err


def test_doctor_names_the_region_that_holds_the_secret(emu, tmp_path, monkeypatch, capsys):
    emu.apply("compliant")
    aws_files(monkeypatch, tmp_path, emu, credentials=two_profiles())
    cfg = audit_toml(tmp_path, extra='[secret]\nid = "cross-partition-commercial-creds"\n')
    cfg.write_text(cfg.read_text().replace('"us-gov-west-1"', '"us-gov-east-1"'))
    code, out, _ = _run(capsys, "doctor", "--audit-config", str(cfg))
    assert ("problem: govcloud: secret cross-partition-commercial-creds is not in us-gov-east-1 but in us-gov-west-1 "
            '(Secrets Manager is regional): set partitions.govcloud.region = "us-gov-west-1"') in out.splitlines()
    assert code == 1 and out.splitlines()[-1].startswith("not ready")


# --------------------------------------------------------------------------- a stale AWS_PROFILE
def test_stale_aws_profile(emu, tmp_path, monkeypatch, capsys):
    emu.apply("compliant")
    aws_files(monkeypatch, tmp_path, emu, credentials=two_profiles())
    monkeypatch.setenv("AWS_PROFILE", "nope")
    out_file = tmp_path / "a.toml"
    code, _, err = _run(capsys, "init", "-o", str(out_file), "--commercial-profile", "commercial",
                        "--govcloud-profile", "govcloud")
    assert code == 0, err
    code, out, _ = _run(capsys, "doctor", "--no-permissions", "--audit-config", str(audit_toml(tmp_path, None, "govcloud")))
    assert [line for line in out.splitlines() if line.startswith("problem")] == [
        "problem: commercial: the environment variable AWS_PROFILE='nope' names an AWS profile not found in the AWS "
        "config files (AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE or ~/.aws/config, ~/.aws/credentials): unset it, "
        "or set partitions.commercial.profile"]
    code, _, err = _run(capsys, "init", "-o", str(tmp_path / "b.toml"), "--commercial-profile", "",
                        "--govcloud-profile", "govcloud")
    assert code == 2 and err.strip().startswith("error: the environment variable AWS_PROFILE='nope' names an AWS")


# --------------------------------------------------------------------------- a role profile without a Region
def test_init_identifies_a_govcloud_role_profile_without_region(emu, tmp_path, monkeypatch, capsys):
    emu.apply("compliant")
    iam = emu.client("iam", "govcloud")
    iam.create_role(RoleName="BedrockKeyAuditor", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                               "Principal": {"AWS": f"arn:aws-us-gov:iam::{GOV}:root"}}]}))
    config = (f"[profile gov-role]\nrole_arn = arn:aws-us-gov:iam::{GOV}:role/BedrockKeyAuditor\n"
              "source_profile = gov-base\n")
    aws_files(monkeypatch, tmp_path, emu, config=config,
              credentials=key_profile("commercial", "commercial") + key_profile("gov-base", "govcloud"))
    for extra in ([], ["--govcloud-region", "us-gov-west-1"]):
        out_file = tmp_path / f"a{len(extra)}.toml"
        code, out, err = _run(capsys, "init", "-o", str(out_file), "--commercial-profile", "commercial",
                              "--govcloud-profile", "gov-role", *extra)
        assert code == 0, err
        assert load_config(out_file).profile("govcloud") == "gov-role"
    assert f"account {COMMERCIAL}" in (tmp_path / "a0.toml").read_text()


# --------------------------------------------------------------------------- init -o into a missing directory
def test_init_output_into_a_missing_directory(emu, tmp_path, monkeypatch, capsys):
    aws_files(monkeypatch, tmp_path, emu, credentials=two_profiles())
    target = tmp_path / "sub" / "dir" / "x.toml"
    code, _, err = _run(capsys, "init", "-o", str(target), "--no-verify", "--user", "u", "--secret", "s")
    assert code == 2 and err.strip() == (f"error: directory {target.parent} does not exist; create it first "
                                         "(init does not create directories)")
    assert not (tmp_path / "sub").exists()


def test_init_refuses_a_model_bedrock_does_not_know() -> None:
    """Bedrock's answers (ValidationException / ResourceNotFoundException for an unknown identifier) by
    botocore's Stubber: the emulator does not serve GetFoundationModel."""
    import boto3
    from botocore.stub import Stubber

    from bedrock_key_audit import init

    class Sess:
        def __init__(self) -> None:
            self.client_ = boto3.client("bedrock", region_name="us-east-1", aws_access_key_id="x",
                                        aws_secret_access_key="y")

        def client(self, *a: object, **k: object) -> object:
            return self.client_

    sess = Sess()
    with Stubber(sess.client_) as stub:
        stub.add_client_error("get_foundation_model", "ValidationException", http_status_code=400)
        stub.add_client_error("get_inference_profile", "ResourceNotFoundException", http_status_code=404)
        try:
            init._verify_model(sess, "us-east-1", "acme.nope", print)
        except init.InitError as exc:
            assert str(exc).startswith("--model acme.nope: neither a foundation model nor an inference profile in us-east-1")
        else:
            raise AssertionError("an unknown model was accepted")
    with Stubber(sess.client_) as stub:
        stub.add_client_error("get_foundation_model", "ValidationException", http_status_code=400)
        stub.add_response("get_inference_profile", {"inferenceProfileName": "p", "inferenceProfileArn":
                                                    "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.a.b",
                                                    "models": [{"modelArn": "arn:aws:bedrock:us-east-1::foundation-model/a.b"}], "inferenceProfileId": "us.a.b", "status": "ACTIVE",
                                                    "type": "SYSTEM_DEFINED"})
        init._verify_model(sess, "us-east-1", "us.a.b", print)


# --------------------------------------------------------------------------- doctor tries every read of the policy
def test_every_auditor_action_is_tried_by_doctor_or_says_why_not():
    from bedrock_key_audit import doctor, policies
    from tests.remediation.test_policies import _doc_actions

    template = _doc_actions(policies.template("auditor"))
    tried = {r.action for r in doctor.READS}
    assert template - tried == set(doctor.NOT_TRIED), "an action of the auditor policy that doctor neither tries nor explains"
    assert not tried & set(doctor.NOT_TRIED)
    assert all(why.strip() for why in doctor.NOT_TRIED.values())


def test_doctor_notices_denied_key_and_trail_reads(emu, tmp_path, monkeypatch, capsys):
    from bedrock_key_audit.emulator import aws_faults

    emu.apply("compliant")
    aws_files(monkeypatch, tmp_path, emu, credentials=two_profiles())
    cfg = audit_toml(tmp_path)
    denied = ["kms:ListGrants", "kms:GetKeyPolicy", "kms:DescribeKey", "cloudtrail:GetEventSelectors",
              "cloudtrail:GetTrailStatus", "iam:GetUserPolicy", "ec2:DescribeRegions"]
    try:
        for action in denied:
            aws_faults.deny(action)
        code, out, _ = _run(capsys, "doctor", "--audit-config", str(cfg))
    finally:
        aws_faults.reset()
    missing = " ".join(line for line in out.splitlines() if line.startswith("missing permissions"))
    assert all(action in missing for action in denied), out
    assert "missing permissions (govcloud): " in missing and "kms:ListGrants" in missing.split("(govcloud)")[1]
    assert code == 1 and out.splitlines()[-1].startswith("not ready")


# --------------------------------------------------------------------------- the credential provider's own failure
def test_a_missing_role_is_named_as_assume_role(emu, tmp_path, monkeypatch, capsys):
    role = f"arn:aws:iam::{COMMERCIAL}:role/DoesNotExist"
    config = f"[profile com-role]\nrole_arn = {role}\nsource_profile = commercial\nregion = us-east-1\n"
    aws_files(monkeypatch, tmp_path, emu, config=config, credentials=two_profiles())
    code, out, _ = _run(capsys, "doctor", "--no-permissions", "--audit-config", str(audit_toml(tmp_path, "com-role")))
    problems = [line for line in out.splitlines() if line.startswith("problem")]
    assert len(problems) == 1 and problems[0].startswith(
        f"problem: commercial: sts:AssumeRole of {role} (profile 'com-role') failed with "), problems
    assert "GetCallerIdentity" not in problems[0] and "trust" in problems[0]
    code, out, _ = _run(capsys, "init", "-o", str(tmp_path / "x.toml"), "--commercial-profile", "com-role",
                        "--govcloud-profile", "govcloud", "--no-verify", "--user", "u", "--secret", "s")
    assert code == 2 and any(line.startswith(f"  com-role: sts:AssumeRole of {role}") for line in out.splitlines()), out


def test_provider_problem_names_sso_get_role_credentials():
    import botocore.exceptions

    from bedrock_key_audit import doctor

    exc = botocore.exceptions.ClientError({"Error": {"Code": "ForbiddenException", "Message": "No access"}},
                                          "GetRoleCredentials")
    assert doctor.provider_problem(exc, "gov-sso") == (
        "SSO GetRoleCredentials (profile 'gov-sso') failed with ForbiddenException: check sso_account_id and "
        "sso_role_name, or run `aws sso login --profile gov-sso`")
    other = botocore.exceptions.ClientError({"Error": {"Code": "AccessDenied"}}, "GetCallerIdentity")
    assert doctor.provider_problem(other, "p") is None


# --------------------------------------------------------------------------- a failing credential_process
def test_a_failing_credential_process_names_the_profile_and_its_stderr(emu, tmp_path, monkeypatch, capsys):
    import pytest

    from bedrock_key_audit.aws import Aws, CallLog
    from bedrock_key_audit.fixtures.aws import verify_credentials

    script = tmp_path / "creds.sh"
    script.write_text("#!/bin/sh\necho 'login needed for Bearer abcdefghijklmnopqrstuvwxyz0123456789' >&2\nexit 3\n")
    script.chmod(0o755)
    config = (f"[profile com-proc]\ncredential_process = {script}\nregion = us-east-1\n"
              "[profile com-false]\ncredential_process = /bin/false\nregion = us-east-1\n")
    aws_files(monkeypatch, tmp_path, emu, config=config, credentials=key_profile("govcloud", "govcloud"))
    code, out, _ = _run(capsys, "doctor", "--no-permissions", "--audit-config", str(audit_toml(tmp_path, "com-proc")))
    problems = [line for line in out.splitlines() if line.startswith("problem")]
    assert len(problems) == 1 and problems[0].startswith(
        f"problem: commercial: the credential_process of profile 'com-proc' ({script}) failed: login needed for "), problems
    assert "abcdefghijklmnopqrstuvwxyz0123456789" not in out
    cfg = load_config(audit_toml(tmp_path, "com-false"))
    with pytest.raises(pytest.UsageError) as err:
        verify_credentials(Aws(cfg, CallLog()))
    assert str(err.value) == ("commercial: the credential_process of profile 'com-false' (/bin/false) failed: it exited "
                              "with an error and printed nothing on stderr; run it yourself to see why")


# --------------------------------------------------------------------------- verify: an untrusted signer is not tampering
def test_verify_tells_an_untrusted_signer_from_a_changed_manifest(tmp_path, capsys):
    import shutil
    import subprocess

    import pytest

    from bedrock_key_audit.reporting import signing
    from bedrock_key_audit.reporting.verify import Verdict

    if shutil.which("ssh-keygen") is None:
        pytest.skip("OpenSSH ssh-keygen is not installed")
    for name in ("signer", "other"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", str(tmp_path / name)],
                       check=True, capture_output=True, timeout=30)
    manifest = tmp_path / "manifest.json"
    manifest.write_text('{"files": []}\n')
    sig = signing.sign(manifest, tmp_path / "signer").read_bytes()
    fpr = signing.check_key(tmp_path / "signer")[1]
    # the listed principal holds another key: -Y verify fails, yet the signature itself is intact
    got = signing.verify_signature(manifest.read_bytes(), sig, public_key=tmp_path / "other.pub", identity="auditee")
    assert (got.ok, got.untrusted) == (False, True)
    assert got.message == f"signing key {fpr} is not in {tmp_path / 'other.pub'} (identity auditee)"
    wrong = tmp_path / "wrong_signers"
    wrong.write_text(f'auditee namespaces="{signing.NAMESPACE}" {(tmp_path / "other.pub").read_text().strip()}\n')
    got = signing.verify_signature(manifest.read_bytes(), sig, allowed_signers=wrong, identity="auditee")
    assert got.untrusted and got.message == f"signing key {fpr} is not in {wrong}"
    lines = Verdict(checked=3, signed=True, signature=got).lines()
    assert lines == [f"signature: signing key {fpr} is not in {wrong}"]
    # a changed manifest still reads as changed
    tampered = signing.verify_signature(b'{"files": ["x"]}\n', sig, allowed_signers=wrong, identity="auditee")
    assert not tampered.untrusted


def test_verify_a_non_bundle_is_one_line(tmp_path, capsys):
    notes = tmp_path / "notes.txt"
    notes.write_text("not an archive\n")
    code, out, err = _run(capsys, "verify", str(notes))
    assert code == 2 and out == ""
    assert err.splitlines() == [f"verify: {notes}: not an evidence bundle (not a tar archive; give "
                                "evidence-<run>.tar.gz, an evidence/ directory or a run directory)"]


def test_a_mistyped_subcommand_is_named(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    code, out, err = _run(capsys, "docter")
    assert code == 2 and err.strip() == ("error: bedrock-key-audit: unknown subcommand 'docter'; did you mean 'doctor'? "
                                         "(subcommands: merge, doctor, init, policy, verify, rejudge)")
    from bedrock_key_audit.cli import _mistyped_subcommand

    assert _mistyped_subcommand("checks/test_x.py") is None and _mistyped_subcommand("-k") is None
    (tmp_path / "docter").mkdir()
    assert _mistyped_subcommand("docter") is None  # a directory of that name is a pytest path


# --------------------------------------------------------------------------- the emulator's aws-faults door
def test_aws_faults_refuses_targets_it_cannot_apply():
    import pytest

    from bedrock_key_audit.emulator import aws_faults

    for target in ("bedrock:GetModelInvocationLoggingConfiguration", "s3control:GetPublicAccessBlock"):
        status, body = aws_faults.handle_control("POST", {"action": "deny", "target": target})
        assert status == 400 and "cannot fault" in body["error"] and "protocol" in body["error"], body
        with pytest.raises(ValueError):
            aws_faults.deny(target)
    status, body = aws_faults.handle_control("POST", {"action": "throttle", "target": "nosuchservice:Op"})
    assert status == 400 and body["error"].startswith("unknown service 'nosuchservice'")
    try:
        for target in ("kms:ListGrants", "iam:GetUser", "ec2:DescribeRegions", "cloudtrail:*", "logs:DescribeLogGroups",
                       "s3:GetBucketLogging"):  # S3 is decoded from method, path and sub-resource
            assert aws_faults.handle_control("POST", {"action": "deny", "target": target}) == (200, {"ok": True})
        assert aws_faults.handle_control("POST", {"action": "stall", "target": "s3:PutObject", "seconds": 1})[0] == 200
    finally:
        aws_faults.reset()
    assert aws_faults.handle_control("GET", {})[1]["rules"] == []
