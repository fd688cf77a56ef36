"""Secrets Manager as AWS answers it (botocore's secretsmanager model), through boto3."""
from __future__ import annotations

import datetime as dt

import botocore.exceptions
import pytest

from bedrock_key_audit.emulator import clock

GOV = "govcloud"


def _sm(emu):
    return emu.client("secretsmanager", GOV)


def test_list_secret_version_ids_reports_each_versions_creation_time(emu):
    sm = _sm(emu)
    clock.advance(days=-10)
    try:
        first = sm.create_secret(Name="s", SecretString="one")["VersionId"]
    finally:
        clock.advance(days=10)
    second = sm.put_secret_value(SecretId="s", SecretString="two")["VersionId"]
    listed = sm.list_secret_version_ids(SecretId="s")
    created = {v["VersionId"]: v["CreatedDate"] for v in listed["Versions"]}
    assert set(created) == {first, second}
    now = clock.now()
    assert abs((now - dt.timedelta(days=10) - created[first]).total_seconds()) < 60
    assert abs((now - created[second]).total_seconds()) < 60
    # the same instant GetSecretValue reports for each version
    for vid in (first, second):
        assert sm.get_secret_value(SecretId="s", VersionId=vid)["CreatedDate"] == created[vid]


def test_list_secret_version_ids_agrees_with_describe_secret(emu):
    sm = _sm(emu)
    sm.create_secret(Name="s", SecretString="1")
    for value in "234":
        sm.put_secret_value(SecretId="s", SecretString=value)
    described = sm.describe_secret(SecretId="s")
    listed = sm.list_secret_version_ids(SecretId="s")
    assert listed["ARN"] == described["ARN"] and listed["Name"] == "s"
    assert {v["VersionId"]: v["VersionStages"] for v in listed["Versions"]} == described["VersionIdsToStages"]
    assert "NextToken" not in listed
    # the deprecated versions (no label left) only with IncludeDeprecated
    everything = sm.list_secret_version_ids(SecretId="s", IncludeDeprecated=True)["Versions"]
    assert len(everything) == 4 and len(listed["Versions"]) == 2
    assert sorted(v["VersionId"] for v in everything if not v["VersionStages"]) == sorted(
        set(v["VersionId"] for v in everything) - set(described["VersionIdsToStages"]))


def test_list_secret_version_ids_pages_and_refuses_unknown_secret(emu):
    sm = _sm(emu)
    sm.create_secret(Name="s", SecretString="1")
    for value in "234":
        sm.put_secret_value(SecretId="s", SecretString=value)
    page = sm.list_secret_version_ids(SecretId="s", IncludeDeprecated=True, MaxResults=3)
    assert len(page["Versions"]) == 3 and page["NextToken"]
    rest = sm.list_secret_version_ids(SecretId="s", IncludeDeprecated=True, MaxResults=3, NextToken=page["NextToken"])
    assert len(rest["Versions"]) == 1 and "NextToken" not in rest
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        sm.list_secret_version_ids(SecretId="nope")
    assert exc.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_never_read_versions_have_no_last_accessed_date(emu):
    sm = _sm(emu)
    sm.create_secret(Name="s", SecretString="1")
    assert all("LastAccessedDate" not in v for v in sm.list_secret_version_ids(SecretId="s")["Versions"])
    assert "LastAccessedDate" not in sm.describe_secret(SecretId="s")


def test_get_secret_value_sets_last_accessed_date_at_day_resolution(emu):
    sm = _sm(emu)
    clock.advance(days=-3)
    try:
        first = sm.create_secret(Name="s", SecretString="1")["VersionId"]
        sm.get_secret_value(SecretId="s")
        day = clock.now().replace(hour=0, minute=0, second=0, microsecond=0)
    finally:
        clock.advance(days=3)
    assert sm.describe_secret(SecretId="s")["LastAccessedDate"] == day
    assert sm.list_secrets()["SecretList"][0]["LastAccessedDate"] == day
    second = sm.put_secret_value(SecretId="s", SecretString="2")["VersionId"]
    versions = {v["VersionId"]: v for v in sm.list_secret_version_ids(SecretId="s")["Versions"]}
    assert versions[first]["LastAccessedDate"] == day and "LastAccessedDate" not in versions[second]
    sm.get_secret_value(SecretId="s")
    today = clock.now().replace(hour=0, minute=0, second=0, microsecond=0)
    assert sm.describe_secret(SecretId="s")["LastAccessedDate"] == today
    versions = {v["VersionId"]: v for v in sm.list_secret_version_ids(SecretId="s")["Versions"]}
    assert versions[second]["LastAccessedDate"] == today and versions[first]["LastAccessedDate"] == day


def test_a_failed_read_is_not_an_access(emu):
    sm = _sm(emu)
    sm.create_secret(Name="s", SecretString="1")
    with pytest.raises(botocore.exceptions.ClientError):
        sm.get_secret_value(SecretId="s", VersionStage="AWSPENDING")
    assert "LastAccessedDate" not in sm.describe_secret(SecretId="s")
