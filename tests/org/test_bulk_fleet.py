"""Fleet mode's account-wide IAM reads give the same verdicts as the per-user reads, and fall back
to them (with a one-line note) where a bulk read is denied."""
from __future__ import annotations

import json

import pytest

from bedrock_key_audit.emulator import aws_faults, partitions
from tests.audit.helpers import run_audit, statuses

OWNER = "bedrock-cross-partition-user"
WIDE = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}


def _fleet(emu):
    # the compliant organization sanctions these keyed users too (its SCP confines long-term keys)
    from bedrock_key_audit.emulator.scenarios_org import sanction_key_users

    sanction_key_users("password-bot", "clean-bot", "group-bot")
    iam = emu.client("iam", "commercial")
    arn = next(p["Arn"] for p in iam.list_policies(Scope="Local")["Policies"])
    for name in ("clean-bot", "password-bot", "group-bot"):
        iam.create_user(UserName=name)
        iam.attach_user_policy(UserName=name, PolicyArn=arn)
        iam.create_service_specific_credential(UserName=name, ServiceName="bedrock.amazonaws.com", CredentialAgeDays=90)
    iam.create_login_profile(UserName="password-bot", Password="Aa1!aaaaaaaaaaaaaa")
    iam.create_group(GroupName="wide")
    iam.put_group_policy(GroupName="wide", PolicyName="s3-all", PolicyDocument=json.dumps(WIDE))
    iam.add_user_to_group(GroupName="wide", UserName="group-bot")
    iam.create_service_specific_credential(UserName="clean-bot", ServiceName="codecommit.amazonaws.com")


def _denied(emu):
    _fleet(emu)
    aws_faults.deny("iam:GetAccountAuthorizationDetails")
    aws_faults.deny("iam:GenerateCredentialReport")


EXPECTED_FAILS = {
    "iam.user_no_other_credentials[password-bot]",  # console password (credential report / GetLoginProfile)
    "iam.user_no_other_credentials[clean-bot]",  # a CodeCommit credential (AllUsers list)
    "iam.policy_least_privilege[group-bot]",  # s3:* from the group's inline policy (GAAD GroupDetailList)
}


def _sanctioned_config(pytester) -> str:
    # the auditor sanctions the same key users as the organization's SCP does: an SCP exempting users
    # credential.allowed_key_users does not name fails org.long_term_keys_confined
    account = partitions.ACCOUNTS["commercial"]
    users = ", ".join(f'"arn:aws:iam::{account}:user/{n}"' for n in (OWNER, "password-bot", "clean-bot", "group-bot"))
    path = pytester.path / "fleet.toml"
    path.write_text(f"[credential]\nallowed_key_users = [{users}]\n")
    return f"--audit-config={path}"


@pytest.mark.parametrize("setup", [_fleet, _denied], ids=["bulk", "denied-fallback"])
def test_fleet_verdicts_bulk_and_fallback(pytester, setup):
    rows = run_audit(pytester, "compliant", "--all-keys", _sanctioned_config(pytester), setup=setup)
    got = statuses(rows)
    failing = {r for r, s in got.items() if s == "fail"}
    assert failing == EXPECTED_FAILS
    errors = {r for r, s in got.items() if s == "error"}
    if setup is _denied:
        # the access checks judge every principal of the account from GetAccountAuthorizationDetails, which has
        # no per-user fallback: denied, they cannot decide (and say so), never pass
        assert errors == {"secret.readers_restricted[bedrock-cross-partition-user]", "iam.key_minting_restricted"}
        assert all("GetAccountAuthorizationDetails" in rows[r]["detail"] for r in errors)
    else:
        assert not errors
    assert "console password" in rows["iam.user_no_other_credentials[password-bot]"]["detail"]
    config = rows["__reprec__"].getcalls("pytest_sessionfinish")[0].session.config
    from bedrock_key_audit.fixtures.aws import CALL_LOG_KEY
    from bedrock_key_audit.fixtures.inventory import BULK_NOTES_KEY

    ops = {c["operation"] for c in config.stash[CALL_LOG_KEY].as_dicts()}
    notes = config.stash.get(BULK_NOTES_KEY, [])
    if setup is _fleet:
        assert not notes
        assert not ops & {"GetUser", "GetLoginProfile", "ListAttachedUserPolicies", "ListGroupsForUser"}
    else:
        assert len(notes) == 2, notes
        assert any("iam:GetAccountAuthorizationDetails was denied" in n and "user by user" in n for n in notes)
        assert any("iam:GenerateCredentialReport was denied" in n for n in notes)
        assert {"GetUser", "GetLoginProfile", "ListAttachedUserPolicies"} <= ops
