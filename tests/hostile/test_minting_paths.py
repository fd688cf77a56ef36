"""Who can mint a Bedrock key, beyond a direct grant on an existing user, built on the emulator with
boto3 and audited for real: a user not yet created, a policy write on itself, a role passed to
Lambda.  (Units for every path class: tests/audit/test_escalation.py; the emulator proving a path
works with the principal's own keys: tests/emulator/test_iam_authz.py.)"""
from __future__ import annotations

import json
from typing import Any

import pytest

from tests.hostile.helpers import BEDROCK, audit, expect, write_config

ROW = "iam.key_minting_restricted"


def _doc(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _onboarder(emu):
    iam = emu.client("iam")
    iam.create_user(UserName="onboarder")
    iam.put_user_policy(UserName="onboarder", PolicyName="onboarding", PolicyDocument=_doc(
        {"Effect": "Allow", "Action": ["iam:CreateUser", "iam:CreateServiceSpecificCredential"],
         "Resource": "arn:aws:iam::*:user/contractors/*"}))


def _new_users(emu):
    """The onboarder may create a user and a key on it; the organization's confinement SCP spares
    it (it denies Create to everyone else: see test_an_scp_denying_every_granted_mint_action_keeps_out)."""
    from bedrock_key_audit.emulator.scenarios_org import sanction_key_users

    _onboarder(emu)
    sanction_key_users("onboarder")


def _self_attach(emu):
    iam = emu.client("iam")
    iam.create_role(RoleName="ci-deployer", AssumeRolePolicyDocument=_doc(
        {"Effect": "Allow", "Principal": {"Service": "codebuild.amazonaws.com"}, "Action": "sts:AssumeRole"}))
    iam.put_role_policy(RoleName="ci-deployer", PolicyName="manage-own-policies", PolicyDocument=_doc(
        {"Effect": "Allow", "Action": "iam:AttachRolePolicy", "Resource": "arn:aws:iam::*:role/ci-deployer"}))


def _pass_role(emu):
    iam = emu.client("iam")
    iam.create_role(RoleName="key-rotator-fn", AssumeRolePolicyDocument=_doc(
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}))
    iam.put_role_policy(RoleName="key-rotator-fn", PolicyName="rotate", PolicyDocument=_doc(
        {"Effect": "Allow", "Action": "iam:ResetServiceSpecificCredential", "Resource": "*",
         "Condition": {"StringEquals": {"iam:ServiceSpecificCredentialServiceName": BEDROCK}}}))
    iam.create_user(UserName="developer")
    iam.put_user_policy(UserName="developer", PolicyName="serverless", PolicyDocument=_doc(
        {"Effect": "Allow", "Action": ["lambda:CreateFunction", "lambda:InvokeFunction"], "Resource": "*"},
        {"Effect": "Allow", "Action": "iam:PassRole", "Resource": "arn:aws:iam::*:role/key-rotator-fn"}))


# sparing the onboarder from the confinement SCP also fails the row that checks that confinement
SPARED = {"org.long_term_keys_confined[commercial]": ("fail", "user/onboarder")}


@pytest.mark.parametrize("setup, who, path, also", [
    (_new_users, "user/onboarder", "creates user contractors/x (no such user yet), then Create on it", SPARED),
    (_self_attach, "role/ci-deployer", "escalation followed one step: iam:AttachRolePolicy of AdministratorAccess to itself", {}),
    (_pass_role, "user/developer", "iam:PassRole of role key-rotator-fn to lambda.amazonaws.com", {}),
], ids=["user-not-yet-created", "policy-write-on-itself", "pass-role-to-lambda"])
def test_minting_path_fails_the_row_naming_it(pytester, setup, who, path, also):
    rows = audit(pytester, setup)
    expect(rows, {ROW: ("fail", path), **also})
    assert who in rows[ROW]["detail"]
    evidence = json.dumps(rows[ROW].get("evidence") or rows[ROW])
    assert "escalation followed one step" in evidence and "EditExistingLambdaFunctionWithRole" in evidence


