"""secret.readers_restricted end to end on states built through the emulator's own APIs, each verdict
proved by the emulator: the outsider the row names reads the secret with its own credentials, and
the ones it does not name are refused.  Classes: principals of other accounts, role trust, replicas."""
from __future__ import annotations

import json
from typing import Any

from tests.audit.helpers import run_audit, statuses
from tests.emulator.test_reach import (
    GOV,
    OUTSIDE,
    P,
    REGION,
    SECRET,
    add_key_statement,
    can_read,
    client,
    outside_user,
    secret_and_key,
    session,
)

ROW = "secret.readers_restricted"
PARTNER = f"arn:{P}:iam::{OUTSIDE}:user/partner"
WORKLOAD = f"arn:{P}:iam::{GOV}:role/bedrock-workload"


def _config(tmp_path: Any, readers: list[str]) -> str:
    path = tmp_path / "audit.toml"
    path.write_text("[secret]\nallowed_readers = [" + ", ".join(json.dumps(r) for r in readers) + "]\n")
    return str(path)


def _resource_policy(emu: Any, *statements: dict[str, Any]) -> None:
    emu.client("secretsmanager", "govcloud").put_resource_policy(SecretId=SECRET, ResourcePolicy=json.dumps(
        {"Version": "2012-10-17", "Statement": list(statements)}))


ADMIT_OUTSIDE = {"Sid": "PartnerAccount", "Effect": "Allow", "Principal": {"AWS": OUTSIDE},
                 "Action": "secretsmanager:GetSecretValue", "Resource": "*"}


def test_outsider_named_by_the_key_policy_reads_and_fails_the_row(pytester, emu):
    made: dict[str, Any] = {}

    def setup(e: Any) -> None:
        made["partner"] = outside_user(e)
        made["other"] = outside_user(e, "other")  # the same identity policy, not in the key policy
        _resource_policy(e, ADMIT_OUTSIDE)
        add_key_statement(e, secret_and_key(e)[1], {"Sid": "PartnerDecrypt", "Effect": "Allow",
                                                     "Principal": {"AWS": PARTNER}, "Action": "kms:Decrypt",
                                                     "Resource": "*"})
    rows = run_audit(pytester, "compliant", rows=[ROW], setup=setup)
    assert statuses(rows)[ROW] == "fail", rows[ROW]["detail"]
    detail = rows[ROW]["detail"]
    assert PARTNER in detail and "PartnerAccount" in detail and "PartnerDecrypt" in detail
    assert f"{OUTSIDE}:root" not in detail and "user/other" not in detail
    arn = secret_and_key(emu)[0]
    assert can_read(emu, made["partner"], arn) and not can_read(emu, made["other"], arn)


def test_star_limited_to_the_account_keeps_outsiders_out(pytester, emu):
    made: dict[str, Any] = {}

    def setup(e: Any) -> None:
        made["partner"] = outside_user(e)
        _resource_policy(e, {"Effect": "Allow", "Principal": "*", "Action": "secretsmanager:GetSecretValue",
                             "Resource": "*", "Condition": {"StringEquals": {"aws:PrincipalAccount": GOV}}})
        add_key_statement(e, secret_and_key(e)[1], {"Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt",
                                                     "Resource": "*", "Condition": {"StringEquals": {
                                                         "kms:CallerAccount": GOV}}})
    rows = run_audit(pytester, "compliant", rows=[ROW], setup=setup)
    assert statuses(rows)[ROW] == "pass", rows[ROW]["detail"]
    assert not can_read(emu, made["partner"], secret_and_key(emu)[0])


