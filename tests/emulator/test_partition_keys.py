"""Each partition's access keys work only in that partition: AWS answers InvalidClientTokenId to a
commercial key in GovCloud and to a GovCloud key in commercial (separate IAM, separate credentials)."""
from __future__ import annotations

import boto3
import botocore.exceptions
import pytest

from bedrock_key_audit.emulator import partitions

REGIONS = {"commercial": "us-east-1", "govcloud": "us-gov-west-1"}
OTHER = {"commercial": "govcloud", "govcloud": "commercial"}


def _sts(emu, key: tuple[str, str], region: str):
    return boto3.Session(aws_access_key_id=key[0], aws_secret_access_key=key[1]).client(
        "sts", region_name=region, endpoint_url=emu.url)


def _refused(call) -> str:
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        call()
    assert ei.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    return ei.value.response["Error"]["Code"]


@pytest.mark.parametrize("home", ["commercial", "govcloud"])
def test_an_iam_access_key_works_only_in_its_partition(emu, home):
    iam = emu.client("iam", home)
    iam.create_user(UserName="auditor")
    ak = iam.create_access_key(UserName="auditor")["AccessKey"]
    key = (ak["AccessKeyId"], ak["SecretAccessKey"])
    assert _sts(emu, key, REGIONS[home]).get_caller_identity()["Account"] == emu.accounts[home]
    assert _refused(_sts(emu, key, REGIONS[OTHER[home]]).get_caller_identity) == "InvalidClientTokenId"
    # any service, not only STS
    iam_other = boto3.Session(aws_access_key_id=key[0], aws_secret_access_key=key[1]).client(
        "iam", region_name=REGIONS[OTHER[home]], endpoint_url=emu.url)
    assert _refused(iam_other.list_users) == "InvalidClientTokenId"


@pytest.mark.parametrize("home", ["commercial", "govcloud"])
def test_the_fixed_partition_keys(emu, home):
    key = partitions.PARTITION_KEYS[home]
    ident = _sts(emu, key, REGIONS[home]).get_caller_identity()
    assert ident["Account"] == emu.accounts[home]
    assert _refused(_sts(emu, key, REGIONS[OTHER[home]]).get_caller_identity) == "InvalidClientTokenId"


def test_assumed_role_credentials_stay_in_their_partition(emu):
    import json

    iam = emu.client("iam", "commercial")
    iam.create_role(RoleName="r", AssumeRolePolicyDocument=json.dumps({"Statement": [{
        "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{emu.accounts['commercial']}:root"},
        "Action": "sts:AssumeRole"}]}))
    creds = emu.client("sts", "commercial").assume_role(
        RoleArn=f"arn:aws:iam::{emu.accounts['commercial']}:role/r", RoleSessionName="audit")["Credentials"]
    sess = boto3.Session(aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                         aws_session_token=creds["SessionToken"])
    assert sess.client("sts", region_name="us-east-1", endpoint_url=emu.url).get_caller_identity()
    gov = sess.client("sts", region_name="us-gov-west-1", endpoint_url=emu.url)
    assert _refused(gov.get_caller_identity) == "InvalidClientTokenId"


def test_the_emulators_own_fake_key_still_acts_in_either_partition(emu):
    for part in REGIONS:
        assert emu.client("sts", part).get_caller_identity()["Account"] == emu.accounts[part]
