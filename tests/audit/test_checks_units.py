"""Units on hand-built inventory objects (no emulator) for iam.user_no_other_credentials,
secret.encrypted_with_cmk and credential.single_active."""
from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import json
from typing import cast

import pytest

from bedrock_key_audit.checkcore import Check, CheckFailed, CheckRecord, CouldNotDecide
from bedrock_key_audit.inventory.errors import ReadError
from bedrock_key_audit.inventory.models import Credential, IamUser, OtherCredentials, Secret, SecretText
from bedrock_key_audit.inventory.reader import Inventory
from bedrock_key_audit.verdicts.credential import AMBIGUOUS, held_credential, rotation_in_progress, single_active
from bedrock_key_audit.verdicts.iam import user_no_other_credentials as no_other_credentials
from bedrock_key_audit.verdicts.secret import encrypted_with_cmk

NOW = dt.datetime(2026, 11, 29, tzinfo=dt.timezone.utc)
USER = IamUser(name="bob", exists=True, arn="arn:aws:iam::123456789012:user/bob", account_id="123456789012")


def run(fn, *args):
    rec = CheckRecord(check_id="x", title="", family="x", severity="high", controls={}, nodeid="x")
    try:
        fn(Check(rec), *args)
    except CheckFailed as exc:
        return "fail", str(exc)
    except CouldNotDecide as exc:
        return "error", str(exc)
    return "pass", rec.detail


# --------------------------------------------------------------------------- other credentials
def test_no_other_credential_passes():
    assert run(no_other_credentials, USER, OtherCredentials(False, []))[0] == "pass"


@pytest.mark.parametrize("field, item, phrase", [
    ("access_keys", {"AccessKeyId": "AKIAEXAMPLE1", "Status": "Inactive"}, "inactive access key AKIAEXAM"),
    ("signing_certificates", {"CertificateId": "CERTID0001", "Status": "Active"}, "active X.509 signing certificate CERTID00"),
    ("ssh_public_keys", {"SSHPublicKeyId": "APKAEXAMPLE", "Status": "Inactive"}, "inactive SSH public key APKAEXAM"),
    ("service_credentials", {"ServiceSpecificCredentialId": "ACCAEXAMPLE", "ServiceName": "cassandra.amazonaws.com",
                             "Status": "Active"}, "active cassandra.amazonaws.com credential ACCAEXAM"),
])
def test_each_credential_type_fails_active_or_inactive(field, item, phrase):
    oc = OtherCredentials(False, [])
    getattr(oc, field).append(item)
    status, text = run(no_other_credentials, USER, oc)
    assert status == "fail" and phrase in text
    assert ("switched back on" in text) == (item["Status"] == "Inactive")


def test_console_password_fails():
    status, text = run(no_other_credentials, USER, OtherCredentials(True, []))
    assert status == "fail" and "console password" in text


# --------------------------------------------------------------------------- secret CMK
class FakeInventory:
    def __init__(self, meta=None, error=None, versions=None, current_key=None, secret=None):
        self.meta, self.error, self.versions, self.current_key, self._secret = meta, error, versions or {}, current_key, secret

    def kms_key(self, partition, key_id, region=None):
        if self.error:
            raise ReadError(self.error)
        return self.meta

    def secret(self):
        return self._secret

    def secret_version(self, stage):
        return self.versions.get(stage, (None, None))

    def api_key(self):
        if self.current_key is None:
            raise CouldNotDecide("no key")
        return self.current_key


CMK = "arn:aws-us-gov:kms:us-gov-west-1:210987654321:key/k"
SECRET = Secret(secret_id="s", exists=True, arn="arn:s", kms_key_id=CMK)


