"""secret.* verdicts on hand-built secrets (bedrock_key_audit.verdicts.secret): pass, fail, error."""
from __future__ import annotations

import datetime as dt
import json

import pytest

from bedrock_key_audit.checkcore import CheckRecord
from bedrock_key_audit.verdicts import secret as v
from tests.unit.helpers import ACCOUNT, CMK, NOW, USER, FakeInventory, ReadError, cred, probe, raw_key, run, secret

KEY = raw_key()
GOOD = json.dumps({"bedrock_api_key": KEY, "region": "us-east-1"})


# --------------------------------------------------------------------------- secret.exists
def test_exists_passes() -> None:
    status, text, _ = run(v.exists, secret(GOOD))
    assert status == "pass" and text.startswith("secret bedrock/api-key exists (arn:aws-us-gov:secretsmanager:")


@pytest.mark.parametrize("sec, phrase", [
    (secret(exists=False, arn=None), "secret bedrock/api-key does not exist in GovCloud"),
    (secret(deleted_date=dt.datetime(2026, 11, 20, tzinfo=dt.timezone.utc)),
     "is scheduled for deletion (since 2026-11-20); restore it with secretsmanager restore-secret"),
])
def test_exists_fails_missing_or_pending_deletion(sec: object, phrase: str) -> None:
    status, text, _ = run(v.exists, sec)
    assert status == "fail" and phrase in text


# --------------------------------------------------------------------------- secret.schema
def test_schema_passes_a_long_term_key_and_a_bedrock_region() -> None:
    assert run(v.schema, secret(GOOD))[0] == "pass"


@pytest.mark.parametrize("sec, phrase", [
    (secret(binary=True), "holds SecretBinary; the workload expects a JSON SecretString"),
    (secret(json.dumps({"bedrock_api_key": KEY})), "missing field region"),
    (secret(json.dumps({"bedrock_api_key": "bedrock-api-key-abc", "region": "us-east-1"})), "is a short-term key"),
    (secret(json.dumps({"bedrock_api_key": KEY, "region": "mars-1"})), "region is not a commercial AWS region"),
    (secret("not json"), "the secret is not JSON"),
])
def test_schema_fails_naming_the_field_never_the_value(sec: object, phrase: str) -> None:
    status, text, _ = run(v.schema, sec)
    assert status == "fail" and phrase in text and KEY not in text


@pytest.mark.parametrize("sec, phrase", [
    (secret(exists=False), "secret bedrock/api-key is missing or pending deletion (see secret.exists)"),
    (secret(value_error="kms:Decrypt was denied"), "cannot read secret bedrock/api-key: kms:Decrypt was denied"),
])
def test_schema_errors_when_the_value_cannot_be_read(sec: object, phrase: str) -> None:
    assert run(v.schema, sec)[:2] == ("error", phrase)


# --------------------------------------------------------------------------- secret.key_matches_credential
def km(inv: FakeInventory, creds: list | None = None) -> tuple[str, str, CheckRecord]:
    return run(v.key_matches_credential, secret(GOOD), USER, [cred()] if creds is None else creds, NOW, inv)


def test_key_matches_passes_when_bedrock_accepts_the_key_of_an_active_credential() -> None:
    status, text, rec = km(FakeInventory(key=KEY))
    assert status == "pass" and "holds the live key ACCAEXAM… of key-user (Bedrock accepts it)" in text
    assert KEY not in json.dumps(rec.evidence, default=str)


@pytest.mark.parametrize("inv, creds, phrase", [
    (FakeInventory(key=raw_key(f"key-user-at-{'9' * 12}")), None, f"belongs to account {'9' * 12}, not {ACCOUNT}"),
    (FakeInventory(key=raw_key("someone-at-" + ACCOUNT)), None, "belongs to user someone, not key-user"),
    (FakeInventory(key=KEY), [cred(alias="other-alias")], "belongs to no existing credential of key-user (deleted)"),
    (FakeInventory(key=KEY), [cred(status="Inactive")], "holds a key of credential ACCAEXAM… Inactive; rotate it"),
    (FakeInventory(key=KEY, key_probe=probe("bad_key", 403)), None, "Bedrock refuses although credential"),
    (FakeInventory(key="bedrock-api-key-abc"), None, "does not hold a long-term Bedrock API key (short-term format)"),
    (FakeInventory(key=None), None, "has no bedrock_api_key string"),
])
def test_key_matches_fails(inv: FakeInventory, creds: list | None, phrase: str) -> None:
    status, text, _ = km(inv, creds)
    assert status == "fail" and phrase in text, text


@pytest.mark.parametrize("inv, creds, phrase", [
    (FakeInventory(key=KEY, key_probe=probe("throttled", 429, message="throttled (ThrottlingException)")), None,
     "Bedrock could not confirm it is the live secret: throttled"),
    (FakeInventory(key=KEY), [cred(alias=None)], "IAM did not return ServiceCredentialAlias"),
])
def test_key_matches_errors_when_it_cannot_be_confirmed(inv: FakeInventory, creds: list | None, phrase: str) -> None:
    status, text, _ = km(inv, creds)
    assert status == "error" and phrase in text


