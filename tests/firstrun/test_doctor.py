"""``bedrock-key-audit doctor``: the configuration, each partition's identity, credential problems each
named in one line, and missing permissions, against the in-process emulator with the credentials in
AWS config files as users hold them."""
from __future__ import annotations

import json

import pytest

from bedrock_key_audit import cli, doctor
from bedrock_key_audit.aws import Aws, CallLog
from bedrock_key_audit.config import load_config
from tests.firstrun.helpers import (COMMERCIAL, GOV, assume_role_setup, audit_toml, aws_files, credential_process_profile,
                                    key_profile, sso_profile, two_profiles)


def _doctor(capsys, *args: str) -> tuple[int, list[str]]:
    code = cli.main(["doctor", *args])
    return code, capsys.readouterr().out.splitlines()


def test_two_profiles_ready(emu, tmp_path, monkeypatch, capsys):
    emu.apply("compliant")
    aws_files(monkeypatch, tmp_path, emu, credentials=two_profiles())
    cfg = audit_toml(tmp_path)
    code, out = _doctor(capsys, "--audit-config", str(cfg))
    assert out[0] == f"config: {cfg}"
    assert out[1] == (f"commercial: account {COMMERCIAL}, arn:aws:iam::{COMMERCIAL}:root "
                      "(profile 'commercial', region us-east-1)")
    assert out[2] == f"govcloud: account {GOV}, arn:aws-us-gov:iam::{GOV}:root (profile 'govcloud', region us-gov-west-1)"
    assert not [line for line in out if line.startswith(("problem", "missing", "not checked"))], out
    assert out[-1] == "ok: ready to audit" and code == 0


def test_govcloud_got_commercial_credentials(emu, tmp_path, monkeypatch, capsys):
    aws_files(monkeypatch, tmp_path, emu, credentials=key_profile("default", "commercial"))
    monkeypatch.chdir(tmp_path)  # no audit.toml: the built-in defaults, the standard chain in both partitions
    code, out = _doctor(capsys, "--no-permissions")
    assert out[0] == "config: built-in defaults (no ./audit.toml)"
    assert (f"problem: the govcloud partition got commercial credentials (account {COMMERCIAL}, the standard "
            "credential chain): set partitions.govcloud.profile") in out
    assert code == 1 and out[-1].startswith("not ready")


def test_commercial_profile_named_for_govcloud(emu, tmp_path, monkeypatch, capsys):
    aws_files(monkeypatch, tmp_path, emu, credentials=two_profiles())
    code, out = _doctor(capsys, "--no-permissions", "--audit-config", str(audit_toml(tmp_path, "govcloud", "govcloud")))
    assert (f"problem: the commercial partition got GovCloud credentials (account {GOV}, profile 'govcloud'): "
            "partitions.commercial.profile ('govcloud') names GovCloud credentials: point it at a commercial profile"
            ) in out
    assert code == 1


def test_missing_profile(emu, tmp_path, monkeypatch, capsys):
    aws_files(monkeypatch, tmp_path, emu, credentials=two_profiles())
    code, out = _doctor(capsys, "--no-permissions", "--audit-config", str(audit_toml(tmp_path, govcloud="gov")))
    assert [line for line in out if line.startswith("problem")] == [
        "problem: partitions.govcloud.profile: AWS profile 'gov' not found in the AWS config files "
        "(AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE or ~/.aws/config, ~/.aws/credentials)"]
    assert code == 1


def test_a_configured_account_the_credentials_are_not_in_is_a_warning(emu, tmp_path, monkeypatch, capsys):
    """partitions.<p>.account names the account `policy` writes into ARNs: credentials of another account
    still audit (a warning, not a problem), but the printed policy would not fit them."""
    aws_files(monkeypatch, tmp_path, emu, credentials=two_profiles())
    cfg = tmp_path / "audit.toml"
    cfg.write_text(f'[partitions.commercial]\nregion = "us-east-1"\nprofile = "commercial"\naccount = "{COMMERCIAL}"\n'
                   '[partitions.govcloud]\nregion = "us-gov-west-1"\nprofile = "govcloud"\naccount = "111122223333"\n')
    code, out = _doctor(capsys, "--no-permissions", "--audit-config", str(cfg))
    assert [line for line in out if line.startswith("warning")] == [
        f"warning: partitions.govcloud.account is 111122223333 but the govcloud credentials are account {GOV} "
        f"(arn:aws-us-gov:iam::{GOV}:root): the printed policy names 111122223333; correct "
        "partitions.govcloud.account or the govcloud credentials"]
    assert out[-1] == "ok: ready to audit" and code == 0


