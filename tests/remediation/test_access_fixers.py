"""Fixers of secret.readers_restricted (a destructive Deny-all-but statement) and
iam.key_minting_restricted (a manual step)."""
from __future__ import annotations

import json

from bedrock_key_audit.emulator.scenarios import SECRET_NAME
from bedrock_key_audit.remediation.fixers.access import DENY_SID, merged_policy
from tests.remediation.helpers import run

GOV = "210987654321"
WORKLOAD = f"arn:aws-us-gov:iam::{GOV}:role/bedrock-workload"
OTHER = {"Sid": "SomeoneElses", "Effect": "Allow", "Principal": {"AWS": f"arn:aws-us-gov:iam::{GOV}:root"},
         "Action": "secretsmanager:DescribeSecret", "Resource": "*"}


def test_merged_policy_keeps_other_statements_and_replaces_ours():
    old = json.dumps({"Version": "2012-10-17", "Statement": [OTHER, {"Sid": DENY_SID, "Effect": "Deny"}]})
    doc = merged_policy(old, [WORKLOAD, WORKLOAD, "arn:aws-us-gov:iam::210987654321:root"])
    assert doc["Statement"][0] == OTHER and len(doc["Statement"]) == 2
    deny = doc["Statement"][1]
    assert deny["Sid"] == DENY_SID and deny["Effect"] == "Deny" and deny["Principal"] == "*"
    assert deny["Condition"]["StringNotEquals"]["aws:PrincipalArn"] == sorted({WORKLOAD, f"arn:aws-us-gov:iam::{GOV}:root"})
    assert merged_policy(None, [WORKLOAD])["Statement"] == [merged_policy(None, [WORKLOAD])["Statement"][0]]


def _config(tmp_path, readers: list[str]) -> str:
    path = tmp_path / "audit.toml"
    path.write_text("[secret]\nallowed_readers = [" + ", ".join(json.dumps(r) for r in readers) + "]\n")
    return str(path)


def _other_statement(emu):
    # the configured reader exists (a reader that does not stops the plan: test_guard.py)
    emu.client("iam", "govcloud").create_role(RoleName="bedrock-workload", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
                                                "Action": "sts:AssumeRole"}]}))
    emu.client("secretsmanager", "govcloud").put_resource_policy(
        SecretId=SECRET_NAME, ResourcePolicy=json.dumps({"Version": "2012-10-17", "Statement": [OTHER]}))


def test_deny_other_readers_is_destructive_keeps_statements_and_fixes_the_row(pytester, emu, tmp_path):
    _, cap = run(pytester, f"--audit-config={_config(tmp_path, [WORKLOAD])}", "--remediate",
                      "--allow-destructive", scenario="secret_reader_role", setup=_other_statement)
    step = next(s for s in cap.plan if s.key == "secret.deny-other-readers")
    assert step.destructive and step.status == "applied", (step.status, step.message)
    policy = json.loads(emu.client("secretsmanager", "govcloud").get_resource_policy(SecretId=SECRET_NAME)["ResourcePolicy"])
    assert policy["Statement"][0] == OTHER
    assert WORKLOAD in policy["Statement"][1]["Condition"]["StringNotEquals"]["aws:PrincipalArn"]
    assert cap.records["secret.readers_restricted"].status == "pass", cap.records["secret.readers_restricted"].detail


def test_without_allowed_readers_and_for_minters_a_person_decides(pytester, emu, tmp_path):
    def extra_minter(emu):
        from bedrock_key_audit.emulator.scenarios_access import MINTER_ROLE
        iam = emu.client("iam")
        iam.create_role(RoleName=MINTER_ROLE, AssumeRolePolicyDocument="{}")
        iam.put_role_policy(RoleName=MINTER_ROLE, PolicyName="mint", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Sid": "Mint", "Effect": "Allow", "Action": "iam:*Credential",
                                                    "Resource": "*"}]}))

    _, cap = run(pytester, f"--audit-config={_config(tmp_path, [])}", "--remediate=plan",
                      scenario="secret_reader_role", setup=extra_minter)
    by_key = {s.key: s for s in cap.plan}
    readers = by_key["manual:secret-readers"]
    assert readers.manual and "secret.allowed_readers" in readers.action
    minting = by_key["manual:key-minting"]
    assert minting.manual and "role/key-minting-automation" in minting.action
    assert "inline policy mint of role key-minting-automation statement 'Mint'" in minting.action
    assert "ResourcePolicy" not in emu.client("secretsmanager", "govcloud").get_resource_policy(SecretId=SECRET_NAME)
