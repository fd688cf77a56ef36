"""Who can mint a Bedrock key, beyond a direct grant on an existing user, built on the emulator with
boto3 and audited for real: a user not yet created, a policy write on itself, a role passed to
Lambda.  (Units for every path class: tests/audit/test_escalation.py; the emulator proving a path
works with the principal's own keys: tests/emulator/test_iam_authz.py.)"""
from __future__ import annotations

import json

import pytest

from tests.hostile.helpers import BEDROCK, audit, expect, write_config

ROW = "iam.key_minting_restricted"


def _doc(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _new_users(emu):
    iam = emu.client("iam")
    iam.create_user(UserName="onboarder")
    iam.put_user_policy(UserName="onboarder", PolicyName="onboarding", PolicyDocument=_doc(
        {"Effect": "Allow", "Action": ["iam:CreateUser", "iam:CreateServiceSpecificCredential"],
         "Resource": "arn:aws:iam::*:user/contractors/*"}))


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


@pytest.mark.parametrize("setup, who, path", [
    (_new_users, "user/onboarder", "creates user contractors/x (no such user yet), then Create on it"),
    (_self_attach, "role/ci-deployer", "escalation followed one step: iam:AttachRolePolicy of AdministratorAccess to itself"),
    (_pass_role, "user/developer", "iam:PassRole of role key-rotator-fn to lambda.amazonaws.com"),
], ids=["user-not-yet-created", "policy-write-on-itself", "pass-role-to-lambda"])
def test_minting_path_fails_the_row_naming_it(pytester, setup, who, path):
    rows = audit(pytester, setup)
    expect(rows, {ROW: ("fail", path)})
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