def test_sso_profile_without_a_token(emu, tmp_path, monkeypatch, capsys):
    aws_files(monkeypatch, tmp_path, emu, config=sso_profile("sso-commercial"), credentials=key_profile("govcloud", "govcloud"))
    code, out = _doctor(capsys, "--no-permissions", "--audit-config", str(audit_toml(tmp_path, "sso-commercial")))
    assert [line for line in out if line.startswith("problem")] == [
        "problem: commercial: the SSO token of profile 'sso-commercial' is missing or expired: run "
        "`aws sso login --profile sso-commercial`"]
    assert code == 1


def test_credential_process_and_assume_role_profiles(emu, tmp_path, monkeypatch, capsys):
    role = assume_role_setup(emu, "govcloud")
    config = (credential_process_profile(tmp_path, "commercial", "commercial")
              + f"[profile gov-auditor]\nrole_arn = {role}\nsource_profile = gov-base\nregion = us-gov-west-1\n")
    aws_files(monkeypatch, tmp_path, emu, config=config, credentials=key_profile("gov-base", "govcloud"))
    code, out = _doctor(capsys, "--no-permissions", "--audit-config", str(audit_toml(tmp_path, "commercial", "gov-auditor")))
    assert out[1].startswith(f"commercial: account {COMMERCIAL}, arn:aws:iam::{COMMERCIAL}:root")
    assert out[2].startswith(f"govcloud: account {GOV}, arn:aws-us-gov:sts::{GOV}:assumed-role/auditor-role/")
    assert code == 0, out


class _FakeSts:
    def __init__(self, answer):
        self.answer = answer

    def get_caller_identity(self):
        return self.answer


def test_same_account_for_both_partitions(tmp_path, monkeypatch):
    """Hand-built answers: both partitions' calls answered by one account (an endpoint override gone wrong)."""
    cfg = load_config(audit_toml(tmp_path, None, None))
    aws = Aws(cfg, CallLog())
    monkeypatch.setattr(doctor, "_credentials_problem", lambda aws, part: None)
    answers = {"commercial": {"Account": COMMERCIAL, "Arn": f"arn:aws:iam::{COMMERCIAL}:user/a", "UserId": "A"},
               "govcloud": {"Account": COMMERCIAL, "Arn": f"arn:aws-us-gov:iam::{COMMERCIAL}:user/a", "UserId": "A"}}
    monkeypatch.setattr(aws, "client", lambda service, part, region=None: _FakeSts(answers[part]))
    identities, problems = doctor.check_identities(aws)
    assert problems == [f"both partitions run as account {COMMERCIAL}: a GovCloud account is never the commercial "
                        "one; set partitions.govcloud.profile to the GovCloud account's credentials"]


def test_missing_permission_is_listed_with_the_policy_command(emu, tmp_path, monkeypatch, capsys):
    from moto.core.authorization import enable_iam_authentication

    from tests.remediation.test_policies import AUDITOR, _unauthenticated_in_moto, moto_view

    emu.apply("compliant")
    creds = ""
    for part in ("commercial", "govcloud"):
        iam = emu.client("iam", part)
        iam.create_user(UserName="bedrock-key-auditor")
        iam.put_user_policy(UserName="bedrock-key-auditor", PolicyName="auditor", PolicyDocument=json.dumps(
            moto_view(AUDITOR, drop={"iam:ListAccessKeys"} if part == "commercial" else set())))
        ak = iam.create_access_key(UserName="bedrock-key-auditor")["AccessKey"]
        creds += f"[{part}]\naws_access_key_id = {ak['AccessKeyId']}\naws_secret_access_key = {ak['SecretAccessKey']}\n"
    aws_files(monkeypatch, tmp_path, emu, credentials=creds)
    _unauthenticated_in_moto(monkeypatch)
    toml = audit_toml(tmp_path)
    with enable_iam_authentication():
        code, out = _doctor(capsys, "--audit-config", str(toml))
    assert ("missing permissions (commercial): iam:ListAccessKeys; attach the policy printed by "
            f"`bedrock-key-audit policy auditor --partition commercial --account {COMMERCIAL} --audit-config {toml}`"
            ) in out
    assert any(line.startswith("permissions (govcloud): the ") for line in out), out
    assert not [line for line in out if line.startswith(("problem", "not checked"))], out
    # the user may not simulate itself (moto's authentication, the policy without iam:SimulatePrincipalPolicy):
    # every read was tried
    assert not [line for line in out if line.startswith("simulated")], out
    assert code == 1