def test_undecided_path_errors_naming_the_path_and_the_unknown(pytester):
    """Passing the role is allowed, but only to functions named ``app-*`` in an unnamed Region: the
    new function's name and Region are the caller's choice, so the audit cannot settle it alone."""
    def setup(emu):
        _pass_role(emu)
        emu.client("iam").put_user_policy(UserName="developer", PolicyName="serverless", PolicyDocument=_doc(
            {"Effect": "Allow", "Action": ["lambda:CreateFunction", "lambda:InvokeFunction"],
             "Resource": "arn:aws:lambda:us-east-1:*:function:app-*"},
            {"Effect": "Allow", "Action": "iam:PassRole", "Resource": "arn:aws:iam::*:role/key-rotator-fn"}))

    # the role itself mints (Reset): allowed, so only the developer's path is in question
    allowed = write_config(pytester, '[credential]\nallowed_minters = ["arn:aws:iam::123456789012:role/key-rotator-fn"]\n')
    rows = audit(pytester, setup, allowed)
    expect(rows, {ROW: ("error", "user arn:aws:iam::123456789012:user/developer may mint or reset a Bedrock API key "
                                 "(escalation followed one step: iam:PassRole of role key-rotator-fn")})
    assert "the name of what lambda:createfunction creates" in rows[ROW]["detail"]


def _minter_and_operator(action: str, keys: int = 0):
    """User ``minter`` mints (and is allowed to); user ``ops`` may ``action`` on it only."""
    made: dict[str, object] = {}

    def setup(emu):
        iam = emu.client("iam")
        iam.create_user(UserName="minter")
        iam.put_user_policy(UserName="minter", PolicyName="mint", PolicyDocument=_doc(
            {"Effect": "Allow", "Action": "iam:CreateServiceSpecificCredential", "Resource": "arn:aws:iam::*:user/*"}))
        for _ in range(keys):
            iam.create_access_key(UserName="minter")
        iam.create_user(UserName="ops")
        iam.put_user_policy(UserName="ops", PolicyName="ops", PolicyDocument=_doc(
            {"Effect": "Allow", "Action": action, "Resource": "arn:aws:iam::123456789012:user/minter"}))
        key = iam.create_access_key(UserName="ops")["AccessKey"]
        made["ops"] = emu.client("iam", aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])
    return setup, made


ALLOW_MINTER = '[credential]\nallowed_minters = ["arn:aws:iam::123456789012:user/minter"]\n'


@pytest.mark.parametrize("action, keys, status", [
    ("iam:CreateAccessKey", 1, "fail"), ("iam:CreateAccessKey", 2, "pass"), ("iam:CreateLoginProfile", 0, "fail"),
], ids=["access-key-room-left", "access-key-quota-full", "login-profile-none-yet"])
def test_taking_over_a_minting_user_is_decided_from_what_it_holds(pytester, action, keys, status):
    """The audit reads the minting user's access keys and console password, so a principal that can
    give it a new access key (fewer than two held) or a first password is a minter, path named; the
    emulator proves the step works (or is refused at the quota) with ops' own keys."""
    setup, made = _minter_and_operator(action, keys)
    rows = audit(pytester, setup, write_config(pytester, ALLOW_MINTER))
    assert rows[ROW]["status"] == status, rows[ROW]["detail"]
    if status == "fail":
        what = "iam:CreateAccessKey for user minter" if action == "iam:CreateAccessKey" else "a console password for user minter"
        assert "user/ops" in rows[ROW]["detail"] and what in rows[ROW]["detail"]
        [facts] = [e["data"] for e in rows[ROW]["evidence"] if e["source"] == "iam:ListAccessKeys+GetLoginProfile"]
        assert facts["arn:aws:iam::123456789012:user/minter"] == {"access_keys": keys, "login_profile": False}
    ops = made["ops"]
    try:
        if action == "iam:CreateAccessKey":
            ops.create_access_key(UserName="minter")
        else:
            ops.create_login_profile(UserName="minter", Password="Emulator-only-1!")
        took_over = True
    except Exception:  # noqa: BLE001 - any refusal means the step does not work
        took_over = False
    assert took_over is (status == "fail")