def test_allowed_reader_role_assumable_from_another_account_fails(pytester, emu, tmp_path):
    made: dict[str, Any] = {}

    def setup(e: Any) -> None:
        made["partner"] = outside_user(e)
        arn, key = secret_and_key(e)
        iam = e.client("iam", "govcloud")
        iam.create_role(RoleName="bedrock-workload", AssumeRolePolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": OUTSIDE},
                                                    "Action": "sts:AssumeRole"}]}))
        iam.put_role_policy(RoleName="bedrock-workload", PolicyName="read", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": arn},
                {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": key}]}))
    rows = run_audit(pytester, "compliant", f"--audit-config={_config(tmp_path, [WORKLOAD])}", rows=[ROW], setup=setup)
    assert statuses(rows)[ROW] == "fail", rows[ROW]["detail"]
    detail = rows[ROW]["detail"]
    assert f"arn:{P}:iam::{OUTSIDE}:root" in detail and "can assume role bedrock-workload" in detail
    creds = client(emu, made["partner"], "sts").assume_role(RoleArn=WORKLOAD, RoleSessionName="proof")["Credentials"]
    assert can_read(emu, session(emu, creds), secret_and_key(emu)[0])


def test_replica_with_a_key_open_to_another_account_fails_naming_the_region(pytester, emu):
    east = "us-gov-east-1"
    made: dict[str, Any] = {}

    def setup(e: Any) -> None:
        made["partner"] = outside_user(e)
        kms = e.client("kms", "govcloud", region_name=east)
        key = kms.create_key(Description="replica key")["KeyMetadata"]["Arn"]
        doc = json.loads(kms.get_key_policy(KeyId=key, PolicyName="default")["Policy"])
        doc["Statement"].append({"Sid": "PartnerDecrypt", "Effect": "Allow", "Principal": {"AWS": OUTSIDE},
                                 "Action": "kms:Decrypt", "Resource": "*"})
        kms.put_key_policy(KeyId=key, PolicyName="default", Policy=json.dumps(doc))
        e.client("secretsmanager", "govcloud").replicate_secret_to_regions(
            SecretId=SECRET, AddReplicaRegions=[{"Region": east, "KmsKeyId": key}])
        _resource_policy(e, ADMIT_OUTSIDE)
    rows = run_audit(pytester, "compliant", rows=[ROW], setup=setup)
    assert statuses(rows)[ROW] == "fail", rows[ROW]["detail"]
    detail = rows[ROW]["detail"]
    assert f"arn:{P}:iam::{OUTSIDE}:root" in detail and f"in replica Region {east}" in detail
    primary = secret_and_key(emu)[0]
    assert can_read(emu, made["partner"], primary.replace(REGION, east), east)
    assert not can_read(emu, made["partner"], primary)


def test_replica_under_the_default_key_opens_the_secret_to_identity_readers(pytester, emu):
    """The primary's CMK admits nobody without kms:Decrypt, but a replica under that Region's
    aws/secretsmanager needs none: a role allowed GetSecretValue in every Region reads the replica."""
    east = "us-gov-east-1"
    made: dict[str, Any] = {}

    def setup(e: Any) -> None:
        iam = e.client("iam", "govcloud")
        iam.create_user(UserName="alice")
        alice = session(e, iam.create_access_key(UserName="alice")["AccessKey"])
        iam.create_role(RoleName="report", AssumeRolePolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:{P}:iam::{GOV}:user/alice"},
                                                    "Action": "sts:AssumeRole"}]}))
        iam.put_role_policy(RoleName="report", PolicyName="read", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
                                                    "Resource": f"arn:{P}:secretsmanager:*:{GOV}:secret:{SECRET}-*"}]}))
        e.client("secretsmanager", "govcloud").replicate_secret_to_regions(SecretId=SECRET,
                                                                          AddReplicaRegions=[{"Region": east}])
        creds = client(e, alice, "sts").assume_role(RoleArn=f"arn:{P}:iam::{GOV}:role/report",
                                                    RoleSessionName="proof")["Credentials"]
        made["report"] = session(e, creds)
    rows = run_audit(pytester, "compliant", rows=[ROW, "secret.encrypted_with_cmk"], setup=setup)
    assert statuses(rows)[ROW] == "fail", rows[ROW]["detail"]
    detail = rows[ROW]["detail"]
    assert f"role arn:{P}:iam::{GOV}:role/report" in detail and f"in replica Region {east}" in detail
    assert f"user arn:{P}:iam::{GOV}:user/alice" in detail and "can assume role report" in detail
    # the replica is a readable copy on aws/secretsmanager: the CMK row judges it too
    cmk = rows["secret.encrypted_with_cmk"]
    assert cmk["status"] == "fail" and f"replica in {east} is encrypted with the default aws/secretsmanager key" in \
        cmk["detail"], cmk
    primary = secret_and_key(emu)[0]
    assert can_read(emu, made["report"], primary.replace(REGION, east), east)
    assert not can_read(emu, made["report"], primary)