def test_bad_config_is_exit_4(tmp_path, capsys):
    bad = tmp_path / "audit.toml"
    bad.write_text('[partitions.commercial]\nregion = "us-esat-1"\n')
    assert cli.main(["doctor", "--audit-config", str(bad)]) == 4
    assert "us-esat-1" in capsys.readouterr().err


@pytest.mark.parametrize("profiles, message", [
    (("govcloud", "govcloud"), "the commercial partition got GovCloud credentials"),
    (("commercial", "nope"), "AWS profile 'nope' not found"),
])
def test_a_real_audit_stops_on_a_credential_problem(pytester, emu, tmp_path, monkeypatch, profiles, message):
    """The preflight at the start of a real (not emulated) audit: one line, exit status 4, no read made."""
    from tests.audit.helpers import CHECKS, ROOT

    emu.apply("compliant")
    aws_files(monkeypatch, tmp_path, emu, credentials=two_profiles())
    cfg = audit_toml(tmp_path, *profiles)
    result = pytester.runpytest_inprocess(str(CHECKS), "--no-reports", "-p", "no:cacheprovider", f"--rootdir={ROOT}",
                                          "-c", str(ROOT / "pyproject.toml"), f"--audit-config={cfg}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    errors = [line for line in result.stderr.lines if message in line]
    assert len(errors) == 1, result.stderr.lines


def test_a_real_audit_with_good_profiles_reads_each_identity_once(pytester, emu, tmp_path, monkeypatch):
    from bedrock_key_audit.fixtures.aws import CALL_LOG_KEY
    from tests.audit.helpers import CHECKS, ROOT

    emu.apply("compliant")
    aws_files(monkeypatch, tmp_path, emu, credentials=two_profiles())
    rec = pytester.inline_run(str(CHECKS), "--no-reports", "-p", "no:cacheprovider", f"--rootdir={ROOT}",
                              "-c", str(ROOT / "pyproject.toml"), f"--audit-config={audit_toml(tmp_path)}",
                              "-k", "iam.user_exists or cloudtrail.logging")
    assert rec.ret == 0
    config = rec.getcalls("pytest_sessionfinish")[0].session.config
    calls = [c for c in config.stash[CALL_LOG_KEY].as_dicts() if c["operation"] == "GetCallerIdentity"]
    assert sorted(c["partition"] for c in calls) == ["commercial", "govcloud"]


def test_every_read_doctor_tries_is_in_the_auditor_policy():
    from bedrock_key_audit import policies
    from tests.remediation.test_policies import _doc_actions

    assert {r.action for r in doctor.READS} <= _doc_actions(policies.template("auditor"))
    assert {r.action for r in doctor.ORGANIZATION_READS} <= set(policies.organization_actions())


def _auditor_with(emu, part: str, principal: str, drop: set[str], cfg) -> dict:
    """The generated auditor policy for ``cfg`` in ``part`` (resources scoped as users attach it), minus ``drop``,
    plus the optional iam:SimulatePrincipalPolicy on the principal itself."""
    from bedrock_key_audit import policies

    doc = policies.for_config("auditor", cfg, partition=part)
    for st in doc["Statement"]:
        acts = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
        st["Action"] = [a for a in acts if a not in drop] or ["iam:GetAccountSummary"]
    doc["Statement"].append({"Sid": "DoctorSimulatesItself", "Effect": "Allow", "Action": "iam:SimulatePrincipalPolicy",
                             "Resource": principal})
    return doc


def test_doctor_asks_simulate_principal_policy_once_for_a_user_and_tries_only_resource_policy_reads(
        emu, tmp_path, monkeypatch, capsys):
    # no moto authentication here: every read the doctor makes succeeds, so a denial can only be the simulation's
    emu.apply("compliant")
    toml = audit_toml(tmp_path)
    cfg = load_config(str(toml))
    creds = ""
    for part in ("commercial", "govcloud"):
        iam = emu.client("iam", part)
        arn = iam.create_user(UserName="bedrock-key-auditor")["User"]["Arn"]
        drop = {"iam:ListAccessKeys", "cloudtrail:GetTrailStatus"} if part == "commercial" else set()
        iam.put_user_policy(UserName="bedrock-key-auditor", PolicyName="auditor",
                            PolicyDocument=json.dumps(_auditor_with(emu, part, arn, drop, cfg)))
        ak = iam.create_access_key(UserName="bedrock-key-auditor")["AccessKey"]
        creds += f"[{part}]\naws_access_key_id = {ak['AccessKeyId']}\naws_secret_access_key = {ak['SecretAccessKey']}\n"
    aws_files(monkeypatch, tmp_path, emu, credentials=creds)
    aws = Aws(cfg, CallLog())
    report = doctor.diagnose(aws, str(toml))
    assert report.missing["commercial"] == ["iam:ListAccessKeys", "cloudtrail:GetTrailStatus"]
    assert report.missing["govcloud"] == []
    assert report.simulated["commercial"][0] == f"arn:aws:iam::{COMMERCIAL}:user/bedrock-key-auditor"
    assert report.simulated["govcloud"][0] == f"arn:aws-us-gov:iam::{GOV}:user/bedrock-key-auditor"
    calls = aws.calls.as_dicts()
    sims = [c for c in calls if c["operation"] == "SimulatePrincipalPolicy"]
    assert sorted(c["partition"] for c in sims) == ["commercial", "govcloud"]  # one call per partition
    tried = {c["operation"] for c in calls if c["partition"] == "commercial"}
    assert "ListAccessKeys" not in tried and "GetLoginProfile" not in tried  # answered by the simulation
    assert "GetKeyPolicy" in tried or "DescribeKey" in tried or "GetBucketLogging" in tried  # resource policies: tried
    out = doctor.render(report, aws)
    assert any(line.startswith("simulated (commercial): ") and "iam:SimulatePrincipalPolicy" in line for line in out)


def test_doctor_simulates_a_role_session_as_its_role(emu, tmp_path, monkeypatch):
    emu.apply("compliant")
    role = assume_role_setup(emu, "govcloud")
    toml = audit_toml(tmp_path, "commercial", "gov-auditor")
    cfg = load_config(str(toml))
    emu.client("iam", "govcloud").put_role_policy(
        RoleName="auditor-role", PolicyName="auditor",
        PolicyDocument=json.dumps(_auditor_with(emu, "govcloud", role, {"secretsmanager:GetResourcePolicy",
                                                                         "iam:GetAccountAuthorizationDetails"}, cfg)))
    config = f"[profile gov-auditor]\nrole_arn = {role}\nsource_profile = gov-base\nregion = us-gov-west-1\n"
    aws_files(monkeypatch, tmp_path, emu, config=config,
              credentials=key_profile("commercial", "commercial") + key_profile("gov-base", "govcloud"))
    aws = Aws(cfg, CallLog())
    report = doctor.diagnose(aws, str(toml))
    assert report.simulated["govcloud"][0] == role
    # GAAD is simulated (denied); GetResourcePolicy is a resource-policy read: tried, and the emulator lets
    # the session's call through (it enforces no Secrets Manager identity policy): not reported by the simulation
    assert report.missing["govcloud"] == ["iam:GetAccountAuthorizationDetails"]
    assert "commercial" not in report.simulated  # the account root: no principal to simulate, every read tried


def test_simulation_source_and_its_fallbacks():
    class _Iam:
        def get_role(self, RoleName):
            return {"Role": {"Arn": f"arn:aws:iam::{COMMERCIAL}:role/ci/{RoleName}"}}

    class _Aws:
        def client(self, service, partition):
            return _Iam()

    user = f"arn:aws:iam::{COMMERCIAL}:user/team/auditor"
    assert doctor.simulation_source(_Aws(), "commercial", user) == user
    # the assumed-role ARN leaves out the role's path: GetRole gives it
    assert doctor.simulation_source(_Aws(), "commercial", f"arn:aws:sts::{COMMERCIAL}:assumed-role/Auditor/ci-run") == \
        f"arn:aws:iam::{COMMERCIAL}:role/ci/Auditor"
    assert doctor.simulation_source(_Aws(), "commercial", f"arn:aws:iam::{COMMERCIAL}:root") is None
    assert doctor.simulation_source(_Aws(), "commercial", f"arn:aws:sts::{COMMERCIAL}:federated-user/bob") is None


def _doctor_as_generated_policy(emu, tmp_path, monkeypatch, capsys, drop: dict[str, set[str]]):
    """doctor run by a user in each partition holding exactly ``bedrock-key-audit policy auditor --partition P``
    (moto's view of it), minus ``drop[P]``."""
    from moto.core.authorization import enable_iam_authentication

    from bedrock_key_audit import policies
    from tests.remediation.test_policies import _unauthenticated_in_moto, moto_view

    emu.apply("compliant")
    toml = audit_toml(tmp_path)
    cfg = load_config(str(toml))
    creds = ""
    for part in ("commercial", "govcloud"):
        iam = emu.client("iam", part)
        iam.create_user(UserName="bedrock-key-auditor")
        printed = policies.for_config("auditor", cfg, partition=part)
        iam.put_user_policy(UserName="bedrock-key-auditor", PolicyName="auditor",
                            PolicyDocument=json.dumps(moto_view(printed, drop=drop.get(part, set()))))
        ak = iam.create_access_key(UserName="bedrock-key-auditor")["AccessKey"]
        creds += f"[{part}]\naws_access_key_id = {ak['AccessKeyId']}\naws_secret_access_key = {ak['SecretAccessKey']}\n"
    aws_files(monkeypatch, tmp_path, emu, credentials=creds)
    _unauthenticated_in_moto(monkeypatch)
    with enable_iam_authentication():
        return _doctor(capsys, "--audit-config", str(toml))


def test_doctor_with_exactly_the_printed_policy_is_ready(emu, tmp_path, monkeypatch, capsys):
    # the commercial policy has no kms:GetKeyPolicy / kms:ListGrants (the audit reads who may use the
    # secret's key only in GovCloud): doctor must not try them there
    code, out = _doctor_as_generated_policy(emu, tmp_path, monkeypatch, capsys, {})
    assert not [line for line in out if line.startswith(("problem", "missing", "not checked"))], out
    assert out[-1] == "ok: ready to audit" and code == 0


def test_doctor_with_the_printed_policy_minus_one_action_names_it(emu, tmp_path, monkeypatch, capsys):
    code, out = _doctor_as_generated_policy(emu, tmp_path, monkeypatch, capsys,
                                            {"commercial": {"kms:DescribeKey"}, "govcloud": {"cloudtrail:DescribeTrails"}})
    assert ("missing permissions (commercial): kms:DescribeKey; attach the policy printed by "
            f"`bedrock-key-audit policy auditor --partition commercial --account {COMMERCIAL} --audit-config "
            f"{tmp_path / 'audit.toml'}`") in out, out
    assert any(line.startswith("missing permissions (govcloud): cloudtrail:DescribeTrails;") for line in out), out
    assert code == 1


def test_doctor_tries_in_each_partition_only_what_the_printed_policy_grants_there():
    from bedrock_key_audit import policies
    from tests.remediation.test_policies import _doc_actions

    for part in doctor.PARTITIONS:
        printed = _doc_actions(policies.generate("auditor", partition=part))
        assert doctor.policy_actions(part) == printed
    assert "kms:GetKeyPolicy" not in doctor.policy_actions("commercial")
    assert "kms:GetKeyPolicy" in doctor.policy_actions("govcloud")


def test_a_kms_refusal_behind_secrets_manager_is_named_kms_decrypt():
    import botocore.exceptions

    read = next(r for r in doctor.READS if r.action == "secretsmanager:GetSecretValue")
    exc = botocore.exceptions.ClientError({"Error": {"Code": "AccessDeniedException",
                                                     "Message": "Access to KMS is not allowed"}}, "GetSecretValue")
    assert doctor.denied_action(read, exc) == "kms:Decrypt"
    other = botocore.exceptions.ClientError({"Error": {"Code": "AccessDeniedException", "Message": "User: x is not "
                                                       "authorized to perform: secretsmanager:GetSecretValue"}},
                                            "GetSecretValue")
    assert doctor.denied_action(read, other) == "secretsmanager:GetSecretValue"


def _refusal(message: str):
    import botocore.exceptions

    return botocore.exceptions.ClientError({"Error": {"Code": "AccessDeniedException", "Message": message}},
                                           "GetEventSelectors")


def test_a_boundary_or_explicit_deny_refusal_is_named_not_called_a_missing_permission():
    read = next(r for r in doctor.READS if r.action == "cloudtrail:GetEventSelectors")
    who = f"User: arn:aws:iam::{COMMERCIAL}:user/bka-auditor is not authorized to perform: cloudtrail:GetEventSelectors"
    boundary = doctor._refusal_not_a_missing_grant(read, _refusal(f"{who} because no permissions boundary allows the "
                                                                  "cloudtrail:GetEventSelectors action"), "commercial")
    assert boundary is not None and "permissions boundary" in boundary and "attach" not in boundary, boundary
    deny = doctor._refusal_not_a_missing_grant(read, _refusal(f"{who} with an explicit deny in an identity-based "
                                                              "policy"), "commercial")
    assert deny is not None and "explicit Deny" in deny and "grant cloudtrail" not in deny, deny
    # an implicit deny of the identity policies is a missing grant: left to "missing permissions"
    assert doctor._refusal_not_a_missing_grant(read, _refusal(f"{who} because no identity-based policy allows the "
                                                              "cloudtrail:GetEventSelectors action"), "c") is None
    assert doctor._refusal_not_a_missing_grant(read, _refusal(who), "c") is None
    kms = doctor._refusal_not_a_missing_grant(
        next(r for r in doctor.READS if r.action == "secretsmanager:GetSecretValue"),
        _refusal("Access to KMS is not allowed"), "govcloud")
    assert kms is not None and "the key policy (an explicit Deny" in kms and "a grant" in kms, kms
    report = doctor.Report(config_source="x", identities={"commercial": {"Arn": "a"}},
                           refused={"commercial": [boundary]}, allowed={"commercial": 3})

    class _Cfg:
        path = None

        def region(self, part):
            return "us-east-1"

        def profile(self, part):
            return None

        def partition_account(self, part):
            return COMMERCIAL

    class _Aws:
        cfg = _Cfg()

    lines = doctor.render(report, _Aws())
    assert f"refused (commercial): {boundary}" in lines and not report.ok
    assert not [ln for ln in lines if ln.startswith(("missing permissions", "permissions (commercial)"))], lines


def test_a_simulated_deny_or_boundary_refusal_is_tried_not_listed_missing():
    results = [{"EvalActionName": "cloudtrail:GetEventSelectors", "EvalResourceName": "*", "EvalDecision": "explicitDeny"},
               {"EvalActionName": "cloudtrail:DescribeTrails", "EvalResourceName": "*", "EvalDecision": "implicitDeny",
                "PermissionsBoundaryDecisionDetail": {"AllowedByPermissionsBoundary": False}},
               {"EvalActionName": "cloudtrail:GetTrailStatus", "EvalDecision": "implicitDeny"},
               {"EvalActionName": "cloudtrail:GetTrail", "EvalResourceName": "*", "EvalDecision": "allowed"}]

    class _Iam:
        def simulate_principal_policy(self, **kw):
            return {"EvaluationResults": results}

    class _Aws:
        cfg = load_config(None)

        def client(self, service, partition):
            return _Iam()

    got = doctor.simulate(_Aws(), "commercial", {"Arn": f"arn:aws:iam::{COMMERCIAL}:user/a", "Account": COMMERCIAL},
                          ["cloudtrail:GetEventSelectors", "cloudtrail:DescribeTrails", "cloudtrail:GetTrailStatus",
                           "cloudtrail:GetTrail"])
    assert got is not None and got[1] == {"cloudtrail:GetTrailStatus": False, "cloudtrail:GetTrail": True}, got