def test_key_matches_errors_on_an_unreadable_secret() -> None:
    status, _, _ = run(v.key_matches_credential, secret(value_error="denied"), USER, [cred()], NOW, FakeInventory(key=KEY))
    assert status == "error"


# --------------------------------------------------------------------------- secret.encrypted_with_cmk
ENABLED = {"Arn": CMK, "KeyManager": "CUSTOMER", "KeyState": "Enabled"}


def test_cmk_passes_with_an_enabled_customer_key() -> None:
    assert run(v.encrypted_with_cmk, secret(), FakeInventory(kms_key=ENABLED))[:2] == (
        "pass", f"secret bedrock/api-key is encrypted with customer-managed key {CMK} (Enabled)")


@pytest.mark.parametrize("sec, meta, phrase", [
    (secret(kms_key_id=None), ENABLED, "default aws/secretsmanager key"),
    (secret(), {**ENABLED, "KeyManager": "AWS"}, "AWS-managed key"),
    (secret(), {**ENABLED, "KeyState": "Disabled"}, "enable it (kms enable-key)"),
    (secret(), {"KeyId": CMK, "missing": True}, "which does not exist"),
])
def test_cmk_fails(sec: object, meta: dict, phrase: str) -> None:
    status, text, _ = run(v.encrypted_with_cmk, sec, FakeInventory(kms_key=meta))
    assert status == "fail" and phrase in text


@pytest.mark.parametrize("sec, inv", [
    (secret(), FakeInventory(kms_key=ReadError("kms:DescribeKey was denied to the auditor"))),
    (secret(exists=False), FakeInventory(kms_key=ENABLED)),
])
def test_cmk_errors_when_the_key_state_is_unknown(sec: object, inv: FakeInventory) -> None:
    assert run(v.encrypted_with_cmk, sec, inv)[0] == "error"


# a replica is a readable copy of the secret: its own key (DescribeSecret ReplicationStatus) is judged too
REPLICA_CMK = "arn:aws-us-gov:kms:us-gov-east-1:210987654321:key/2222bbbb-22bb-22bb-22bb-222222222222"


class _KeysByRegion(FakeInventory):
    def __init__(self, by_region: dict) -> None:
        super().__init__()
        self.by_region = by_region

    def kms_key(self, partition: str, key_id: str, region: str | None = None) -> dict:
        got = self.by_region[region]
        if isinstance(got, BaseException):
            raise got
        return dict(got)


def _replicated(*entries: dict) -> object:
    return secret(describe={"ReplicationStatus": list(entries)})


def test_cmk_passes_naming_replicas_that_use_customer_keys() -> None:
    sec = _replicated({"Region": "us-gov-east-1", "KmsKeyId": REPLICA_CMK, "Status": "InSync"})
    inv = _KeysByRegion({None: ENABLED, "us-gov-east-1": {**ENABLED, "Arn": REPLICA_CMK}})
    status, text, _ = run(v.encrypted_with_cmk, sec, inv)
    assert status == "pass" and "its replicas in us-gov-east-1 with customer-managed keys" in text


@pytest.mark.parametrize("entry, meta, phrase", [
    ({"Region": "us-gov-east-1", "Status": "InSync"}, ENABLED,
     "replica in us-gov-east-1 is encrypted with the default aws/secretsmanager key"),
    ({"Region": "us-gov-east-1", "KmsKeyId": "alias/aws/secretsmanager", "Status": "InSync"}, ENABLED,
     "replica in us-gov-east-1 is encrypted with the default aws/secretsmanager key"),
    ({"Region": "us-gov-east-1", "KmsKeyId": REPLICA_CMK, "Status": "InProgress"}, {**ENABLED, "KeyManager": "AWS"},
     "replica in us-gov-east-1 is encrypted with AWS-managed key"),
    ({"Region": "us-gov-east-1", "KmsKeyId": REPLICA_CMK, "Status": "InSync"}, {**ENABLED, "KeyState": "Disabled"},
     "replica in us-gov-east-1 is encrypted with"),
    ({"Region": "us-gov-east-1", "KmsKeyId": REPLICA_CMK, "Status": "InSync"}, {"KeyId": REPLICA_CMK, "missing": True},
     "replica in us-gov-east-1 names KMS key"),
])
def test_cmk_fails_naming_the_replica_region(entry: dict, meta: dict, phrase: str) -> None:
    inv = _KeysByRegion({None: ENABLED, "us-gov-east-1": meta})
    status, text, _ = run(v.encrypted_with_cmk, _replicated(entry), inv)
    assert status == "fail" and phrase in text, text


def test_cmk_skips_a_failed_replication_and_errors_on_an_unread_replica_key() -> None:
    failed = _replicated({"Region": "us-gov-east-1", "Status": "Failed"})
    assert run(v.encrypted_with_cmk, failed, _KeysByRegion({None: ENABLED}))[0] == "pass"
    unread = _replicated({"Region": "us-gov-east-1", "KmsKeyId": REPLICA_CMK, "Status": "InSync"})
    inv = _KeysByRegion({None: ENABLED, "us-gov-east-1": ReadError("kms:DescribeKey was denied to the auditor")})
    assert run(v.encrypted_with_cmk, unread, inv)[0] == "error"