def test_star_only_over_tls_lets_every_account_read_and_fails_the_row(pytester, emu):
    """``*`` limited to ``aws:SecureTransport`` = true in the secret and key policies: every request
    to Secrets Manager and KMS is HTTPS, so this is a grant to everyone -- fail, not error; an
    outsider with its own credentials reads the secret through the emulator."""
    made: dict[str, Any] = {}
    tls = {"Bool": {"aws:SecureTransport": "true"}}

    def setup(e: Any) -> None:
        made["partner"] = outside_user(e)
        _resource_policy(e, {"Sid": "AnyoneOverTls", "Effect": "Allow", "Principal": "*",
                             "Action": "secretsmanager:GetSecretValue", "Resource": "*", "Condition": tls})
        add_key_statement(e, secret_and_key(e)[1], {"Sid": "AnyoneDecryptsOverTls", "Effect": "Allow", "Principal": "*",
                                                     "Action": "kms:Decrypt", "Resource": "*", "Condition": tls})
    rows = run_audit(pytester, "compliant", rows=[ROW], setup=setup)
    assert statuses(rows)[ROW] == "fail", rows[ROW]["detail"]
    assert "AnyoneOverTls" in rows[ROW]["detail"] and "aws:SecureTransport" not in rows[ROW]["detail"]
    assert can_read(emu, made["partner"], secret_and_key(emu)[0])


def test_a_user_that_can_write_itself_a_read_grant_fails_the_row(pytester, emu):
    """One privilege-escalation step to reading: a GovCloud user allowed only iam:PutUserPolicy on
    itself is named with its path; the emulator refuses its read before the write and allows it after."""
    made: dict[str, Any] = {}

    def setup(e: Any) -> None:
        iam = e.client("iam", "govcloud")
        iam.create_user(UserName="intern")
        iam.put_user_policy(UserName="intern", PolicyName="self", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:PutUserPolicy",
                                                    "Resource": f"arn:{P}:iam::{GOV}:user/intern"}]}))
        made["intern"] = session(e, iam.create_access_key(UserName="intern")["AccessKey"])
    rows = run_audit(pytester, "compliant", rows=[ROW], setup=setup)
    assert statuses(rows)[ROW] == "fail", rows[ROW]["detail"]
    assert "user/intern, escalation followed one step: iam:PutUserPolicy on itself" in rows[ROW]["detail"]
    arn = secret_and_key(emu)[0]
    assert not can_read(emu, made["intern"], arn)
    client(emu, made["intern"], "iam").put_user_policy(UserName="intern", PolicyName="mine", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["secretsmanager:GetSecretValue",
                                                                            "kms:Decrypt"], "Resource": "*"}]}))
    assert can_read(emu, made["intern"], arn)


def test_a_user_that_can_grant_itself_decrypt_fails_the_row(pytester, emu):
    """One call on the key: a GovCloud user with GetSecretValue and kms:CreateGrant (no kms:Decrypt)
    is named with the call; the emulator refuses its read before the grant and allows it after."""
    made: dict[str, Any] = {}

    def setup(e: Any) -> None:
        arn, key_id = secret_and_key(e)
        key = e.client("kms", "govcloud").describe_key(KeyId=key_id)["KeyMetadata"]["Arn"]
        iam = e.client("iam", "govcloud")
        iam.create_user(UserName="intern")
        iam.put_user_policy(UserName="intern", PolicyName="half", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": arn},
                {"Effect": "Allow", "Action": "kms:CreateGrant", "Resource": key}]}))
        made["intern"] = session(e, iam.create_access_key(UserName="intern")["AccessKey"])
    rows = run_audit(pytester, "compliant", rows=[ROW], setup=setup)
    assert statuses(rows)[ROW] == "fail", rows[ROW]["detail"]
    assert "user/intern, escalation followed one step: kms:CreateGrant on key" in rows[ROW]["detail"]
    arn, key = secret_and_key(emu)
    assert not can_read(emu, made["intern"], arn)
    client(emu, made["intern"], "kms").create_grant(KeyId=key, GranteePrincipal=f"arn:{P}:iam::{GOV}:user/intern",
                                                    Operations=["Decrypt"])
    assert can_read(emu, made["intern"], arn)
