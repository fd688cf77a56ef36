"""AWS managed policies are made when an account's IAM backend first needs them (emulator/partitions.py):
every IAM operation still sees all of moto's 1,582, in a fresh account, after a reset, and from threads."""
from __future__ import annotations

import json
import threading

import pytest

from bedrock_key_audit.emulator.partitions import PARTITIONS

CATALOGUE = 1582  # moto 5.2's aws_managed_policies_data


def _moto_names() -> set[str]:
    from moto.iam.aws_managed_policies import aws_managed_policies_data

    return set(json.loads(aws_managed_policies_data))


def _aws_policies(iam) -> list[dict]:
    return [p for page in iam.get_paginator("list_policies").paginate(Scope="AWS") for p in page["Policies"]]


@pytest.mark.parametrize("partition", ["commercial", "govcloud"])
def test_list_policies_sees_every_managed_policy_after_a_reset(emu, partition):
    got = _aws_policies(emu.client("iam", partition))
    assert len(got) == CATALOGUE
    assert {p["PolicyName"] for p in got} == _moto_names()
    arn_partition = PARTITIONS[partition].arn_partition
    assert all(p["Arn"] == f"arn:{arn_partition}:iam::aws:policy{p['Path']}{p['PolicyName']}" for p in got)


def test_get_attach_and_list_entities_in_a_fresh_account(emu):
    iam = emu.client("iam")
    arn = "arn:aws:iam::aws:policy/ReadOnlyAccess"
    # the first operation of the account is a get: the policies are made for it
    assert iam.get_policy(PolicyArn=arn)["Policy"]["AttachmentCount"] == 0
    iam.create_role(RoleName="r", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}))
    iam.attach_role_policy(RoleName="r", PolicyArn=arn)
    assert iam.get_policy(PolicyArn=arn)["Policy"]["AttachmentCount"] == 1
    assert [r["RoleName"] for r in iam.list_entities_for_policy(PolicyArn=arn)["PolicyRoles"]] == ["r"]
    attached = iam.list_policies(Scope="AWS", OnlyAttached=True)["Policies"]
    assert [p["Arn"] for p in attached] == [arn]


def test_attach_as_first_operation_then_reset_starts_clean(emu):
    iam = emu.client("iam", "govcloud")
    arn = "arn:aws-us-gov:iam::aws:policy/AdministratorAccess"
    iam.create_user(UserName="u")
    iam.attach_user_policy(UserName="u", PolicyArn=arn)
    assert iam.get_policy(PolicyArn=arn)["Policy"]["AttachmentCount"] == 1
    emu.reset()
    assert iam.get_policy(PolicyArn=arn)["Policy"]["AttachmentCount"] == 0
    assert len(_aws_policies(iam)) == CATALOGUE


def test_a_managed_policy_keeps_its_id_across_accounts_and_resets(emu):
    arn = "arn:aws:iam::aws:policy/AmazonBedrockFullAccess"
    first = emu.client("iam").get_policy(PolicyArn=arn)["Policy"]["PolicyId"]
    emu.reset()
    assert emu.client("iam").get_policy(PolicyArn=arn)["Policy"]["PolicyId"] == first
    assert first.startswith("A") and len(first) == 21
    # a customer managed policy still gets a fresh random id
    iam = emu.client("iam")
    doc = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:ListAllMyBuckets",
                                                               "Resource": "*"}]})
    ids = {iam.create_policy(PolicyName=f"p{i}", PolicyDocument=doc)["Policy"]["PolicyId"] for i in range(3)}
    assert len(ids) == 3 and first not in ids


def test_threads_reading_a_new_backend_at_once_see_one_set_of_policies(emu):
    from moto.iam.models import IAMBackend

    backend = IAMBackend("aws", "111122223333")
    seen: list[int] = []
    barrier = threading.Barrier(4)

    def read() -> None:
        barrier.wait()
        seen.append(id(backend.managed_policies["arn:aws:iam::aws:policy/ReadOnlyAccess"]))

    threads = [threading.Thread(target=read) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(seen)) == 1 and len(seen) == 4
    assert len(backend.aws_managed_policies) == len(backend.managed_policies) == CATALOGUE
