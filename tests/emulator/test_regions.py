"""The emulator's enabled Regions: ``DescribeRegions`` as AWS answers it (the caller's partition only,
enabled Regions unless ``AllRegions``), the Account API's Region opt-in changing it, and Bedrock bearer
calls recorded in the Region they were made in (a third Region's history is readable)."""
from __future__ import annotations

import json

import botocore.exceptions
import httpx
import pytest

from bedrock_key_audit.emulator import events, regions, scenarios


def _enabled(emu, partition="commercial", **kw) -> dict[str, str]:
    resp = emu.client("ec2", partition).describe_regions(**kw)
    return {r["RegionName"]: r["OptInStatus"] for r in resp["Regions"]}


def test_describe_regions_answers_the_callers_enabled_regions_only(emu):
    got = _enabled(emu)
    assert set(got) == regions.DEFAULT_REGIONS and set(got.values()) == {"opt-in-not-required"}
    everything = _enabled(emu, AllRegions=True)
    assert everything["me-central-1"] == "not-opted-in" and everything["af-south-1"] == "not-opted-in"
    assert not any(r.startswith(("us-gov-", "cn-")) for r in everything)  # another partition is never described
    gov = _enabled(emu, "govcloud")
    assert set(gov) == {"us-gov-east-1", "us-gov-west-1"}


def test_enable_region_through_the_account_api(emu):
    account = emu.client("account", "commercial")
    assert account.get_region_opt_status(RegionName="me-central-1")["RegionOptStatus"] == "DISABLED"
    account.enable_region(RegionName="me-central-1")
    assert account.get_region_opt_status(RegionName="me-central-1")["RegionOptStatus"] == "ENABLED"
    assert _enabled(emu)["me-central-1"] == "opted-in"
    listed = account.list_regions(RegionOptStatusContains=["ENABLED"])["Regions"]
    assert [r["RegionName"] for r in listed] == ["me-central-1"]
    with pytest.raises(botocore.exceptions.ClientError, match="ValidationException"):
        account.enable_region(RegionName="us-east-1")  # a default Region cannot be enabled or disabled
    account.disable_region(RegionName="me-central-1")
    assert "me-central-1" not in _enabled(emu)
    emu.reset()
    assert set(_enabled(emu)) == regions.DEFAULT_REGIONS


def test_a_bearer_call_in_a_third_region_is_in_that_regions_history(emu):
    emu.apply("compliant")
    key = json.loads(emu.client("secretsmanager", "govcloud").get_secret_value(
        SecretId=scenarios.SECRET_NAME)["SecretString"])["bedrock_api_key"]
    headers = {"Authorization": f"Bearer {key}", "x-emulator-region": "eu-west-1", "User-Agent": "workload/1.0",
               events.SOURCE_IP_HEADER: "198.51.100.9"}
    with httpx.Client(trust_env=False) as c:
        assert c.get(emu.url + "/foundation-models", headers=headers).status_code == 200
    ct = emu.client("cloudtrail", "commercial", region_name="eu-west-1")
    got = ct.lookup_events(LookupAttributes=[{"AttributeKey": "Username", "AttributeValue": scenarios.USER}])["Events"]
    body = json.loads(got[0]["CloudTrailEvent"])
    assert body["awsRegion"] == "eu-west-1" and body["sourceIPAddress"] == "198.51.100.9"
    home = emu.client("cloudtrail", "commercial").lookup_events(
        LookupAttributes=[{"AttributeKey": "Username", "AttributeValue": scenarios.USER}])["Events"]
    assert not home  # recorded in the Region of the call only