def _creator(emu):
    iam = emu.client("iam")
    iam.create_role(RoleName="creator", AssumeRolePolicyDocument=_doc(
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}))
    iam.put_role_policy(RoleName="creator", PolicyName="m", PolicyDocument=_doc(
        {"Effect": "Allow", "Action": "iam:CreateServiceSpecificCredential", "Resource": "*",
         "Condition": {"StringEquals": {"iam:ServiceSpecificCredentialServiceName": BEDROCK}}}))


@pytest.mark.parametrize("setup, who", [(_creator, "role/creator"), (_onboarder, "user/onboarder")],
                         ids=["create-only-role", "create-on-a-new-user"])
def test_an_scp_denying_every_granted_mint_action_keeps_out(pytester, setup, who):
    """A principal granted Create only (on any user, or on a user it creates) is not a minter when
    the organization's SCP ConfineBedrockApiKeys denies Create to all but the key user and root:
    that Reset is not denied too does not matter, the principal is not granted it."""
    from tests.audit.helpers import run_audit

    rows = run_audit(pytester, "compliant", rows=[ROW], setup=setup)
    assert rows[ROW]["status"] == "pass", rows[ROW]["detail"]
    assert f"kept out by the account's SCPs: arn:aws:iam::123456789012:{who}" in rows[ROW]["detail"]
    [orgs] = [e["data"] for e in rows[ROW]["evidence"] if e["source"] == "organization-policies"]
    [said] = [d for d in orgs["per principal"] if d["principal"].endswith(who)]
    assert said["stopped"].count("DenyBedrockKeyCreation") == 1 and "Reset" not in said["stopped"]


def test_a_fail_names_how_many_more_may_mint_and_on_what(pytester):
    """One role certainly resets keys; another only from a VPC endpoint the audit cannot know is
    used: the fail counts the first and says one more may, depending on aws:SourceVpce."""
    def setup(emu):
        iam = emu.client("iam")
        for name, extra in (("resetter", {}), ("vpce", {"aws:SourceVpce": "vpce-1"})):
            iam.create_role(RoleName=name, AssumeRolePolicyDocument=_doc(
                {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}))
            iam.put_role_policy(RoleName=name, PolicyName="m", PolicyDocument=_doc(
                {"Effect": "Allow", "Action": "iam:ResetServiceSpecificCredential", "Resource": "*",
                 "Condition": {"StringEquals": {"iam:ServiceSpecificCredentialServiceName": BEDROCK, **extra}}}))

    from tests.audit.helpers import run_audit

    rows = run_audit(pytester, "compliant", rows=[ROW], setup=setup)
    detail = rows[ROW]["detail"]
    assert rows[ROW]["status"] == "fail" and detail.startswith("1 principal(s)") and "role/resetter" in detail, detail
    assert "; and 1 more that may mint, depending on aws:SourceVpce" in detail, detail
    assert "Create not counted" not in detail, detail


