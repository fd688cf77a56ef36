"""The emulator's IAM bulk reads answer as botocore's model and AWS's documentation say."""
from __future__ import annotations

import datetime as dt
import json
from typing import Any

import botocore.exceptions
import pytest

from bedrock_key_audit.emulator import clock

DOC: dict[str, Any] = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}


@pytest.fixture
def iam(emu):
    c = emu.client("iam")
    for name in ("alice", "bob", "carol"):
        c.create_user(UserName=name)
    arn = c.create_policy(PolicyName="local", PolicyDocument=json.dumps(DOC))["Policy"]["Arn"]
    c.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps({**DOC, "Statement": [{**DOC["Statement"][0], "Action": "s3:PutObject"}]}), SetAsDefault=True)
    c.attach_user_policy(UserName="alice", PolicyArn=arn)
    c.create_group(GroupName="g")
    c.add_user_to_group(GroupName="g", UserName="bob")
    c.put_group_policy(GroupName="g", PolicyName="gi", PolicyDocument=json.dumps(DOC))
    return c


def _pages(iam, **kw):
    extra: dict[str, Any]
    pages, extra = [], {}
    while True:
        page = iam.get_account_authorization_details(**kw, **extra)
        pages.append(page)
        if not page["IsTruncated"]:
            return pages
        extra = {"Marker": page["Marker"]}


def test_gaad_pages_with_max_items_and_policy_names(iam):
    pages = _pages(iam, Filter=["User", "Group", "LocalManagedPolicy"], MaxItems=2)
    assert len(pages) == 3  # 3 users + 1 group + 1 policy, two per page
    users = [u["UserName"] for p in pages for u in p["UserDetailList"]]
    assert users == ["alice", "bob", "carol"]
    (group,) = [g for p in pages for g in p["GroupDetailList"]]
    assert group["GroupPolicyList"][0]["PolicyDocument"] == DOC  # botocore decoded it
    (pol,) = [x for p in pages for x in p["Policies"]]
    assert pol["PolicyName"] == "local" and pol["PolicyId"] and pol["DefaultVersionId"] == "v2"
    default = [v for v in pol["PolicyVersionList"] if v["IsDefaultVersion"]]
    assert [v["VersionId"] for v in default] == ["v2"]


def test_gaad_max_items_out_of_range(iam):
    with pytest.raises(botocore.exceptions.ClientError):
        iam.get_account_authorization_details(MaxItems=1001)


def test_credential_report_is_a_snapshot_regenerated_after_four_hours(iam):
    with pytest.raises(iam.exceptions.CredentialReportNotPresentException):
        iam.get_credential_report()
    assert iam.generate_credential_report()["State"] == "STARTED"
    assert iam.generate_credential_report()["State"] == "COMPLETE"
    first = iam.get_credential_report()
    assert first["GeneratedTime"] >= clock.now().replace(microsecond=0) - dt.timedelta(seconds=5)
    iam.create_login_profile(UserName="carol", Password="Aa1!aaaaaaaaaaaaaa")
    again = iam.get_credential_report()  # the snapshot: carol's new password is not in it
    row = next(r for r in again["Content"].decode().splitlines() if r.startswith("carol,"))
    assert row.split(",")[3] == "false"
    clock.advance(hours=4, minutes=1)
    with pytest.raises(iam.exceptions.CredentialReportExpiredException):
        iam.get_credential_report()
    assert iam.generate_credential_report()["State"] == "STARTED"
    row = next(r for r in iam.get_credential_report()["Content"].decode().splitlines() if r.startswith("carol,"))
    assert row.split(",")[3] == "true"


def test_credential_report_names_an_existing_certificate(iam):
    from tests.hostile.test_review_classes import _self_signed_cert

    cert = iam.upload_signing_certificate(UserName="alice", CertificateBody=_self_signed_cert())["Certificate"]
    iam.update_signing_certificate(UserName="alice", CertificateId=cert["CertificateId"], Status="Inactive")
    iam.generate_credential_report()
    header, *rows = iam.get_credential_report()["Content"].decode().splitlines()
    cols = header.split(",")
    alice = dict(zip(cols, next(r for r in rows if r.startswith("alice,")).split(","), strict=True))
    assert alice["cert_1_active"] == "false" and alice["cert_1_last_rotated"] != "N/A"


def test_all_users_credentials_page(iam):
    for name in ("alice", "bob", "carol"):
        iam.create_service_specific_credential(UserName=name, ServiceName="bedrock.amazonaws.com")
    iam.create_service_specific_credential(UserName="bob", ServiceName="codecommit.amazonaws.com")
    got = iam.list_service_specific_credentials(AllUsers=True)["ServiceSpecificCredentials"]
    assert sorted((c["UserName"], c["ServiceName"]) for c in got) == [
        ("alice", "bedrock.amazonaws.com"), ("bob", "bedrock.amazonaws.com"), ("bob", "codecommit.amazonaws.com"),
        ("carol", "bedrock.amazonaws.com")]
