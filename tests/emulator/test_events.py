"""The emulator's CloudTrail event history: bearer calls and IAM / Secrets Manager writes recorded,
``LookupEvents`` served through botocore's own client and paginator (filters, time range, pagination,
errors), per partition and region, aged by the emulator clock."""
from __future__ import annotations

import datetime as dt
import json

import botocore.exceptions
import httpx
import pytest

from bedrock_key_audit.emulator import clock, events, scenarios

USER = scenarios.USER


def _bearer(emu, key: str, path: str = "/foundation-models", *, region: str = "us-east-1", ip: str | None = None,
            agent: str = "workload/1.0", method: str = "GET", body: dict | None = None) -> int:
    headers = {"Authorization": f"Bearer {key}", "x-emulator-region": region, "User-Agent": agent}
    if ip:
        headers[events.SOURCE_IP_HEADER] = ip
    with httpx.Client(trust_env=False) as c:
        return c.request(method, emu.url + path, headers=headers, json=body).status_code


def _key(emu) -> str:
    return json.loads(emu.client("secretsmanager", "govcloud").get_secret_value(
        SecretId=scenarios.SECRET_NAME)["SecretString"])["bedrock_api_key"]


def _lookup(emu, partition="commercial", region=None, **kw) -> list[dict]:
    ct = emu.client("cloudtrail", partition, **({"region_name": region} if region else {}))
    return [e for page in ct.get_paginator("lookup_events").paginate(**kw) for e in page["Events"]]


def test_bearer_calls_are_recorded_as_the_users_events(emu):
    emu.apply("compliant")
    key = _key(emu)
    assert _bearer(emu, key, ip="203.0.113.7") == 200
    assert _bearer(emu, key, "/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse", method="POST",
                   body={"messages": [{"role": "user", "content": [{"text": "hi"}]}]}) == 200
    got = _lookup(emu, LookupAttributes=[{"AttributeKey": "Username", "AttributeValue": USER}])
    assert [e["EventName"] for e in got] == ["Converse", "ListFoundationModels"]  # newest first
    body = json.loads(got[1]["CloudTrailEvent"])
    assert body["userIdentity"]["type"] == "IAMUser" and body["userIdentity"]["userName"] == USER
    assert body["userIdentity"]["arn"].endswith(f":user/{USER}") and "accessKeyId" not in body["userIdentity"]
    assert body["additionalEventData"] == {"callWithBearerToken": True}
    assert body["sourceIPAddress"] == "203.0.113.7" and body["userAgent"] == "workload/1.0"
    assert got[1]["EventSource"] == "bedrock.amazonaws.com" and isinstance(got[1]["EventTime"], dt.datetime)
    assert key not in json.dumps([e["CloudTrailEvent"] for e in got])  # the key is never logged
    assert got[0]["Resources"][0]["ResourceType"] == "AWS::Bedrock::Model"


def test_refused_key_is_not_attributed_and_denied_call_is(emu):
    emu.apply("compliant")
    assert _bearer(emu, "ABSK" + "A" * 40) == 403  # authentication failed: nobody to attribute it to
    emu.client("iam").put_user_policy(UserName=USER, PolicyName="deny", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "bedrock:ListFoundationModels",
                                                 "Resource": "*"}]}))
    assert _bearer(emu, _key(emu)) == 403
    [ev] = _lookup(emu, LookupAttributes=[{"AttributeKey": "EventSource", "AttributeValue": "bedrock.amazonaws.com"}])
    assert json.loads(ev["CloudTrailEvent"])["errorCode"] == "AccessDeniedException"


def test_writes_are_recorded_reads_are_not(emu):
    emu.apply("compliant")
    iam_events = _lookup(emu, LookupAttributes=[{"AttributeKey": "EventSource", "AttributeValue": "iam.amazonaws.com"}])
    names = {e["EventName"] for e in iam_events}
    assert {"CreateUser", "CreatePolicy", "AttachUserPolicy", "CreateServiceSpecificCredential"} <= names
    assert not any(n.startswith(("Get", "List")) for n in names)
    created = next(e for e in iam_events if e["EventName"] == "CreateServiceSpecificCredential")
    assert created["Username"] == "root" and {"ResourceType": "AWS::IAM::User", "ResourceName": USER} in created["Resources"]
    assert json.loads(created["CloudTrailEvent"])["requestParameters"]["serviceName"] == "bedrock.amazonaws.com"
    sm = _lookup(emu, "govcloud", LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "CreateSecret"}])
    assert len(sm) == 1 and "secretString" not in json.loads(sm[0]["CloudTrailEvent"])["requestParameters"]
    assert "bedrock_api_key" not in sm[0]["CloudTrailEvent"]
    # partitions and regions are apart
    assert not _lookup(emu, LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "CreateSecret"}])
    assert not _lookup(emu, region="us-west-2")


def test_pagination_time_range_and_ninety_days(emu):
    emu.apply("compliant")
    key = _key(emu)
    clock.advance(days=-100)
    _bearer(emu, key)  # 100 days ago: past the event history
    clock.advance(days=100)
    for _ in range(7):
        _bearer(emu, key)
    attr = [{"AttributeKey": "Username", "AttributeValue": USER}]
    ct = emu.client("cloudtrail")
    pages = list(ct.get_paginator("lookup_events").paginate(LookupAttributes=attr, PaginationConfig={"PageSize": 3}))
    assert [len(p["Events"]) for p in pages] == [3, 3, 1]
    now = clock.now()
    assert len(_lookup(emu, LookupAttributes=attr, StartTime=now - dt.timedelta(days=200))) == 7
    assert _lookup(emu, LookupAttributes=attr, EndTime=now - dt.timedelta(days=1)) == []
    clock.advance(days=91)
    try:
        assert _lookup(emu, LookupAttributes=attr) == []
    finally:
        clock.reset()


@pytest.mark.parametrize("kwargs, code", [
    ({"LookupAttributes": [{"AttributeKey": "Username", "AttributeValue": "a"},
                           {"AttributeKey": "EventName", "AttributeValue": "b"}]}, "InvalidLookupAttributesException"),
    ({"StartTime": dt.datetime(2026, 2, 1), "EndTime": dt.datetime(2026, 1, 1)}, "InvalidTimeRangeException"),
    ({"NextToken": "bm90LWEtdG9rZW4="}, "InvalidNextTokenException"),
])
def test_errors_are_awss(emu, kwargs, code):
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        emu.client("cloudtrail").lookup_events(**kwargs)
    assert exc.value.response["Error"]["Code"] == code


def test_next_token_is_bound_to_its_parameters(emu):
    emu.apply("compliant")
    key = _key(emu)
    for _ in range(3):
        _bearer(emu, key)
    ct = emu.client("cloudtrail")
    first = ct.lookup_events(LookupAttributes=[{"AttributeKey": "Username", "AttributeValue": USER}], MaxResults=1)
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        ct.lookup_events(LookupAttributes=[{"AttributeKey": "Username", "AttributeValue": "root"}],
                         NextToken=first["NextToken"])
    assert exc.value.response["Error"]["Code"] == "InvalidNextTokenException"