@pytest.mark.parametrize("meta, status, phrase", [
    ({"Arn": CMK, "KeyManager": "CUSTOMER", "KeyState": "Enabled"}, "pass", "(Enabled)"),
    ({"Arn": CMK, "KeyManager": "CUSTOMER", "KeyState": "Disabled"}, "fail", "whose state is Disabled (only an Enabled key can be used); enable it"),
    ({"Arn": CMK, "KeyManager": "CUSTOMER", "KeyState": "PendingDeletion",
      "DeletionDate": dt.datetime(2026, 12, 6, tzinfo=dt.timezone.utc)}, "fail",
     "pending deletion (deleted on 2026-12-06; data under it is unreadable from then); cancel the deletion"),
    ({"Arn": CMK, "KeyManager": "AWS", "KeyState": "Enabled"}, "fail", "AWS-managed key"),
    ({"KeyId": CMK, "missing": True}, "fail", "does not exist"),
])
def test_secret_cmk_state(meta, status, phrase):
    got = run(encrypted_with_cmk, SECRET, FakeInventory(meta))
    assert got[0] == status and phrase in got[1], got


def test_secret_cmk_describe_denied_is_an_error():
    msg = "kms:DescribeKey was denied to the auditor in govcloud (us-gov-west-1); grant kms:DescribeKey"
    assert run(encrypted_with_cmk, SECRET, FakeInventory(error=msg)) == ("error", msg)


# --------------------------------------------------------------------------- single active
def raw_key(alias: str, secret: str) -> str:
    return "ABSK" + base64.b64encode(f"{alias}:{secret}".encode()).decode()


def key_for(alias: str, secret: str) -> SecretText:
    return SecretText(raw_key(alias, secret))


def cred(cid: str, alias: str) -> Credential:
    return Credential(id=cid, user_name="bob", status="Active", create_date=NOW - dt.timedelta(days=1),
                      expiration_date=NOW + dt.timedelta(days=100), alias=alias, service_user_name=None)


OLD, NEW = "ACCAOLDOLDOLDOLD1", "ACCANEWNEWNEWNEW2"
SAME = "bob-at-123456789012"
DISTINCT = {OLD: SAME, NEW: "bob+1-at-123456789012"}


def both(aliases):
    return [cred(OLD, aliases[OLD]), cred(NEW, aliases[NEW])]


@pytest.mark.parametrize("aliases", [DISTINCT, {OLD: SAME, NEW: SAME}], ids=["distinct-aliases", "shared-alias"])
def test_rotation_proven_by_alias_or_version_id(aliases):
    active = both(aliases)
    cur = ("v-initial", key_for(aliases[OLD], "old-secret"))
    pend = (f"{NEW}-0123456789abcdef", key_for(aliases[NEW], "new-secret"))
    ok, why = rotation_in_progress(active, cur, pend)
    assert ok is True and "AWSPENDING holds the new key ACCANEWN" in why


def test_shared_alias_and_an_anonymous_version_id_cannot_be_decided():
    active = both({OLD: SAME, NEW: SAME})
    ok, why = rotation_in_progress(active, ("v1", key_for(SAME, "a")), ("v2-random-uuid", key_for(SAME, "b")))
    assert ok is None and "cannot tell" in why


def test_distinct_aliases_need_no_version_id():
    active = both(DISTINCT)
    ok, _ = rotation_in_progress(active, ("v1", key_for(SAME, "a")), ("v2", key_for(DISTINCT[NEW], "b")))
    assert ok is True


@pytest.mark.parametrize("pending, phrase", [
    ((None, None), "no AWSPENDING version"),
    (("v1", None), "labels the current version"),
    (("v2", None), "holds no bedrock_api_key"),
    (("v2", key_for(SAME, "old")), "same key as AWSCURRENT"),
    (("v2", key_for("alice-at-123456789012", "x")), "neither Active credential"),
    ((f"{OLD}-abcdef0123456789", key_for(SAME, "other")), "AWSCURRENT holds no other Active key"),
])
def test_what_does_not_prove_a_rotation(pending, phrase):
    active = both(DISTINCT)
    ok, why = rotation_in_progress(active, ("v1", key_for(SAME, "old")), pending)
    assert ok is False and phrase in why


