"""bedrock_key_audit.iam_bulk on hand-built GetAccountAuthorizationDetails / credential-report documents."""
from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from bedrock_key_audit.iam_bulk import (
    BulkParseError,
    credentials_by_user,
    parse_authorization_details,
    parse_credential_report,
    report_fresh,
    user_record,
)

DOC1 = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}
DOC2 = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "bedrock:*", "Resource": "*"}]}
ARN = "arn:aws:iam::123456789012:policy/p"

PAGE1: dict[str, Any] = {"UserDetailList": [{"UserName": "Alice", "UserId": "AIDA1", "Arn": "arn:aws:iam::123456789012:user/Alice",
                             "Path": "/", "CreateDate": dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc),
                             "UserPolicyList": [{"PolicyName": "i", "PolicyDocument": DOC1}], "GroupList": ["g"],
                             "AttachedManagedPolicies": [{"PolicyName": "p", "PolicyArn": ARN}],
                             "PermissionsBoundary": {"PermissionsBoundaryType": "PermissionsBoundaryPolicy",
                                                     "PermissionsBoundaryArn": ARN}}],
         "IsTruncated": True, "Marker": "m"}
PAGE2: dict[str, Any] = {"GroupDetailList": [{"GroupName": "g", "GroupPolicyList": [], "AttachedManagedPolicies": []}],
         "Policies": [{"Arn": ARN, "PolicyName": "p", "DefaultVersionId": "v2",
                       "PolicyVersionList": [{"VersionId": "v1", "IsDefaultVersion": False, "Document": DOC1},
                                             {"VersionId": "v2", "IsDefaultVersion": True, "Document": DOC2}]},
                      {"Arn": ARN + "-nodefault", "PolicyName": "q", "DefaultVersionId": "v3",
                       "PolicyVersionList": [{"VersionId": "v1", "IsDefaultVersion": False, "Document": DOC1}]}],
         "IsTruncated": False}


def test_pages_merge_users_groups_and_default_versions():
    got = parse_authorization_details([PAGE1, PAGE2])
    assert got.user("alice") is got.user("ALICE") is PAGE1["UserDetailList"][0]
    assert got.user("bob") is None
    assert got.group("g") is not None
    assert got.policies[ARN].document == DOC2 and got.policies[ARN].default_version_id == "v2"
    # a default version missing from the list is never guessed: the policy is read by ARN instead
    assert ARN + "-nodefault" not in got.policies
    rec = user_record(PAGE1["UserDetailList"][0])
    assert set(rec) == {"Path", "UserName", "UserId", "Arn", "CreateDate", "PermissionsBoundary"}


def test_user_without_arn_is_a_parse_error():
    with pytest.raises(BulkParseError, match="user x has no Arn"):
        parse_authorization_details([{"UserDetailList": [{"UserName": "x"}]}])
    with pytest.raises(BulkParseError, match="DefaultVersionId"):
        parse_authorization_details([{"Policies": [{"Arn": ARN}]}])


REPORT = (b"user,arn,user_creation_time,password_enabled,password_last_used,access_key_1_active\n"
          b"<root_account>,arn:aws:iam::123456789012:root,2020-01-01T00:00:00+00:00,not_supported,x,false\n"
          b"alice,arn:aws:iam::123456789012:user/alice,2020-01-01T00:00:00+00:00,true,x,false\n"
          b"bob,arn:aws:iam::123456789012:user/bob,2020-01-01T00:00:00+00:00,false,x,true\n")
NOW = dt.datetime(2026, 11, 30, 3, 0, 0, 700000, tzinfo=dt.timezone.utc)


def test_credential_report_rows_by_arn_without_root():
    rep = parse_credential_report(REPORT, NOW)
    assert set(rep.rows) == {"arn:aws:iam::123456789012:user/alice", "arn:aws:iam::123456789012:user/bob"}
    assert rep.rows["arn:aws:iam::123456789012:user/alice"].password_enabled is True
    assert rep.rows["arn:aws:iam::123456789012:user/bob"].password_enabled is False


def test_credential_report_bad_shapes():
    with pytest.raises(BulkParseError, match="no password_enabled column"):
        parse_credential_report(b"user,arn\nalice,arn:x\n", NOW)
    with pytest.raises(BulkParseError, match="password_enabled for alice"):
        parse_credential_report(b"user,arn,password_enabled\nalice,arn:x,maybe\n", NOW)


def test_report_freshness_is_the_run_start_second():
    assert report_fresh(NOW.replace(microsecond=0), NOW)
    assert not report_fresh(NOW - dt.timedelta(seconds=1), NOW)
    assert not report_fresh(NOW - dt.timedelta(hours=3), NOW)


def test_credentials_grouped_case_insensitively_without_bedrock():
    items = [{"UserName": "Alice", "ServiceName": "bedrock.amazonaws.com"},
             {"UserName": "alice", "ServiceName": "codecommit.amazonaws.com"},
             {"UserName": "bob", "ServiceName": "bedrock.amazonaws.com"}]
    assert credentials_by_user(items, exclude_service="bedrock.amazonaws.com") == {
        "alice": [{"UserName": "alice", "ServiceName": "codecommit.amazonaws.com"}]}
    assert set(credentials_by_user(items)) == {"alice", "bob"}