@pytest.mark.parametrize("by", ["scp", "identity"])
def test_an_sts_deny_in_us_east_1_leaves_another_regions_endpoint(pytester, by):
    """Ops may assume role rotator, which resets keys (and is allowed to), but not in us-east-1 (the
    global endpoint's Region): an SCP denies it there (``scp``), or ops' own policy allows it in us-west-2
    only (``identity``).  STS has Regional endpoints and the caller picks one (IAM User Guide, "Manage AWS
    STS in an AWS Region"): with IAM enforced the emulator refuses ops' AssumeRole signed for us-east-1
    and lets it through for us-west-2, so the audit must count ops as a minter."""
    import boto3
    import botocore.exceptions

    from bedrock_key_audit.emulator import enforce_iam, partitions
    from bedrock_key_audit.emulator.scenario_base import attach_scp
    from tests.audit.helpers import run_audit

    account = partitions.ACCOUNTS["commercial"]
    ops, rotator = f"arn:aws:iam::{account}:user/ops", f"arn:aws:iam::{account}:role/rotator"
    proof: dict[str, str] = {}

    def setup(emu):
        iam = emu.client("iam")
        iam.create_user(UserName="ops")
        where = {} if by == "scp" else {"Condition": {"StringEquals": {"aws:RequestedRegion": "us-west-2"}}}
        iam.put_user_policy(UserName="ops", PolicyName="assume", PolicyDocument=_doc(
            {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": f"arn:aws:iam::{account}:role/*", **where}))
        # a trust naming the account (not ops itself) needs ops' identity policy to allow the AssumeRole
        trusted = ops if by == "scp" else f"arn:aws:iam::{account}:root"
        iam.create_role(RoleName="rotator", AssumeRolePolicyDocument=_doc(
            {"Effect": "Allow", "Principal": {"AWS": trusted}, "Action": "sts:AssumeRole"}))
        iam.put_role_policy(RoleName="rotator", PolicyName="m", PolicyDocument=_doc(
            {"Effect": "Allow", "Action": "iam:ResetServiceSpecificCredential", "Resource": "*",
             "Condition": {"StringEquals": {"iam:ServiceSpecificCredentialServiceName": BEDROCK}}}))
        key = iam.create_access_key(UserName="ops")["AccessKey"]
        if by == "scp":
            attach_scp("commercial", account, "NoAssumeInUsEast1", {"Version": "2012-10-17", "Statement": [
                {"Sid": "NoAssumeAtTheGlobalEndpoint", "Effect": "Deny", "Action": "sts:AssumeRole", "Resource": "*",
                 "Condition": {"StringEquals": {"aws:RequestedRegion": "us-east-1"},
                               "ArnLike": {"aws:PrincipalArn": ops}}}]})
        emu.enforce_iam = True
        try:
            for region in ("us-east-1", "us-west-2"):
                sts = boto3.client("sts", endpoint_url=emu.url, region_name=region, aws_access_key_id=key["AccessKeyId"],
                                   aws_secret_access_key=key["SecretAccessKey"])
                try:
                    sts.assume_role(RoleArn=rotator, RoleSessionName="probe")
                    proof[region] = "ok"
                except botocore.exceptions.ClientError as exc:
                    proof[region] = exc.response["Error"]["Code"]
        finally:
            emu.enforce_iam = False
            enforce_iam.clear()

    allowed = write_config(pytester, f'[credential]\nallowed_minters = ["{rotator}"]\n')
    rows = run_audit(pytester, "compliant", allowed, rows=[ROW], setup=setup)
    assert proof == {"us-east-1": "AccessDenied", "us-west-2": "ok"}, proof
    detail = rows[ROW]["detail"]
    assert rows[ROW]["status"] == "fail" and ops in detail and "can assume role rotator" in detail, detail


def _rotator(emu, trusted):
    iam = emu.client("iam")
    iam.create_role(RoleName="rotator", AssumeRolePolicyDocument=_doc(
        {"Effect": "Allow", "Principal": {"AWS": trusted}, "Action": "sts:AssumeRole"}))
    iam.put_role_policy(RoleName="rotator", PolicyName="m", PolicyDocument=_doc(
        {"Effect": "Allow", "Action": "iam:ResetServiceSpecificCredential", "Resource": "*",
         "Condition": {"StringEquals": {"iam:ServiceSpecificCredentialServiceName": BEDROCK}}}))


@pytest.mark.parametrize("condition", [{"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}},
                                       {"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}}], ids=["mfa", "source-ip"])
def test_an_sts_deny_on_a_key_the_audit_cannot_know_makes_the_assumer_possible(pytester, condition):
    """An SCP denies ops sts:AssumeRole without MFA (or from outside a network): whether ops' request carries
    that is unknown, so ops *may* mint through role rotator -- the row errors naming the key and the SCP, as the
    same condition on the mint itself does -- neither fails (certain) nor passes."""
    from bedrock_key_audit.emulator import partitions
    from bedrock_key_audit.emulator.scenario_base import attach_scp
    from tests.audit.helpers import run_audit

    account = partitions.ACCOUNTS["commercial"]
    ops, rotator = f"arn:aws:iam::{account}:user/ops", f"arn:aws:iam::{account}:role/rotator"

    def setup(emu):
        emu.client("iam").create_user(UserName="ops")
        _rotator(emu, ops)
        attach_scp("commercial", account, "AssumeOnlyWith", {"Version": "2012-10-17", "Statement": [
            {"Sid": "OnlyWith", "Effect": "Deny", "Action": "sts:AssumeRole", "Resource": "*",
             "Condition": {**condition, "ArnLike": {"aws:PrincipalArn": ops}}}]})
    cfg = write_config(pytester, f'[credential]\nallowed_minters = ["{rotator}"]\n')
    row = run_audit(pytester, "compliant", cfg, rows=[ROW], setup=setup)[ROW]
    key = next(iter(next(iter(condition.values()))))
    assert row["status"] == "error" and f"user {ops} may mint" in row["detail"], row["detail"]
    assert key in row["detail"] and "SCP AssumeOnlyWith" in row["detail"], row["detail"]


@pytest.mark.parametrize("outsider_denies, status", [("everywhere", "pass"), ("us-east-1", "fail"), (None, "fail")])
def test_an_outsiders_exported_scps_bound_its_assume_role_into_the_account(pytester, outsider_denies, status):
    """Role rotator trusts account 111122223333.  The --org-policies export lists that account with an SCP denying
    sts:AssumeRole (everywhere: its principals cannot assume rotator; at us-east-1 only: another Region's endpoint
    is open), or does not list it (counted, its SCPs unknown).  IAM User Guide, "Policy evaluation logic"."""
    from bedrock_key_audit.emulator import partitions
    from tests.audit.helpers import run_audit

    account, outsider = partitions.ACCOUNTS["commercial"], "111122223333"
    rotator = f"arn:aws:iam::{account}:role/rotator"
    full = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}

    def entry(acct, extra, org_id):
        scps = [{"id": "p-FullAWSAccess", "name": "FullAWSAccess", "content": full}]
        return {"organization": True, "management_account": "777777777777", "organization_id": org_id,
                "levels": [{"target": "r-abcd", "type": "ROOT", "scps": scps},
                           {"target": acct, "type": "ACCOUNT", "scps": [*scps, *extra]}]}
    accounts = {account: entry(account, [], "o-exampleorgid"), partitions.ACCOUNTS["govcloud"]: {"organization": False}}
    if outsider_denies is not None:
        st: dict[str, Any] = {"Sid": "NoAssumeOut", "Effect": "Deny", "Action": "sts:AssumeRole", "Resource": "*"}
        if outsider_denies != "everywhere":
            st["Condition"] = {"StringEquals": {"aws:RequestedRegion": outsider_denies}}
        accounts[outsider] = entry(outsider, [{"id": "p-noassume", "name": "NoAssumeOut",
                                               "content": {"Version": "2012-10-17", "Statement": [st]}}], "o-other")
    path = pytester.path / "org.json"
    path.write_text(json.dumps({"accounts": accounts}))
    cfg = write_config(pytester, f'[credential]\nallowed_minters = ["{rotator}"]\n')
    row = run_audit(pytester, "compliant", cfg, f"--org-policies={path}", rows=[ROW],
                    setup=lambda emu: _rotator(emu, f"arn:aws:iam::{outsider}:root"))[ROW]
    assert row["status"] == status, row["detail"]
    if status == "pass":
        assert f"arn:aws:iam::{outsider}:root (by the SCPs of its account {outsider}" in row["detail"], row["detail"]
    else:
        assert f"external arn:aws:iam::{outsider}:root, can assume role rotator" in row["detail"], row["detail"]