def test_a_pending_key_of_the_current_credential_is_not_a_rotation():
    # shared alias, but the version id names the credential AWSCURRENT already holds
    active = both({OLD: SAME, NEW: SAME})
    ok, why = rotation_in_progress(active, (f"{OLD}-aaaaaaaaaaaaaaaa", key_for(SAME, "a")),
                                   (f"{OLD}-bbbbbbbbbbbbbbbb", key_for(SAME, "b")))
    assert ok is False


def test_a_stale_pending_key_is_no_rotation_in_progress():
    """Secrets Manager's rotation window ends within the UTC day: a pending key older than that is a dead rotation;
    the verdict names the AWSPENDING version and the extra key's credential id."""
    old, new = cred(OLD, DISTINCT[OLD]), cred(NEW, DISTINCT[NEW])
    cur, pend = ("v-initial", key_for(SAME, "old")), (f"{NEW}-0123456789abcdef", key_for(DISTINCT[NEW], "new"))
    fresh = dataclasses.replace(new, create_date=NOW - dt.timedelta(minutes=5))
    assert rotation_in_progress([old, fresh], cur, pend, NOW)[0] is True
    for age in (dt.timedelta(hours=25), dt.timedelta(days=45)):
        stale = dataclasses.replace(new, create_date=NOW - age)
        ok, why = rotation_in_progress([old, stale], cur, pend, NOW)
        assert ok is False and f"{NEW}-0123456789abcdef" in why and NEW in why and "stale" in why


def test_held_credential_never_guesses():
    active = both({OLD: SAME, NEW: SAME})
    assert held_credential(key_for(SAME, "x"), "random", active) is AMBIGUOUS
    assert held_credential(SecretText("bedrock-api-key-abc"), "v", active) is None


def _secret(stages, current_key):
    return Secret(secret_id="s", exists=True, arn="arn:s", describe={"VersionIdsToStages": stages},
                  text=SecretText(json.dumps({"bedrock_api_key": current_key})))


def test_single_active_check_end_to_end_without_leaking_the_pending_key():
    active = both({OLD: SAME, NEW: SAME})
    pending_key = raw_key(SAME, "the-new-secret-part")
    pvid = f"{NEW}-0123456789abcdef"
    inv = FakeInventory(secret=_secret({"v1": ["AWSCURRENT"], pvid: ["AWSPENDING"]}, raw_key(SAME, "old")),
                        versions={"AWSPENDING": (pvid, SecretText(json.dumps({"bedrock_api_key": pending_key})))},
                        current_key=raw_key(SAME, "old"))
    status, text = run(single_active, USER, active, NOW, inv)
    assert status == "pass" and "the-new-secret-part" not in text and pending_key not in text
    # no AWSPENDING: the old verdict
    inv = FakeInventory(secret=_secret({"v1": ["AWSCURRENT"]}, raw_key(SAME, "old")), current_key=raw_key(SAME, "old"))
    status, text = run(single_active, USER, active, NOW, inv)
    assert status == "fail" and "no AWSPENDING version" in text


def test_a_failing_single_active_check_keeps_no_key_in_its_frames():
    """``pytest -l`` prints the locals of every frame of a failure: none may hold a key in the clear."""
    active = both({OLD: SAME, NEW: SAME})
    cur = raw_key(SAME, "current-secret-part")
    inv = FakeInventory(secret=_secret({"v1": ["AWSCURRENT"], "v2": ["AWSPENDING"]}, cur),
                        versions={"AWSPENDING": ("v2", SecretText(json.dumps({"bedrock_api_key": cur})))},
                        current_key=cur)
    rec = CheckRecord(check_id="x", title="", family="x", severity="high", controls={}, nodeid="x")
    with pytest.raises(CheckFailed) as info:
        single_active(Check(rec), USER, active, NOW, cast(Inventory, inv))  # FakeInventory answers its reads
    assert "same key as AWSCURRENT" in str(info.value)
    tb = info.value.__traceback__
    while tb is not None:
        frame = tb.tb_frame
        if frame.f_code.co_filename.endswith("test_credential.py"):
            for name, value in frame.f_locals.items():
                assert "current-secret-part" not in repr(value), name
        tb = tb.tb_next
